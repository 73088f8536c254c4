"""Evidence I: sub-embeddings and how their IA depends on both fields (paper Figure 3).

In DCNv2's first cross layer, block ``W[j, i]`` (K x K) of the weight maps field i's embedding
into the slot of field j, so field i enters its interaction with field j through the
*sub-embedding* ``E_i^{->j} = E_i @ W[j, i].T`` of shape (D_i, K). For FFM the sub-embedding is
the table field i keeps for field j.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from .spectrum import information_abundance


def dcnv2_subembeddings(tables: Sequence[torch.Tensor], blocks: torch.Tensor
                        ) -> list[list[torch.Tensor]]:
    """Sub-embeddings of DCNv2.

    Args:
        tables: N tables E_i, each (D_i, K).
        blocks: (N, N, K, K); ``blocks[j, i]`` is W^{i->j} (see ``DCNv2.cross_blocks``).
    Returns:
        ``sub[i][j]`` = E_i @ W[j, i].T, each (D_i, K).
    """
    n = len(tables)
    return [[tables[i] @ blocks[j, i].T for j in range(n)] for i in range(n)]


def subembedding_ia(sub: Sequence[Sequence[torch.Tensor]]) -> np.ndarray:
    """(N, N) matrix, ``[i, j]`` = IA(E_i^{->j})."""
    return np.array([[information_abundance(s) for s in row] for row in sub])


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
    m = np.array(sub_ia, dtype=float)
    if exclude_diagonal:
        m = m.copy()
        np.fill_diagonal(m, 0.0)
    f = np.asarray(field_ia, dtype=float)
    rows, cols = m.sum(axis=1), m.sum(axis=0)
    return Marginals(field_ia=f, row_sum=rows, col_sum=cols,
                     pearson_row=float(np.corrcoef(f, rows)[0, 1]),
                     pearson_col=float(np.corrcoef(f, cols)[0, 1]))
