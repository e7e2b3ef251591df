"""medmodels: cross-validated training of the disease models that runall orchestrates.

Kept import-light on purpose: the legacy shims import this package before forwarding.
"""

__version__ = "0.1.0"
