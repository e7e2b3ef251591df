import argparse

PREFIX = "train"
DATA_KEY = "data-dir"


def flag(name):
    return "--" + name


def build():
    parser = argparse.ArgumentParser()
    parser.add_argument(f"--{PREFIX}-epochs", type=int, default=3)
    parser.add_argument("--{}".format("seed"), type=int, default=0)
    parser.add_argument("--%s" % DATA_KEY, default="data")
    parser.add_argument(flag("output-dir"), default="out")
    return parser


if __name__ == "__main__":
    print(build().parse_args())
