"""Launch a learning-rate sweep of train_cnn.py; this launcher itself takes no options."""
import subprocess
import sys

EPOCHS = 20

for lr in (1e-4, 3e-4, 1e-3):
    cmd = [sys.executable, "train_cnn.py", "--epochs", str(EPOCHS), "--lr", str(lr),
           "--output-dir", f"sweep/lr{lr}", "--folds", "5"]
    subprocess.run(cmd, check=True)
