"""Options class in the style of pix2pix/CycleGAN: the parser lives on an object."""
import argparse


class TrainOptions:
    def __init__(self):
        self.parser = argparse.ArgumentParser(formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        self.initialized = False

    def initialize(self):
        self.parser.add_argument("--dataroot", required=True, help="path to images")
        self.parser.add_argument("--checkpoints_dir", default="./checkpoints")
        self.parser.add_argument("--batch_size", type=int, default=1)
        self.parser.add_argument("--epoch", default="latest", help="which epoch to load")
        self.parser.add_argument("--n_epochs", type=int, default=100)
        self.parser.add_argument("--n_epochs_decay", type=int, default=100)
        self.initialized = True

    def parse(self):
        if not self.initialized:
            self.initialize()
        return self.parser.parse_args()


if __name__ == "__main__":
    opt = TrainOptions().parse()
    print(opt)
