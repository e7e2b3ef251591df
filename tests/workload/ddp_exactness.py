"""Run under torchrun: train a small BatchNorm-free CNN data-parallel with the workload's sharded
steps (`medmodels.imaging.distributed`), and on rank 0 also in one process on whole batches;
rank 0 writes the largest weight difference and the losses to the JSON file named by argv[1].

17 samples in batches of 8 leave a last batch of one sample, so with two ranks one shard is
empty (it takes part with weight 0).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch
from torch import nn

from medmodels.imaging.distributed import join, leave, shard_step
from medmodels.imaging.fitting import batch_order, step

SAMPLES, BATCH, EPOCHS = 17, 8, 3


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))


def main(out: str) -> None:
    generator = torch.Generator().manual_seed(1)
    images, labels = torch.randn(SAMPLES, 1, 8, 8, generator=generator), torch.randint(0, 2, (SAMPLES,), generator=generator)
    group = join(cuda=False)
    cpu = torch.device("cpu")
    parallel = group.wrap(model(), cpu)
    optimizer = torch.optim.Adam(parallel.parameters(), lr=0.01)
    losses = []
    for epoch in range(EPOCHS):
        for batch in batch_order(np.arange(SAMPLES), BATCH, 0, 0, epoch):
            part, weight = group.shard(batch)
            local = shard_step(parallel, optimizer, images[part], labels[part], weight, len(batch), group.world)
            losses.append(group.agree(local, False, cpu)[0] / len(batch))
    if group.main:
        single = model()
        optimizer = torch.optim.Adam(single.parameters(), lr=0.01)
        single_losses = [step(single, optimizer, images[batch], labels[batch])
                         for epoch in range(EPOCHS) for batch in batch_order(np.arange(SAMPLES), BATCH, 0, 0, epoch)]
        weights = parallel.module.state_dict()
        difference = max(float((weights[k] - v).abs().max()) for k, v in single.state_dict().items())
        with open(out, "w", encoding="utf-8") as fh:
            json.dump({"world": group.world, "backend": group.backend, "max_weight_difference": difference,
                       "losses": losses, "single_losses": single_losses}, fh)
    leave(group)


if __name__ == "__main__":
    main(sys.argv[1])
