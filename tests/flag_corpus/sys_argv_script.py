"""Quick experiment: python sys_argv_script.py DATA.csv EPOCHS"""
import sys

import numpy as np


def main():
    data_path = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    x = np.loadtxt(data_path, delimiter=",")
    for _ in range(epochs):
        x = x * 0.9
    print(x.mean())


if __name__ == "__main__":
    main()
