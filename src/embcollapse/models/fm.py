"""Interaction-only factorization machines: FM (Rendle, 2010) and FwFM (Pan et al., 2018).

They are what the paper's analysis needs (the toy experiment of Evidence II is an FM); with
M > 1 the pair scores are averaged over sets.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn

from .base import MultiEmbeddingModel
from .layers import PairPooling


class FwFM(MultiEmbeddingModel):
    """logit = w_0 + sum_i w[x_i] + mean_m sum_{i<j} r^(m)_ij <e^(m)_i, e^(m)_j>.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M.
        linear: include the bias and first-order terms w_0 + sum_i w[x_i].
        weighted: learn the field-pair weights r_ij (FwFM); ``False`` fixes them to 1 (FM).
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 linear: bool = True, weighted: bool = True) -> None:
        super().__init__(field_dims, embed_dim, num_sets, linear=linear)
        self.add_branch("pairs", [PairPooling(num_sets, self.num_fields, weighted, reduce=True)],
                        nn.Identity())


class FM(FwFM):
    """logit = w_0 + sum_i w[x_i] + mean_m sum_{i<j} <e^(m)_i, e^(m)_j>: an FwFM with r_ij = 1.

    Args:
        field_dims: cardinality of each field.
        embed_dim: K. num_sets: M.
        linear: include the bias and first-order terms (off for the toy experiment).
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int = 10, num_sets: int = 1,
                 linear: bool = True) -> None:
        super().__init__(field_dims, embed_dim, num_sets, linear=linear, weighted=False)
