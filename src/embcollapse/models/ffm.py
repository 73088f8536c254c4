"""FFM (Juan et al., 2016): every field keeps one table per partner field (paper Appendix H)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..config import ConfigError
from .base import MultiEmbeddingModel
from .layers import FieldAwarePairs, ffm_slot


class FFM(MultiEmbeddingModel):
    """logit = w_0 + sum_i w[x_i] + mean_m sum_{i<j} <E_i^{->j}[x_i], E_j^{->i}[x_j]>.

    Field i's table E_i (D_i, (N-1)*K) is its N-1 sub-tables E_i^{->j} side by side, in
    partner order j = 0..N-1 skipping i; :meth:`embedding_tables` returns these concatenated
    tables and :meth:`field_pair_table` one sub-table.

    Args:
        field_dims: cardinality of each field (at least two fields).
        embed_dim: K, the width of one sub-table. num_sets: M.
        linear: include the bias and first-order terms.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 linear: bool = True) -> None:
        n = len(field_dims)
        if n < 2:
            raise ConfigError("FFM needs at least two fields")
        super().__init__(field_dims, embed_dim, num_sets, table_dim=(n - 1) * embed_dim,
                         linear=linear)
        self.add_branch("pairs", [FieldAwarePairs(n, embed_dim)], nn.Identity())

    def field_pair_table(self, field: int, partner: int, embed_set: int = 0) -> torch.Tensor:
        """E_field^{->partner}: field's table reserved for ``partner``, (D_field, K), detached."""
        k = self.embed_dim
        slot = ffm_slot(field, partner)
        table = self.embedding.field_table(field, embed_set)
        return table[:, slot * k:(slot + 1) * k].detach()

    def field_pair_tables(self, embed_set: int = 0) -> list[list[torch.Tensor | None]]:
        """[i][j] -> E_i^{->j} (D_i, K); ``None`` on the diagonal (FFM has no self-pairs)."""
        n = self.num_fields
        return [[None if i == j else self.field_pair_table(i, j, embed_set) for j in range(n)]
                for i in range(n)]
