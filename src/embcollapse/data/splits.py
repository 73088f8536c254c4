"""A prepared dataset split 8/1/1 into train, valid and test, and nested training fractions."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import ConfigError
from .errors import DataError

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Split:
    """Rows of one split: ``ids`` (n, N) integer value ids per field, ``labels`` (n,) 0/1."""

    ids: np.ndarray
    labels: np.ndarray
    teacher_logit: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class PreparedData:
    """A dataset split 8/1/1 into train, valid and test, with its description."""

    name: str
    field_names: tuple[str, ...]
    field_dims: tuple[int, ...]
    train: Split
    valid: Split
    test: Split
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_features(self) -> int:
        return int(sum(self.field_dims))

    def teacher_auc(self, split: str = "test") -> float | None:
        """AUC of the noise-free teacher logit on a split: the ceiling (synthetic data only)."""
        part: Split = getattr(self, split)
        if part.teacher_logit is None:
            return None
        from ..metrics import auc      # scikit-learn: imported only when asked
        return auc(part.labels, part.teacher_logit)


def check_trainable(data: PreparedData) -> PreparedData:
    """``data`` if each split holds both classes (early stopping and the test need an AUC),
    else :class:`DataError` naming the split: the dataset is too small or almost all one
    label."""
    for name in ("train", "valid", "test"):
        part: Split = getattr(data, name)
        if len(part) == 0 or part.labels.min() == part.labels.max():
            raise DataError(f"data {data.name}: the {name} split ({len(part):,} rows) holds a "
                            f"single class, so its AUC is undefined: the dataset is too small "
                            f"or almost all one label (click rate "
                            f"{data.meta.get('positive_rate')})")
    return data


def split_indices(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of an 8/1/1 random split (each part in the order of one permutation)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"data.split_seed must be an integer >= 0, got {seed!r}")
    order = np.random.default_rng(seed).permutation(rows)
    n_train = int(round(rows * SPLIT_FRACTIONS[0]))
    n_valid = int(round(rows * SPLIT_FRACTIONS[1]))
    train, valid, test = np.split(order, [n_train, n_train + n_valid])
    return train, valid, test


def fraction_indices(train: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """A random subset of training indices; subsets for growing fractions are nested."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"data.fraction must be in (0, 1], got {fraction}")
    keep = max(1, int(round(len(train) * fraction)))
    order = np.random.default_rng([seed, 0xF4AC]).permutation(len(train))
    return np.sort(train[order[:keep]])
