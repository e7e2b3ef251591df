"""docopt: options from the usage text."""

from __future__ import annotations

from flagtools import by_primary, sniff


def test_options_section_and_usage_patterns():
    flags = sniff('''
        """Train a model.

        Usage:
            train.py [options] --train_dir=<dir> [--seed=<n>]

        Options:
            -h --help                 Show this screen.
            -e N, --epochs=N          Number of epochs [default: 10].
            --save-to=<file>          Model save path [default: model.bin]
            --cuda                    Use the GPU.
        """
        from docopt import docopt
        args = docopt(__doc__)
    ''')
    opts = by_primary(flags)
    assert flags.cli == "docopt"
    assert set(opts) == {"--epochs", "--save-to", "--cuda", "--train_dir", "--seed"}
    assert opts["--epochs"].strings == ("-e", "--epochs") and opts["--epochs"].default == "10"
    assert opts["--epochs"].help == "Number of epochs" and not opts["--cuda"].takes_value
    assert opts["--train_dir"].takes_value
