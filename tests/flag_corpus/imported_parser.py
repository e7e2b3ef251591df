# The base parser lives in the shared package (not part of this corpus); only --folds is added here.
from common.cli import get_base_parser


def main():
    parser = get_base_parser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    print(args)


if __name__ == "__main__":
    main()
