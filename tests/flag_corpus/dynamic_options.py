"""Every field of Config becomes an option; built at run time from the dataclass."""
import argparse
import dataclasses


@dataclasses.dataclass
class Config:
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    output_dir: str = "outputs"


def parse() -> Config:
    parser = argparse.ArgumentParser()
    for f in dataclasses.fields(Config):
        parser.add_argument(f"--{f.name}", type=type(f.default), default=f.default)
    return Config(**vars(parser.parse_args()))


if __name__ == "__main__":
    print(parse())
