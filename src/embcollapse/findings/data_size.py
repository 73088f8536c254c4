"""Chapter "Collapse grows with data": Table 2."""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from ..report import paper_table
from .base import Baseline, Check, Finding, finding

UNTRAINED = 0.02   # runs whose mean IA is within this share of their initial tables' stayed there


def table_2_wide(table: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 2 as data fraction x column ("40" for SE K=40, "40, ME" for 4x10)."""
    out = table.assign(column=[f"{k}" if e == "SE" else f"{k}, ME"
                               for k, e in zip(table.embedding_size, table.embedding)])
    wide = out.pivot(index="data_fraction", columns="column", values="mean_ia")
    return wide[sorted(wide.columns, key=lambda c: (int(c.split(",")[0]), "ME" in c))]


def _fall_baselines(ours: pd.DataFrame, initial: pd.DataFrame | None, c: str, low: float,
                    high: float) -> tuple[Baseline, ...]:
    """The baselines of "IA falls from ``low`` to ``high``" for column ``c``: both ends at their
    initial tables; and, when the ``low`` runs stayed within ``UNTRAINED`` of their initial IA
    (too few steps to learn), the fall against those initial tables, which then gives the
    outcome: it only says the small runs did not train."""
    if initial is None or c not in initial.columns:
        return ()
    out = [Baseline("initial tables at both ends",
                    float(initial.loc[high, c] - initial.loc[low, c]))]
    start = float(initial.loc[low, c])
    if start and abs(float(ours.loc[low, c]) - start) / start < UNTRAINED:
        out.append(Baseline(f"the {low:.0%} runs, which stayed within {UNTRAINED:.0%} of their "
                            f"initial IA ({float(ours.loc[low, c]):.2f} vs {start:.2f})",
                            float(ours.loc[high, c]) - start))
    return tuple(out)


def table_2(ours: pd.DataFrame, run_ids: Iterable[str] = (),
            initial: pd.DataFrame | None = None, initial_me_gap: Any = None) -> Finding:
    """More data, more collapse; ME above SE of the same total size.

    Args:
        ours: mean IA, index data fraction, columns as :func:`table_2_wide`.
        initial: the same table on the runs' initial tables (rebuilt from their seeds).
        initial_me_gap: ME minus SE mean IA at the same total size on the initial tables,
            with a t interval over fields (the baseline of the ME checks; random starts give
            about 0).
    Checks: per SE column, IA at the largest fraction minus at the smallest < 0 (the paper's
    columns are not monotone in between, so only the ends are compared; given when the small
    runs stayed at their initial IA, see :func:`_fall_baselines`); per data fraction, ME minus
    SE of the same total size > 0.
    """
    low, high = ours.index.min(), ours.index.max()
    se_cols = [c for c in ours.columns if "ME" not in c]
    checks = [Check(f"IA change K={c}, {low:.0%} to {high:.0%} of the data",
                    float(ours.loc[high, c] - ours.loc[low, c]), 0.0, "<",
                    baselines=_fall_baselines(ours, initial, c, low, high)) for c in se_cols]
    me_base = () if initial_me_gap is None else (
        Baseline("initial tables", initial_me_gap.diff,
                 (initial_me_gap.low, initial_me_gap.high)),)
    for c in (c for c in ours.columns if "ME" in c):
        same = c.split(",")[0]
        if same in ours.columns:
            checks += [Check(f"IA ME minus SE at total size {same}, {f:.0%} of the data",
                             float(ours.loc[f, c] - ours.loc[f, same]), 0.0, ">",
                             baselines=me_base)
                       for f in ours.index]
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
