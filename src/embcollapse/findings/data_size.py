"""Chapter "Collapse grows with data": Table 2."""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..paper_numbers import paper_table
from .base import Baseline, Finding, finding, over_seeds, seed_baseline

UNTRAINED = 0.02   # runs whose mean IA is within this share of their initial tables' stayed there


def table_2_wide(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 as data fraction x column ("40" for SE K=40, "40, ME" for 4x10)."""
    out = table.assign(column=[f"{k}" if e == "SE" else f"{k}, ME"
                               for k, e in zip(table.embedding_size, table.embedding)])
    wide = out.pivot(index="data_fraction", columns="column", values="mean_ia")
    return wide[sorted(wide.columns, key=lambda c: (int(c.split(",")[0]), "ME" in c))]


def per_seed_table(runs: pd.DataFrame, value: str) -> pd.DataFrame:
    """``value`` per (data fraction, column, seed) as a frame indexed (fraction, seed) with
    one column per Table 2 column; ``runs``: one row per run with ``fraction``, ``column``,
    ``seed`` and ``value``."""
    return runs.pivot_table(index=["fraction", "seed"], columns="column", values=value)


def _at(table: pd.DataFrame, fraction: float, column: str) -> pd.Series:
    """A column's values at one fraction, indexed by seed."""
    return table.xs(fraction, level="fraction")[column]


def _fall_baselines(ia: pd.DataFrame, initial: pd.DataFrame | None, c: str, low: float,
                    high: float) -> list[Baseline]:
    """The baselines of "IA falls from ``low`` to ``high``" for column ``c`` (per seed): both
    ends at their initial tables; and, when the ``low`` runs stayed within ``UNTRAINED`` of
    their initial IA on average (too few steps to learn), the fall against those initial
    tables, which then gives the outcome: it only says the small runs did not train."""
    if initial is None or c not in initial.columns:
        return []
    start, lo_ia = _at(initial, low, c), _at(ia, low, c)
    out = [seed_baseline("initial tables at both ends",
                         (_at(initial, high, c) - start).dropna())]
    if float(start.mean()) and abs(float(lo_ia.mean() - start.mean())) / float(start.mean()) \
            < UNTRAINED:
        out.append(seed_baseline(
            f"the {low:.0%} runs, which stayed within {UNTRAINED:.0%} of their initial IA "
            f"({float(lo_ia.mean()):.2f} vs {float(start.mean()):.2f})",
            (_at(ia, high, c) - start).dropna()))
    return out


def table_2(runs: pd.DataFrame, run_ids: Iterable[str] = ()) -> Finding:
    """More data, more collapse; ME above SE of the same total size.

    Args:
        runs: one row per run: ``fraction`` (share of the training rows), ``column`` (as
            :func:`table_2_wide`: ``"40"`` or ``"40, ME"``), ``seed``, ``mean_ia`` and,
            optionally, ``initial_ia`` (the same on the run's initial tables, rebuilt from
            its seed: the baseline).
    Checks, each on one value per seed with a t interval over seeds: per SE column, IA at
    the largest fraction minus at the smallest < 0 (the paper's columns are not monotone in
    between, so only the ends are compared; given when the small runs stayed at their initial
    IA, see :func:`_fall_baselines`); per data fraction, ME minus SE of the same total size
    > 0, with the same on the initial tables as its baseline.
    """
    ia = per_seed_table(runs, "mean_ia")
    initial = per_seed_table(runs, "initial_ia") if "initial_ia" in runs else None
    fractions = sorted(set(runs.fraction))
    low, high = fractions[0], fractions[-1]
    columns = sorted(set(runs.column), key=lambda c: (int(c.split(",")[0]), "ME" in c))
    se_cols = [c for c in columns if "ME" not in c]
    checks = [over_seeds(f"IA change K={c}, {low:.0%} to {high:.0%} of the data",
                         (_at(ia, high, c) - _at(ia, low, c)).dropna(), 0.0, "<",
                         _fall_baselines(ia, initial, c, low, high)) for c in se_cols]
    for c in (c for c in columns if "ME" in c):
        same = c.split(",")[0]
        if same not in columns:
            continue
        for f in fractions:
            base = [] if initial is None else [seed_baseline(
                "initial tables", (_at(initial, f, c) - _at(initial, f, same)).dropna())]
            checks.append(over_seeds(f"IA ME minus SE at total size {same}, {f:.0%} of the data",
                                     (_at(ia, f, c) - _at(ia, f, same)).dropna(), 0.0, ">",
                                     base))
    falls = sum(c.passed for c in checks if c.name.startswith("IA change"))
    above = [c for c in checks if c.name.startswith("IA ME")]
    paper = table_2_wide(paper_table("table2_ia_datasize"))
    plow, phigh = paper.index.min(), paper.index.max()
    p_falls = int((paper.loc[phigh, [c for c in paper.columns if "ME" not in c]]
                   < paper.loc[plow, [c for c in paper.columns if "ME" not in c]]).sum())
    p_cols = [c for c in paper.columns if "ME" in c]
    p_above = int(sum((paper[c] > paper[c.split(",")[0]]).sum() for c in p_cols))
    return finding("Table 2", f"IA falls from {low:.0%} to {high:.0%} of the data for "
                   f"{falls}/{len(se_cols)} sizes; ME above SE at {sum(c.passed for c in above)}"
                   f"/{len(above)} data sizes",
                   f"IA falls from {plow:.0%} to {phigh:.0%} of Criteo"
                   + ("" if (plow, phigh) == (low, high) else
                      f" (ours: {low:.0%} to {high:.0%} of our data)")
                   + f" for {p_falls}/{len(paper.columns) - len(p_cols)} sizes; ME above SE at "
                   f"{p_above}/{len(paper)} data sizes", checks,
                   run_ids=run_ids)
