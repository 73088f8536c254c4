"""Mini-batches for training: a split held as tensors, sliced without per-sample Python."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from .splits import Split


class BatchLoader:
    """Shuffled mini-batches sliced from a split held as tensors (no per-sample Python).

    Yields ``(ids (B, N) int64, labels (B,) float32)`` on ``device``; with ``shuffle`` the order
    of epoch ``e`` comes from ``(seed, e)``, or with ``reshuffle`` false from ``(seed, 0)`` in
    every epoch: one fixed permutation, as the authors' code (``train.shuffle: fixed-order``).
    """

    def __init__(self, split: Split, batch_size: int, device: torch.device | str = "cpu",
                 shuffle: bool = False, seed: int = 0, reshuffle: bool = True) -> None:
        self.ids = torch.from_numpy(np.ascontiguousarray(split.ids)).to(device)
        self.labels = torch.from_numpy(np.ascontiguousarray(split.labels, dtype=np.float32)
                                       ).to(device)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.reshuffle = reshuffle
        self.device = torch.device(device)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003
                                                + (epoch if self.reshuffle else 0))
            order = torch.randperm(n, generator=gen).to(self.device)
        for start in range(0, n, self.batch_size):
            if self.shuffle:
                index = order[start:start + self.batch_size]   # index_select: ~7x faster on CPU
                yield (self.ids.index_select(0, index).long(),
                       self.labels.index_select(0, index))
            else:
                yield (self.ids[start:start + self.batch_size].long(),
                       self.labels[start:start + self.batch_size])
