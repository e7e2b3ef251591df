"""One optimisation step, a reproducible batch order, and prediction."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def batch_order(indices: np.ndarray, batch_size: int, seed: int, run: int,
                epoch: int) -> list[np.ndarray]:
    """The epoch's shuffled batches, a pure function of (seed, run, epoch), so a resumed epoch
    sees exactly the batches the interrupted one would have."""
    shuffled = np.random.default_rng([seed, run, epoch]).permutation(indices)
    return [shuffled[start:start + batch_size] for start in range(0, len(shuffled), batch_size)]


def step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
         labels: torch.Tensor) -> float:
    """One gradient step on a batch; returns the batch's mean cross-entropy."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return float(loss.item())


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int) -> np.ndarray:
    """Class probabilities (N, n_classes) as float64."""
    model.eval()
    parts = [torch.softmax(model(images[start:start + batch_size]), dim=1).cpu()
             for start in range(0, len(images), batch_size)]
    return torch.cat(parts).double().numpy()
