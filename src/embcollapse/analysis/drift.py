"""How far training moved the weights from their random initialisation.

A stored run keeps only its best checkpoint, but its initial weights can be rebuilt exactly:
training seeds every generator with the run's seed and then builds the model
(:func:`embcollapse.train.fit`), so :func:`embcollapse.results.initial_model` does the same
(it lives with the store: analysis sits below training in the import layers). Comparing the two
measures statements such as "rarely seen rows keep their random initialisation" or "the
embedding sets move little from their random starts" instead of asserting them.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch


def relative_change(before: torch.Tensor | np.ndarray, after: torch.Tensor | np.ndarray
                    ) -> float:
    """||after - before||_F / ||before||_F (0: unchanged; about 1.4 for an unrelated draw of the
    same scale)."""
    b = torch.as_tensor(before, dtype=torch.float64)
    a = torch.as_tensor(after, dtype=torch.float64)
    return float((a - b).norm() / b.norm())


def drift_by_set(initial: torch.nn.Module, trained: torch.nn.Module) -> pd.DataFrame:
    """Per embedding set: the relative change (:func:`relative_change`) of all its tables
    together and, for DCNv2-like models (a ``cross.weight`` of shape (layers, sets, NK, NK)),
    of its cross weights over all layers.

    Returns: one row per set with ``set``, ``embedding change`` and ``cross weight change``
    (NaN without cross weights; a single shared cross network counts as set 1).
    """
    rows = []
    start_cross = getattr(getattr(initial, "cross", None), "weight", None)
    end_cross = getattr(getattr(trained, "cross", None), "weight", None)
    for m, (start, end) in enumerate(zip(initial.embedding_tables(), trained.embedding_tables())):
        row = {"set": m + 1, "embedding change": relative_change(
            torch.cat([t.flatten() for t in start]), torch.cat([t.flatten() for t in end])),
            "cross weight change": np.nan}
        if start_cross is not None and m < start_cross.shape[1]:
            row["cross weight change"] = relative_change(start_cross[:, m].detach(),
                                                         end_cross[:, m].detach())
        rows.append(row)
    return pd.DataFrame(rows)


def train_counts(record: Mapping[str, Any]) -> list[np.ndarray]:
    """How often each value of each field occurs in the run's training rows: [field] -> (D_i,)."""
    from ..config import DataConfig, from_dict
    from ..data import load_dataset

    data = load_dataset(from_dict(DataConfig, record["config"]["data"], "data"))
    ids = np.asarray(data.train.ids)
    return [np.bincount(ids[:, i].astype(np.int64), minlength=d)
            for i, d in enumerate(record["field_dims"])]


def row_drift_by_count(initial: Sequence[torch.Tensor], trained: Sequence[torch.Tensor],
                       counts: Sequence[np.ndarray], edges: Sequence[int] = (0, 1, 10, 100)
                       ) -> pd.DataFrame:
    """Rows of one embedding set's tables grouped by how often training saw them.

    Args:
        initial, trained: [field] -> (D_i, K) tables before and after training.
        counts: [field] -> (D_i,) training occurrences of each row (:func:`train_counts`).
        edges: lower bounds of the groups: ``(0, 1, 10, 100)`` gives never seen, 1-9, 10-99,
            100 and more.
    Returns: one row per group: ``seen in training`` (label), ``rows``, ``norm ratio`` (mean of
    ||trained row|| / ||initial row||) and ``relative change`` (mean of ||trained - initial|| /
    ||initial|| per row).
    """
    start = torch.cat([torch.as_tensor(t, dtype=torch.float64) for t in initial])
    end = torch.cat([torch.as_tensor(t, dtype=torch.float64) for t in trained])
    seen = np.concatenate([np.asarray(c) for c in counts])
    init_norm = start.norm(dim=1).numpy()
    norm_ratio = end.norm(dim=1).numpy() / init_norm
    change = (end - start).norm(dim=1).numpy() / init_norm
    rows = []
    bounds = list(edges) + [np.inf]
    for low, high in zip(bounds[:-1], bounds[1:]):
        mask = (seen >= low) & (seen < high)
        label = ("never" if high == 1 else f"{low}-{int(high) - 1} times" if np.isfinite(high)
                 else f"{low}+ times")
        rows.append({"seen in training": label, "rows": int(mask.sum()),
                     "norm ratio": float(norm_ratio[mask].mean()) if mask.any() else np.nan,
                     "relative change": float(change[mask].mean()) if mask.any() else np.nan})
    return pd.DataFrame(rows)
