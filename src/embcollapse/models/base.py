"""The shape every model of the paper shares, single- or multi-embedding.

    e^(m)   = E^(m)[x]                  M embedding sets, one lookup           (M, B, N, K)
    h^(m)_b = sigma_b(I_b^(m)(e^(m)))   branch b: per-set interaction (+ projection)  (M, B, H_b)
    h_b     = mean_m h^(m)_b            average over sets                      (B, H_b)
    y       = F(h_1, h_2, ...)          the head                               (B,) logits

Most models have one branch: DNN, DCNv2, IPNN and NFwFM put a non-linear projection
(Linear -> BatchNorm -> ReLU -> Dropout) after each set's interaction and their MLP loses one
layer (paper Section 5); with M = 1 the projection is simply the MLP's first layer, so the
single-embedding model is the familiar architecture. xDeepFM and AutoInt add their explicit
interaction as a second branch averaged over sets; FinalMLP averages each of its two streams.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from ..config import ConfigError
from .layers import MLP, FeaturesLinear, FieldEmbedding, SetLinear, SetProjection

PROJECTIONS = ("nonlinear", "linear")


def make_projection(kind: str, num_sets: int, in_dim: int, out_dim: int,
                    dropout: float, shared: bool = False) -> nn.Module:
    """The per-set projection after an interaction: (M, B, in) -> (M, B, out).

    Args:
        kind: ``nonlinear`` (Linear -> BatchNorm -> ReLU -> Dropout, the paper's design) or
            ``linear`` (Linear only: the ME of Appendix E, equivalent to a single embedding).
        shared: one projection (Linear, BatchNorm) applied to every set instead of one per set.
    """
    if kind == "nonlinear":
        return SetProjection(num_sets, in_dim, out_dim, dropout, shared)
    if kind == "linear":
        return SetLinear(1 if shared else num_sets, in_dim, out_dim)
    raise ConfigError(f"model.hyper.projection: unknown projection {kind!r}; "
                      f"known: {', '.join(PROJECTIONS)}")


class SumHead(nn.ModuleDict):
    """The logit as a sum over branches; entry ``name`` maps branch ``name``'s set-averaged
    output (B, H) to (B, 1)."""

    def forward(self, pooled: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Args: pooled, branch name -> (B, H). Returns: (B,) logits."""
        logits = [head(pooled[name]).squeeze(-1) for name, head in self.items()]
        return torch.stack(logits).sum(dim=0)


class MultiEmbeddingModel(nn.Module):
    """Embedding sets -> per-set branches -> mean over sets -> head (+ first-order term) -> logit.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M (1 = single embedding).
        table_dim: width of one set's table when it is not K (FFM keeps N-1 sub-tables).
        linear: add a first-order term (a bias and one weight per feature value).

    Subclasses add branches with :meth:`add_branch` / :meth:`add_deep_branch`, or replace
    ``head`` by a module taking the dict of set-averaged branch outputs.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int, num_sets: int, *,
                 table_dim: int | None = None, linear: bool = False) -> None:
        super().__init__()
        if embed_dim < 1 or num_sets < 1:
            raise ConfigError(f"embed_dim and num_sets must be >= 1, got {embed_dim}, {num_sets}")
        self.field_dims = tuple(int(d) for d in field_dims)
        if not self.field_dims:
            raise ConfigError("a model needs at least one field")
        self.num_fields, self.embed_dim, self.num_sets = len(self.field_dims), embed_dim, num_sets
        self.embedding = FieldEmbedding(self.field_dims, table_dim or embed_dim, num_sets)
        self.branches = nn.ModuleDict()
        self.head: nn.Module = SumHead()
        self.linear = FeaturesLinear(self.field_dims) if linear else None

    def add_branch(self, name: str, per_set: Sequence[nn.Module], head: nn.Module | None) -> None:
        """Add a per-set branch (modules applied in order to (M, B, N, K)) and its head."""
        self.branches[name] = nn.Sequential(*per_set)
        if head is not None:
            self.head[name] = head

    def add_deep_branch(self, name: str, interaction: Sequence[nn.Module], interaction_dim: int,
                        mlp_dims: Sequence[int], dropout: float,
                        projection: str = "nonlinear", share_projection: bool = False) -> None:
        """interaction -> per-set projection to ``mlp_dims[0]`` -> mean -> MLP(mlp_dims[1:]) -> 1.

        ``share_projection``: one projection for all sets (see :func:`make_projection`).
        """
        if not mlp_dims:
            raise ConfigError("model.hyper.mlp_dims needs at least one layer (the projection)")
        proj = make_projection(projection, self.num_sets, interaction_dim, mlp_dims[0], dropout,
                               share_projection)
        self.add_branch(name, [*interaction, proj], MLP(mlp_dims[0], mlp_dims[1:], dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N) value ids. Returns: (B,) click logits."""
        e = self.embedding(x)                                        # (M, B, N, K)
        pooled = {name: branch(e).mean(dim=0) for name, branch in self.branches.items()}
        logit = self.head(pooled)
        return logit if self.linear is None else logit + self.linear(x)

    def embedding_tables(self) -> list[list[torch.Tensor]]:
        """The learned tables, [set][field] -> (D_i, K), detached."""
        return self.embedding.tables()

    def regularization(self) -> torch.Tensor:
        """The weighted penalty to add to the loss: a scalar (zero for models without one)."""
        return self.embedding.embedding.weight.new_zeros(())
