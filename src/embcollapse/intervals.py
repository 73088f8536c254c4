"""Paired confidence intervals for AUC differences, and the verdict they support.

Two models scored on the *same* test rows make errors that are strongly correlated, so the
uncertainty of their AUC difference is far smaller than that of either AUC. Three tools:

- :func:`delong_paired` -- DeLong, DeLong & Clarke-Pearson (1988), in the O(n log n) form of
  Sun & Xu (2014) built on midranks: the difference of two AUCs, its standard error and a
  normal confidence interval.
- :func:`bootstrap_paired` -- the same difference resampled over test rows (a cross-check of the
  DeLong standard error, which assumes nothing about the scores but is asymptotic).
- :func:`combine_seeds` -- the mean difference over seeds with an interval that holds both the
  spread between seeds and the test-set noise of each (method in its docstring).

:func:`verdict` turns an interval into *reproduced* / *not resolved* / *differs* against the
direction the paper reports.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np

REPRODUCED, NOT_RESOLVED, DIFFERS = "reproduced", "not resolved", "differs"


@dataclass(frozen=True)
class Difference:
    """An AUC difference ``a - b`` with its standard error and a ``level`` interval."""

    diff: float
    se: float
    low: float
    high: float
    level: float = 0.95
    method: str = "delong"
    n: int = 0                     # test rows (DeLong, bootstrap) or seeds (combined)

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def _interval(diff: float, se: float, level: float, method: str, n: int) -> Difference:
    z = _z(level)
    return Difference(diff=float(diff), se=float(se), low=float(diff - z * se),
                      high=float(diff + z * se), level=level, method=method, n=n)


def midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (n,), ties sharing the mean of their ranks: (n,) float64."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    # start of each run of equal values, and its length
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    lengths = np.diff(np.r_[starts, len(xs)])
    mean_rank = starts + (lengths + 1) / 2.0          # 1-based mean rank of each run
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, lengths)
    return ranks


def _check_paired(labels: np.ndarray, scores: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in scores]
    if any(len(v) != len(y) for v in arrays):
        raise ValueError(f"scores have {[len(v) for v in arrays]} rows but labels have "
                         f"{len(y)}; a paired comparison needs the models scored on the same "
                         "test rows")
    s = np.stack(arrays)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    positive = y == 1
    if positive.all() or not positive.any():
        raise ValueError("labels hold only one class; AUC is undefined")
    return s, positive


def delong_components(labels: np.ndarray, scores: Sequence[np.ndarray]
                      ) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) of ``k`` score vectors (each (n,)) and the DeLong covariance (k, k) of them.

    Sun & Xu's fast form: with ``m`` positives and ``n`` negatives, the structural component
    of positive ``i`` is (midrank among all - midrank among positives) / n, that of negative
    ``j`` is 1 - (midrank among all - midrank among negatives) / m; the covariance is
    cov(positive components) / m + cov(negative components) / n (sample covariances).
    """
    s, positive = _check_paired(labels, scores)
    pos, neg = s[:, positive], s[:, ~positive]
    m, n = pos.shape[1], neg.shape[1]
    aucs, v_pos, v_neg = [], [], []
    for k in range(len(s)):
        r_all = midranks(np.concatenate([pos[k], neg[k]]))
        r_pos, r_neg = midranks(pos[k]), midranks(neg[k])
        aucs.append((r_all[:m].sum() - m * (m + 1) / 2) / (m * n))
        v_pos.append((r_all[:m] - r_pos) / n)
        v_neg.append(1.0 - (r_all[m:] - r_neg) / m)
    cov = (np.atleast_2d(np.cov(np.array(v_pos))) / m
           + np.atleast_2d(np.cov(np.array(v_neg))) / n)
    return np.array(aucs), cov


def delong_paired(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                  level: float = 0.95) -> Difference:
    """AUC(a) - AUC(b) on the same rows, DeLong standard error, normal interval.

    ``labels`` (n,) 0/1; ``scores_a``, ``scores_b`` (n,) any monotone scores (logits or
    probabilities; only their order matters).
    """
    aucs, cov = delong_components(labels, [scores_a, scores_b])
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    return _interval(aucs[0] - aucs[1], math.sqrt(max(var, 0.0)), level, "delong", len(labels))


def delong_se(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """One model's AUC and its DeLong standard error."""
    aucs, cov = delong_components(labels, [scores])
    return float(aucs[0]), math.sqrt(max(cov[0, 0], 0.0))


def _auc_fast(positive: np.ndarray, scores: np.ndarray) -> float:
    ranks = midranks(scores)
    m = int(positive.sum())
    n = len(scores) - m
    return (ranks[positive].sum() - m * (m + 1) / 2) / (m * n)


def bootstrap_paired(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                     resamples: int = 200, seed: int = 0, level: float = 0.95) -> Difference:
    """AUC(a) - AUC(b) with the standard error of its paired bootstrap over test rows.

    Each resample draws ``n`` rows with replacement and scores both models on the same draw.
    The interval is the normal one from the bootstrap standard error (percentile intervals need
    many more resamples to be stable at this resolution).
    """
    s, positive = _check_paired(labels, [scores_a, scores_b])
    rng = np.random.default_rng(seed)
    n = len(positive)
    diffs = []
    for _ in range(resamples):
        rows = rng.integers(0, n, n)
        pos = positive[rows]
        if pos.all() or not pos.any():
            continue
        diffs.append(_auc_fast(pos, s[0, rows]) - _auc_fast(pos, s[1, rows]))
    if len(diffs) < 2:
        raise ValueError("too few usable bootstrap resamples (one class only)")
    point = _auc_fast(positive, s[0]) - _auc_fast(positive, s[1])
    return _interval(point, float(np.std(diffs, ddof=1)), level, "paired bootstrap", n)


def combine_seeds(diffs: Sequence[float], ses: Sequence[float], level: float = 0.95
                  ) -> Difference:
    """Mean difference over seeds, with an interval for it.

    Method: ``se^2 = s^2 / S + mean(se_s^2)``, where ``s`` is the sample standard deviation of
    the ``S`` per-seed differences (training randomness, 0 with one seed) and ``se_s`` the
    per-seed paired standard errors (test-set noise). The test rows are the same for every
    seed, so their noise is not assumed to shrink with more seeds: the second term is not
    divided by ``S``. This is conservative (the spread between seeds already holds part of the
    test noise). With one seed it is that seed's own interval. Normal quantile.
    """
    d = np.asarray(diffs, dtype=np.float64)
    e = np.asarray(ses, dtype=np.float64)
    if d.ndim != 1 or d.shape != e.shape or len(d) == 0:
        raise ValueError(f"need one difference and one standard error per seed, got "
                         f"{d.shape} and {e.shape}")
    spread = float(np.var(d, ddof=1)) / len(d) if len(d) > 1 else 0.0
    se = math.sqrt(spread + float(np.mean(e ** 2)))
    return _interval(float(d.mean()), se, level, "seeds: between-seed + test-set", len(d))


def verdict(difference: Difference, paper_direction: int) -> str:
    """*reproduced* when the interval excludes zero on the paper's side (``paper_direction``
    +1: the paper finds a > b; -1: a < b), *differs* when it excludes zero on the other side,
    *not resolved* when it holds zero."""
    if paper_direction not in (1, -1):
        raise ValueError(f"paper_direction must be +1 or -1, got {paper_direction}")
    low, high = difference.low * paper_direction, difference.high * paper_direction
    low, high = min(low, high), max(low, high)
    if low > 0:
        return REPRODUCED
    if high < 0:
        return DIFFERS
    return NOT_RESOLVED


def paired_over_seeds(seeds: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                      level: float = 0.95) -> Difference:
    """AUC(a) - AUC(b) over seeds: ``seeds`` holds, per seed, ``(labels_a, scores_a, labels_b,
    scores_b)`` (each (n,), as a run stores them); each seed's pair is compared with DeLong and
    the seeds combined by :func:`combine_seeds`."""
    diffs, ses = [], []
    for labels_a, scores_a, labels_b, scores_b in seeds:
        if len(labels_a) != len(labels_b) or not np.array_equal(labels_a, labels_b):
            raise ValueError("the two runs were not scored on the same test rows (their labels "
                             "differ); a paired comparison needs the same test split")
        d = delong_paired(labels_a, scores_a, scores_b, level)
        diffs.append(d.diff)
        ses.append(d.se)
    return combine_seeds(diffs, ses, level)


def mean_t_interval(values: Sequence[float], level: float = 0.95, unit: str = "fields"
                    ) -> Difference:
    """Mean of paired differences (one per unit: field, seed) with a Student-t ``level``
    interval on ``n - 1`` degrees of freedom; ``method`` names the unit. NaN bounds with one
    value (no spread to measure)."""
    from scipy.stats import t as student_t

    x = np.asarray(values, dtype=np.float64)
    if x.size == 0 or not 0.0 < level < 1.0:
        raise ValueError(f"need at least one value and a level in (0, 1), got {x.size}, {level}")
    mean = float(x.mean())
    if x.size == 1:
        return Difference(mean, float("nan"), float("nan"), float("nan"), level,
                          f"t over {unit}", 1)
    se = float(x.std(ddof=1) / np.sqrt(x.size))
    half = float(student_t.ppf(0.5 + level / 2, x.size - 1)) * se
    return Difference(mean, se, mean - half, mean + half, level, f"t over {unit}", int(x.size))
