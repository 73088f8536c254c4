"""Chapter "Appendices": Table 3, Figures 15 and 11."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..paper_numbers import paper_table
from .base import Baseline, Check, Finding, auc_claim, finding, over_seeds

FEWER_SMALL = 0.0   # Figure 11: share of small singular values, language model minus recommender


def table_3(auc: pd.DataFrame, run_ids: Iterable[str] = (),
            differences: Mapping[str, Any] | None = None) -> Finding:
    """More cross layers or a deeper MLP do not help DCNv2.

    Args:
        auc: mean test AUC, index variant (``standard`` and others), columns scale.
        differences: variant -> paired AUC(variant) - AUC(standard) at the largest size.
    Checks, per variant at the largest size: AUC minus the standard model's "not better"
    (below ``+AUC_MARGIN``, the same rule as Figure 1a; one seed: not resolved).
    """
    top = max(auc.columns)
    others = [v for v in auc.index if v != "standard"]
    checks = [auc_claim(f"{v} minus standard AUC at {top}x",
                        float(auc.loc[v, top] - auc.loc["standard", top]), "not better",
                        (differences or {}).get(v)) for v in others]
    ref = paper_table("table3_depth")
    ref = ref[ref.scale == f"{top}x"].set_index("variant")["test_auc"]
    paper = (", ".join(f"{v} {ref[v]:.5f}" for v in ref.index) + f" at {top}x"
             if len(ref) else f"no paper entry at {top}x")
    return finding("Table 3", f"at {top}x: " + ", ".join(f"{v} {auc.loc[v, top]:.4f}"
                                                         for v in auc.index),
                   paper, checks, run_ids=run_ids)


def figure_15(ratio_by_k: pd.Series, model: str, run_ids: Iterable[str] = (),
              change: Any = None, initial_change: Any = None) -> Finding:
    """IA relative to a random table falls with K (index K, mean IA / random IA).

    ``change``: the per-field change of IA / random IA from the smallest to the largest K with
    a t interval over fields; ``initial_change``: the same on the runs' initial tables (the
    baseline).
    """
    ratio = ratio_by_k.sort_index()
    value = float(ratio.iloc[-1] - ratio.iloc[0])
    interval = None if change is None else (change.low, change.high)
    base = () if initial_change is None else (
        Baseline("initial tables", initial_change.diff,
                 (initial_change.low, initial_change.high)),)
    return finding("Figure 15", f"{model}: IA / random IA {ratio.iloc[0]:.2f} at "
                   f"K={ratio.index[0]} -> {ratio.iloc[-1]:.2f} at K={ratio.index[-1]}",
                   "falls with K (plotted only)",
                   [Check(f"IA / random IA change K={ratio.index[0]} to {ratio.index[-1]}",
                          value if change is None else change.diff, 0.0, "<", interval, base,
                          seeds=0 if change is None else int(change.seeds))],
                   run_ids=run_ids)


def figure_11(lm_normalized_ia: float, rec_normalized_ia: Sequence[float], lm_small: float,
              rec_small: Sequence[float], lm_name: str, run_ids: Iterable[str] = ()) -> Finding:
    """A language model's token table is less collapsed than a recommender's field table:
    higher IA relative to random, fewer singular values below a tenth of the largest.

    ``rec_normalized_ia``, ``rec_small``: per training seed of the recommender (the language
    model is one fixed pretrained table); each check is decided over those seeds."""
    rec_ia, rec_sm = (np.atleast_1d(np.asarray(v, float)) for v in (rec_normalized_ia, rec_small))
    checks = [over_seeds("IA / random IA, language model minus recommender",
                         lm_normalized_ia - rec_ia, 0.0, ">"),
              over_seeds("share of small singular values, language model minus recommender",
                         lm_small - rec_sm, FEWER_SMALL, "<")]
    return finding("Figure 11", f"IA / random IA: {lm_name} {lm_normalized_ia:.2f}, recommender "
                   f"{rec_ia.mean():.2f}; small singular values {lm_small:.0%} vs "
                   f"{rec_sm.mean():.0%} (recommender: mean of {len(rec_ia)} seeds)",
                   "T5 keeps higher normalised singular values (plotted only)",
                   checks, run_ids=run_ids, note=f"With {lm_name} instead of T5.")
