"""Chapter "Multi-embedding scales": Table 1 (with Tables 5, 6, 7 and Figures 8, 12, 13)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import paper
from .base import (Baseline, Check, Finding, auc_claim, finding, not_run, shared,
                   signed_with_interval)

TABLE_7_MODELS = ("autoint",)   # the paper's Table 7 (Appendix D), not its Table 1


def _largest_me(auc: pd.DataFrame) -> int | None:
    me = auc[auc.embedding == "ME"]
    return int(me.scale.max()) if len(me) else None


def best_other_me(auc: pd.DataFrame, model: str, top: int) -> int | None:
    """The ME size of ``model`` other than ``top`` with the highest mean AUC (None if none)."""
    part = auc[(auc.model == model) & (auc.embedding == "ME") & (auc.scale != top)]
    return None if part.empty else int(part.loc[part["mean"].idxmax(), "scale"])


def table_1(auc: pd.DataFrame, dataset: str = "criteo", run_ids: Iterable[str] = (),
            differences: Mapping[str, Any] | None = None,
            best_differences: Mapping[str, Any] | None = None) -> Finding:
    """Multi-embedding beats single embedding at the largest size, and is best there, for each
    of the paper's Table 1 models (AutoInt is Table 7).

    Args:
        auc: our mean test AUC, rows (model, embedding, scale, mean).
        differences: model -> paired ME - SE difference at the largest size
            (:meth:`~embcollapse.results.ResultsStore.paired_difference`); its interval
            decides (one seed, or none: not resolved).
        best_differences: model -> paired AUC(ME, largest) - AUC(ME, the best other ME size,
            :func:`best_other_me`).
    Checks, per model: ME minus SE at the largest ME size "better" (above
    ``+AUC_RESOLUTION``, the paper's "0.001-level is significant"); with ME runs at two sizes
    or more, ME at the largest size "not worse" than ME at its best other size (the paper:
    "the highest performance is always achieved with the largest size").
    """
    top = _largest_me(auc)
    if top is None:
        return not_run("Table 1", "no multi-embedding run in this build")
    gains = paper.me_gain(auc[~auc.model.isin(TABLE_7_MODELS)])
    if gains.empty or top not in gains.index.get_level_values("scale"):
        return not_run("Table 1", f"no SE/ME pair of a Table 1 model at {top}x in this build")
    gains = gains.xs(top, level="scale")["gain"]
    differences, best_differences = differences or {}, best_differences or {}
    checks = [auc_claim(f"{name}: ME - SE at {top}x", float(g), "better", differences.get(name))
              for name, g in gains.items()]
    me = auc[auc.embedding == "ME"].set_index(["model", "scale"])["mean"]
    for name in gains.index:
        other = best_other_me(auc, name, top)
        if other is not None and (name, top) in me.index:
            checks.append(auc_claim(f"{name}: ME at {top}x minus ME at {other}x (its best other "
                                    f"size)", float(me[(name, top)] - me[(name, other)]),
                                    "not worse", best_differences.get(name)))
    ref = paper.me_minus_se(dataset, top)
    ref = ref[ref.index.isin(gains.index)]
    return finding("Table 1", f"ME > SE at {top}x for {int((gains > 0).sum())}/{len(gains)} "
                   f"models (" + ", ".join(f"{name} {signed_with_interval(g, differences.get(name))}"
                                           for name, g in gains.items()) + ")",
                   f"ME - SE at {top}x on {dataset.capitalize()}: ME > SE for "
                   f"{int((ref > 0).sum())}/{len(ref)} ({paper.signed(ref)})",
                   checks, values={"me_minus_se": gains.to_dict()}, run_ids=run_ids)


def same_evidence(dataset: str, run_ids: Iterable[str] = ()) -> list[Finding]:
    """Figure 8a, Tables 5/6 and Figures 12/13 show Table 1's numbers (as a plot, with standard
    deviations, per dataset): they point to Table 1 instead of counting its check again.
    The other dataset's items are not run."""
    other = "avazu" if dataset == "criteo" else "criteo"
    items = {"criteo": ("Table 5", "Figure 12"), "avazu": ("Table 6", "Figure 13")}
    out = [shared("Figure 8a", "Table 1", "scaling curves of Table 1's runs",
                  "Table 1 on Criteo as curves", run_ids)]
    out += [shared(key, "Table 1", f"Table 1's runs on {dataset}", f"Table 1 on "
                   f"{dataset.capitalize()} with standard deviations", run_ids)
            for key in items[dataset]]
    out += [not_run(key, f"{other.capitalize()} results need a profile on {other} data")
            for key in items[other]]
    return out


def table_7(auc: pd.DataFrame, run_ids: Iterable[str] = (),
            differences: Mapping[str, Any] | None = None) -> Finding:
    """AutoInt: ME above SE at the largest size (Table 7); ``differences`` as in
    :func:`table_1`."""
    top = _largest_me(auc)
    part = auc[auc.model.isin(TABLE_7_MODELS)]
    gains = paper.me_gain(part)
    if top is None or gains.empty or top not in gains.index.get_level_values("scale"):
        return not_run("Table 7", "no AutoInt SE/ME pair in this build")
    gain = float(gains.xs(top, level="scale")["gain"].iloc[0])
    difference = (differences or {}).get(TABLE_7_MODELS[0])
    ref = paper.me_minus_se("criteo", top)
    return finding("Table 7", f"AutoInt ME - SE at {top}x: "
                   f"{signed_with_interval(gain, difference)}",
                   f"AutoInt ME - SE at {top}x: " + (f"{ref['autoint']:+.5f}" if "autoint" in ref
                                                     else "n/a"),
                   [auc_claim(f"AutoInt ME - SE at {top}x", gain, "better", difference)],
                   run_ids=run_ids)


def figure_8b(se_ia: np.ndarray, me_ia: np.ndarray, run_ids: Iterable[str] = (),
              initial: tuple[np.ndarray, np.ndarray] | None = None) -> Finding:
    """Per-field IA of ME (sets side by side) is higher than SE's of the same width.

    Args:
        se_ia, me_ia: (fields,) IA of each field's SE table and of its ME tables side by side.
        initial: ``(se, me)`` the same on the two runs' initial tables: the baseline.
    Checks: mean IA ME minus SE > 0 (t interval over fields); share of fields where ME is
    higher > 0.5.
    """
    from ..intervals import mean_interval, proportion_interval

    se, me = np.asarray(se_ia, float), np.asarray(me_ia, float)
    higher = float((me > se).mean())
    gap = mean_interval(me - se, what="fields")
    base_gap, base_share = (), ()
    if initial is not None:
        i_se, i_me = (np.asarray(v, float) for v in initial)
        i_gap = mean_interval(i_me - i_se, what="fields")
        base_gap = (Baseline("initial tables", i_gap.diff, (i_gap.low, i_gap.high)),)
        # a share of a few fields is noisy: the baseline gives the outcome only if its Wilson
        # interval is wholly above the threshold
        base_share = (Baseline("initial tables", float((i_me > i_se).mean()),
                               proportion_interval(int((i_me > i_se).sum()), len(i_me))),)
    checks = [Check("mean IA, ME minus SE", float(me.mean() - se.mean()), 0.0, ">",
                    (gap.low, gap.high), base_gap),
              Check("share of fields with ME IA above SE", higher, 0.5, ">",
                    baselines=base_share)]
    return finding("Figure 8b", f"mean IA ME {me.mean():.2f} vs SE {se.mean():.2f}; ME higher on "
                   f"{int((me > se).sum())}/{len(se)} fields",
                   "ME higher on every field at 10x (plotted only)", checks, run_ids=run_ids)
