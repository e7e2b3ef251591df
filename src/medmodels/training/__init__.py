"""The canonical training scripts (run them as files: `python src/medmodels/training/train_X.py`)."""
