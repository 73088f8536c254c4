"""FinalMLP (Mao et al., 2023): two gated MLP streams fused bilinearly."""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from ..config import ConfigError
from .base import MultiEmbeddingModel
from .layers import FeatureGate, FlattenFields, SetMLP

STREAMS = ("stream1", "stream2")


FUSION_INITS = ("zeros", "xavier")


class BilinearFusion(nn.Module):
    """FinalMLP's one-head fusion of the two streams' (set-averaged) outputs.

    logit = w_x . x + b_x + w_y . y + b_y + x^T W_xy y: (B, H) and (B, H) -> (B,).

    Args:
        dim: H. xy_init: ``zeros`` (the authors' code) or ``xavier`` (Xavier-normal, as the
            FinalMLP paper's code does).
    """

    def __init__(self, dim: int, xy_init: str = "zeros") -> None:
        super().__init__()
        if xy_init not in FUSION_INITS:
            raise ConfigError(f"model.hyper.fusion_init: unknown {xy_init!r}; known: "
                              f"{', '.join(FUSION_INITS)}")
        self.w_x = nn.Linear(dim, 1)
        self.w_y = nn.Linear(dim, 1)
        self.w_xy = nn.Parameter(torch.zeros(dim, dim))
        if xy_init == "xavier":
            nn.init.xavier_normal_(self.w_xy)

    def forward(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Args: pooled with ``stream1``, ``stream2`` (B, H). Returns: (B,) logits."""
        x, y = (pooled[name] for name in STREAMS)
        bilinear = ((x @ self.w_xy) * y).sum(dim=-1)
        return (self.w_x(x) + self.w_y(y)).squeeze(-1) + bilinear


class FinalMLP(MultiEmbeddingModel):
    """Two streams, each [gated] embeddings -> MLP per set, averaged over sets, then fused.

    Under ME every set has its own stream MLPs (and gates) and each stream's outputs are
    averaged over sets before the fusion (paper Appendix C.2). The defaults are the authors'
    code: no feature selection (their gate is commented out of the forward pass) and W_xy
    starting at zero. Registry ``finalmlp-gated`` is the FinalMLP paper's design instead: a
    feature-selection gate of 800 hidden units per stream and W_xy Xavier-normal.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        mlp_dims: hidden widths of each stream (paper: 400, 400).
        feature_selection_hidden: hidden width of each feature-selection gate; 0 (default) for
            none.
        dropout: dropout after every hidden layer (paper: 0.2).
        fusion_init: initialisation of W_xy, ``zeros`` (default) or ``xavier``.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 mlp_dims: Sequence[int] = (400, 400), feature_selection_hidden: int = 0,
                 dropout: float = 0.2, fusion_init: str = "zeros") -> None:
        super().__init__(field_dims, embed_dim, num_sets)
        if not mlp_dims:
            raise ConfigError("model.hyper.mlp_dims: FinalMLP streams need at least one layer")
        width = self.num_fields * embed_dim
        for name in STREAMS:
            gate = ([FeatureGate(num_sets, embed_dim, width, feature_selection_hidden)]
                    if feature_selection_hidden else [])
            self.add_branch(name, [FlattenFields(), *gate,
                                   SetMLP(num_sets, width, mlp_dims, dropout)], head=None)
        self.head = BilinearFusion(mlp_dims[-1], fusion_init)
