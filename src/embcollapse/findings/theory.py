"""Chapter "The interaction-collapse law": Figures 3a-3c, 4 and 14 (Evidence I and II)."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from . import paper
from ..intervals import correlation_interval
from .base import (CORRELATION_STRONG, Baseline, Check, Finding, finding, illustration,
                   over_seeds, seed_baseline, shared)


def correlation_checks(label: str, r: float | Sequence[float], n: int | None = None,
                       initial_r: float | Sequence[float] | None = None,
                       seeds: int | None = None) -> list[Check]:
    """A claimed positive correlation: ``r > 0`` and ``r >= CORRELATION_STRONG`` (both hold:
    reproduced; only the first: partly; neither: differs).

    With ``n`` (the number of fields it is computed over) each check gets Fisher's z interval,
    so a correlation over few fields is not resolved unless it is clear; with ``initial_r``
    (the same correlation on the run's initial model) each check has that baseline, so a
    correlation the untrained model already shows is given, not evidence.

    ``r`` (and ``initial_r``) one value per training seed: with two seeds or more each check
    is decided by the t interval over the seeds' correlations; with one, the Fisher interval
    over fields is shown but holds no training randomness, so the checks are unresolved.
    ``seeds`` overrides the seed count of a single ``r`` (tests of the Fisher rule).
    """
    per_seed = np.atleast_1d(np.asarray(r, dtype=float))
    if len(per_seed) > 1:
        base_s = [] if initial_r is None else [seed_baseline("initial model",
                                                             np.atleast_1d(initial_r))]
        return [over_seeds(f"{label} > 0", per_seed, 0.0, ">", base_s),
                over_seeds(f"{label} strong", per_seed, CORRELATION_STRONG, ">=", base_s)]
    r = float(per_seed[0])
    if initial_r is not None:
        initial_r = float(np.atleast_1d(initial_r)[0])
    seeds = 1 if seeds is None else seeds
    interval = None if n is None else correlation_interval(r, n)
    base: tuple[Baseline, ...] = ()
    if initial_r is not None:
        base = (Baseline("initial model", initial_r,
                         None if n is None else correlation_interval(initial_r, n)),)
    return [Check(f"{label} > 0", r, 0.0, ">", interval, base, seeds=seeds),
            Check(f"{label} strong", r, CORRELATION_STRONG, ">=", interval, base, seeds=seeds)]


def figure_3a(pearson_row: float, pearson_col: float, run_ids: Iterable[str] = ()) -> Finding:
    """The heat map: its rows are Figure 3b (by construction), its columns Figure 3c."""
    return shared("Figure 3a", "Figure 3c", f"row r = {np.mean(pearson_row):.2f}, column r = "
                  f"{np.mean(pearson_col):.2f}", "sub-embedding IA rises with both fields' IA",
                  run_ids)


def figure_3b(pearson_row: float, run_ids: Iterable[str] = ()) -> Finding:
    """Row sums follow IA(E_i): every sub-embedding of field i is a projection of E_i, so it
    cannot add directions, IA(E_i->j) <= rank(E_i) <= K (it can exceed IA(E_i) by evening out
    the singular values, so IA(E_i) is no bound); the correlation is high by construction and
    tests nothing."""
    return illustration("Figure 3b", f"r = {np.mean(pearson_row):.2f}", "an increasing trend",
                        "every sub-embedding of field i projects E_i, so the row sums follow "
                        "IA(E_i) by construction", {"pearson_row": float(np.mean(pearson_row))},
                        run_ids)


def _r_text(r: float | Sequence[float], n: int | None,
            initial_r: float | Sequence[float] | None) -> str:
    values = np.atleast_1d(np.asarray(r, dtype=float))
    if len(values) > 1:
        out = (f"r = {values.mean():.2f} (mean of {len(values)} seeds, from {values.min():.2f} "
               f"to {values.max():.2f}; {n} fields each)")
        if initial_r is not None:
            out += f"; initial models r = {np.mean(initial_r):.2f}"
        return out
    r = float(values[0])
    initial_r = None if initial_r is None else float(np.atleast_1d(initial_r)[0])
    out = f"r = {r:.2f}"
    if n is not None:
        low, high = correlation_interval(r, n)
        out += f" [{low:.2f}, {high:.2f}] over {n} fields"
    if initial_r is not None:
        out += f"; initial model r = {initial_r:.2f}"
    return out


def figure_3c(pearson_col: float, run_ids: Iterable[str] = (), n: int | None = None,
              initial_r: float | None = None) -> Finding:
    """Column sums follow the partner field's IA (the paper's Finding 1); ``n`` fields give
    the interval, ``initial_r`` (the initial model's) the baseline (:func:`correlation_checks`)."""
    ref = paper.text_value("Figure 3c", "pearson_column_sums")
    return finding("Figure 3c", _r_text(pearson_col, n, initial_r), f"r = {ref:.2f}",
                   correlation_checks("Pearson r of column sums with IA(E_j)", pearson_col, n,
                                      initial_r), run_ids=run_ids)


def figure_4(low_start: Sequence[float], low_end: Sequence[float],
             high_end: Sequence[float]) -> Finding:
    """Toy: the table trained beside a low-IA partner ends less abundant than beside a high-IA
    one, and below where it started. Each argument: one value per toy seed (same order);
    each check is decided by a t interval over the seeds."""
    start, low, high = (np.atleast_1d(np.asarray(v, float)) for v in (low_start, low_end,
                                                                       high_end))
    checks = [over_seeds("final IA(E1), low-IA partner minus high-IA partner", low - high,
                         0.0, "<"),
              over_seeds("IA(E1) change over training beside the low-IA partner", low - start,
                         0.0, "<")]
    return finding("Figure 4", f"final IA(E1) {low.mean():.2f} beside the low-IA partner vs "
                   f"{high.mean():.2f} beside the high-IA one (start {start.mean():.2f}; means "
                   f"of {len(low)} toy seeds)",
                   "the low-IA partner collapses E1 more (plotted only)", checks)


def figure_14(pearson_col: float, pearson_row: float, run_ids: Iterable[str] = (),
              n: int | None = None, initial_r: float | None = None) -> Finding:
    """FFM's field-pair tables follow the partner's IA (column correlation); ``n`` and
    ``initial_r`` as in :func:`figure_3c`."""
    return finding("Figure 14", f"FFM column {_r_text(pearson_col, n, initial_r)} (row r = "
                   f"{np.mean(pearson_row):.2f})",
                   "FFM's field-pair tables follow the partner's IA (plotted only)",
                   correlation_checks("Pearson r of FFM column sums with IA(E_j)", pearson_col,
                                      n, initial_r), run_ids=run_ids)
