"""Chapter "Datasets": Table 4."""
from __future__ import annotations

from typing import Any, Mapping

from ..paper_numbers import paper_table
from .base import Check, Finding, finding, not_run

ROWS_TOLERANCE = 0.01       # relative difference of row counts (the paper rounds to 0.1M)
FEATURES_TOLERANCE = 0.05   # relative difference of total features (rounded to 0.01M)


def _count(text: str) -> float:
    """``45.8M`` -> 45.8e6, ``1.08M`` -> 1.08e6, ``39`` -> 39."""
    text = str(text).strip()
    scale = {"M": 1e6, "K": 1e3}.get(text[-1:], 1.0)
    return float(text.rstrip("MK")) * scale


def table_4(prepared: Mapping[str, Mapping[str, Any]]) -> Finding:
    """Statistics of the full Criteo/Avazu files against the paper's Table 4.

    Args:
        prepared: label -> a prepared dataset's ``meta`` (``rows``, ``field_dims``); labels
            starting with ``criteo`` or ``avazu`` are compared.
    Checks, per full file (more than half the paper's rows): rows and total features within
    ``ROWS_TOLERANCE`` / ``FEATURES_TOLERANCE`` of the paper's, the same number of fields.
    Without a full file the item is not run.
    """
    paper = paper_table("table4_datasets").set_index("dataset")
    checks, ours = [], []
    for label, meta in prepared.items():
        name = label.split()[0]
        if name not in paper.index or meta.get("rows", 0) < 0.5 * _count(paper.loc[name, "instances"]):
            continue
        ref = paper.loc[name]
        features = sum(meta["field_dims"])
        checks += [Check(f"{name}: rows / paper's - 1 (absolute)",
                         abs(meta["rows"] / _count(ref["instances"]) - 1), ROWS_TOLERANCE, "<=",
                         deterministic="a statistic of the data files, no training"),
                   Check(f"{name}: fields minus paper's (absolute)",
                         abs(len(meta["field_dims"]) - int(ref["fields"])), 0, "<=",
                         deterministic="a statistic of the data files, no training"),
                   Check(f"{name}: total features / paper's - 1 (absolute)",
                         abs(features / _count(ref["total_features"]) - 1), FEATURES_TOLERANCE,
                         "<=", deterministic="a statistic of the data files, no training")]
        ours.append(f"{name}: {meta['rows']:,} rows, {len(meta['field_dims'])} fields, "
                    f"{features:,} features")
    paper_text = "; ".join(f"{d}: {r.instances} rows, {r.fields} fields, {r.total_features} "
                           f"features" for d, r in paper.iterrows())
    if not checks:
        return not_run("Table 4", "needs the full Criteo or Avazu file (only samples here: "
                       + ", ".join(prepared) + ")", paper_text)
    return finding("Table 4", "; ".join(ours), paper_text, checks)
