"""Chapter "Multi-embedding scales": Table 1 (with Tables 5, 6, 7 and Figures 8, 12, 13)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import paper
from .base import (Finding, auc_claim, finding, not_run, over_seeds, seed_baseline, shared,
                   signed_with_interval)

TABLE_7_MODELS = ("autoint",)   # the paper's Table 7 (Appendix D), not its Table 1


def _me_scales(auc: pd.DataFrame) -> list[int]:
    return sorted(int(v) for v in auc[auc.embedding == "ME"].scale.unique())


def _largest_me(auc: pd.DataFrame) -> int | None:
    scales = _me_scales(auc)
    return scales[-1] if scales else None


def best_other_me(auc: pd.DataFrame, model: str, top: int) -> int | None:
    """The ME size of ``model`` other than ``top`` with the highest mean AUC (None if none)."""
    part = auc[(auc.model == model) & (auc.embedding == "ME") & (auc.scale != top)]
    return None if part.empty else int(part.loc[part["mean"].idxmax(), "scale"])


# Table 1's checks per model, as the paper reads its table: what each contrast is (terms of
# (weight, embedding, scale) over mean AUCs) and how the paper states it
TABLE_1_CHECKS: dict[str, str] = {
    "me_minus_se": "better",       # ME beats SE at the largest size
    "me_growth": "better",         # ME's AUC grows from 1x (= SE) to the largest size
    "gain_growth": "better",       # ME's gain over SE grows from the smallest ME size
    "best_at_largest": "not worse",  # "the highest performance ... with the largest size"
}


def table_1_terms(auc: pd.DataFrame, model: str, top: int
                  ) -> dict[str, list[tuple[float, str, int]]]:
    """The contrasts of Table 1's checks for ``model`` with ME at ``top``x (those its runs
    allow): key of :data:`TABLE_1_CHECKS` -> ``[(weight, embedding, scale), ...]``."""
    part = auc[auc.model == model]
    have = {(e, int(k)) for e, k in zip(part.embedding, part.scale)}
    small = min((k for e, k in have if e == "ME"), default=None)
    other = best_other_me(auc, model, top)
    out: dict[str, list[tuple[float, str, int]]] = {}
    if {("ME", top), ("SE", top)} <= have:
        out["me_minus_se"] = [(1.0, "ME", top), (-1.0, "SE", top)]
    if {("ME", top), ("SE", 1)} <= have:
        out["me_growth"] = [(1.0, "ME", top), (-1.0, "SE", 1)]
    if small is not None and small != top and {("ME", top), ("SE", top), ("ME", small),
                                               ("SE", small)} <= have:
        out["gain_growth"] = [(1.0, "ME", top), (-1.0, "SE", top), (-1.0, "ME", small),
                              (1.0, "SE", small)]
    if other is not None:
        out["best_at_largest"] = [(1.0, "ME", top), (-1.0, "ME", other)]
    return out


def _contrast_label(key: str, terms: list[tuple[float, str, int]]) -> str:
    top = terms[0][2]
    return {"me_minus_se": f"ME - SE at {top}x",
            "me_growth": f"ME AUC change 1x to {top}x",
            "gain_growth": f"ME - SE gain at {top}x minus at {terms[-1][2]}x",
            "best_at_largest": f"ME at {top}x minus ME at {terms[-1][2]}x (its best other "
                               f"size)"}[key]


def contrast_value(auc: pd.DataFrame, model: str, terms: list[tuple[float, str, int]]) -> float:
    """The contrast's value on mean AUCs (``auc``: model, embedding, scale, mean)."""
    mean = auc[auc.model == model].set_index(["embedding", "scale"])["mean"]
    return float(sum(w * mean[(emb, k)] for w, emb, k in terms))


def table_1(auc: pd.DataFrame, dataset: str = "criteo", run_ids: Iterable[str] = (),
            contrasts: Mapping[str, Mapping[str, Any]] | None = None) -> Finding:
    """Multi-embedding beats single embedding at the largest size, grows with size, and is
    best there, for each of the paper's Table 1 models (AutoInt is Table 7).

    Args:
        auc: mean test AUC, rows (model, embedding, scale, mean): ours, or the paper's.
        contrasts: model -> key of :data:`TABLE_1_CHECKS` -> the contrast's
            :class:`~embcollapse.intervals.Difference` over seeds (paired over the same test
            rows, :meth:`~embcollapse.report.ChapterContext.contrast`; or from the paper's
            published summaries, :func:`embcollapse.findings.paper.summary_contrasts`); its
            interval decides. Missing: unresolved.
    Checks, per model, at the largest ME size (:func:`table_1_terms`): ME - SE "better";
    ME's change from 1x "better"; the ME - SE gain at the largest size minus at the smallest
    ME size "better" (with two ME sizes); ME at the largest minus at its best other size "not
    worse" (an equivalence claim, margin ``AUC_MARGIN``). The paper's value of each beside.
    """
    top = _largest_me(auc)
    if top is None:
        return not_run("Table 1", "no multi-embedding run in this build")
    auc = auc[~auc.model.isin(TABLE_7_MODELS)]
    gains = paper.me_gain(auc)
    if gains.empty or top not in gains.index.get_level_values("scale"):
        return not_run("Table 1", f"no SE/ME pair of a Table 1 model at {top}x in this build")
    gains = gains.xs(top, level="scale")["gain"]
    contrasts = contrasts or {}
    reference = paper.paper_auc(dataset)
    checks = []
    for name in gains.index:
        for key, terms in table_1_terms(auc, name, top).items():
            theirs = table_1_terms(reference, name, top).get(key) if key != "best_at_largest" \
                else None
            ref = contrast_value(reference, name, theirs) if theirs == terms else None
            checks.append(auc_claim(f"{name}: {_contrast_label(key, terms)}",
                                    contrast_value(auc, name, terms), TABLE_1_CHECKS[key],
                                    contrasts.get(name, {}).get(key), paper=ref))
    ref = paper.me_minus_se(dataset, top)
    ref = ref[ref.index.isin(gains.index)]
    differences = {m: contrasts.get(m, {}).get("me_minus_se") for m in gains.index}
    return finding("Table 1", f"ME - SE at {top}x (ME sizes {', '.join(f'{k}x' for k in _me_scales(auc))}): "
                   f"ME > SE for {int((gains > 0).sum())}/{len(gains)} models ("
                   + ", ".join(f"{name} {signed_with_interval(g, differences.get(name))}"
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


def figure_8b(se_ia: Sequence[np.ndarray], me_ia: Sequence[np.ndarray],
              run_ids: Iterable[str] = (),
              baselines: Mapping[str, tuple[Sequence[np.ndarray], Sequence[np.ndarray]]]
              | None = None) -> Finding:
    """Per-field IA of ME (sets side by side) is higher than SE's of the same width, on every
    field (the paper: "consistently increases the information abundance for all fields").

    Args:
        se_ia, me_ia: per seed, (fields,) IA of each field's SE table and of its ME tables
            side by side: (seeds, fields) each, seeds in the same order.
        baselines: label -> ``(se, me)`` the same on tables where the claim is not at stake
            (the two runs' initial tables; the ensemble's members side by side in place of
            ME), per seed.
    Checks, each with a t interval over seeds: the mean over fields of ME minus SE IA > 0;
    the share of fields where ME is higher is 1 (every field, as the paper states it).
    """
    se, me = (np.atleast_2d(np.asarray(v, float)) for v in (se_ia, me_ia))
    base_gap, base_share = [], []
    for label, (b_se, b_me) in (baselines or {}).items():
        b_se, b_me = (np.atleast_2d(np.asarray(v, float)) for v in (b_se, b_me))
        base_gap.append(seed_baseline(label, (b_me - b_se).mean(axis=1)))
        base_share.append(seed_baseline(label, (b_me > b_se).mean(axis=1)))
    checks = [over_seeds("mean IA, ME minus SE", (me - se).mean(axis=1), 0.0, ">", base_gap),
              over_seeds("share of fields with ME IA above SE", (me > se).mean(axis=1), 1.0,
                         ">=", base_share)]
    always = int((me > se).all(axis=0).sum())
    return finding("Figure 8b", f"mean IA ME {me.mean():.2f} vs SE {se.mean():.2f} (mean of "
                   f"{len(se)} seeds); ME higher on {always}/{se.shape[1]} fields in every seed",
                   "ME higher on every field at 10x (plotted only)", checks, run_ids=run_ids)
