"""A small CNN for single-channel 2-D slices."""

from __future__ import annotations

import torch
from torch import nn


def _block(channels_in: int, channels_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True))


class SliceCNN(nn.Module):
    """Four 3x3 conv blocks (conv, batch norm, ReLU) with 2x2 max pooling between them,
    global average pooling and a linear head: about 15k parameters at width 8."""

    def __init__(self, n_classes: int, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(1, width), nn.MaxPool2d(2), _block(width, 2 * width), nn.MaxPool2d(2),
            _block(2 * width, 4 * width), nn.MaxPool2d(2), _block(4 * width, 4 * width))
        self.head = nn.Linear(4 * width, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) slices to (N, n_classes) logits."""
        return self.head(self.features(images).mean(dim=(2, 3)))
