"""Prepared datasets on disk: written atomically, read back as memory maps, checked on load.

A *prepared directory* holds ``ids.npy`` (rows, fields) in the smallest integer type that fits,
``labels.npy`` (rows,) float32 0/1, optionally ``teacher_logit.npy`` (rows,) (synthetic data),
``meta.json`` (field names and cardinalities, row count, click rate, source, preparation
version, and ``content``: dtype, shape and SHA-256 of every array, from which
:func:`content_fingerprint` names the data a run trains on) and the owner marker of
:mod:`embcollapse.atomic`. :class:`PreparedWriter` builds it in
a temporary sibling renamed into place when complete, so a killed preparation leaves nothing
that looks finished, and it only ever replaces an empty folder or a prepared folder of ours.

:func:`load_prepared` checks the arrays against ``meta.json`` before anything uses them (shapes,
integer ids in ``0 .. field_dims[f] - 1`` per field, labels 0/1 with both classes present):
a folder that fails is an error naming the file and field, never a silent wrong run.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..atomic import check_target, discard, replace_directory, temp_sibling
from ..errors import ConfigError
from .errors import DataError
from .splits import PreparedData, Split, fraction_indices, split_indices

PREPARATION_VERSION = 2         # 2: meta.json records the arrays' content hashes
HASH_CHUNK = 1 << 24            # bytes hashed at a time
KIND = "prepared-data"
FILES = ("meta.json", "ids.npy", "labels.npy", "teacher_logit.npy")
CHECK_ROWS = 1 << 20     # rows per chunk when arrays are checked
SAMPLE_BLOCKS = 256      # blocks of an array hashed by the content check ...
SAMPLE_BLOCK_BYTES = 4096   # ... of this many bytes each (1 MiB per array)


def smallest_int_dtype(max_value: int) -> np.dtype:
    """The smallest signed integer type that holds ``max_value``."""
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        if max_value <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"value {max_value} does not fit in int64")


class PreparedWriter:
    """Write a prepared directory atomically: arrays go to a temporary sibling folder, which is
    renamed to ``directory`` by :meth:`finish`. Leaving the ``with`` block without
    :meth:`finish` (an error) removes the temporary folder and leaves ``directory`` as it was;
    after a kill, the next writer in the same parent folder removes it.

    ``directory`` is checked first (:func:`embcollapse.atomic.check_target`): an existing file,
    or a folder holding anything but a prepared dataset of ours, is a :class:`DataError`
    before any work. ``open_stream`` writes an array by appending chunks of rows, so arrays
    larger than memory are written without holding them (or mapping them) whole; ``scratch``
    names a work file inside the temporary folder that is deleted with it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = check_prepared_target(directory)
        self.tmp = temp_sibling(self.directory, KIND)
        self.finished = False

    def __enter__(self) -> "PreparedWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        discard(self.tmp)

    def save(self, name: str, array: np.ndarray) -> None:
        """Store an in-memory array as ``<name>.npy``."""
        np.save(self.tmp / f"{name}.npy", array)

    def open_stream(self, name: str, shape: tuple[int, ...], dtype: np.dtype | type
                    ) -> "NpyStream":
        """``<name>.npy`` of ``shape`` and ``dtype``, filled by appending rows in order."""
        return NpyStream(self.tmp / f"{name}.npy", shape, np.dtype(dtype))

    def scratch(self, name: str) -> Path:
        """A work file in the temporary folder, removed when the writer closes."""
        return self.tmp / f"scratch-{name}"

    def finish(self, meta: Mapping[str, Any]) -> Path:
        """Write ``meta.json``, drop scratch files, and rename the folder into place."""
        for path in self.tmp.glob("scratch-*"):
            path.unlink()
        arrays = sorted(self.tmp.glob("*.npy"))
        content = {path.stem: array_content(path) for path in arrays}
        # the sample digests are kept out of "content": content_fingerprint, and so the ids of
        # runs on data prepared before they existed, stay what they were
        full_meta = {**meta, "content": content,
                     "content_sample": {path.stem: sample_digest(path) for path in arrays},
                     "preparation_version": PREPARATION_VERSION,
                     "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        (self.tmp / "meta.json").write_text(json.dumps(full_meta, indent=2))
        try:
            replace_directory(self.tmp, self.directory, KIND, FILES)
        except ConfigError as err:      # the target changed while we worked
            raise DataError(str(err)) from err
        self.finished = True
        return self.directory


def check_prepared_target(directory: Path) -> Path:
    """``directory`` (absolute) if a prepared dataset may be written there, else DataError."""
    try:
        return check_target(directory, KIND, FILES)
    except ConfigError as err:      # reported as the data layer's error
        raise DataError(str(err)) from err


class NpyStream:
    """A ``.npy`` file written front to back: header first, then chunks of rows (C order)."""

    def __init__(self, path: Path, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.path, self.shape, self.dtype = path, tuple(shape), dtype
        self.rows = 0
        self.fh = open(path, "wb")
        np.lib.format.write_array_header_1_0(
            self.fh, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                      "shape": self.shape})

    def write(self, chunk: np.ndarray) -> None:
        """Append rows ``chunk`` (k, *shape[1:]) of this stream's dtype."""
        chunk = np.ascontiguousarray(chunk, dtype=self.dtype)
        if chunk.shape[1:] != self.shape[1:] or self.rows + len(chunk) > self.shape[0]:
            raise ValueError(f"{self.path.name}: chunk {chunk.shape} does not fit {self.shape} "
                             f"after {self.rows} rows")
        self.fh.write(memoryview(chunk).cast("B"))      # no copy
        self.rows += len(chunk)

    def close(self) -> None:
        """Close the file; every row must have been written."""
        self.fh.close()
        if self.rows != self.shape[0]:
            raise ValueError(f"{self.path.name}: {self.rows} rows written, {self.shape[0]} "
                             f"expected")

    def __enter__(self) -> "NpyStream":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.fh.close()


def write_prepared(directory: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
                   ) -> Path:
    """Write arrays (``name -> array``) and ``meta.json`` into ``directory`` atomically."""
    with PreparedWriter(directory) as writer:
        for name, array in arrays.items():
            writer.save(name, array)
        return writer.finish(meta)


def array_content(path: Path) -> dict[str, Any]:
    """dtype, shape and SHA-256 of the values (not the file header) of a ``.npy`` file, read in
    chunks through a memory map."""
    array = np.load(path, mmap_mode="r")
    digest = hashlib.sha256()
    flat = array.reshape(-1).view(np.uint8) if array.size else np.zeros(0, np.uint8)
    for start in range(0, len(flat), HASH_CHUNK):
        digest.update(flat[start:start + HASH_CHUNK])
    return {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": digest.hexdigest()}


def _value_bytes(path: Path) -> np.ndarray:
    """The values of a ``.npy`` file as a flat read-only uint8 memory map (header left out)."""
    array = np.load(path, mmap_mode="r")
    return array.reshape(-1).view(np.uint8) if array.size else np.zeros(0, np.uint8)


def sample_digest(path: Path) -> str:
    """SHA-256 of :data:`SAMPLE_BLOCKS` blocks of :data:`SAMPLE_BLOCK_BYTES` spread evenly over
    the values of a ``.npy`` file, the first and last block included (all of it when it is
    smaller): the cheap content check of :func:`content_problem`, a fixed cost whatever the
    array's size (about 1 MiB read)."""
    flat = _value_bytes(path)
    digest = hashlib.sha256()
    if len(flat) <= SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES:
        digest.update(flat)
    else:
        for start in np.linspace(0, len(flat) - SAMPLE_BLOCK_BYTES, SAMPLE_BLOCKS).astype(np.int64):
            digest.update(flat[start:start + SAMPLE_BLOCK_BYTES])
    return digest.hexdigest()


def content_fingerprint(meta: Mapping[str, Any]) -> str:
    """SHA-256 of what a model trains on in a prepared directory: field names, field
    cardinalities and every array's dtype, shape and content hash (``meta["content"]``,
    recorded when it was prepared). Paths, times and the raw source are not part of it, so a
    copy of the folder, or the same data prepared again, has the same fingerprint."""
    described = {"field_names": list(meta["field_names"]),
                 "field_dims": [int(d) for d in meta["field_dims"]],
                 "arrays": meta["content"]}
    for key in ("fresh_test_rows", "fresh_valid_rows"):  # the last rows: valid, then test
        if meta.get(key):
            described[key] = int(meta[key])
    blob = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- reading, checks

def meta_problem(meta: Any) -> str | None:
    """What is wrong with the structure of a ``meta.json`` mapping, or None."""
    if not isinstance(meta, dict):
        return "not a JSON object"
    if meta.get("preparation_version") != PREPARATION_VERSION:
        return (f"preparation version {meta.get('preparation_version')!r}, this package "
                f"reads {PREPARATION_VERSION}")
    names, dims, rows = meta.get("field_names"), meta.get("field_dims"), meta.get("rows")
    if not isinstance(meta.get("content"), dict):
        return "'content' (the arrays' hashes) is missing"
    if not isinstance(meta.get("name"), str):
        return "'name' is missing or not a string"
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        return f"'rows' must be a positive integer, got {rows!r}"
    if (not isinstance(dims, list) or not dims
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims)):
        return "'field_dims' must be a non-empty list of positive integers"
    if not isinstance(names, list) or len(names) != len(dims):
        return (f"'field_names' must list one name per field ({len(dims)} field_dims, "
                f"{len(names) if isinstance(names, list) else 'no'} names)")
    fresh = {key: meta.get(key, 0) for key in ("fresh_test_rows", "fresh_valid_rows")}
    for key, value in fresh.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < rows:
            return f"'{key}' must be an integer in [0, rows), got {value!r}"
    if sum(fresh.values()) >= rows:
        return (f"'fresh_test_rows' + 'fresh_valid_rows' must be fewer than 'rows' ({rows}), "
                f"got {sum(fresh.values())}")
    return None


def read_meta_checked(directory: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(meta, None)`` for a readable, well-formed ``meta.json``, else ``(None, why not)``."""
    path = Path(directory) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        return None, f"{path} does not exist"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{path} cannot be read ({type(err).__name__}: {str(err)[:80]})"
    problem = meta_problem(meta)
    return (None, f"{path}: {problem}") if problem else (meta, None)


def read_meta(directory: Path) -> dict[str, Any] | None:
    """``meta.json`` of a prepared directory, or None when missing, damaged or stale."""
    return read_meta_checked(directory)[0]


def required_meta(directory: Path) -> dict[str, Any]:
    """:func:`read_meta`, or :class:`DataError` naming the folder and the problem."""
    meta, why = read_meta_checked(directory)
    if meta is None:
        raise DataError(f"{directory}: not a prepared dataset of version "
                        f"{PREPARATION_VERSION}: {why}")
    return meta


def _open(directory: Path, name: str) -> np.ndarray:
    """An array of a prepared directory as a read-only memory map (DataError naming it)."""
    path = Path(directory) / f"{name}.npy"
    try:
        return np.load(path, mmap_mode="r")
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path}: missing or damaged ({str(err)[:120]})") from err


def array_problem(directory: Path, meta: Mapping[str, Any]) -> str | None:
    """What is wrong with the arrays of a prepared directory given its ``meta.json``, or None:
    a missing or truncated file, a shape or type that disagrees with ``meta.json``, an id
    outside ``0 .. field_dims[f] - 1`` (naming the field and row), a label other than 0/1,
    or labels of a single class. Reads every row once, in chunks."""
    directory = Path(directory)
    rows, dims = meta["rows"], list(meta["field_dims"])
    names = list(meta.get("field_names") or [f"#{f}" for f in range(len(dims))])
    try:
        ids, labels = _open(directory, "ids"), _open(directory, "labels")
        logit = (_open(directory, "teacher_logit")
                 if (directory / "teacher_logit.npy").exists() else None)
    except DataError as err:
        return str(err)
    if ids.shape != (rows, len(dims)) or not np.issubdtype(ids.dtype, np.integer):
        return (f"{directory / 'ids.npy'}: {ids.dtype} {ids.shape}, but meta.json says "
                f"integers of shape ({rows}, {len(dims)})")
    if labels.shape != (rows,):
        return f"{directory / 'labels.npy'}: shape {labels.shape}, meta.json says ({rows},)"
    if logit is not None and logit.shape != (rows,):
        return (f"{directory / 'teacher_logit.npy'}: shape {logit.shape}, meta.json says "
                f"({rows},)")
    limit = np.asarray(dims)
    positives = 0
    for start in range(0, rows, CHECK_ROWS):
        block = np.asarray(ids[start:start + CHECK_ROWS])
        wrong = (block < 0) | (block >= limit)
        if wrong.any():
            row, f = (int(v) for v in np.argwhere(wrong)[0])
            return (f"{directory / 'ids.npy'}: field {names[f]} (column {f}) has id "
                    f"{int(block[row, f])} at row {start + row}, but meta.json gives it "
                    f"{dims[f]} values (ids 0..{dims[f] - 1})")
        lab = np.asarray(labels[start:start + CHECK_ROWS])
        bad = (lab != 0) & (lab != 1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            return (f"{directory / 'labels.npy'}: label {float(lab[row]):g} at row "
                    f"{start + row}; labels must be 0 or 1")
        positives += int(np.count_nonzero(lab))
    if positives in (0, rows):
        return (f"{directory / 'labels.npy'}: every label is {int(positives > 0)}; AUC needs "
                f"both clicks (1) and non-clicks (0)")
    return None


def content_problem(directory: Path, meta: Mapping[str, Any]) -> str | None:
    """Whether each array's values still hash as ``meta.json`` recorded: the sample digest
    (:func:`sample_digest`) where ``content_sample`` has one, else (folders prepared before
    it existed) the full SHA-256 of ``content``. None, or what differs, naming the file."""
    directory = Path(directory)
    samples = meta.get("content_sample") or {}
    for name, recorded in sorted(meta["content"].items()):
        path = directory / f"{name}.npy"
        sampled = bool(samples.get(name))
        try:
            now = sample_digest(path) if sampled else array_content(path)["sha256"]
        except (OSError, ValueError, EOFError) as err:
            return f"{path}: missing or damaged ({str(err)[:120]})"
        then = samples[name] if sampled else recorded.get("sha256")
        if now != then:
            return (f"{path}: its {'sampled ' if sampled else ''}content changed since it was "
                    f"prepared (SHA-256 {now[:12]}..., meta.json recorded {str(then)[:12]}...)")
    return None


def _recorded_shapes_problem(directory: Path, meta: Mapping[str, Any]) -> str | None:
    """The dtype and shape of every array against ``meta["content"]`` (header only)."""
    missing = [n for n in ("ids", "labels") if n not in meta["content"]]
    if missing:
        return f"{Path(directory) / 'meta.json'}: records no content of {missing[0]}.npy"
    for name, recorded in sorted(meta["content"].items()):
        path = Path(directory) / f"{name}.npy"
        try:
            array = _open(directory, name)
        except DataError as err:
            return str(err)
        if [array.dtype.str, list(array.shape)] != [recorded.get("dtype"),
                                                     recorded.get("shape")]:
            return (f"{path}: {array.dtype.str} {tuple(array.shape)}, meta.json recorded "
                    f"{recorded.get('dtype')} {tuple(recorded.get('shape') or ())}")
    return None


def damage(directory: Path, meta: Mapping[str, Any]) -> str | None:
    """Everything :func:`verify_prepared` checks, for a ``meta`` already read: the arrays'
    types and shapes against ``meta.json`` (``content`` too), every id within its field's
    cardinality and every label 0/1 (:func:`array_problem`), and the content check
    (:func:`content_problem`). None when the folder is whole, else the first problem."""
    return (_recorded_shapes_problem(directory, meta) or array_problem(directory, meta)
            or content_problem(directory, meta))


_VERIFIED: dict[tuple, dict[str, Any]] = {}     # folder state -> meta, this process


def _state(directory: Path) -> tuple:
    """What identifies the folder's files now: path, and size, time and inode of each."""
    stats = []
    for name in FILES:
        try:
            st = (directory / name).stat()
            stats.append((name, st.st_size, st.st_mtime_ns, st.st_ino))
        except OSError:                 # missing, or ``directory`` is no folder
            stats.append((name, None))
    return (str(directory.resolve()), tuple(stats))


def prepared_problem(directory: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(meta, None)`` for a whole prepared folder (:func:`damage` finds nothing), else
    ``(meta or None, what is wrong)``. A folder whose files have not changed (size, time,
    inode) since it was found whole in this process is not read again."""
    directory = Path(directory)
    key = _state(directory)
    if key in _VERIFIED:
        return _VERIFIED[key], None
    meta, why = read_meta_checked(directory)
    if meta is None:
        return None, why
    problem = damage(directory, meta)
    if problem is None:
        _VERIFIED[key] = meta
    return meta, problem


def verify_prepared(directory: Path) -> dict[str, Any]:
    """``meta.json`` of a prepared folder verified against its arrays (:func:`damage`), or
    :class:`DataError` naming the file, what is wrong and how to prepare it again.

    Made whenever a folder is used, before a stored run is looked up by the data's
    fingerprint as before training. Its cost: one pass over the ids and labels and a 1 MiB
    sample of each array (:func:`sample_digest`), once per process while the files stay as
    they are (:func:`prepared_problem`)."""
    directory = Path(directory)
    meta, problem = prepared_problem(directory)
    if meta is None:
        required_meta(directory)            # raises, saying why
    if problem:
        raise DataError(f"{problem}; prepare the data again (`embcollapse data prepare ... "
                        f"--force`, or delete {directory})")
    return meta


def load_prepared(directory: Path, split_seed: int = 0, fraction: float = 1.0) -> PreparedData:
    """Memory-map a prepared directory, check it and split it.

    Raises :class:`DataError` when ``meta.json`` is missing, damaged or of another preparation
    version, or an array is missing, truncated, of the wrong shape, holds values
    ``meta.json`` does not allow or changed since it was prepared (:func:`verify_prepared`).
    """
    directory = Path(directory)
    meta = verify_prepared(directory)
    vocab = meta.get("vocab_fit", {})
    if vocab.get("on") == "train" and vocab.get("split_seed") != split_seed:
        raise DataError(f"{directory}: its vocabulary was fitted on the training split of seed "
                        f"{vocab.get('split_seed')}, but data.split_seed is {split_seed}: "
                        f"validation rows would have shaped the vocabulary")
    ids, labels = _open(directory, "ids"), _open(directory, "labels")
    logit = (_open(directory, "teacher_logit")
             if (directory / "teacher_logit.npy").exists() else None)

    def take(index: np.ndarray) -> Split:
        return Split(ids=np.asarray(ids[index]), labels=np.asarray(labels[index]),
                     teacher_logit=None if logit is None else np.asarray(logit[index]))

    # synthetic valid_rows, test_rows: the last rows, validation rows then test rows
    fresh_test, fresh_valid = (int(meta.get(k, 0)) for k in ("fresh_test_rows",
                                                             "fresh_valid_rows"))
    split_rows = meta["rows"] - fresh_test - fresh_valid
    train, valid, test = split_indices(split_rows, split_seed)
    if fresh_valid:
        valid = np.arange(split_rows, split_rows + fresh_valid)
    if fresh_test:
        test = np.arange(meta["rows"] - fresh_test, meta["rows"])
    if fraction < 1.0:
        train = fraction_indices(train, fraction, split_seed)
    return PreparedData(name=meta["name"], field_names=tuple(meta["field_names"]),
                        field_dims=tuple(meta["field_dims"]), train=take(train),
                        valid=take(valid), test=take(test), meta=meta)


def is_prepared_dir(name: str) -> bool:
    """Whether ``name`` is the path of a folder with a ``meta.json`` (a prepared dataset)."""
    return (Path(name).expanduser() / "meta.json").is_file()
