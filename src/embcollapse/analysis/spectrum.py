"""Singular values of embedding tables, and three measures of collapse computed from them.

- information abundance (the paper's Definition 3.1), IA(E) = ||sigma||_1 / ||sigma||_inf: the
  sum of the singular values over the largest;
- effective rank (Roy & Vetterli 2007; "RankMe", Garrido et al. 2023), exp(H(p)) with
  p = sigma / ||sigma||_1 and H the Shannon entropy (natural log);
- stable rank, ||sigma||_2^2 / ||sigma||_inf^2: the sum of the squared singular values over the
  largest squared (||E||_F^2 / ||E||_2^2).

Each is 1 for a rank-one matrix, n for an identity of size n (any n equal singular values), lies
in [1, rank(E)], and is unchanged when E is scaled. They weigh the small singular values
differently: the stable rank squares them (small ones count least), IA counts each in
proportion to its size, and the effective rank by -p log p, more than its share p wherever
p < 1/e. So a tail of small singular values raises the effective rank most and the stable rank
least; for a fixed spectrum stable rank <= IA (each sigma / sigma_max <= 1 is at least its
square).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def singular_values(matrix: ArrayLike) -> np.ndarray:
    """Singular values of a (D, K) matrix, descending, as float64 (min(D, K),)."""
    m = torch.as_tensor(matrix).detach().to("cpu", torch.float64)
    if m.ndim != 2:
        raise ValueError(f"expected a 2-d matrix, got shape {tuple(m.shape)}")
    if m.shape[0] > 4 * m.shape[1]:
        # tall tables (D >> K): the eigenvalues of the K x K Gram matrix are sigma^2
        eig = torch.linalg.eigvalsh(m.T @ m).clamp_min(0).sqrt()
        return eig.flip(0).numpy()
    return torch.linalg.svdvals(m).numpy()


def normalized_spectrum(matrix: ArrayLike) -> np.ndarray:
    """Singular values divided by the largest (paper Figure 1b), descending."""
    s = singular_values(matrix)
    return s / s[0] if s[0] > 0 else s


def spectrum_ia(s: np.ndarray) -> float:
    """IA from singular values already computed, descending (min(D, K),): sum / largest (0 for
    a zero matrix)."""
    return float(s.sum() / s[0]) if s[0] > 0 else 0.0


def spectrum_effective_rank(s: np.ndarray) -> float:
    """Effective rank (RankMe) from singular values (min(D, K),): exp of the Shannon entropy of
    ``s / s.sum()`` (zeros contribute nothing); 0 for a zero matrix."""
    s = np.asarray(s, dtype=np.float64)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def spectrum_stable_rank(s: np.ndarray) -> float:
    """Stable rank from singular values (min(D, K),): sum of squares over the largest squared;
    0 for a zero matrix."""
    s = np.asarray(s, dtype=np.float64)
    top = s.max() if s.size else 0.0
    return float((s ** 2).sum() / top ** 2) if top > 0 else 0.0


COLLAPSE_MEASURES = {"IA": spectrum_ia, "effective rank": spectrum_effective_rank,
                     "stable rank": spectrum_stable_rank}   # name -> f(singular values)


def effective_rank(matrix: ArrayLike) -> float:
    """Effective rank (RankMe) of a matrix: :func:`spectrum_effective_rank` of its singular
    values."""
    return spectrum_effective_rank(singular_values(matrix))


def stable_rank(matrix: ArrayLike) -> float:
    """Stable rank of a matrix: :func:`spectrum_stable_rank` of its singular values."""
    return spectrum_stable_rank(singular_values(matrix))


def information_abundance(matrix: ArrayLike) -> float:
    """IA = sum of singular values / largest singular value (0 for a zero matrix)."""
    return spectrum_ia(singular_values(matrix))


@lru_cache(maxsize=4096)
def random_ia(rows: int, cols: int, samples: int = 3, seed: int = 0) -> float:
    """Mean IA of Gaussian (rows, cols) matrices: the uncollapsed reference of that shape."""
    gen = torch.Generator().manual_seed(seed)
    values = [information_abundance(torch.randn(rows, cols, generator=gen, dtype=torch.float64))
              for _ in range(samples)]
    return float(np.mean(values))


def normalized_ia(matrix: ArrayLike) -> float:
    """IA(E) / IA(R) with R Gaussian of E's shape (paper Appendix I)."""
    rows, cols = tuple(torch.as_tensor(matrix).shape)
    return information_abundance(matrix) / random_ia(rows, cols)


def model_field_ia(tables: Sequence[Sequence[ArrayLike]]) -> np.ndarray:
    """IA of every table, (M, N) from tables indexed [set][field]."""
    return np.array([[information_abundance(t) for t in row] for row in tables])


def side_by_side_ia(tables: Sequence[Sequence[ArrayLike]]) -> np.ndarray:
    """Per field, IA of the M sets' tables side by side, (D_i, M*K): (N,) from [set][field].

    For one set this is :func:`model_field_ia`'s row; for multi-embedding it compares with a
    single table of the same total width (paper Figure 8b, Table 2's ME column).
    """
    return np.array([information_abundance(torch.cat([torch.as_tensor(s[i]) for s in tables], 1))
                     for i in range(len(tables[0]))])


def side_by_side_spectra(tables: Sequence[Sequence[ArrayLike]]) -> list[np.ndarray]:
    """Per field, the singular values of the M sets' tables side by side, (D_i, M*K): a list of
    N arrays (min(D_i, M*K),), from tables indexed [set][field] (one set: each table's own)."""
    return [singular_values(torch.cat([torch.as_tensor(s[i]) for s in tables], 1))
            for i in range(len(tables[0]))]


def field_measures(spectra: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Every measure of :data:`COLLAPSE_MEASURES` per field, name -> (N,), from each field's
    singular values (N arrays)."""
    return {name: np.array([f(np.asarray(s, dtype=np.float64)) for s in spectra])
            for name, f in COLLAPSE_MEASURES.items()}


def run_field_ia(tables: Sequence[Sequence[ArrayLike]],
                 spectra: Sequence[Sequence[np.ndarray]] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A run's IA per field and per set, from tables indexed [set][field] (and their
    :func:`model_spectra` when already computed, so no table is decomposed twice).

    Returns:
        ``(concatenated (N,), per_set (M, N))``: the first is each field's IA with the M sets'
        tables side by side (:func:`side_by_side_ia`), the IA of a multi-embedding model as the
        paper measures it; for one set it is that set's row of ``per_set``.
    """
    per_set = np.array([[spectrum_ia(s) for s in row]
                        for row in (spectra if spectra is not None else model_spectra(tables))])
    return (per_set[0] if len(tables) == 1 else side_by_side_ia(tables)), per_set


def model_spectra(tables: Sequence[Sequence[ArrayLike]]) -> list[list[np.ndarray]]:
    """Singular values of every table, [set][field] -> (min(D_i, K),)."""
    return [[singular_values(t) for t in row] for row in tables]
