"""Chapter "Embedding collapse": Figures 1a, 1b and 2."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import paper
from .base import AUC_RESOLUTION, Check, Finding, auc_check, finding, signed_with_interval

SMALL_SINGULAR_VALUE = 0.1   # "tiny": below this share of the largest singular value
MOST = 0.5                   # "most" singular values: at least this share
FAR_BELOW_RANDOM = 0.7       # Figure 2: mean learned/random IA below this is "far below"


def figure_1a(auc_by_size: pd.DataFrame, dataset: str = "criteo",
              run_ids: Iterable[str] = (), differences: Mapping[str, Any] | None = None
              ) -> Finding:
    """Single-embedding test AUC does not grow with K.

    Args:
        auc_by_size: one row per (model, embed_dim) with the mean test AUC in ``mean``.
        differences: model -> paired difference AUC(largest K) - AUC(smallest K) over the same
            test rows and seeds; where given, its interval decides.
    Checks, per model: AUC at the largest K minus at the smallest K < ``AUC_RESOLUTION`` (no
    gain of practical size; with an interval: all of it below, or all of it at or above).
    """
    checks, parts = [], []
    differences = differences or {}
    for name, part in auc_by_size.groupby("model"):
        part = part.sort_values("embed_dim")
        gain = float(part["mean"].iloc[-1] - part["mean"].iloc[0])
        ks = f"K={int(part.embed_dim.iloc[0])} to {int(part.embed_dim.iloc[-1])}"
        checks.append(auc_check(f"{name}: AUC change {ks}", gain, AUC_RESOLUTION, "<",
                                differences.get(name)))
        parts.append(f"{name} {signed_with_interval(gain, differences.get(name))} ({ks})")
    ref = paper.auc_change(dataset, "SE", 1, 10)
    ref = ref[ref.index.isin(set(auc_by_size.model))]
    return finding("Figure 1a", "AUC change from the smallest to the largest K: " + ", ".join(parts),
                   f"SE AUC change from 1x to 10x on {dataset.capitalize()}: {paper.signed(ref)}",
                   checks, run_ids=run_ids)


def share_small(spectra: Iterable[np.ndarray]) -> float:
    """Mean over tables of the share of normalised singular values below
    ``SMALL_SINGULAR_VALUE`` (each spectrum: (K,) sorted, largest first)."""
    shares = [float((np.asarray(s) / s[0] < SMALL_SINGULAR_VALUE).mean()) for s in spectra]
    return float(np.mean(shares)) if shares else float("nan")


def figure_1b(small_by_k: Mapping[int, float], run_ids: Iterable[str] = ()) -> Finding:
    """Most normalised singular values are tiny, more so at larger K.

    Args:
        small_by_k: K -> mean share of normalised singular values below 0.1 (:func:`share_small`).
    """
    ks = sorted(small_by_k)
    checks = []
    if ks:
        checks.append(Check(f"share below {SMALL_SINGULAR_VALUE} at K={ks[-1]}",
                            small_by_k[ks[-1]], MOST, ">="))
    if len(ks) > 1:
        checks.append(Check(f"growth of that share from K={ks[0]} to K={ks[-1]}",
                            small_by_k[ks[-1]] - small_by_k[ks[0]], 0.0, ">"))
    return finding("Figure 1b", f"share of normalised singular values below {SMALL_SINGULAR_VALUE}: "
                   + ", ".join(f"K={k} {small_by_k[k]:.0%}" for k in ks),
                   "most below 0.1, more so at larger K (plotted only)", checks,
                   values={"share_small": dict(small_by_k)}, run_ids=run_ids)


def figure_2(learned_ia: np.ndarray, random_ia: np.ndarray, run_ids: Iterable[str] = ()
             ) -> Finding:
    """Per-field IA of a trained table is far below a random table's.

    Args:
        learned_ia, random_ia: (fields,) IA of each learned table and of a Gaussian table of the
            same shape.
    """
    learned, rnd = np.asarray(learned_ia, float), np.asarray(random_ia, float)
    ratio = learned / rnd
    below = float((learned < rnd).mean())
    checks = [Check("share of fields with learned IA below random", below, 1.0, ">="),
              Check("mean over fields of learned IA / random IA", float(ratio.mean()),
                    FAR_BELOW_RANDOM, "<")]
    return finding("Figure 2", f"learned IA below random on {int((learned < rnd).sum())}/"
                   f"{len(learned)} fields, on average {ratio.mean():.0%} of it",
                   "far below random (plotted only)", checks,
                   values={"ratio": ratio.tolist()}, run_ids=run_ids)
