import configargparse


def main():
    p = configargparse.ArgParser(default_config_files=["~/.train.conf"])
    p.add("-c", "--config", is_config_file=True, help="config file path")
    p.add("--epochs", type=int, default=10)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out-dir", default="out")
    options = p.parse_args()
    print(options)


if __name__ == "__main__":
    main()
