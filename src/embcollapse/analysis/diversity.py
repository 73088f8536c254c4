"""How different the embedding sets of one field are (paper Section 5.3, Figure 10a).

For two tables of the same field, E^(m) and E^(m') (each D_i x K), take orthonormal bases U, U'
of their column spaces; the cosines of the principal angles between the spaces are the singular
values of U^T U'. Their mean is the *similarity* (1 for the same space, 0 for orthogonal
spaces) and ``1 - similarity`` the *diversity*, averaged over pairs of sets.
"""
from __future__ import annotations

from itertools import combinations
from typing import Sequence

import numpy as np
import torch

from .spectrum import ArrayLike


def _numpy(matrix: ArrayLike) -> np.ndarray:
    return matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)


def orthonormal_basis(matrix: ArrayLike, rtol: float = 1e-6) -> np.ndarray:
    """An orthonormal basis of the column space: (D, r), r the numerical rank."""
    u, s, _ = np.linalg.svd(_numpy(matrix).astype(np.float64), full_matrices=False)
    rank = int((s > rtol * s[0]).sum()) if s.size and s[0] > 0 else 0
    return u[:, :rank]


def subspace_similarity(a: ArrayLike, b: ArrayLike) -> float:
    """Mean cosine of the principal angles between the column spaces of ``a`` and ``b``
    (both (D, *)): 1 for the same space, 0 for orthogonal spaces."""
    ua, ub = orthonormal_basis(a), orthonormal_basis(b)
    if ua.shape[0] != ub.shape[0]:
        raise ValueError(f"tables of one field must have the same rows, got {ua.shape[0]} "
                         f"and {ub.shape[0]}")
    if ua.shape[1] == 0 or ub.shape[1] == 0:
        return float("nan")
    cosines = np.linalg.svd(ua.T @ ub, compute_uv=False)
    return float(np.clip(cosines, 0.0, 1.0).mean())


def set_diversity(tables: Sequence[ArrayLike]) -> float:
    """1 - mean similarity over all pairs of ``tables`` (one field's sets, each (D, K))."""
    if len(tables) < 2:
        raise ValueError("diversity needs at least two embedding sets")
    return 1.0 - float(np.mean([subspace_similarity(a, b) for a, b in combinations(tables, 2)]))


def split_columns(table: ArrayLike, groups: int) -> list[np.ndarray]:
    """A (D, G*K) table as G tables of K columns (a single embedding seen as G "sets")."""
    m = _numpy(table)
    if m.shape[1] % groups:
        raise ValueError(f"{m.shape[1]} columns do not split into {groups} equal groups")
    return np.split(m, groups, axis=1)


def field_diversity(sets: Sequence[Sequence[ArrayLike]], min_rows: int = 0) -> np.ndarray:
    """Per-field diversity of a model's sets, ``sets[m][i]`` -> (fields kept,).

    ``min_rows``: keep only fields whose tables have more rows than this (with D_i <= K every
    set spans all of R^{D_i} and the diversity is 0 by construction).
    """
    keep = [i for i, t in enumerate(sets[0]) if len(t) > min_rows]
    return np.array([set_diversity([s[i] for s in sets]) for i in keep])
