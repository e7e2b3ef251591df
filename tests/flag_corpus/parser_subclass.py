import argparse


class TrainArgParser(argparse.ArgumentParser):
    def __init__(self):
        super().__init__(description="MRI segmentation")
        self.add_argument("--epochs", type=int, default=100)
        self.add_argument("--ckpt-dir", default="ckpt")
        self.add_model_args()

    def add_model_args(self):
        self.add_argument("--channels", type=int, default=32)


if __name__ == "__main__":
    args = TrainArgParser().parse_args()
    print(args)
