"""Hydra app: override with key=value, e.g. python hydra_script.py trainer.max_epochs=5"""
import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg: DictConfig) -> None:
    print(cfg.trainer.max_epochs)


if __name__ == "__main__":
    main()
