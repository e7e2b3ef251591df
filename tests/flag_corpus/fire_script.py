"""Train with python-fire: python fire_script.py --epochs=5 --output_dir=out"""
import fire


def train(epochs: int = 10, batch_size: int = 32, output_dir: str = "outputs", seed: int = 0):
    print(epochs, batch_size, output_dir, seed)


if __name__ == "__main__":
    fire.Fire(train)
