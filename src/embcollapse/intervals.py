"""Paired confidence intervals for AUC differences, and the verdict they support.

Two models scored on the *same* test rows make errors that are strongly correlated, so the
uncertainty of their AUC difference is far smaller than that of either AUC. Three tools:

- :func:`delong_paired` -- DeLong, DeLong & Clarke-Pearson (1988), in the O(n log n) form of
  Sun & Xu (2014) built on midranks: the difference of two AUCs, its standard error and a
  normal confidence interval.
- :func:`bootstrap_paired` -- the same difference resampled over test rows (a cross-check of the
  DeLong standard error, which assumes nothing about the scores but is asymptotic).
- :func:`combine_seeds` -- the mean difference over seeds with an interval that holds both the
  spread between seeds and the test-set noise of each, Student's t with S - 1 degrees of
  freedom (method in its docstring).

:func:`seeds_needed` says how many seeds a difference would need to clear a threshold, from a
measured seed-to-seed spread. For statistics other than AUC: :func:`mean_interval` (a t
interval of a mean over items, e.g. a per-field IA difference over fields) and
:func:`correlation_interval` (Fisher's z interval of a Pearson correlation over ``n`` items).

:func:`verdict` turns an interval into *reproduced* / *not resolved* / *differs* against the
direction the paper reports.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np
from scipy import stats

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
    seeds: int = 1                 # training seeds behind it (1: one seed's test-row interval)
    seed_sd: float = math.nan      # sd of the per-seed differences (measured elsewhere for 1 seed)
    test_se: float = math.nan      # the test rows' part of the standard error (rms over seeds)
    seed_sd_source: str = ""       # where ``seed_sd`` was measured, for a one-seed difference
    test_rows: int = 0             # the test rows each seed's difference was scored on

    def as_dict(self) -> dict[str, float | str | int]:
        return asdict(self)


@dataclass(frozen=True)
class SeedSpread:
    """A seed-to-seed standard deviation of AUC differences measured in a build: ``sd``, from
    ``comparisons`` comparisons of ``seeds`` seeds each, described by ``source``."""

    sd: float
    comparisons: int
    seeds: int
    source: str


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def quantile(level: float, df: float | None = None) -> float:
    """The two-sided ``level`` quantile: Student's t with ``df`` degrees of freedom, or the
    normal one for ``df`` None (at 95%: 1.96; t with 2 df: 4.30, 2.2 times wider)."""
    z = _z(level)
    if df is None or math.isinf(df):
        return z
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return float(stats.t.ppf(0.5 + level / 2, df))


def _interval(diff: float, se: float, level: float, method: str, n: int,
              df: float | None = None, **extra: float | int | str) -> Difference:
    q = quantile(level, df)
    return Difference(diff=float(diff), se=float(se), low=float(diff - q * se),
                      high=float(diff + q * se), level=level, method=method, n=n, **extra)


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
    return delong_contrast(labels, [scores_a, scores_b], [1.0, -1.0], level)


def delong_contrast(labels: np.ndarray, scores: Sequence[np.ndarray], weights: Sequence[float],
                    level: float = 0.95) -> Difference:
    """A contrast ``sum(w_k * AUC_k)`` of ``k`` models scored on the same rows (each (n,)),
    e.g. ``(+1, -1)`` for a difference or ``(+1, -1, -1, +1)`` for a difference of two
    differences, with its DeLong standard error ``sqrt(w' C w)`` and a normal interval."""
    w = np.asarray(weights, dtype=np.float64)
    if len(w) != len(scores):
        raise ValueError(f"{len(w)} weights for {len(scores)} score vectors")
    aucs, cov = delong_components(labels, scores)
    se = math.sqrt(max(float(w @ cov @ w), 0.0))
    return _interval(float(w @ aucs), se, level, "delong", len(labels), test_se=se,
                     test_rows=len(labels))


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
    se = float(np.std(diffs, ddof=1))
    return _interval(point, se, level, "paired bootstrap", n, test_se=se, test_rows=n)


def combine_seeds(diffs: Sequence[float], ses: Sequence[float], level: float = 0.95,
                  test_rows: int = 0) -> Difference:
    """Mean difference over seeds, with an interval for it.

    Method: ``se^2 = s^2 / S + mean(se_s^2)``, where ``s`` is the sample standard deviation of
    the ``S`` per-seed differences (training randomness, 0 with one seed) and ``se_s`` the
    per-seed paired standard errors (test-set noise). The test rows are the same for every
    seed, so their noise is not assumed to shrink with more seeds: the second term is not
    divided by ``S``. This is conservative (the spread between seeds already holds part of the
    test noise). The quantile is Student's t with ``S - 1`` degrees of freedom (the spread is
    estimated from ``S`` values; t is the conservative end of the Welch-Satterthwaite range).
    With one seed it is that seed's own test-row interval (normal quantile) and says so
    (``seeds`` 1, ``seed_sd`` NaN): it holds no training randomness, so no verdict rests on it
    (:func:`seeds_needed` says how many seeds one would need).
    """
    d = np.asarray(diffs, dtype=np.float64)
    e = np.asarray(ses, dtype=np.float64)
    if d.ndim != 1 or d.shape != e.shape or len(d) == 0:
        raise ValueError(f"need one difference and one standard error per seed, got "
                         f"{d.shape} and {e.shape}")
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else math.nan
    spread = sd ** 2 / len(d) if len(d) > 1 else 0.0
    test_se = math.sqrt(float(np.mean(e ** 2)))
    se = math.sqrt(spread + test_se ** 2)
    return _interval(float(d.mean()), se, level, "seeds: between-seed + test-set", len(d),
                     df=len(d) - 1 if len(d) > 1 else None, seeds=len(d), seed_sd=sd,
                     test_se=test_se, test_rows=test_rows)


def seeds_needed(gap: float, seed_sd: float, test_se: float, level: float = 0.95,
                 max_seeds: int = 100) -> int | None:
    """The fewest seeds ``S >= 2`` whose :func:`combine_seeds` interval would be narrower than
    ``gap`` on each side: ``t(S - 1) * sqrt(seed_sd^2 / S + test_se^2) < |gap|``, where
    ``gap`` is how far the measured difference lies from the threshold it is compared with.
    None when even ``max_seeds`` would not do (the test rows' noise alone is as large, or the
    difference sits on the threshold) or the spread is unknown (NaN)."""
    gap = abs(float(gap))
    if any(math.isnan(v) for v in (gap, seed_sd, test_se)) or gap == 0.0:
        return None
    for s in range(2, max_seeds + 1):
        if half_width(seed_sd, test_se, s, level) < gap:
            return s
    return None


def pooled_seed_sd(differences: Sequence[Difference]) -> tuple[float, int, int]:
    """The seed-to-seed sd pooled over the multi-seed differences of a build: the root of
    the mean of their variances (weighted by degrees of freedom). Returns ``(sd, comparisons,
    seeds)``; ``(nan, 0, 0)`` when none has two seeds."""
    usable = [d for d in differences if d is not None and d.seeds > 1
              and not math.isnan(d.seed_sd)]
    if not usable:
        return math.nan, 0, 0
    dof = sum(d.seeds - 1 for d in usable)
    var = sum((d.seeds - 1) * d.seed_sd ** 2 for d in usable) / dof
    return math.sqrt(var), len(usable), max(d.seeds for d in usable)


def mean_interval(values: Sequence[float], level: float = 0.95, what: str = "items"
                  ) -> Difference:
    """The mean of ``values`` (e.g. per-field IA differences) with a Student's t interval over
    them (``n - 1`` degrees of freedom); with fewer than two values the interval is unbounded.
    NaN values are left out."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return Difference(math.nan, math.nan, -math.inf, math.inf, level, f"t over {what}", 0)
    if len(v) < 2:
        return Difference(float(v[0]), math.inf, -math.inf, math.inf, level,
                          f"t over {what}", 1, seeds=1)
    se = float(np.std(v, ddof=1) / math.sqrt(len(v)))
    seeds = {"seeds": len(v), "seed_sd": float(np.std(v, ddof=1))} if what == "seeds" else {}
    return _interval(float(v.mean()), se, level, f"t over {len(v)} {what}", len(v),
                     df=len(v) - 1, **seeds)


def correlation_interval(r: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Fisher's z interval of a Pearson correlation ``r`` over ``n`` pairs:
    ``tanh(atanh(r) +- z / sqrt(n - 3))``; ``(-1, 1)`` for ``n <= 3`` or a NaN ``r``."""
    if n <= 3 or math.isnan(r):
        return -1.0, 1.0
    z = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12))
    half = _z(level) / math.sqrt(n - 3)
    return math.tanh(z - half), math.tanh(z + half)


def correlation_difference_interval(r_a: float, r_b: float, n: int, level: float = 0.95
                                    ) -> tuple[float, float]:
    """An interval for ``r_a - r_b``, two correlations over ``n`` pairs each taken as
    independent, by Zou's (2007) method from each one's Fisher interval ``(l, u)``:
    ``r_a - r_b -+ sqrt((r_a - l_a)^2 + (u_b - r_b)^2)`` (low) and
    ``sqrt((u_a - r_a)^2 + (r_b - l_b)^2)`` (high). ``(-2, 2)`` for ``n <= 3`` or a NaN."""
    if n <= 3 or math.isnan(r_a) or math.isnan(r_b):
        return -2.0, 2.0
    la, ua = correlation_interval(r_a, n, level)
    lb, ub = correlation_interval(r_b, n, level)
    d = r_a - r_b
    return (d - math.sqrt((r_a - la) ** 2 + (ub - r_b) ** 2),
            d + math.sqrt((ua - r_a) ** 2 + (r_b - lb) ** 2))



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
    return contrast_over_seeds([((la, sa), (lb, sb)) for la, sa, lb, sb in seeds], [1.0, -1.0],
                               level)


def contrast_over_seeds(seeds: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]],
                        weights: Sequence[float], level: float = 0.95) -> Difference:
    """A contrast of AUCs (:func:`delong_contrast`) over seeds: ``seeds`` holds, per seed, one
    ``(labels, scores)`` per model in the order of ``weights``; every model of a seed must be
    scored on the same test rows. The seeds are combined by :func:`combine_seeds`."""
    diffs, ses, rows = [], [], 0
    for models in seeds:
        labels = models[0][0]
        if any(len(y) != len(labels) or not np.array_equal(y, labels) for y, _ in models):
            raise ValueError("the runs were not scored on the same test rows (their labels "
                             "differ); a paired comparison needs the same test split")
        d = delong_contrast(labels, [s for _, s in models], weights, level)
        diffs.append(d.diff)
        ses.append(d.se)
        rows = len(labels)
    return combine_seeds(diffs, ses, level, test_rows=rows)


def proportion_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval of a share ``successes / n`` (e.g. of fields where one table's
    IA is above another's); ``(0, 1)`` for ``n`` 0."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(level)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def half_width(seed_sd: float, test_se: float, seeds: int, level: float = 0.95) -> float:
    """The half-width of a :func:`combine_seeds` interval over ``seeds`` seeds:
    ``t(seeds - 1) * sqrt(seed_sd^2 / seeds + test_se^2)``."""
    if seeds < 2:
        raise ValueError(f"an interval over seeds needs at least 2 seeds, got {seeds}")
    return quantile(level, seeds - 1) * math.sqrt(seed_sd ** 2 / seeds + test_se ** 2)


def summary_difference(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float,
                       n_b: int, level: float = 0.95) -> Difference:
    """``mean_a - mean_b`` from two published summaries (mean and sd over ``n`` seeds each,
    unpaired), with Welch's t interval (Welch-Satterthwaite degrees of freedom): how the
    paper's own means and standard deviations over its 3 seeds are fed through the book's
    rules."""
    return summary_contrast([(1.0, mean_a, sd_a, n_a), (-1.0, mean_b, sd_b, n_b)], level)


def summary_contrast(terms: Sequence[tuple[float, float, float, int]], level: float = 0.95
                     ) -> Difference:
    """A linear contrast ``sum(c * mean)`` of independent published summaries ``(c, mean,
    sd, n)`` (e.g. a gain at 10x minus a gain at 2x: four means), with Welch's t interval."""
    if not terms:
        raise ValueError("a contrast needs at least one summary")
    value = sum(c * m for c, m, _, _ in terms)
    parts = [(c * c * s * s / n, n) for c, _, s, n in terms]
    var = sum(v for v, _ in parts)
    if any(n < 2 for _, n in parts):
        raise ValueError("every summary needs n >= 2 seeds")
    denom = sum(v * v / (n - 1) for v, n in parts)
    df = var * var / denom if denom > 0 else math.inf
    seeds = min(n for _, n in parts)
    return _interval(value, math.sqrt(var), level, "Welch t over published summaries",
                     seeds, df=df, seeds=seeds, seed_sd=math.sqrt(var * seeds), test_se=0.0)

# --------------------------------------------------------------------------- planning (issue 25)

def minimum_detectable_effect(seed_sd: float, test_se: float, seeds: int, level: float = 0.95,
                              power: float = 0.5) -> float:
    """The smallest ``|difference|`` that :func:`combine_seeds` over ``seeds`` seeds would
    resolve: with the default ``power`` 0.5, the half-width of its interval,
    ``t(S - 1) * sqrt(seed_sd^2 / S + test_se^2)``; a measured difference larger than that
    (in size) gives an interval that excludes zero. A true difference exactly that large is
    measured above it only about half the time; ``power`` p > 0.5 gives the true difference
    resolved with probability about p, ``(t_level(S - 1) + t_p(S - 1)) * se`` (``t_p`` the
    one-sided p quantile; the usual approximation, which takes the spread as known).

    ``test_se`` is the per-seed paired test-row SE (not divided by S, as in combine_seeds);
    ``seeds`` >= 2 (one seed holds no training randomness). NaN when an input is NaN.
    """
    if not isinstance(seeds, int) or seeds < 2:
        raise ValueError(f"seeds must be an integer >= 2 (a spread needs two), got {seeds!r}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    if math.isnan(seed_sd) or math.isnan(test_se):
        return math.nan
    se = math.sqrt(seed_sd ** 2 / seeds + test_se ** 2)
    return (quantile(level, seeds - 1) + float(stats.t.ppf(power, seeds - 1))) * se


@dataclass(frozen=True)
class RowsNeeded:
    """Test rows for a comparison (:func:`rows_needed`): ``balanced``, the fewest at which
    the test rows' variance term is at most ``fraction`` of the between-seed term; ``resolving``,
    the fewest at which a gap would be resolved at the given seeds (None: not even infinitely
    many rows would do, the between-seed term alone is too wide, or no gap was given)."""

    balanced: int
    resolving: int | None
    fraction: float
    seeds: int


def rows_needed(test_se: float, rows: int, seed_sd: float, seeds: int,
                     fraction: float = 0.25, gap: float | None = None, level: float = 0.95
                     ) -> RowsNeeded:
    """The test-row twin of :func:`seeds_needed`. A per-seed paired test-row SE ``test_se``
    measured on ``rows`` test rows scales as ``1 / sqrt(rows)``: at ``r`` rows it is
    ``test_se * sqrt(rows / r)``. Of :func:`combine_seeds`' ``se^2 = seed_sd^2 / S +
    test_se^2`` (S = ``seeds``):

    * ``balanced``: the fewest ``r`` with ``test_se(r)^2 <= fraction * seed_sd^2 / S``, i.e.
      ``ceil(rows * test_se^2 * S / (fraction * seed_sd^2))`` (more rows than that shrink the
      interval by at most a factor ``sqrt(1 + fraction)``);
    * ``resolving`` (``gap`` given): the fewest ``r`` with ``t(S - 1) * sqrt(seed_sd^2 / S +
      test_se(r)^2) < |gap|``, as :func:`seeds_needed`'s criterion; None when
      ``t(S - 1) * seed_sd / sqrt(S) >= |gap|`` (no number of rows suffices).
    """
    if not isinstance(rows, int) or rows < 1:
        raise ValueError(f"rows must be an integer >= 1, got {rows!r}")
    if not isinstance(seeds, int) or seeds < 2:
        raise ValueError(f"seeds must be an integer >= 2, got {seeds!r}")
    if not fraction > 0:
        raise ValueError(f"fraction must be > 0, got {fraction}")
    if not (test_se > 0 and seed_sd > 0):
        raise ValueError(f"test_se and seed_sd must be > 0, got {test_se} and {seed_sd}")
    seed_term = seed_sd ** 2 / seeds
    balanced = max(1, math.ceil(rows * test_se ** 2 / (fraction * seed_term)))
    resolving = None
    if gap is not None:
        room = (abs(gap) / quantile(level, seeds - 1)) ** 2 - seed_term  # for test_se(r)^2
        if room > 0:
            resolving = math.floor(rows * test_se ** 2 / room) + 1
    return RowsNeeded(balanced=balanced, resolving=resolving, fraction=fraction,
                          seeds=seeds)
