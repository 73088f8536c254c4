"""Raw tokens -> integer ids: vocabularies, frequency thresholds, prepared directories.

:func:`prepare` turns a *source* (a reader of :mod:`.criteo`, :mod:`.avazu`, :mod:`.movielens` or
:func:`.csv.csv_source`) into a prepared directory (see :mod:`.dataset`) in two passes:

1. read the raw file once, chunk by chunk; per field, map every distinct token key to a *raw id*
   in order of first appearance (a persistent hash table) and count it; append the rows' raw ids
   (int32) and labels to scratch files. Memory holds the vocabularies and a few chunks.
2. per field, keep the values counted at least ``min_count`` times, number them 1..K in order of
   first appearance and send every other value to the out-of-vocabulary id 0; rewrite the
   scratch ids through these maps into ``ids.npy`` (the smallest integer type) in chunks.

Counting runs over every row by default, as the authors' code does (``vocab_fit="all"``);
``vocab_fit="train"`` counts only the rows of the 8/1/1 training split of ``split_seed``, so
values seen only in validation or test rows are out of vocabulary. Ids and splits do not depend
on chunk sizes. Field cardinality (``field_dims``) is K + 1, the OOV id included, as in the
authors' code.

:func:`ensure_prepared` is what :func:`~embcollapse.data.dataset.load_dataset` calls for a named
dataset: it finds the raw data (``data.path``, else ``$EMBCOLLAPSE_DATA``, else
``<home>/raw``), reuses the prepared directory under ``<home>/data`` when it is up to date, and
rebuilds it when it is missing, damaged, of another reader version, prepared with other options,
or older than its raw file (size, modification time, and hashes of the first and last MiB).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np
import pandas._libs.hashtable as pd_hashtable
from ..progress import tqdm

from .. import paths
from ..atomic import clean_stale
from ..config import DataConfig
from .errors import DataError
from .csv import csv_source, ordered_map
from .splits import split_indices
from .storage import (PreparedWriter, check_prepared_target, prepared_problem, read_meta,
                      smallest_int_dtype)
from .tokens import RowIssues, TableSpec, TokenBatch

READER_VERSION = 1
REMAP_ROWS = 1 << 17            # rows per chunk of pass 2
REMAP_THREADS = 2               # chunks of pass 2 remapped at once (numpy releases the GIL)
FINGERPRINT_BYTES = 1 << 20


class Source(Protocol):
    """What :func:`prepare` reads: a named raw dataset and its token batches."""

    name: str
    spec: TableSpec

    @property
    def files(self) -> tuple[Path, ...]: ...

    @property
    def total_bytes(self) -> int: ...

    def describe(self) -> dict[str, Any]: ...

    def new_issues(self) -> RowIssues: ...

    def read(self, issues: RowIssues) -> Iterator[TokenBatch]: ...

    def max_rows(self, bad: int) -> int | None:
        """An upper bound on the rows of the whole source when ``bad`` of them are malformed,
        or None when it cannot be bounded (e.g. gzip)."""
        ...


@dataclass(frozen=True)
class PrepareOptions:
    """How raw tokens become ids (stored in ``meta.json``; a change means a rebuild)."""

    min_count: int                  # values seen fewer times -> the field's OOV id 0
    vocab_fit: str = "all"          # count on "all" rows (authors' code) or the "train" split
    split_seed: int = 0             # the split whose training rows "train" counts on
    max_bad_rows: float = 0.01      # share of malformed rows above which preparation stops

    def __post_init__(self) -> None:
        if self.min_count < 1:
            raise DataError(f"data.min_count must be >= 1, got {self.min_count}")
        if self.vocab_fit not in ("all", "train"):
            raise DataError(f"data.vocab_fit must be 'all' or 'train', got {self.vocab_fit!r}")
        if not 0.0 <= self.max_bad_rows < 1.0:
            raise DataError(f"data.max_bad_rows must be in [0, 1), got {self.max_bad_rows}")
        if isinstance(self.split_seed, bool) or self.split_seed < 0:
            raise DataError(f"data.split_seed must be an integer >= 0, got {self.split_seed}")

    def vocab_meta(self) -> dict[str, Any]:
        if self.vocab_fit == "train":
            return {"on": "train", "split_seed": self.split_seed}
        return {"on": "all"}

    def key(self) -> dict[str, Any]:
        """The options that shape the output (``max_bad_rows`` only decides whether to stop)."""
        return {"min_count": self.min_count, "vocab_fit": self.vocab_meta()}


class FieldVocab:
    """Distinct token keys of one field -> raw ids in order of first appearance, with counts.

    The persistent hash table is pandas' ``UInt64Factorizer`` (``pandas._libs.hashtable``, the
    one ``pandas.merge`` uses): an internal API, present in pandas 2 and 3 and exercised by the
    tests; it keeps 8 bytes per key plus the table, so a vocabulary of tens of millions of raw
    values fits in memory.
    """

    def __init__(self) -> None:
        self.table = pd_hashtable.UInt64Factorizer(1 << 10)
        self.counts = np.zeros(1 << 10, dtype=np.int64)

    @property
    def size(self) -> int:
        return int(self.table.count)

    def add(self, keys: np.ndarray, codes: np.ndarray | None, out: np.ndarray | None = None
            ) -> np.ndarray:
        """Count rows and return their raw ids (n,) int32 (written into ``out`` (n,) int32 when
        given). ``keys`` (U,) uint64 distinct token keys in order of first appearance and
        ``codes`` (n,) int32 index into them; or ``codes`` None and ``keys`` (n,) the rows' own
        keys (see :class:`~.tokens.TokenBatch`)."""
        glob = self.table.factorize(np.ascontiguousarray(keys, dtype=np.uint64), na_sentinel=-1)
        if self.size > len(self.counts):
            grown = np.zeros(max(self.size, 2 * len(self.counts)), dtype=np.int64)
            grown[:len(self.counts)] = self.counts
            self.counts = grown
        if codes is None:
            np.add.at(self.counts, glob, 1)
            if out is None:
                return glob.astype(np.int32)
            out[...] = glob
            return out
        self.counts[glob] += np.bincount(codes, minlength=len(keys))    # distinct keys
        return np.take(glob.astype(np.int32), codes, out=out)


def fingerprint(path: Path) -> dict[str, Any]:
    """Size, modification time and SHA-256 of the first and last MiB of a file."""
    stat = path.stat()
    with open(path, "rb") as fh:
        head = hashlib.sha256(fh.read(FINGERPRINT_BYTES)).hexdigest()
        fh.seek(max(0, stat.st_size - FINGERPRINT_BYTES))
        tail = hashlib.sha256(fh.read(FINGERPRINT_BYTES)).hexdigest()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "head_sha256": head, "tail_sha256": tail}


def share(value: float) -> str:
    """A share as a percentage with the digits that tell it from a limit: ``0.0412%``, ``1%``."""
    return f"{100 * value:.3g}%"


def limit_text(options: PrepareOptions) -> str:
    """``data.max_bad_rows=0.0004 (0.04%)``: the limit as given and as a percentage."""
    return f"data.max_bad_rows={options.max_bad_rows:g} ({share(options.max_bad_rows)})"


def _note(message: str) -> None:
    print(f"embcollapse: {message}", file=sys.stderr)


def check_bad_rows(issues: RowIssues, rows: int, options: PrepareOptions, source: Source
                   ) -> None:
    """After reading everything: stop when the malformed share of all ``rows`` read (good and
    malformed) exceeds ``max_bad_rows``."""
    if issues.count > options.max_bad_rows * rows:
        raise DataError(
            f"{source.files[0]}: {issues.count:,} of {rows:,} rows read are malformed "
            f"({share(issues.count / max(rows, 1))}), more than {limit_text(options)}; first: "
            f"{issues.describe()}")


def check_bad_rows_early(issues: RowIssues, options: PrepareOptions, source: Source) -> None:
    """While reading: stop only when the limit is already certainly exceeded, whatever the rest
    of the file holds. ``issues.count`` malformed rows have been seen (the parser may be ahead
    of the rows used so far, so only the malformed count is trusted); the most rows the file
    can still have is :meth:`Source.max_rows`, so the final share is at least
    ``count / max_rows(count)``."""
    if issues.count == 0:
        return
    most = source.max_rows(issues.count)
    if most is not None and issues.count > options.max_bad_rows * most:
        raise DataError(
            f"{source.files[0]}: stopped early: {issues.count:,} malformed rows already, of at "
            f"most {most:,} rows the file can hold (at least {share(issues.count / most)}), "
            f"more than {limit_text(options)}; first: {issues.describe()}")


def check_labels(positives: int, rows: int, where: object) -> None:
    """A click dataset needs both classes: AUC is undefined otherwise."""
    if positives in (0, rows):
        raise DataError(f"{where}: every one of the {rows:,} good rows has label "
                        f"{int(positives > 0)}; a click dataset needs both clicks (1) and "
                        f"non-clicks (0)")


def check_reused(meta: dict[str, Any], options: PrepareOptions, where: object) -> None:
    """The checks a fresh preparation makes, made again on a reused one (from its meta.json):
    the share of malformed rows against *this* request's ``max_bad_rows``, and the labels."""
    skipped = meta.get("skipped_rows") or {}
    count, total = skipped.get("count"), meta.get("rows_read")
    if not isinstance(count, int) or not isinstance(total, int):
        raise DataError(f"{where}: meta.json does not record its malformed rows; prepare it "
                        f"again with --force")
    if count > options.max_bad_rows * total:
        first = "; ".join(f"line {i['line']}: {i['reason']}" for i in skipped.get("first", []))
        raise DataError(
            f"{meta.get('source', {}).get('files', [{}])[0].get('path', where)}: {count:,} of "
            f"{total:,} rows read are malformed ({share(count / max(total, 1))}), more than "
            f"{limit_text(options)} (found when it was prepared, "
            f"{meta.get('created', '?')}); first: {first}")
    check_labels(round(meta["positive_rate"] * meta["rows"]), meta["rows"], where)


def _read_tokens(source: Source, options: PrepareOptions, writer: PreparedWriter,
                 progress: bool) -> tuple[list[FieldVocab], int, RowIssues]:
    """Pass 1: vocabularies and counts; raw ids and labels to scratch files."""
    vocabs = [FieldVocab() for _ in source.spec.fields]
    issues = source.new_issues()
    rows = parsed = 0
    with tqdm(total=source.total_bytes, unit="B", unit_scale=True, disable=not progress,
              desc=f"prepare {source.name} (read)", leave=False) as bar, \
            open(writer.scratch("raw_ids"), "wb") as raw_out, \
            open(writer.scratch("labels"), "wb") as label_out, \
            contextlib.closing(source.read(issues)) as batches:
        for batch in batches:
            issues.add_value_errors(batch, parsed)
            parsed += batch.parsed
            block = np.empty((len(batch), len(vocabs)), dtype=np.int32)
            for f, vocab in enumerate(vocabs):
                vocab.add(batch.keys[f], batch.codes[f], out=block[:, f])
            block.tofile(raw_out)
            batch.labels.astype(np.int8).tofile(label_out)
            rows += len(block)
            bar.update(max(0, batch.bytes_read - bar.n))
            check_bad_rows_early(issues, options, source)
    return vocabs, rows, issues


def _scratch_chunks(path: Path, dtype: type, width: int, rows: int,
                    chunk: int = REMAP_ROWS) -> Iterator[np.ndarray]:
    """Read a scratch file of ``rows`` x ``width`` values back in (n, width) chunks (no memory
    map, so resident memory stays at one chunk)."""
    with open(path, "rb") as fh:
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            yield np.fromfile(fh, dtype=dtype, count=n * width).reshape(n, width)


def _train_counts(writer: PreparedWriter, sizes: Sequence[int], rows: int,
                  split_seed: int) -> list[np.ndarray]:
    """Per-field counts over the rows of the training split only."""
    train = np.zeros(rows, dtype=bool)
    train[split_indices(rows, split_seed)[0]] = True
    counts = [np.zeros(size, dtype=np.int64) for size in sizes]
    start = 0
    for block in _scratch_chunks(writer.scratch("raw_ids"), np.int32, len(sizes), rows):
        mask = train[start:start + len(block)]
        for f, count in enumerate(counts):
            np.add.at(count, block[mask, f], 1)
        start += len(block)
    return counts


def _threshold(counts: np.ndarray, min_count: int) -> tuple[np.ndarray, int]:
    """Raw id -> final id (0 = OOV; kept values 1..K in raw-id order), and K."""
    keep = counts >= min_count
    remap = np.zeros(len(counts), dtype=np.int32)
    remap[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return remap, int(keep.sum())


def prepare(source: Source, directory: Path, options: PrepareOptions,
            progress: bool = True) -> Path:
    """Prepare ``source`` into ``directory`` (replaced atomically); see the module docstring.

    Raises :class:`DataError` when the source is unreadable, has fewer than 10 good rows, or
    more than ``options.max_bad_rows`` of its rows are malformed; nothing is left behind then.
    """
    start_time = time.perf_counter()
    fields = source.spec.fields
    with PreparedWriter(directory) as writer:
        vocabs, rows, issues = _read_tokens(source, options, writer, progress)
        read_seconds = time.perf_counter() - start_time
        total = rows + issues.count
        if total == 0:
            raise DataError(f"{source.files[0]}: no data rows")
        check_bad_rows(issues, total, options, source)
        if rows < 10:
            raise DataError(f"{source.files[0]}: only {rows} good rows; at least 10 are needed "
                            f"for an 8/1/1 split")
        sizes = [v.size for v in vocabs]
        if options.vocab_fit == "train":
            counts = _train_counts(writer, sizes, rows, options.split_seed)
        else:
            counts = [v.counts[:v.size] for v in vocabs]
        remaps, kept = zip(*(_threshold(c, options.min_count) for c in counts))
        dims = [k + 1 for k in kept]
        id_dtype = smallest_int_dtype(max(dims) - 1)
        remap_all = np.concatenate(remaps).astype(id_dtype)   # one gather per chunk, all fields
        index_dtype = np.int32 if sum(sizes) < np.iinfo(np.int32).max else np.int64
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(index_dtype)

        def final_ids(item: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            """Raw ids (n, F) and labels (n,) int8 -> final ids (n, F), labels float32."""
            block, label = item
            out = np.take(remap_all, block.astype(index_dtype, copy=False) + offsets)
            return out, label.astype(np.float32)

        # rows per field sent to OOV: every row's raw value is counted in vocab.counts
        oov = [int(v.counts[:v.size][remap == 0].sum()) for v, remap in zip(vocabs, remaps)]
        positives = 0
        with writer.open_stream("ids", (rows, len(fields)), id_dtype) as ids_out, \
                writer.open_stream("labels", (rows,), np.float32) as labels_out:
            blocks = _scratch_chunks(writer.scratch("raw_ids"), np.int32, len(fields), rows)
            labels = (c.ravel() for c in _scratch_chunks(writer.scratch("labels"), np.int8, 1,
                                                         rows))
            for out, label in tqdm(
                    ordered_map(final_ids, zip(blocks, labels), REMAP_THREADS),
                    total=-(-rows // REMAP_ROWS), disable=not progress, leave=False,
                    desc=f"prepare {source.name} (ids)"):
                ids_out.write(out)
                labels_out.write(label)
                positives += int(np.count_nonzero(label))
        check_labels(positives, rows, source.files[0])
        field_stats = [{"name": name, "integer": name in source.spec.int_fields,
                        "raw_values": int(np.count_nonzero(vocab.counts[:vocab.size])),
                        "kept_values": k, "dim": k + 1, "oov_share": float(o / rows)}
                       for name, vocab, k, o in zip(fields, vocabs, kept, oov)]
        meta = {
            "name": source.name, "field_names": list(fields), "field_dims": dims,
            "int_fields": list(source.spec.int_fields), "rows": rows,
            "positive_rate": positives / rows, "min_count": options.min_count,
            "thresholds": {name: options.min_count for name in fields},
            "vocab_fit": options.vocab_meta(), "options": options.key(),
            "fields": field_stats,
            "rows_read": total,
            "skipped_rows": {"count": issues.count, "share": issues.count / total,
                             "max_share": options.max_bad_rows, "first": issues.first()},
            "source": {**source.describe(), "files": [fingerprint(p) for p in source.files]},
            "reader_version": READER_VERSION,
            "seconds": {"read": round(read_seconds, 3),
                        "total": round(time.perf_counter() - start_time, 3)},
        }
        out_dir = writer.finish(meta)
    if issues.count:
        _note(f"{source.files[0]}: skipped {issues.count:,} malformed row(s) of {total:,}; "
              f"{issues.describe(3)}")
    for note in getattr(source, "notes", list)():
        _note(note)
    return out_dir


def stale_reason(directory: Path, source: Source, options: PrepareOptions) -> str | None:
    """Why ``directory`` is not an up-to-date preparation of ``source``, or None if it is."""
    meta = read_meta(directory)
    if meta is None:
        if not directory.exists() or not any(directory.iterdir()):
            return "not prepared yet"
        return "meta.json is missing, damaged or of another preparation version"
    if meta.get("reader_version") != READER_VERSION:
        return f"prepared by reader version {meta.get('reader_version')}, now {READER_VERSION}"
    if meta.get("options") != options.key():
        return f"prepared with options {meta.get('options')}, now {options.key()}"
    quoting = "rfc4180" if source.spec.quoting else None      # without scanning the file
    before = (meta.get("source") or {}).get("quoting")
    if before != quoting:
        said = {None: "as ordinary characters", "rfc4180": "as RFC 4180 quotes"}
        return (f"prepared reading quotes {said.get(before, before)}, now "
                f"{said.get(quoting, quoting)}")
    old = meta.get("source", {}).get("files", [])
    new = [fingerprint(p) for p in source.files]
    if [(f.get("path"), f.get("size"), f.get("mtime_ns"), f.get("head_sha256"),
         f.get("tail_sha256")) for f in old] != [tuple(f.values()) for f in new]:
        return "the raw file changed since it was prepared (size, time or content)"
    damage = prepared_problem(directory)[1]
    return f"damaged: {damage}" if damage else None


def held_by(meta: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """What a prepared folder holds, from its ``meta.json``: the dataset's name and the paths
    of its source files (none for synthetic data)."""
    files = (meta.get("source") or {}).get("files") or []
    return str(meta.get("name")), tuple(str(f.get("path")) for f in files)


def check_same_dataset(directory: Path, source: Source) -> None:
    """:class:`DataError` when ``directory`` holds a preparation of another dataset or of
    another source file than ``source`` (its ``meta.json``: :func:`held_by`): preparing there
    would replace it. Another preparation of the same file (other options or columns, or a
    changed file) may replace it."""
    meta = read_meta(directory)
    if meta is None:
        return
    held = held_by(meta)
    wanted = (source.name, tuple(str(p.resolve()) for p in source.files))
    if held != wanted:
        shown = f"{held[0]} from {', '.join(held[1])}" if held[1] else f"{held[0]} data"
        raise DataError(
            f"{directory} holds the preparation of {shown}; this is {wanted[0]} from "
            f"{', '.join(wanted[1])}: nothing was changed; choose another --out (or leave it "
            f"out), or delete {directory} first")


def prepare_source(source: Source, directory: Path, options: PrepareOptions,
                   force: bool = False, progress: bool = True) -> Path:
    """``directory`` if it is an up-to-date preparation of ``source``, else (re)build it.

    A reused preparation passes the same checks as a fresh one (:func:`check_reused`); the
    folder is checked before any work (an existing file or a folder of other contents is a
    :class:`DataError`, never replaced), and so is a folder holding another dataset or
    another file's preparation (:func:`check_same_dataset`), even with ``force``."""
    directory = check_prepared_target(directory)
    check_same_dataset(directory, source)
    clean_stale(directory.parent)           # scratch of killed preparations, even when reused
    reason = "forced" if force else stale_reason(directory, source, options)
    if reason is None:
        check_reused(read_meta(directory), options, directory)
        return directory
    if directory.exists():
        _note(f"{directory}: rebuilding ({reason})")
    return prepare(source, directory, options, progress=progress)


# --------------------------------------------------------------------------- named datasets

@dataclass(frozen=True)
class DatasetInfo:
    """A raw dataset known by name: its reader, default threshold and where to look for it."""

    reader: Callable[[Path], Source]
    min_count: int
    candidates: tuple[str, ...]     # paths tried under $EMBCOLLAPSE_DATA and <home>/raw
    how_to_get: str


def _criteo(path: Path) -> Source:
    from . import criteo
    return criteo.source(path)


def _avazu(path: Path) -> Source:
    from . import avazu
    return avazu.source(path)


def _movielens(path: Path) -> Source:
    from . import movielens
    return movielens.source(path)


DATASETS: dict[str, DatasetInfo] = {
    "criteo": DatasetInfo(
        _criteo, 10, ("criteo/train.txt", "criteo/train.txt.gz", "criteo/train.csv",
                      "criteo/train.csv.gz", "train.txt", "train.txt.gz"),
        "download Criteo's Kaggle Display Advertising Challenge train.txt and set data.path "
        "(or EMBCOLLAPSE_DATA to a folder holding criteo/train.txt)"),
    "avazu": DatasetInfo(
        _avazu, 4, ("avazu/train", "avazu/train.gz", "avazu/train.csv", "avazu/train.csv.gz"),
        "download Avazu's Kaggle CTR prediction train file and set data.path "
        "(or EMBCOLLAPSE_DATA to a folder holding avazu/train)"),
    "movielens-100k": DatasetInfo(
        _movielens, 1, ("ml-100k", "movielens-100k"),
        "run `embcollapse data fetch movielens-100k`, or set data.path to a folder with "
        "u.data/u.user/u.item or ml-100k.inter/.user/.item"),
}


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"data.name: unknown dataset {name!r}; known: synthetic, csv (with "
                        f"data.path), {', '.join(DATASETS)}, or a prepared dataset's name (as "
                        f"`embcollapse data prepare` prints it) or folder")
    return DATASETS[name]


def search_roots() -> list[Path]:
    """Folders searched for raw data: ``$EMBCOLLAPSE_DATA`` (if set), then ``<home>/raw``."""
    roots = []
    env = os.environ.get("EMBCOLLAPSE_DATA")
    if env:
        roots.append(Path(env).expanduser())
    roots.append(paths.home() / "raw")
    return roots


def locate_raw(config: DataConfig) -> Path | None:
    """The raw file or folder of a named dataset: ``data.path`` if given, else the first
    candidate found under :func:`search_roots`; None when nothing is found."""
    info = dataset_info(config.name)
    if config.path:
        return Path(config.path).expanduser().resolve()
    for root in search_roots():
        for candidate in info.candidates:
            if (root / candidate).exists():
                return (root / candidate).resolve()
    return None


def options_for(config: DataConfig) -> PrepareOptions:
    """Preparation options of a data configuration (``min_count`` 0 = the dataset default)."""
    info = dataset_info(config.name)
    return PrepareOptions(min_count=config.min_count or info.min_count,
                          vocab_fit=config.vocab_fit, split_seed=config.split_seed,
                          max_bad_rows=config.max_bad_rows)


def prepared_dir(name: str, raw: Path, options: PrepareOptions) -> Path:
    """``<home>/data/<name>-<hash of the raw path>-min<N>-<all|trainS>``."""
    tag = hashlib.sha256(str(raw).encode()).hexdigest()[:8]
    fit = "all" if options.vocab_fit == "all" else f"train{options.split_seed}"
    return paths.home() / "data" / f"{name}-{tag}-min{options.min_count}-{fit}"


def ensure_prepared(config: DataConfig, force: bool = False, progress: bool = True) -> Path:
    """The up-to-date prepared directory of a named dataset, built if needed.

    Without the raw data, an existing preparation is used as it is (it cannot be checked);
    with neither, :class:`DataError` says how to get the data.
    """
    info = dataset_info(config.name)
    options = options_for(config)
    raw = locate_raw(config)
    if raw is not None and raw.exists():
        return prepare_source(info.reader(raw), prepared_dir(config.name, raw, options),
                              options, force=force, progress=progress)
    if raw is not None:
        directory = prepared_dir(config.name, raw, options)
        if read_meta(directory) is not None:
            check_reused(read_meta(directory), options, directory)
            return directory
        raise DataError(f"data.path {raw} does not exist and was never prepared; "
                        f"{info.how_to_get}")
    fit = "all" if options.vocab_fit == "all" else f"train{options.split_seed}"
    found = sorted(d for d in (paths.home() / "data").glob(
        f"{config.name}-*-min{options.min_count}-{fit}") if read_meta(d) is not None)
    if len(found) == 1:
        check_reused(read_meta(found[0]), options, found[0])
        return found[0]
    if found:
        raise DataError(f"{config.name}: no raw data found and several prepared copies "
                        f"({', '.join(d.name for d in found)}); set data.path to choose")
    roots = ", ".join(str(r) for r in search_roots())
    raise DataError(f"{config.name}: raw data not found (data.path is empty; looked for "
                    f"{', '.join(info.candidates)} under {roots}); {info.how_to_get}")


def prepare_csv(path: str | Path, label: str, fields: Sequence[str] = (),
                int_fields: Sequence[str] = (), delimiter: str | None = None,
                min_count: int = 1, vocab_fit: str = "all", split_seed: int = 0,
                max_bad_rows: float = 0.01, out: Path | None = None, force: bool = False,
                progress: bool = True) -> Path:
    """Prepare any CSV/TSV (see :func:`.csv.csv_source`; ``fields`` default to every column
    but the label, ``label`` "" is guessed, :func:`.names.guess_label`); train on it with
    ``data.name=<the directory's short name>`` (:func:`.names.short_name`). The default
    directory is :func:`.names.csv_dir` (``<home>/data/csv-<file stem>``)."""
    from .names import csv_dir

    source = csv_source(path, label, fields, int_fields, delimiter)
    label = source.spec.label
    options = PrepareOptions(min_count=min_count, vocab_fit=vocab_fit, split_seed=split_seed,
                             max_bad_rows=max_bad_rows)
    if out is None:
        out = csv_dir(source.path, label, source.spec.fields, tuple(int_fields), options.key(),
                      (str(source.path.resolve()), label, source.spec.fields,
                       tuple(int_fields), asdict(options)))
    return prepare_source(source, Path(out), options, force=force, progress=progress)
