"""DCNv2 (Wang et al., 2021): a full-rank cross network stacked under an MLP."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .base import MultiEmbeddingModel
from .layers import CrossNetV2


class FlatCross(nn.Module):
    """(B, M, N, K) -> flatten per set -> cross network -> (B, M, N*K)."""

    def __init__(self, num_sets: int, dim: int, num_layers: int) -> None:
        super().__init__()
        self.cross = CrossNetV2(num_sets, dim, num_layers)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.cross(e.flatten(2))


class DCNv2(MultiEmbeddingModel):
    """Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        cross_layers: number of cross layers (paper: 4).
        mlp_dims: hidden widths after the cross network; the first is each set's projection.
        dropout: dropout after every hidden layer.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 cross_layers: int = 4, mlp_dims: Sequence[int] = (400, 400),
                 dropout: float = 0.2) -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        self.interaction = FlatCross(num_sets, self.num_fields * embed_dim, cross_layers)
        self._finish(self.num_fields * embed_dim, mlp_dims, dropout)

    def cross_blocks(self, layer: int = 0, embed_set: int = 0) -> torch.Tensor:
        """The cross weight of one layer and set split into field blocks.

        Returns:
            (N, N, K, K): ``[j, i]`` is W^{i->j}, mapping field i's embedding into field j's slot.
        """
        w = self.interaction.cross.weight[layer, embed_set].detach()
        n, k = self.num_fields, self.embed_dim
        return w.view(n, k, n, k).permute(0, 2, 1, 3)
