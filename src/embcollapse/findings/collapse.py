"""Chapter "Embedding collapse": Figures 1a, 1b and 2."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import paper
from .base import Baseline, Check, Finding, auc_claim, finding, signed_with_interval

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
    Checks, per model: AUC at the largest K minus at the smallest K "not better" (below
    ``+AUC_RESOLUTION``: the paper's "barely moves, sometimes lowers"; the interval decides,
    one seed is not resolved).
    """
    checks, parts = [], []
    differences = differences or {}
    for name, part in auc_by_size.groupby("model"):
        part = part.sort_values("embed_dim")
        gain = float(part["mean"].iloc[-1] - part["mean"].iloc[0])
        ks = f"K={int(part.embed_dim.iloc[0])} to {int(part.embed_dim.iloc[-1])}"
        checks.append(auc_claim(f"{name}: AUC change {ks}", gain, "not better",
                                differences.get(name)))
        parts.append(f"{name} {signed_with_interval(gain, differences.get(name))} ({ks})")
    ref = paper.auc_change(dataset, "SE", 1, 10)
    ref = ref[ref.index.isin(set(auc_by_size.model))]
    ks_all = sorted(int(k) for k in auc_by_size.embed_dim.unique())
    return finding("Figure 1a", "AUC change from the smallest to the largest K: " + ", ".join(parts),
                   f"SE AUC change from 1x to 10x (K=10 to 100; ours: K={ks_all[0]} to "
                   f"{ks_all[-1]}) on {dataset.capitalize()}: {paper.signed(ref)}",
                   checks, run_ids=run_ids)


def share_small(spectra: Iterable[np.ndarray]) -> float:
    """Mean over tables of the share of normalised singular values below
    ``SMALL_SINGULAR_VALUE`` (each spectrum: (K,) sorted, largest first)."""
    shares = [float((np.asarray(s) / s[0] < SMALL_SINGULAR_VALUE).mean()) for s in spectra]
    return float(np.mean(shares)) if shares else float("nan")


def _baselines(values: Mapping[str, float]) -> tuple[Baseline, ...]:
    return tuple(Baseline(label, float(v)) for label, v in values.items())


def figure_1b(small_by_k: Mapping[int, float], run_ids: Iterable[str] = (),
              baselines: Mapping[str, Mapping[int, float]] | None = None) -> Finding:
    """Most normalised singular values are tiny, more so at larger K.

    Args:
        small_by_k: K -> mean share of normalised singular values below 0.1 (:func:`share_small`).
        baselines: label (``initial tables``, ``random tables``) -> the same shares on the
            runs' initial tables and on Gaussian tables of the same shapes; a check they pass
            too is given, not evidence (random tables of near-square shapes also have small
            singular values, more so at larger K).
    """
    ks = sorted(small_by_k)
    base = {label: dict(v) for label, v in (baselines or {}).items()}
    checks = []
    if ks:
        checks.append(Check(f"share below {SMALL_SINGULAR_VALUE} at K={ks[-1]}",
                            small_by_k[ks[-1]], MOST, ">=",
                            baselines=_baselines({b: v[ks[-1]] for b, v in base.items()
                                                  if ks[-1] in v})))
    if len(ks) > 1:
        checks.append(Check(f"growth of that share from K={ks[0]} to K={ks[-1]}",
                            small_by_k[ks[-1]] - small_by_k[ks[0]], 0.0, ">",
                            baselines=_baselines({b: v[ks[-1]] - v[ks[0]] for b, v in base.items()
                                                  if ks[-1] in v and ks[0] in v})))
    shown = "".join(f"; {b}: " + ", ".join(f"K={k} {v[k]:.0%}" for k in ks if k in v)
                    for b, v in base.items())
    return finding("Figure 1b", f"share of normalised singular values below {SMALL_SINGULAR_VALUE}: "
                   + ", ".join(f"K={k} {small_by_k[k]:.0%}" for k in ks) + shown,
                   "most below 0.1, more so at larger K (plotted only)", checks,
                   values={"share_small": dict(small_by_k), "baselines": base}, run_ids=run_ids)


def figure_2(learned_ia: np.ndarray, random_ia: np.ndarray, run_ids: Iterable[str] = (),
             initial_ia: np.ndarray | None = None) -> Finding:
    """Per-field IA of a trained table is far below a random table's.

    Args:
        learned_ia, random_ia: (fields,) IA of each learned table and of a Gaussian table of the
            same shape.
        initial_ia: (fields,) IA of the run's initial tables: the same two statistics on them
            are each check's baseline.
    Checks: every field below random; the mean ratio below ``FAR_BELOW_RANDOM`` (with a t
    interval over fields).
    """
    from ..intervals import mean_interval

    learned, rnd = np.asarray(learned_ia, float), np.asarray(random_ia, float)
    ratio = learned / rnd
    below = float((learned < rnd).mean())
    base_below, base_ratio = (), ()
    if initial_ia is not None:
        init = np.asarray(initial_ia, float)
        spread = mean_interval(init / rnd, what="fields")
        base_below = (Baseline("initial tables", float((init < rnd).mean())),)
        base_ratio = (Baseline("initial tables", spread.diff, (spread.low, spread.high)),)
    spread = mean_interval(ratio, what="fields")
    checks = [Check("share of fields with learned IA below random", below, 1.0, ">=",
                    baselines=base_below),
              Check("mean over fields of learned IA / random IA", float(ratio.mean()),
                    FAR_BELOW_RANDOM, "<", (spread.low, spread.high), base_ratio)]
    return finding("Figure 2", f"learned IA below random on {int((learned < rnd).sum())}/"
                   f"{len(learned)} fields, on average {ratio.mean():.0%} of it",
                   "far below random (plotted only)", checks,
                   values={"ratio": ratio.tolist()}, run_ids=run_ids)
