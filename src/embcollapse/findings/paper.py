"""The paper's numbers as the findings need them, read from ``book/data/paper/*.csv``."""
from __future__ import annotations

import pandas as pd

from ..report import paper_auc, paper_table


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


def signed(series: pd.Series, digits: int = 5) -> str:
    """``dnn -0.00086, dcnv2 +0.00018`` (empty series: ``n/a``)."""
    if series.empty:
        return "n/a"
    return ", ".join(f"{name} {value:+.{digits}f}" for name, value in series.items())
