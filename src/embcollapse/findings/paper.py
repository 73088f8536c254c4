"""The paper's numbers as the findings need them, read from ``book/data/paper/*.csv``."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from ..paper_numbers import paper_auc, paper_table


def text_value(item: str, quantity: str) -> float:
    """A number the paper states only in its text (``paper_text_values.csv``)."""
    table = paper_table("text_values")
    row = table[(table["item"] == item) & (table["quantity"] == quantity)]
    if len(row) != 1:
        raise KeyError(f"paper_text_values.csv has no single row for {item!r}, {quantity!r}")
    return float(row["value"].iloc[0])


def auc_change(dataset: str, embedding: str, start: int, end: int) -> pd.Series:
    """Per model: the paper's test AUC at ``end``x minus at ``start``x (``embedding`` at
    ``end``; the start is SE when ``start`` is 1, as ME at 1x is SE)."""
    auc = paper_auc(dataset)
    first = auc[(auc.embedding == ("SE" if start == 1 else embedding)) & (auc.scale == start)]
    last = auc[(auc.embedding == embedding) & (auc.scale == end)]
    out = last.set_index("model")["mean"] - first.set_index("model")["mean"]
    return out.dropna()


def me_gain(auc: pd.DataFrame) -> pd.DataFrame:
    """Per model and size: ME minus SE mean test AUC, ours or the paper's.

    Args:
        auc: rows (model, embedding, scale, mean).
    Returns: index (model, scale), column ``gain``; sizes without both SE and ME are dropped.
    """
    wide = auc.pivot_table(index=["model", "scale"], columns="embedding", values="mean")
    if not {"SE", "ME"} <= set(wide.columns):
        return pd.DataFrame(columns=["gain"])
    return (wide["ME"] - wide["SE"]).dropna().rename("gain").to_frame()


def me_minus_se(dataset: str, scale: int) -> pd.Series:
    """Per model: the paper's ME minus SE test AUC at ``scale``x."""
    gains = me_gain(paper_auc(dataset))
    if gains.empty or scale not in gains.index.get_level_values("scale"):
        return pd.Series(dtype=float)
    return gains.xs(scale, level="scale")["gain"]


PAPER_SEEDS = 3   # "We repeat each experiment for 3 times" (Appendix C.2): the n of its stds


def summary_contrasts(auc: pd.DataFrame, model: str,
                      terms: Mapping[str, Sequence[tuple[float, str, int]]]) -> dict[str, Any]:
    """The paper's own contrasts of ``model``'s published test AUCs (``auc``: model,
    embedding, scale, mean, std, as :func:`~embcollapse.report.paper_auc`), each with Welch's
    t interval from the published means and standard deviations over its 3 seeds
    (:func:`~embcollapse.intervals.summary_contrast`): the paper fed through the book's rules.
    ``terms``: key -> ``[(weight, embedding, scale), ...]``."""
    from ..intervals import summary_contrast

    rows = auc[auc.model == model].set_index(["embedding", "scale"])
    return {key: summary_contrast([(w, float(rows.loc[(e, k), "mean"]),
                                    float(rows.loc[(e, k), "std"]), PAPER_SEEDS)
                                   for w, e, k in parts])
            for key, parts in terms.items()}


def signed(series: pd.Series, digits: int = 5) -> str:
    """``dnn -0.00086, dcnv2 +0.00018`` (empty series: ``n/a``)."""
    if series.empty:
        return "n/a"
    return ", ".join(f"{name} {value:+.{digits}f}" for name, value in series.items())
