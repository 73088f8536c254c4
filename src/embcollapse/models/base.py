"""The shape every model of the paper shares, single- or multi-embedding.

    e^(m) = E^(m)[x]                      M embedding sets                  (B, M, N, K)
    h^(m) = sigma(I^(m)(e^(m)))           per-set interaction + projection  (B, M, H)
    h     = mean_m h^(m)                                                    (B, H)
    y     = F(h)                          the post-processing MLP           (B,) logits

With M = 1 the projection is simply the first layer of the usual MLP, so the single-embedding
model is the familiar architecture (paper Section 5: "F loses one MLP layer" under ME).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .layers import MLP, FieldEmbedding, SetProjection


class MultiEmbeddingModel(nn.Module):
    """Embedding sets -> per-set interaction -> per-set projection -> mean -> MLP -> logit.

    Subclasses set ``self.interaction`` (a module (B, M, N, K) -> (B, M, D)) and ``interaction_dim``
    before calling :meth:`_finish`.
    """

    interaction: nn.Module

    def __init__(self, field_dims: Sequence[int], embed_dim: int, num_sets: int) -> None:
        super().__init__()
        if embed_dim < 1 or num_sets < 1:
            raise ValueError(f"embed_dim and num_sets must be >= 1, got {embed_dim}, {num_sets}")
        self.field_dims = tuple(int(d) for d in field_dims)
        self.num_fields, self.embed_dim, self.num_sets = len(self.field_dims), embed_dim, num_sets
        self.embedding = FieldEmbedding(self.field_dims, embed_dim, num_sets)

    def _finish(self, interaction_dim: int, mlp_dims: Sequence[int], dropout: float) -> None:
        if not mlp_dims:
            raise ValueError("mlp_dims needs at least one layer (the per-set projection)")
        self.project = SetProjection(self.num_sets, interaction_dim, mlp_dims[0], dropout)
        self.mlp = MLP(mlp_dims[0], mlp_dims[1:], dropout, out_dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N) value ids. Returns: (B,) click logits."""
        h = self.project(self.interaction(self.embedding(x)))   # (B, M, H)
        return self.mlp(h.mean(dim=1)).squeeze(-1)

    def embedding_tables(self) -> list[list[torch.Tensor]]:
        """The learned tables, [set][field] -> (D_i, K), detached."""
        return self.embedding.tables()
