"""Prepared datasets on disk, their random splits, and batches for training.

A *prepared directory* holds ``ids.npy`` (rows, fields) in the smallest integer type that fits,
``labels.npy`` (rows,) float32, optionally ``teacher_logit.npy`` (synthetic data), and
``meta.json`` (field names and cardinalities, row count, click rate, source, preparation
version). It is written to a temporary folder and renamed when complete, so a killed
preparation leaves nothing that looks finished. Arrays are read back as memory maps.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from .. import paths
from ..config import ConfigError, DataConfig, to_dict

PREPARATION_VERSION = 1
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
        from ..train import auc
        return auc(part.labels, part.teacher_logit)


def smallest_int_dtype(max_value: int) -> np.dtype:
    """The smallest signed integer type that holds ``max_value``."""
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"value {max_value} does not fit in int64")


def write_prepared(directory: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
                   ) -> Path:
    """Write arrays (``name -> array``) and ``meta.json`` into ``directory`` atomically."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        full_meta = {**meta, "preparation_version": PREPARATION_VERSION,
                     "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (tmp / "meta.json").write_text(json.dumps(full_meta, indent=2))
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return directory


def read_meta(directory: Path) -> dict[str, Any] | None:
    """``meta.json`` of a prepared directory, or None when missing, damaged or stale."""
    try:
        meta = json.loads((Path(directory) / "meta.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("preparation_version") != PREPARATION_VERSION:
        return None
    return meta


def split_indices(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices of an 8/1/1 random split; each part sorted (reads stay sequential)."""
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


def _synthetic_dir(config: DataConfig) -> tuple[Path, dict[str, Any]]:
    """Where a synthetic configuration is stored, and the part of it that shapes the rows."""
    source = {k: v for k, v in to_dict(config).items() if k not in ("split_seed", "fraction")}
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:12]
    return paths.home() / "data" / f"synthetic-{config.preset}-{key}", source


def prepare_synthetic(config: DataConfig) -> Path:
    """Generate and store a synthetic dataset unless an up-to-date copy exists."""
    from . import synthetic

    directory, source = _synthetic_dir(config)
    if read_meta(directory) is not None:
        return directory
    ids, labels, logit = synthetic.generate(config)
    dims = synthetic.preset_cardinalities(config.preset)
    meta = {"name": "synthetic", "field_names": [f"F{i + 1}" for i in range(len(dims))],
            "field_dims": list(dims), "rows": int(len(labels)),
            "positive_rate": float(labels.mean()), "source": {"synthetic": source}}
    return write_prepared(directory, {"ids": ids.astype(smallest_int_dtype(max(dims))),
                                      "labels": labels, "teacher_logit": logit}, meta)


def load_prepared(directory: Path, split_seed: int = 0, fraction: float = 1.0) -> PreparedData:
    """Memory-map a prepared directory and split it."""
    directory = Path(directory)
    meta = read_meta(directory)
    if meta is None:
        raise ConfigError(f"{directory}: not a prepared dataset of version "
                          f"{PREPARATION_VERSION} (missing, damaged or stale meta.json)")
    ids = np.load(directory / "ids.npy", mmap_mode="r")
    labels = np.load(directory / "labels.npy", mmap_mode="r")
    logit_path = directory / "teacher_logit.npy"
    logit = np.load(logit_path, mmap_mode="r") if logit_path.exists() else None
    if ids.shape != (meta["rows"], len(meta["field_dims"])) or labels.shape != (meta["rows"],):
        raise ConfigError(f"{directory}: arrays do not match meta.json "
                          f"(ids {ids.shape}, labels {labels.shape}); delete it to rebuild")

    def take(index: np.ndarray) -> Split:
        return Split(ids=np.asarray(ids[index]), labels=np.asarray(labels[index]),
                     teacher_logit=None if logit is None else np.asarray(logit[index]))

    train, valid, test = split_indices(meta["rows"], split_seed)
    if fraction < 1.0:
        train = fraction_indices(train, fraction, split_seed)
    return PreparedData(name=meta["name"], field_names=tuple(meta["field_names"]),
                        field_dims=tuple(meta["field_dims"]), train=take(train),
                        valid=take(valid), test=take(test), meta=meta)


def load_dataset(config: DataConfig) -> PreparedData:
    """The dataset a run configuration names, prepared on first use."""
    if config.name == "synthetic":
        directory = prepare_synthetic(config)
    else:
        raise ConfigError(f"data.name: unknown dataset {config.name!r}; known: synthetic")
    return load_prepared(directory, config.split_seed, config.fraction)


class BatchLoader:
    """Shuffled mini-batches sliced from a split held as tensors (no per-sample Python).

    Yields ``(ids (B, N) int64, labels (B,) float32)`` on ``device``; with ``shuffle`` the order
    of epoch ``e`` comes from ``(seed, e)``.
    """

    def __init__(self, split: Split, batch_size: int, device: torch.device | str = "cpu",
                 shuffle: bool = False, seed: int = 0) -> None:
        self.ids = torch.from_numpy(np.ascontiguousarray(split.ids)).to(device)
        self.labels = torch.from_numpy(np.ascontiguousarray(split.labels, dtype=np.float32)
                                       ).to(device)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.device = torch.device(device)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(n, generator=gen).to(self.device)
        for start in range(0, n, self.batch_size):
            if self.shuffle:
                index = order[start:start + self.batch_size]
                yield self.ids[index].long(), self.labels[index]
            else:
                yield (self.ids[start:start + self.batch_size].long(),
                       self.labels[start:start + self.batch_size])
