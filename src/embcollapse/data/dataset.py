"""Which prepared data a run configuration names: :func:`load_dataset`.

``synthetic`` is generated here once per configuration (:func:`prepare_synthetic`); ``criteo``,
``avazu`` and ``movielens-100k`` are raw files prepared once by :mod:`embcollapse.data.prepare`;
any other name is the path of a prepared directory. The data layer's other parts:
:mod:`.errors` (``DataError``), :mod:`.storage` (writing, reading and checking prepared
directories), :mod:`.splits` (8/1/1 splits, ``Split``, ``PreparedData``) and :mod:`.loader`
(``BatchLoader``); their public names are re-exported here for older imports.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .. import paths
from ..atomic import clean_stale
from ..config import DataConfig, to_dict
from .errors import DataError
from .names import prepared_by_name
from .splits import SPLIT_FRACTIONS, PreparedData, Split, fraction_indices, split_indices
from .storage import (PREPARATION_VERSION, PreparedWriter, content_fingerprint, is_prepared_dir,
                      load_prepared, prepared_problem, read_meta, required_meta,
                      smallest_int_dtype, verify_prepared, write_prepared)

__all__ = ["BatchLoader", "DataError", "PREPARATION_VERSION", "PreparedData", "PreparedWriter",
           "SPLIT_FRACTIONS", "Split", "content_fingerprint", "data_fingerprint",
           "fraction_indices", "is_prepared_dir", "load_dataset", "load_prepared",
           "prepare_synthetic", "prepared_directory", "read_meta", "required_meta",
           "smallest_int_dtype", "split_indices", "write_prepared"]


def _synthetic_dir(config: DataConfig) -> tuple[Path, dict[str, Any]]:
    """Where a synthetic configuration is stored, and the part of it that shapes the rows."""
    shaping = ("name", "preset", "rows", "zipf", "seed", "teacher")
    source = {k: v for k, v in to_dict(config).items() if k in shaping}
    if config.test_rows:                   # only when set: older folders keep their names
        source["test_rows"] = config.test_rows
    if config.valid_rows:
        source["valid_rows"] = config.valid_rows
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:12]
    return paths.home() / "data" / f"synthetic-{config.preset}-{key}", source


def prepare_synthetic(config: DataConfig) -> Path:
    """Generate and store a synthetic dataset unless an up-to-date copy exists."""
    from . import synthetic

    directory, source = _synthetic_dir(config)
    clean_stale(directory.parent)           # scratch of killed preparations, even when reused
    meta, why = prepared_problem(directory)
    if meta is not None and why is None:
        return directory
    if directory.exists():
        print(f"embcollapse: {directory}: rebuilding ({why})", file=sys.stderr)
    ids, labels, logit = synthetic.generate(config)
    dims = synthetic.preset_cardinalities(config.preset)
    meta = {"name": "synthetic", "field_names": [f"F{i + 1}" for i in range(len(dims))],
            "field_dims": list(dims), "rows": int(len(labels)),
            "positive_rate": float(labels.mean()), "source": {"synthetic": source}}
    if config.test_rows:
        meta["fresh_test_rows"] = config.test_rows
    if config.valid_rows:
        meta["fresh_valid_rows"] = config.valid_rows
    return write_prepared(directory, {"ids": ids.astype(smallest_int_dtype(max(dims))),
                                      "labels": labels, "teacher_logit": logit}, meta)


def prepared_directory(config: DataConfig) -> Path:
    """The up-to-date prepared directory a data configuration names, prepared on first use.

    ``config.name`` is ``synthetic``; ``csv`` (the raw file ``config.path``, prepared as
    ``embcollapse data prepare csv`` would, see :mod:`.names`); a raw dataset known to
    :mod:`embcollapse.data.prepare` (``criteo``, ``avazu``, ``movielens-100k``); or a prepared
    directory, by path or by the short name ``data prepare`` printed.
    """
    directory = _named_directory(config)
    verify_prepared(directory)              # cheap; once per process (storage.verify_prepared)
    return directory


def _named_directory(config: DataConfig) -> Path:
    """The prepared directory ``config`` names, prepared or rebuilt if needed."""
    if config.name == "synthetic":
        return prepare_synthetic(config)
    if config.name == "csv":
        return prepare_csv_config(config)
    from .prepare import DATASETS, ensure_prepared  # readers import pyarrow: only when needed
    if config.name not in DATASETS:
        found = prepared_by_name(config.name)
        if found is not None:
            return found
    return ensure_prepared(config)


def prepare_csv_config(config: DataConfig) -> Path:
    """``data.name: csv``: the CSV/TSV at ``data.path`` prepared with ``data prepare csv``'s
    defaults (fields: every column but the label; label: ``data.label`` or guessed)."""
    from .prepare import prepare_csv

    if not config.path:
        raise DataError("data.name csv needs data.path, the CSV/TSV file (e.g. --data name=csv "
                        "--data path=my.csv [--data label=click])")
    return prepare_csv(config.path, config.label, min_count=config.min_count or 1,
                       vocab_fit=config.vocab_fit, split_seed=config.split_seed,
                       max_bad_rows=config.max_bad_rows)


def data_fingerprint(config: DataConfig) -> str:
    """:func:`content_fingerprint` of the prepared data ``config`` names (prepared first if it
    is missing or stale); reads only ``meta.json``."""
    return content_fingerprint(verify_prepared(prepared_directory(config)))


def load_dataset(config: DataConfig) -> PreparedData:
    """The dataset a run configuration names (see :func:`prepared_directory`), split and
    checked against its ``meta.json``."""
    return load_prepared(prepared_directory(config), config.split_seed, config.fraction)


def __getattr__(name: str) -> Any:
    """``BatchLoader`` re-exported lazily: importing the data layer (``data prepare``) does not
    import torch."""
    if name == "BatchLoader":
        from .loader import BatchLoader
        return BatchLoader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

