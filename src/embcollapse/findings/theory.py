"""Chapter "The interaction-collapse law": Figures 3a-3c, 4 and 14 (Evidence I and II)."""
from __future__ import annotations

from typing import Iterable

from . import paper
from .base import CORRELATION_STRONG, Check, Finding, finding, illustration, shared


def correlation_checks(label: str, r: float) -> list[Check]:
    """A claimed positive correlation: ``r > 0`` and ``r >= CORRELATION_STRONG`` (both hold:
    reproduced; only the first: partly; neither: differs)."""
    return [Check(f"{label} > 0", r, 0.0, ">"),
            Check(f"{label} strong", r, CORRELATION_STRONG, ">=")]


def figure_3a(pearson_row: float, pearson_col: float, run_ids: Iterable[str] = ()) -> Finding:
    """The heat map: its rows are Figure 3b (by construction), its columns Figure 3c."""
    return shared("Figure 3a", "Figure 3c", f"row r = {pearson_row:.2f}, column r = "
                  f"{pearson_col:.2f}", "sub-embedding IA rises with both fields' IA", run_ids)


def figure_3b(pearson_row: float, run_ids: Iterable[str] = ()) -> Finding:
    """Row sums follow IA(E_i): every sub-embedding of field i is a projection of E_i, so its IA
    is bounded by IA(E_i); the correlation is high by construction and tests nothing."""
    return illustration("Figure 3b", f"r = {pearson_row:.2f}", "an increasing trend",
                        "every sub-embedding of field i projects E_i, so the row sums follow "
                        "IA(E_i) by construction", {"pearson_row": pearson_row}, run_ids)


def figure_3c(pearson_col: float, run_ids: Iterable[str] = ()) -> Finding:
    """Column sums follow the partner field's IA (the paper's Finding 1)."""
    ref = paper.text_value("Figure 3c", "pearson_column_sums")
    return finding("Figure 3c", f"r = {pearson_col:.2f}", f"r = {ref:.2f}",
                   correlation_checks("Pearson r of column sums with IA(E_j)", pearson_col),
                   run_ids=run_ids)


def figure_4(low_start: float, low_end: float, high_end: float) -> Finding:
    """Toy: the table trained beside a low-IA partner ends less abundant than beside a high-IA
    one, and below where it started."""
    checks = [Check("final IA(E1), low-IA partner minus high-IA partner", low_end - high_end,
                    0.0, "<"),
              Check("IA(E1) change over training beside the low-IA partner", low_end - low_start,
                    0.0, "<")]
    return finding("Figure 4", f"final IA(E1) {low_end:.2f} beside the low-IA partner vs "
                   f"{high_end:.2f} beside the high-IA one (start {low_start:.2f})",
                   "the low-IA partner collapses E1 more (plotted only)", checks)


def figure_14(pearson_col: float, pearson_row: float, run_ids: Iterable[str] = ()) -> Finding:
    """FFM's field-pair tables follow the partner's IA (column correlation)."""
    return finding("Figure 14", f"FFM column r = {pearson_col:.2f} (row r = {pearson_row:.2f})",
                   "FFM's field-pair tables follow the partner's IA (plotted only)",
                   correlation_checks("Pearson r of FFM column sums with IA(E_j)", pearson_col),
                   run_ids=run_ids)
