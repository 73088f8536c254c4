"""DNN: concatenated embeddings into an MLP, no explicit interaction (paper Evidence IV)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .base import MultiEmbeddingModel


class Concat(nn.Module):
    """(B, M, N, K) -> (B, M, N*K)."""

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return e.flatten(2)


class DNN(MultiEmbeddingModel):
    """Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        mlp_dims: hidden widths; the first is each set's projection.
        dropout: dropout after every hidden layer.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2) -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        self.interaction = Concat()
        self._finish(self.num_fields * embed_dim, mlp_dims, dropout)
