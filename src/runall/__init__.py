"""runall: discover, preview and run every training script in a repository."""

__version__ = "0.1.0"
