"""Chapter "Embedding collapse": Figures 1a, 1b and 2."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import paper
from .base import (Finding, auc_claim, finding, over_seeds, seed_baseline,
                   signed_with_interval)

SMALL_SINGULAR_VALUE = 0.1   # "tiny": below this share of the largest singular value
MOST = 0.5                   # "most" singular values: at least this share
FAR_BELOW_RANDOM = 0.7       # Figure 2: mean learned/random IA below this is "far below"


JUDGED_ELSEWHERE = {"dnn": "Figure 6 (DNN)"}   # Figure 1a's models whose AUC change another
                                               # item judges (the paper: DNN's AUC *drops*)


def figure_1a(auc_by_size: pd.DataFrame, dataset: str = "criteo",
              run_ids: Iterable[str] = (), differences: Mapping[str, Any] | None = None
              ) -> Finding:
    """Single-embedding test AUC does not grow with K.

    Args:
        auc_by_size: one row per (model, embed_dim) with the mean test AUC in ``mean``.
        differences: model -> paired difference AUC(largest K) - AUC(smallest K) over the same
            test rows and seeds (or the paper's, from its summaries); its interval decides.
    Checks, per model not in :data:`JUDGED_ELSEWHERE`: AUC at the largest K minus at the
    smallest K "not better" (an equivalence claim: the whole interval below +``AUC_MARGIN``,
    the paper's "barely moves, sometimes lowers"), the paper's 1x-to-10x change beside it.
    DNN's change is Figure 6 (DNN)'s check ("worse"), shown here and not counted twice.
    """
    checks, parts = [], []
    differences = differences or {}
    ref = paper.auc_change(dataset, "SE", 1, 10)
    for name, part in auc_by_size.groupby("model"):
        part = part.sort_values("embed_dim")
        gain = float(part["mean"].iloc[-1] - part["mean"].iloc[0])
        ks = f"K={int(part.embed_dim.iloc[0])} to {int(part.embed_dim.iloc[-1])}"
        elsewhere = JUDGED_ELSEWHERE.get(name)
        if elsewhere is None:
            checks.append(auc_claim(f"{name}: AUC change {ks}", gain, "not better",
                                    differences.get(name),
                                    paper=float(ref[name]) if name in ref else None))
        parts.append(f"{name} {signed_with_interval(gain, differences.get(name))} ({ks}"
                     + (f"; judged by {elsewhere}" if elsewhere else "") + ")")
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


def figure_1b(small_by_k: Mapping[int, Sequence[float]], run_ids: Iterable[str] = (),
              baselines: Mapping[str, Mapping[int, Sequence[float]]] | None = None) -> Finding:
    """Most normalised singular values are tiny, more so at larger K.

    Args:
        small_by_k: K -> per seed, the mean share of normalised singular values below 0.1
            (:func:`share_small`), seeds in the same order at every K.
        baselines: label (``initial tables``, ``random tables``) -> the same shares per seed
            on the runs' initial tables and on Gaussian tables of the same shapes; a check
            they pass too is given unless ours lies beyond them (random tables of near-square
            shapes also have small singular values, more so at larger K).
    Checks, each with a t interval over seeds: the share at the largest K at least ``MOST``;
    its growth from the smallest K, above 0.
    """
    ks = sorted(small_by_k)
    ours = {k: np.asarray(small_by_k[k], float).ravel() for k in ks}
    base = {label: {k: np.asarray(v, float).ravel() for k, v in per_k.items()}
            for label, per_k in (baselines or {}).items()}
    checks = []
    if ks:
        top = ks[-1]
        checks.append(over_seeds(f"share below {SMALL_SINGULAR_VALUE} at K={top}", ours[top],
                                 MOST, ">=", [seed_baseline(b, v[top]) for b, v in base.items()
                                              if top in v]))
    if len(ks) > 1:
        lo, hi = ks[0], ks[-1]
        checks.append(over_seeds(
            f"growth of that share from K={lo} to K={hi}", ours[hi] - ours[lo], 0.0, ">",
            [seed_baseline(b, v[hi] - v[lo]) for b, v in base.items() if hi in v and lo in v]))
    shown = "".join(f"; {b}: " + ", ".join(f"K={k} {v[k].mean():.0%}" for k in ks if k in v)
                    for b, v in base.items())
    seeds = len(ours[ks[0]]) if ks else 0
    return finding("Figure 1b", f"share of normalised singular values below {SMALL_SINGULAR_VALUE} "
                   f"(mean of {seeds} seed{'s' if seeds != 1 else ''}): "
                   + ", ".join(f"K={k} {ours[k].mean():.0%}" for k in ks) + shown,
                   "most below 0.1, more so at larger K (plotted only)", checks,
                   values={"share_small": {k: v.tolist() for k, v in ours.items()},
                           "baselines": {b: {k: v.tolist() for k, v in per_k.items()}
                                         for b, per_k in base.items()}}, run_ids=run_ids)


def figure_2(learned_ia: Sequence[np.ndarray], random_ia: np.ndarray,
             run_ids: Iterable[str] = (), initial_ia: Sequence[np.ndarray] | None = None
             ) -> Finding:
    """Per-field IA of a trained table is far below a random table's.

    Args:
        learned_ia: per seed, (fields,) IA of each learned table: (seeds, fields).
        random_ia: (fields,) IA of a Gaussian table of each field's shape.
        initial_ia: per seed, (fields,) IA of the run's initial tables: the same two
            statistics on them are each check's baseline.
    Checks, each with a t interval over seeds: the share of fields below random is 1 (every
    field); the mean over fields of learned / random IA is below ``FAR_BELOW_RANDOM``.
    Fields are a descriptive spread only.
    """
    learned = np.atleast_2d(np.asarray(learned_ia, float))
    rnd = np.asarray(random_ia, float)
    ratio = learned / rnd                                  # (seeds, fields)
    below = (learned < rnd).mean(axis=1)
    base_below, base_ratio = (), ()
    if initial_ia is not None:
        init = np.atleast_2d(np.asarray(initial_ia, float))
        base_below = (seed_baseline("initial tables", (init < rnd).mean(axis=1)),)
        base_ratio = (seed_baseline("initial tables", (init / rnd).mean(axis=1)),)
    checks = [over_seeds("share of fields with learned IA below random", below, 1.0, ">=",
                         base_below),
              over_seeds("mean over fields of learned IA / random IA", ratio.mean(axis=1),
                         FAR_BELOW_RANDOM, "<", base_ratio)]
    fields_below = (learned < rnd).all(axis=0)
    return finding("Figure 2", f"learned IA below random on {int(fields_below.sum())}/"
                   f"{learned.shape[1]} fields in every one of {len(learned)} seeds, on average "
                   f"{ratio.mean():.0%} of it (seeds from {ratio.mean(axis=1).min():.0%} to "
                   f"{ratio.mean(axis=1).max():.0%})",
                   "far below random (plotted only)", checks,
                   values={"ratio": ratio.mean(axis=0).tolist(),
                           "ratio_per_seed": ratio.mean(axis=1).tolist()}, run_ids=run_ids)
