"""Statistics of prepared datasets (Table 4's columns) and the shared raw samples, for the book
and ``embcollapse data info``. The page beside the paper's Table 4 is built on the book side
(:func:`embcollapse.report.table4`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .. import paths
from .errors import DataError
from .storage import load_prepared, verify_prepared

# The real samples in <repo>/../shared/data used by the book and the tests (see SOURCE.md there):
# Criteo train.txt rows (first 8000 rows of the Kaggle file, shuffled; this is 7200 of them) and
# Avazu train rows with header (8087 rows of the first hour).
SAMPLES = {
    "criteo": "criteo/wideresdnn_criteo_train.tsv",
    "avazu": "avazu/wideresdnn_avazu_train.csv",
}


def shared_data_dir() -> Path | None:
    """``<repo>/../shared/data`` when running from a checkout that has it, else None."""
    root = paths.checkout_root()
    folder = root.parent / "shared" / "data" if root is not None else None
    return folder if folder is not None and folder.is_dir() else None


def sample_files() -> dict[str, Path]:
    """The shared raw samples that exist here, by dataset name (empty without ../shared)."""
    folder = shared_data_dir()
    if folder is None:
        return {}
    return {name: folder / rel for name, rel in SAMPLES.items() if (folder / rel).is_file()}


def meta_of(directory: str | Path) -> dict[str, Any]:
    """``meta.json`` of a prepared directory verified against its arrays
    (:func:`.storage.verify_prepared`), or :class:`DataError` saying what is wrong."""
    return verify_prepared(Path(directory))


def summary(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Table 4's columns for one prepared dataset: instances, fields, total features (sum of
    field cardinalities, OOV ids included), largest and smallest field; plus the click rate."""
    dims = list(meta["field_dims"])
    return {"instances": int(meta["rows"]), "fields": len(dims),
            "total_features": int(sum(dims)), "max_field_cardinality": int(max(dims)),
            "min_field_cardinality": int(min(dims)),
            "positive_rate": round(float(meta["positive_rate"]), 4)}


def field_table(meta: Mapping[str, Any]) -> pd.DataFrame:
    """One row per field: distinct raw values, values kept, cardinality, share of OOV rows."""
    if "fields" in meta:
        return pd.DataFrame(meta["fields"])
    return pd.DataFrame({"name": meta["field_names"], "dim": meta["field_dims"]})


def describe(directory: str | Path) -> str:
    """A few lines about a prepared directory (``embcollapse data info``)."""
    meta = meta_of(directory)
    s = summary(meta)
    source = meta.get("source", {})
    files = source.get("files", [])
    lines = [f"{directory}",
             f"  dataset {meta['name']}: {s['instances']:,} rows, {s['fields']} fields, "
             f"{s['total_features']:,} features (largest field {s['max_field_cardinality']:,}, "
             f"smallest {s['min_field_cardinality']:,}), click rate {s['positive_rate']:.4f}"]
    if files:
        lines.append(f"  source {source.get('format', '?')}: "
                     + ", ".join(f"{f['path']} ({f['size']:,} bytes)" for f in files))
    if "min_count" in meta:
        lines.append(f"  min_count {meta['min_count']}, vocabulary fitted on "
                     f"{meta['vocab_fit']['on']} rows")
    skipped = meta.get("skipped_rows")
    if skipped:
        lines.append(f"  malformed rows skipped: {skipped['count']:,} "
                     f"({skipped['share']:.3%})" + "".join(
                         f"\n    line {i['line']}: {i['reason']}" for i in skipped["first"]))
    seconds = meta.get("seconds")
    if isinstance(seconds, Mapping):
        lines.append(f"  prepared {meta.get('created', '?')} in {seconds['total']:.1f} s "
                     f"(reading {seconds['read']:.1f} s)")
    return "\n".join(lines)


def prepare_available(fetch: bool = True, fetch_timeout: float = 30.0, progress: bool = False
                      ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Prepare the real data that can be had here, for the book: the shared Criteo and Avazu
    samples (when ``../shared/data`` exists) and MovieLens-100K (already fetched, or fetched now
    when ``fetch``). Returns ``{label: meta}`` and notes on what was not available; never raises
    for missing data or network.
    """
    from ..config import DataConfig
    from . import movielens
    from .prepare import ensure_prepared

    prepared: dict[str, dict[str, Any]] = {}
    notes = []
    samples = sample_files()
    if not samples:
        notes.append("no ../shared/data here: the Criteo and Avazu samples are skipped")
    for name, path in samples.items():
        directory = ensure_prepared(DataConfig(name=name, path=str(path)), progress=progress)
        prepared[f"{name} (shared sample: {path.name})"] = meta_of(directory)
    folder = movielens.default_dir()
    try:
        if fetch:
            movielens.fetch(folder, timeout=fetch_timeout)
        directory = ensure_prepared(DataConfig(name="movielens-100k", path=str(folder)),
                                    progress=progress)
        prepared["movielens-100k (recbole wheel)"] = meta_of(directory)
    except DataError as err:
        notes.append(f"MovieLens-100K not available: {err}")
    return prepared, notes


def threshold_sweep(name: str, path: str | Path, min_counts: tuple[int, ...] = (1, 2, 5, 10),
                    vocab_fits: tuple[str, ...] = ("all", "train")) -> pd.DataFrame:
    """How the vocabulary threshold and where it is fitted change a dataset's features.

    Prepares ``path`` (a raw file of dataset ``name``) into temporary folders, once per
    ``(min_count, vocab_fit)``; one row each with Table 4's columns and the mean OOV share of
    the test split's rows.
    """
    import tempfile

    import numpy as np

    from .prepare import PrepareOptions, dataset_info, prepare

    source = dataset_info(name).reader(Path(path))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for min_count in min_counts:
            for fit in vocab_fits:
                directory = prepare(source, Path(tmp) / f"{min_count}-{fit}",
                                    PrepareOptions(min_count=min_count, vocab_fit=fit),
                                    progress=False)
                data = load_prepared(directory)
                rows.append({"min_count": min_count, "vocab_fit": fit, **summary(data.meta),
                             "test_oov_share": float(np.mean(data.test.ids == 0))})
    return pd.DataFrame(rows)
