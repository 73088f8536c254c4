"""Chapter "Multi-embedding scales": Table 1 (with Tables 5, 6, 7 and Figures 8, 12, 13)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import paper
from .base import Check, Finding, auc_check, finding, not_run, shared, signed_with_interval

TABLE_7_MODELS = ("autoint",)   # the paper's Table 7 (Appendix D), not its Table 1


def _largest_me(auc: pd.DataFrame) -> int | None:
    me = auc[auc.embedding == "ME"]
    return int(me.scale.max()) if len(me) else None


def table_1(auc: pd.DataFrame, dataset: str = "criteo", run_ids: Iterable[str] = (),
            differences: Mapping[str, Any] | None = None) -> Finding:
    """Multi-embedding beats single embedding at the largest size, for each of the paper's
    Table 1 models (AutoInt is Table 7).

    Args:
        auc: our mean test AUC, rows (model, embedding, scale, mean).
        differences: model -> paired ME - SE difference at the largest size
            (:meth:`~embcollapse.results.ResultsStore.paired_difference`); where given, its
            interval decides (reproduced above 0, differs below, not resolved across).
    Checks, per model: ME minus SE at the largest ME size > 0.
    """
    top = _largest_me(auc)
    if top is None:
        return not_run("Table 1", "no multi-embedding run in this build")
    gains = paper.me_gain(auc[~auc.model.isin(TABLE_7_MODELS)])
    if gains.empty or top not in gains.index.get_level_values("scale"):
        return not_run("Table 1", f"no SE/ME pair of a Table 1 model at {top}x in this build")
    gains = gains.xs(top, level="scale")["gain"]
    differences = differences or {}
    checks = [auc_check(f"{name}: ME - SE at {top}x", float(g), 0.0, ">", differences.get(name))
              for name, g in gains.items()]
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
                   [auc_check(f"AutoInt ME - SE at {top}x", gain, 0.0, ">", difference)],
                   run_ids=run_ids)


def figure_8b(se_ia: np.ndarray, me_ia: np.ndarray, run_ids: Iterable[str] = ()) -> Finding:
    """Per-field IA of ME (sets side by side) is higher than SE's of the same width.

    Args:
        se_ia, me_ia: (fields,) IA of each field's SE table and of its ME tables side by side.
    Checks: mean IA ME minus SE > 0; share of fields where ME is higher > 0.5.
    """
    se, me = np.asarray(se_ia, float), np.asarray(me_ia, float)
    higher = float((me > se).mean())
    checks = [Check("mean IA, ME minus SE", float(me.mean() - se.mean()), 0.0, ">"),
              Check("share of fields with ME IA above SE", higher, 0.5, ">")]
    return finding("Figure 8b", f"mean IA ME {me.mean():.2f} vs SE {se.mean():.2f}; ME higher on "
                   f"{int((me > se).sum())}/{len(se)} fields",
                   "ME higher on every field at 10x (plotted only)", checks, run_ids=run_ids)
