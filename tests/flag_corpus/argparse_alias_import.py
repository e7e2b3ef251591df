import argparse as ap
from argparse import ArgumentParser as Parser


def make_parser():
    parser = Parser(formatter_class=ap.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--nfolds", type=int, default=10)
    parser.add_argument("--save_dir", default="saved")
    parser.add_argument("--amp", action=ap.BooleanOptionalAction, default=True)
    parser.add_argument("--Batch-Size", type=int, default=4)
    return parser


args = make_parser().parse_args()
