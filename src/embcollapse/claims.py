"""Every figure and table of the paper, and what this build found for each (the summary page).

A chapter that reproduces an item calls ``ChapterContext.claim(key, status, ours, paper)`` with a
status it *computed* from its results; the claim is stored per profile under
``<home>/claims/<profile>/``. The summary page joins the catalogue with the stored claims, so
an item no chapter has claimed under a profile shows as "not run".
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from . import paths
from .atomic import write_text

STATUSES = ("reproduced", "partly", "differs", "not run", "not an experiment")


@dataclass(frozen=True)
class PaperItem:
    key: str        # "Figure 8a", "Table 1", "Appendix E"
    claim: str      # what the paper shows with it
    chapter: str    # the book page that reproduces it ("" for none)


CATALOGUE: tuple[PaperItem, ...] = (
    PaperItem("Figure 1a", "Test AUC of single-embedding models does not grow with K",
              "01_embedding_collapse"),
    PaperItem("Figure 1b", "Most normalised singular values of the tables are tiny",
              "01_embedding_collapse"),
    PaperItem("Figure 2", "Per-field IA of a trained DCNv2 is far below a random table's",
              "01_embedding_collapse"),
    PaperItem("Figure 3a", "Sub-embedding IA depends on both fields (DCNv2 heat map)",
              "02_interaction_collapse"),
    PaperItem("Figure 3b", "Row sums of sub-embedding IA follow IA(E_i)",
              "02_interaction_collapse"),
    PaperItem("Figure 3c", "Column sums follow the partner's IA (Pearson 0.68)",
              "02_interaction_collapse"),
    PaperItem("Figure 4", "Toy: a low-IA partner collapses the trained table",
              "02_interaction_collapse"),
    PaperItem("Figure 6 (regularized DCNv2)",
              "Regularised DCNv2 is less collapsed yet does not scale", "03_regularized_dcnv2"),
    PaperItem("Figure 6 (DNN)", "DNN is less collapsed than DCNv2 yet overfits with K",
              "04_dnn_overfitting"),
    PaperItem("Figure 7", "Architecture of single- and multi-embedding models", ""),
    PaperItem("Figure 8a", "Multi-embedding AUC grows with size; single embedding does not",
              "05_multi_embedding"),
    PaperItem("Figure 8b", "Multi-embedding tables have higher per-field IA",
              "05_multi_embedding"),
    PaperItem("Figure 9", "Sub-embedding IA depends less on the partner in ME (0.52 vs 0.68)",
              "06_how_multi_embedding_works"),
    PaperItem("Figure 10a", "ME sets are diverse; SE column groups are not",
              "06_how_multi_embedding_works"),
    PaperItem("Figure 10b", "The sets learn different interaction patterns",
              "06_how_multi_embedding_works"),
    PaperItem("Figure 10c", "ME with one shared interaction scales worse",
              "06_how_multi_embedding_works"),
    PaperItem("Figure 10d", "ME with sets regularised to agree scales worse",
              "06_how_multi_embedding_works"),
    PaperItem("Figure 11", "A language model's token embeddings are less collapsed (App. B)",
              "08_appendices"),
    PaperItem("Figure 12", "Criteo results per model, SE vs ME (Table 5 as a plot)",
              "05_multi_embedding"),
    PaperItem("Figure 13", "Avazu results per model, SE vs ME (Table 6 as a plot)",
              "05_multi_embedding"),
    PaperItem("Figure 14", "FFM sub-embeddings follow both fields (App. H)",
              "02_interaction_collapse"),
    PaperItem("Figure 15", "IA relative to a random table falls with K (App. I)",
              "08_appendices"),
    PaperItem("Figure 16", "Regularised DCNv2 has richer sub-embeddings (App. J)",
              "03_regularized_dcnv2"),
    PaperItem("Figure 17a", "ME keeps scaling under the orthogonality penalty (App. K)",
              "06_how_multi_embedding_works"),
    PaperItem("Figure 17b", "ME-DNN scales where SE-DNN overfits (App. K)",
              "06_how_multi_embedding_works"),
    PaperItem("Appendix E", "With a linear interaction, ME equals SE",
              "06_how_multi_embedding_works"),
    PaperItem("Table 1", "Test AUC of SE and ME at 1x..10x for six models",
              "05_multi_embedding"),
    PaperItem("Table 2", "Mean IA of DCNv2 tables across data size and K, and ME",
              "07_data_size"),
    PaperItem("Table 3", "More cross layers or a deeper MLP do not help DCNv2 (App. A)",
              "08_appendices"),
    PaperItem("Table 4", "Dataset statistics (App. C.1)", "10_datasets"),
    PaperItem("Table 5", "Criteo test AUC with standard deviations", "05_multi_embedding"),
    PaperItem("Table 6", "Avazu test AUC with standard deviations", "05_multi_embedding"),
    PaperItem("Table 7", "AutoInt single vs multi embedding (App. D)", "05_multi_embedding"),
)

ITEMS = {item.key: item for item in CATALOGUE}


def paper_items(text: str) -> set[str]:
    """The figure and table keys a text mentions ("Figure 10a", "Table 3"...)."""
    return set(re.findall(r"\b(?:Figure|Table) \d+[a-d]?\b", text))


def status_of(checks: Iterable[bool]) -> str:
    """``reproduced`` when every check holds, ``differs`` when none does, else ``partly``."""
    checks = [bool(c) for c in checks]
    if not checks:
        return "not run"
    return "reproduced" if all(checks) else "differs" if not any(checks) else "partly"


AUC_RESOLUTION = 0.001   # an AUC change smaller than this counts as "no change" in a claim


def correlation_status(r: float) -> str:
    """For a claimed positive correlation: ``reproduced`` at r >= 0.5, ``partly`` for
    0 < r < 0.5, ``differs`` for r <= 0 (or NaN)."""
    return status_of([r > 0, r >= 0.5])


def claims_dir(profile: str) -> Path:
    return paths.home() / "claims" / profile


def record_claim(profile: str, key: str, status: str, ours: str, paper: str, note: str = "",
                 provenance: str = "") -> dict[str, Any]:
    """Store what a chapter found for a paper item under ``profile`` (replacing an older one)."""
    if key not in ITEMS:
        raise KeyError(f"{key!r} is not a figure or table of the paper; known: "
                       f"{', '.join(ITEMS)}")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    claim = {"key": key, "status": status, "ours": ours, "paper": paper, "note": note,
             "profile": profile, "provenance": provenance,
             "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    slug = re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")
    write_text(claims_dir(profile) / f"{slug}.json", json.dumps(claim, indent=1))
    return claim


def summary_frame(profile: str) -> pd.DataFrame:
    """Every paper item with its status, our number and the paper's under ``profile``."""
    stored = {}
    for path in sorted(claims_dir(profile).glob("*.json")):
        claim = json.loads(path.read_text())
        stored[claim["key"]] = claim
    rows = []
    for item in CATALOGUE:
        claim = stored.get(item.key)
        if claim is None:
            status = "not an experiment" if not item.chapter else "not run"
            claim = {"status": status, "ours": "", "paper": "", "note": "", "time": ""}
        rows.append({"item": item.key, "paper's claim": item.claim, "status": claim["status"],
                     "ours": claim["ours"], "paper": claim["paper"], "note": claim["note"],
                     "page": item.chapter, "recorded": claim["time"]})
    return pd.DataFrame(rows)
