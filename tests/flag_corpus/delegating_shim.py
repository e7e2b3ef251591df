"""Deprecated location: forwards to the packaged trainer, whose CLI is defined there."""
import sys
import warnings

from medmodels.training.train_tabular import main

warnings.warn("use medmodels.training.train_tabular", DeprecationWarning, stacklevel=1)

if __name__ == "__main__":
    sys.exit(main())
