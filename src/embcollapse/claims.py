"""Every figure and table of the paper, and what *this build* found for each (the summary page).

A chapter computes a :class:`~embcollapse.findings.Finding` for each paper item it reproduces
and records it with ``ChapterContext.record(finding)``. Claims are stored per *build*, under
``<home>/claims/<build key>/``: the key hashes the resolved profile and the parameters the
chapters ran with (:func:`build_key`), so a build with other parameters never reads or
overwrites another build's claims. ``book run`` / ``book build`` clear the claims of the
chapters they execute before executing them, and record "not run" with the reason for an item
whose chapter failed or recorded nothing. The summary page joins the catalogue with the claims
of its own build.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from . import paths
from .atomic import write_text
from .findings.base import Finding, diagram, not_run

BUILD_ENV = "EMBCOLLAPSE_BUILD"   # set by `book run` for the notebooks it executes


@dataclass(frozen=True)
class PaperItem:
    key: str        # "Figure 8a", "Table 1", "Appendix E"
    claim: str      # what the paper shows with it
    chapter: str    # the book page that reproduces it ("" for none)
    not_judged: str = ""   # a part of the paper's claim on this item that no check judges


# parts of the paper's claims that no check of this build judges (shown on the summary)
NOT_JUDGED: dict[str, str] = {
    "Figure 3a": "the heat map itself (its column sums are Figure 3c's check)",
    "Figure 8b": "'especially for fields with larger cardinality'",
    "Figure 10b": "that the maps are 'visibly different' (judged only against the agreeing "
                  "run)",
    "Figure 11": "T5 itself: a smaller language model (MiniLM) stands in for it",
    "Table 2": "the paper's reading that collapse at small data and small K comes from "
               "limited data (only the ends of each column and ME against SE are compared)",
    "Table 3": "the 2x to 10x sizes the paper also shows (only our largest size is compared)",
}


def not_judged(key: str, status: str, reason: str = "", see: str = "") -> str:
    """What of the paper's claim on ``key`` this build does not judge ("" when all of it is):
    all of it for an item shown without a verdict, else the parts in :data:`NOT_JUDGED`."""
    whole = {"illustration": f"all of it (illustration: {reason})" if reason else
             "all of it (illustration)",
             "shared": f"judged by {see}" if see else "judged by another item",
             "not run": "all of it (not run)", "diagram": "not an experiment"}
    if status in whole:
        return whole[status]
    return NOT_JUDGED.get(key, "")


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
    # beyond the paper: a control the paper lacks (issue 26)
    PaperItem("Ensemble control", "Beyond the paper: ME beats an ensemble of M SE-K models "
              "(the same embedding parameters), so its gain is more than ensembling",
              "05_multi_embedding"),
)

ITEMS = {item.key: item for item in CATALOGUE}
BEYOND_PAPER = ("Ensemble control",)   # catalogue items that are not the paper's own


def paper_items(text: str) -> set[str]:
    """The figure and table keys a text mentions ("Figure 10a", "Table 3"...)."""
    return set(re.findall(r"\b(?:Figure|Table) \d+[a-d]?\b", text))


def build_key(profile: Any, parameters: Mapping[str, Any] | None = None) -> str:
    """The key of a build: ``<profile name>-<hash>`` of the resolved profile (every default
    filled in) and the notebook parameters the chapters run with."""
    from .config import to_dict

    resolved = json.dumps({"profile": to_dict(profile), "parameters": dict(parameters or {})},
                          sort_keys=True, default=str)
    return f"{profile.name}-{hashlib.sha256(resolved.encode()).hexdigest()[:12]}"


def current_build(profile: Any) -> str:
    """The build a notebook belongs to: the one ``book run`` set, else the profile's own
    (no parameters)."""
    return os.environ.get(BUILD_ENV) or build_key(profile)


def claims_dir(build: str) -> Path:
    return paths.home() / "claims" / build


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")


def record_claim(build: str, found: Finding, provenance: str = "",
                 seeds: Sequence[int] = ()) -> dict[str, Any]:
    """Store a finding under ``build`` (replacing an older claim of the same item); ``seeds``:
    the seeds of the runs it rests on."""
    if found.key not in ITEMS:
        raise KeyError(f"{found.key!r} is not a figure or table of the paper; known: "
                       f"{', '.join(ITEMS)}")
    claim = {**found.as_dict(), "build": build, "provenance": provenance,
             "seeds": sorted(int(s) for s in seeds),
             "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    write_text(claims_dir(build) / f"{_slug(found.key)}.json", json.dumps(claim, indent=1))
    return claim


CLAIM_FIELDS = {"key", "status", "ours", "paper", "rule", "see", "checks", "run_ids", "time"}


def stored_claims(build: str) -> dict[str, dict[str, Any]]:
    """The claims recorded under ``build``, by item key.

    A claim file that cannot be read (truncated, edited, not a claim) is not taken as a verdict:
    its item is reported "not run", naming the file, until its chapter runs again.
    """
    by_slug = {_slug(item.key): item.key for item in CATALOGUE}
    out = {}
    for path in sorted(claims_dir(build).glob("*.json")):
        try:
            claim = json.loads(path.read_text())
            if not isinstance(claim, dict) or not CLAIM_FIELDS <= claim.keys():
                raise ValueError("not a claim")
        except (OSError, UnicodeDecodeError, ValueError) as err:
            key = by_slug.get(path.stem)
            if key is not None:
                reason = f"its claim file {path} could not be read ({type(err).__name__}); " \
                         f"run its chapter again"
                out[key] = {**not_run(key, reason).as_dict(), "time": ""}
            continue
        out[claim["key"]] = claim
    return out


def items_of(chapters: Iterable[str]) -> list[str]:
    """The keys of the items the pages ``chapters`` (file stems) reproduce."""
    wanted = set(chapters)
    return [item.key for item in CATALOGUE if item.chapter in wanted]


def clear_claims(build: str, keys: Iterable[str]) -> None:
    """Remove the claims of ``keys`` under ``build`` (before their chapters run again)."""
    for key in keys:
        (claims_dir(build) / f"{_slug(key)}.json").unlink(missing_ok=True)


def fill_not_run(build: str, keys: Iterable[str], reason: str) -> list[str]:
    """Record "not run" with ``reason`` for each of ``keys`` that has no claim under ``build``;
    returns the keys filled."""
    have = stored_claims(build)
    filled = [k for k in keys if k not in have]
    for key in filled:
        record_claim(build, not_run(key, reason))
    return filled


def summary_frame(build: str) -> pd.DataFrame:
    """Every paper item with its status, our values, the paper's and the rule, under ``build``."""
    stored = stored_claims(build)
    rows = []
    for item in CATALOGUE:
        claim = stored.get(item.key)
        if claim is None:
            found = diagram(item.key) if not item.chapter else \
                not_run(item.key, "no chapter of this build recorded it")
            claim = {**found.as_dict(), "time": ""}
        status = claim["status"]
        rows.append({"item": item.key, "paper's claim": item.claim, "status": status,
                     "verdict": f"see {claim['see']}" if status == "shared" else status,
                     "ours": claim["ours"], "paper": claim["paper"], "rule": claim["rule"],
                     "not judged": not_judged(item.key, status, claim.get("reason", ""),
                                              claim.get("see", "")),
                     "checks": len(claim["checks"]), "runs": len(claim["run_ids"]),
                     "seeds": len(claim.get("seeds") or []) or "",
                     "page": item.chapter, "recorded": claim["time"]})
    return pd.DataFrame(rows)


def power_frame(build: str) -> pd.DataFrame:
    """Every AUC comparison of ``build``'s claims (a check with a measured seed spread): its
    item, the seeds it trains, the seed-to-seed sd of the paired difference (measured on the
    comparison itself, or for one seed elsewhere in the build), the test rows' standard error,
    the ratio of the test-row term to the between-seed term ``seed sd / sqrt(seeds)``, the
    minimum detectable effect at 95% (:func:`~embcollapse.intervals.minimum_detectable_effect`
    at its own seeds; NaN for one seed), our difference, the paper's, and the outcome."""
    rows = []
    for key, claim in stored_claims(build).items():
        for check in claim.get("checks", []):
            if check.get("seed_sd") is None or "test_se" not in check:
                continue
            if check["test_se"] != check["test_se"]:     # NaN: no AUC difference behind it
                continue
            seeds, sd = check["seeds"], check["seed_sd"]
            between = sd / seeds ** 0.5 if seeds >= 1 and sd == sd else float("nan")
            rows.append({"item": key, "comparison": check["name"], "seeds": seeds,
                         "seed sd": sd, "test-row SE": check["test_se"],
                         "test rows / seeds term": check["test_se"] / between
                         if between else float("nan"),
                         "minimum detectable effect": check.get("mde", float("nan")),
                         "ours": check["measured"], "paper": check.get("paper"),
                         "outcome": check["outcome"]})
    order = {item.key: i for i, item in enumerate(CATALOGUE)}
    frame = pd.DataFrame(rows, columns=["item", "comparison", "seeds", "seed sd", "test-row SE",
                                        "test rows / seeds term", "minimum detectable effect",
                                        "ours", "paper", "outcome"])
    return frame.sort_values("item", key=lambda s: s.map(order), kind="stable") \
        .reset_index(drop=True)