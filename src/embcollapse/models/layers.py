"""Building blocks shared by the models, batched over a leading *set* dimension M.

Every per-set module keeps its parameters stacked along M and computes all sets with one
batched product, so multi-embedding costs no Python loop over sets.
Shapes: B batch, M embedding sets, N fields, K embedding size.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


class FieldEmbedding(nn.Module):
    """M embedding sets for N fields in one table, with per-field offsets.

    Args:
        field_dims: cardinality D_i of each field.
        embed_dim: K.
        num_sets: M.

    The weight has shape (sum_i D_i, M * K) and is initialised Xavier-uniform as in pytorch-fm
    (the layout the authors' code builds on).
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int, num_sets: int = 1) -> None:
        super().__init__()
        self.field_dims = tuple(int(d) for d in field_dims)
        self.embed_dim, self.num_sets = embed_dim, num_sets
        self.embedding = nn.Embedding(sum(self.field_dims), num_sets * embed_dim)
        offsets = torch.tensor((0, *torch.tensor(self.field_dims).cumsum(0)[:-1].tolist()))
        self.register_buffer("offsets", offsets, persistent=False)
        nn.init.xavier_uniform_(self.embedding.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Look up every set at once.

        Args:
            x: (B, N) value ids, each in [0, D_i).
        Returns:
            (B, M, N, K) embeddings.
        """
        e = self.embedding(x + self.offsets)                   # (B, N, M*K)
        b, n, _ = e.shape
        return e.view(b, n, self.num_sets, self.embed_dim).transpose(1, 2)

    def field_table(self, field: int, embed_set: int = 0) -> torch.Tensor:
        """The table E_field of one set: (D_field, K), a view of the weight."""
        start = int(sum(self.field_dims[:field]))
        k = self.embed_dim
        rows = self.embedding.weight[start:start + self.field_dims[field]]
        return rows[:, embed_set * k:(embed_set + 1) * k]

    def tables(self) -> list[list[torch.Tensor]]:
        """All tables, indexed [set][field], each (D_i, K), detached."""
        return [[self.field_table(i, m).detach() for i in range(len(self.field_dims))]
                for m in range(self.num_sets)]


class SetLinear(nn.Module):
    """M independent linear maps applied at once: (B, M, in) -> (B, M, out).

    Initialised like ``nn.Linear`` (uniform in +-1/sqrt(in)) for every set.
    """

    def __init__(self, num_sets: int, in_dim: int, out_dim: int, bias: bool = True) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)
        self.weight = nn.Parameter(torch.empty(num_sets, out_dim, in_dim).uniform_(-bound, bound))
        self.bias = (nn.Parameter(torch.empty(num_sets, out_dim).uniform_(-bound, bound))
                     if bias else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, M, in). Returns: (B, M, out)."""
        y = torch.einsum("bmi,moi->bmo", x, self.weight)
        return y if self.bias is None else y + self.bias


class SetProjection(nn.Module):
    """The non-linear projection after each set's interaction: Linear -> BatchNorm -> ReLU ->
    Dropout, per set (paper Section 5). (B, M, in) -> (B, M, out)."""

    def __init__(self, num_sets: int, in_dim: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.linear = SetLinear(num_sets, in_dim, out_dim)
        self.norm = nn.BatchNorm1d(num_sets * out_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, M, in). Returns: (B, M, out)."""
        y = self.linear(x)
        b, m, o = y.shape
        y = self.norm(y.reshape(b, m * o)).view(b, m, o)
        return self.dropout(torch.relu(y))


class MLP(nn.Module):
    """(Linear -> BatchNorm -> ReLU -> Dropout) per hidden layer, then a linear output.

    (B, in) -> (B, out); with ``out_dim=None`` the last hidden layer is the output.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], dropout: float,
                 out_dim: int | None = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_dim, width), nn.BatchNorm1d(width), nn.ReLU(),
                       nn.Dropout(dropout)]
            in_dim = width
        if out_dim is not None:
            layers.append(nn.Linear(in_dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, in). Returns: (B, out)."""
        return self.net(x)


class CrossNetV2(nn.Module):
    """DCNv2's cross network with full-rank weights, one per set, computed batched.

    x_{l+1} = x_0 * (W_l x_l + b_l) + x_l, with W_l of shape (N*K, N*K) for every set.
    ``weight`` is (L, M, out, in): block [j*K:(j+1)*K, i*K:(i+1)*K] of layer 0 maps field i's
    embedding into the slot of field j (the paper's W^{i->j}).
    """

    def __init__(self, num_sets: int, dim: int, num_layers: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(dim)
        self.weight = nn.Parameter(
            torch.empty(num_layers, num_sets, dim, dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(num_layers, num_sets, dim))

    def forward(self, x0: torch.Tensor) -> torch.Tensor:
        """Args: x0 (B, M, N*K). Returns: (B, M, N*K)."""
        x = x0
        for layer in range(self.weight.shape[0]):
            x = x0 * (torch.einsum("bmi,moi->bmo", x, self.weight[layer]) + self.bias[layer]) + x
        return x
