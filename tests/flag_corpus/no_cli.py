"""Hard-coded training run used by the nightly notebook export."""
import os

EPOCHS = 10
OUTPUT_DIR = os.environ.get("OUTPUT_DIR", "outputs/nightly")
SEED = 1


def train(epochs=EPOCHS, output_dir=OUTPUT_DIR, seed=SEED):
    os.makedirs(output_dir, exist_ok=True)
    return {"epochs": epochs, "seed": seed}


if __name__ == "__main__":
    print(train())
