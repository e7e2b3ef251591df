import argparse

common = argparse.ArgumentParser(add_help=False)
common.add_argument("--seed", type=int, default=0)
common.add_argument("--data-root", default="data")

train_parser = argparse.ArgumentParser(parents=[common], description="train the segmentation net")
train_parser.add_argument("--num-epochs", type=int, default=40)
train_parser.add_argument("--save-dir", default="runs/seg")


def main():
    args = train_parser.parse_args()
    print(args)


if __name__ == "__main__":
    main()
