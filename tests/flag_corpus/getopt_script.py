"""usage: getopt_script.py [-e N | --epochs N] [-o DIR | --output-dir DIR]"""
import getopt
import sys


def main(argv):
    epochs, output_dir = 10, "out"
    opts, _ = getopt.getopt(argv, "e:o:", ["epochs=", "output-dir="])
    for opt, value in opts:
        if opt in ("-e", "--epochs"):
            epochs = int(value)
        elif opt in ("-o", "--output-dir"):
            output_dir = value
    print(epochs, output_dir)


if __name__ == "__main__":
    main(sys.argv[1:])
