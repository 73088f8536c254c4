"""The book's verdict rules fed the paper's own published numbers, as if measured here.

The paper gives means and standard deviations over its 3 seeds for every model and size of
Table 1 (its Tables 5 and 6, ``book/data/paper/paper_table1_auc.csv``). Each contrast a check
compares is built from those summaries with Welch's t interval
(:func:`~embcollapse.findings.paper.summary_contrasts`) and judged by the same finding
functions as our runs. ``reverse`` mirrors every contrast about its claim's threshold (zero for
a direction claim, the margin for an equivalence claim): the same evidence for the opposite
claim, which the rules must call "differs". The summary page shows the result, and
``tests/test_paper_rules.py`` holds the rules to it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..intervals import Difference
from ..paper_numbers import paper_auc
from . import collapse, how_it_works, multi_embedding, paper
from .base import Finding, claim_threshold

TABLE_1_MODELS = ("dnn", "ipnn", "nfwfm", "xdeepfm", "dcnv2", "finalmlp")


def mirrored(difference: Difference, threshold: float) -> Difference:
    """``difference`` reflected about ``threshold``: the same evidence for the opposite claim."""
    return replace(difference, diff=2 * threshold - difference.diff,
                   low=2 * threshold - difference.high, high=2 * threshold - difference.low)


def _table_1_models(dataset: str):
    auc = paper_auc(dataset)
    return auc[auc.model.isin(TABLE_1_MODELS)]


def table_1(dataset: str, reverse: bool = False) -> Finding:
    """Table 1 judged on the paper's numbers for ``dataset`` at its largest size (10x)."""
    auc = _table_1_models(dataset)
    top = int(auc[auc.embedding == "ME"].scale.max())
    contrasts: dict[str, dict[str, Any]] = {}
    for m in sorted(set(auc.model)):
        found = paper.summary_contrasts(auc, m, multi_embedding.table_1_terms(auc, m, top))
        contrasts[m] = {k: mirrored(d, claim_threshold(multi_embedding.TABLE_1_CHECKS[k]))
                        if reverse else d for k, d in found.items()}
    return multi_embedding.table_1(auc, dataset, contrasts=contrasts)


def _change(auc, model: str, embedding: str, start: int, end: int) -> Difference:
    first = "SE" if start == 1 else embedding
    return paper.summary_contrasts(auc, model, {"c": [(1.0, embedding, end),
                                                      (-1.0, first, start)]})["c"]


def figure_1a(dataset: str, reverse: bool = False) -> Finding:
    """Figure 1a on the paper's single-embedding changes from 1x to 10x."""
    auc = _table_1_models(dataset)
    se = auc[(auc.embedding == "SE") & auc.scale.isin([1, 10])]
    frame = se.assign(embed_dim=se.scale * 10)[["model", "embed_dim", "mean"]]
    differences = {}
    for m in sorted(set(frame.model)):
        d = _change(auc, m, "SE", 1, 10)
        differences[m] = mirrored(d, claim_threshold("not better")) if reverse else d
    return collapse.figure_1a(frame, dataset, differences=differences)


def dnn_auc_drop(dataset: str, reverse: bool = False) -> Difference:
    """Figure 6 (DNN)'s AUC check on the paper's numbers: DNN SE at 10x minus at 1x."""
    d = _change(paper_auc(dataset), "dnn", "SE", 1, 10)
    return mirrored(d, claim_threshold("worse")) if reverse else d


def figure_17b(dataset: str, reverse: bool = False) -> Finding:
    """Figure 17b (ME-DNN grows where SE-DNN does not) on the paper's numbers at 10x; reversed:
    ME's contrasts mirrored, SE's change as published."""
    auc = paper_auc(dataset)
    found = {"me_gain": _change(auc, "dnn", "ME", 1, 10), "se_gain": _change(auc, "dnn", "SE", 1, 10),
             "me_minus_se": paper.summary_contrasts(auc, "dnn", {"c": [(1.0, "ME", 10),
                                                                       (-1.0, "SE", 10)]})["c"]}
    if reverse:
        found = {k: d if k == "se_gain" else mirrored(d, claim_threshold("better"))
                 for k, d in found.items()}
    return how_it_works.figure_17(auc[auc.model == "dnn"], 10, differences={"dnn": found})[1]


def findings(dataset: str, reverse: bool = False) -> list[Finding]:
    """Every item the paper's published summaries cover, judged on them."""
    return [table_1(dataset, reverse), figure_1a(dataset, reverse), figure_17b(dataset, reverse)]
