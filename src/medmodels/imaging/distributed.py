"""Data-parallel training under torchrun (or `python -m torch.distributed.run`, `accelerate launch`).

The launcher sets RANK, WORLD_SIZE and LOCAL_RANK; with WORLD_SIZE above 1 the processes join
one group (gloo on CPU, nccl on CUDA, one GPU per process) and the model is wrapped in
DistributedDataParallel. Without a launcher (or with one process) nothing changes.

Every rank walks the same global batches (`fitting.batch_order`) and takes every
WORLD_SIZE-th sample of each: `DistributedSampler`'s split with `shuffle=False`, applied per
batch and without its padding, which would repeat samples in a short batch. Each rank's loss
is scaled so that the gradient DDP averages is the single-process gradient of the whole batch;
only BatchNorm statistics, computed per shard, differ. Stop requests are agreed on at every
step, so all ranks save (rank 0 writes) and stop at the same batch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

GLOO_SETTLE_S = 0.1   # see `leave`


@dataclass(frozen=True)
class Group:
    """This process's place among the training processes (rank 0 of 1 without a launcher)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that prints results and writes files."""
        return self.rank == 0

    def shard(self, index: np.ndarray) -> tuple[np.ndarray, float]:
        """This rank's samples of a global batch and the weight of its loss: a rank left without
        samples (a batch smaller than the group) computes on one sample with weight 0, because
        every rank must take part in each gradient exchange."""
        part = index[self.rank::self.world]
        return (part, 1.0) if len(part) else (index[:1], 0.0)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model as DistributedDataParallel (parameters broadcast from rank 0), or as it is."""
        if not self.active:
            return model
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def agree(self, loss_sum: float, stop: bool, device: torch.device) -> tuple[float, bool]:
        """The batch's loss summed over ranks, and whether any rank was asked to stop."""
        if not self.active:
            return loss_sum, stop
        import torch.distributed as dist

        both = torch.tensor([loss_sum, float(stop)], dtype=torch.float64, device=device)
        dist.all_reduce(both)
        return float(both[0]), bool(both[1] > 0)

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()


def join(cuda: bool) -> Group:
    """Join the launcher's process group, if there is one with more than one process."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world <= 1:
        return Group()
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return Group(dist.get_rank(), dist.get_world_size(), local_rank, backend)


def leave(group: Group) -> None:
    """Leave the process group together (a no-op for a single process): a rank that tears gloo
    down while another still works (rank 0 writing results) aborts in C++ at exit.

    Then wait a moment without the GIL. Once DistributedDataParallel has used the group, its
    gloo threads outlive `destroy_process_group`, and one of them drops the last collective's
    tensors after it completed, which takes the GIL (their Python objects). An interpreter
    that is shutting down by then makes that thread exit in the middle of a C++ destructor:
    "terminate called without an active exception", SIGABRT (seen in about one run in ten;
    a core dump showed `ProcessGroupGloo::runLoop` destroying an `AsyncBarrierWork`)."""
    if group.active:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
        time.sleep(GLOO_SETTLE_S)


def shard_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
               labels: torch.Tensor, weight: float, batch_total: int, world: int) -> float:
    """One gradient step on this rank's shard of a batch of `batch_total` samples; returns the
    shard's summed cross-entropy (times `weight`).

    The loss is scaled by world / batch_total, so that DDP's mean over ranks is the mean over
    the whole batch, exactly as one process computes it.
    """
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(images), labels, reduction="sum") * weight
    (loss * (world / batch_total)).backward()
    optimizer.step()
    return float(loss.item())
