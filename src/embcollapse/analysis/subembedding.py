"""Evidence I: sub-embeddings and how their IA depends on both fields (paper Figure 3).

In DCNv2's first cross layer, block ``W[j, i]`` (K x K) of the weight maps field i's embedding
into the slot of field j, so field i enters its interaction with field j through the
*sub-embedding* ``E_i^{->j} = E_i @ W[j, i].T`` of shape (D_i, K). For FFM the sub-embedding is
the table field i keeps for field j. Both models return them from ``field_pair_tables()``
(``[i][j]``, None where a model has no such table); this module measures them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .spectrum import information_abundance


def subembedding_ia(sub: Sequence[Sequence[torch.Tensor | None]]) -> np.ndarray:
    """(N, N) matrix, ``[i, j]`` = IA(E_i^{->j}); NaN where there is no sub-embedding."""
    return np.array([[np.nan if s is None else information_abundance(s) for s in row]
                     for row in sub])


@dataclass(frozen=True)
class Marginals:
    """Figure 3b/3c: how the sub-embeddings' IA follows each field's own IA."""

    field_ia: np.ndarray     # (N,) IA(E_i)
    row_sum: np.ndarray      # (N,) sum_j IA(E_i^{->j})  (3b: against IA(E_i))
    col_sum: np.ndarray      # (N,) sum_i IA(E_i^{->j})  (3c: against IA(E_j))
    pearson_row: float
    pearson_col: float       # the paper's 0.68 (SE) / 0.52 (ME) is this one


def marginals(sub_ia: np.ndarray, field_ia: Sequence[float], exclude_diagonal: bool = False
              ) -> Marginals:
    """Row and column sums of the sub-embedding IA matrix and their Pearson correlations."""
    m = np.nan_to_num(np.array(sub_ia, dtype=float))     # missing sub-embeddings count 0
    if exclude_diagonal:
        np.fill_diagonal(m, 0.0)
    f = np.asarray(field_ia, dtype=float)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    return Marginals(field_ia=f, row_sum=rows, col_sum=cols,
                     pearson_row=float(np.corrcoef(f, rows)[0, 1]),
                     pearson_col=float(np.corrcoef(f, cols)[0, 1]))


def orthogonality_defect(blocks: torch.Tensor) -> float:
    """How far the K x K blocks are from *scaled* orthogonal matrices, scale-free.

    For each block B, with s^2 = ||B||_F^2 / K the best scale, the defect is
    ||I - B B^T / s^2||_F^2 / K: 0 exactly for a scaled orthogonal block, K - 1 for rank one.

    Args:
        blocks: (..., K, K), e.g. ``DCNv2.cross_blocks`` (N, N, K, K).
    Returns:
        The mean defect over all blocks.
    """
    b = blocks.detach().to(torch.float64)
    k = b.shape[-1]
    scale2 = b.square().sum(dim=(-1, -2), keepdim=True) / k
    gram = b @ b.transpose(-1, -2) / scale2.clamp_min(1e-300)
    eye = torch.eye(k, dtype=b.dtype)
    return float(((eye - gram).square().sum(dim=(-1, -2)) / k).mean())
