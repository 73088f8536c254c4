"""FinalMLP (Mao et al., 2023): two gated MLP streams fused bilinearly."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from ..config import ConfigError
from .base import MultiEmbeddingModel
from .layers import FeatureGate, FlattenFields, SetMLP

STREAMS = ("stream1", "stream2")


class BilinearFusion(nn.Module):
    """FinalMLP's one-head fusion of the two streams' (set-averaged) outputs.

    logit = w_x . x + w_y . y + x^T W_xy y + b: (B, H) and (B, H) -> (B,).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.w_x = nn.Linear(dim, 1)
        self.w_y = nn.Linear(dim, 1, bias=False)
        self.w_xy = nn.Parameter(nn.init.xavier_normal_(torch.empty(dim, dim)))

    def forward(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Args: pooled with ``stream1``, ``stream2`` (B, H). Returns: (B,) logits."""
        x, y = (pooled[name] for name in STREAMS)
        bilinear = ((x @ self.w_xy) * y).sum(dim=-1)
        return (self.w_x(x) + self.w_y(y)).squeeze(-1) + bilinear


class FinalMLP(MultiEmbeddingModel):
    """Two streams, each gated embeddings -> MLP per set, averaged over sets, then fused.

    Under ME every set has its own gates and stream MLPs and each stream's outputs are averaged
    over sets before the fusion (paper Appendix C.2). The authors' published code has the
    feature selection commented out; here it is on by default (``feature_selection_hidden=0``
    turns it off).

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        mlp_dims: hidden widths of each stream (paper: 400, 400).
        feature_selection_hidden: hidden width of each feature-selection gate (paper: 800).
        dropout: dropout after every hidden layer (paper: 0.2).
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), feature_selection_hidden: int = 800,
                 dropout: float = 0.2) -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        if not mlp_dims:
            raise ConfigError("model.hyper.mlp_dims: FinalMLP streams need at least one layer")
        width = self.num_fields * embed_dim
        for name in STREAMS:
            gate = ([FeatureGate(num_sets, embed_dim, width, feature_selection_hidden)]
                    if feature_selection_hidden else [])
            self.add_branch(name, [FlattenFields(), *gate,
                                   SetMLP(num_sets, width, mlp_dims, dropout)], head=None)
        self.head = BilinearFusion(mlp_dims[-1])
