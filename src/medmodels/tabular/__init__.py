"""Cross-validated scikit-learn models over tabular datasets."""
