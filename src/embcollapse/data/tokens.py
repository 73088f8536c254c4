"""Raw values -> 64-bit token keys: the shared tokenizer of every reader.

Every reader (Criteo, Avazu, MovieLens, any CSV) ends in :func:`tokenize`, which turns one table
of raw text columns (a :class:`pyarrow.Table` of ``binary`` columns) into a :class:`TokenBatch`:
per field, the rows' codes into a small dictionary of distinct values, and each distinct value's
64-bit *key*. The per-row work is pyarrow's ``dictionary_encode`` (C++); everything in Python
runs once per distinct value of the chunk, not once per row.

Keys (unique within a field):

* categorical value, up to 8 bytes without a NUL byte: the bytes themselves packed little-endian
  into a ``uint64`` (exact; the empty value is key 0). Every Criteo and Avazu value is of this
  kind.
* categorical value longer than 8 bytes (or containing NUL): the 64-bit BLAKE2b digest of its
  bytes. Two different long values share a key with probability about ``n**2 / 2**65`` for ``n``
  distinct values of a field (1e-8 for a million values).
* integer field: the paper's token ``int(ln(v)**2)`` if ``v > 2`` else ``v - 2`` (authors' code,
  see :func:`criteo_int_token`) as a two's-complement ``uint64``; the empty value keeps its own key
  :data:`EMPTY_INT_KEY`. Integral decimals such as ``260.0`` (DeepCTR's Criteo sample) count as
  integers; anything else (``abc``, ``2.5``, ``|v| >= 2**62``) makes the row malformed.

A row is *malformed* when its label is not ``0``/``1`` or an integer field does not hold an integer;
such rows are flagged in ``TokenBatch.bad`` with a reason, never dropped silently.
"""
from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pyarrow as pa

from .errors import DataError, shorten

EMPTY_INT_KEY = np.uint64(1 << 63)   # key of an empty integer value ('' stays its own token)
INT_LIMIT = 1 << 62                  # integers beyond +-2**62 are malformed
FIRST_ISSUES = 5                     # malformed rows reported with line numbers


@dataclass(frozen=True)
class TableSpec:
    """The layout of a raw table: all columns in file order, the label, the feature fields.

    ``fields`` are emitted in the given order; ``int_fields`` (a subset) are bucketed with the
    Criteo integer transform. ``delimiter``/``header``/``quoting`` describe delimited text files
    (see :mod:`embcollapse.data.csv`); ``format`` names the layout in messages and ``meta.json``.
    """

    columns: tuple[str, ...]
    label: str
    fields: tuple[str, ...]
    int_fields: tuple[str, ...] = ()
    delimiter: str = ","
    header: bool = True
    quoting: bool = False
    format: str = "csv"

    def check(self, where: str) -> None:
        """Raise :class:`DataError` (naming ``where``) for unknown or repeated column names."""
        known = shorten(", ".join(self.columns), 200)
        if len(set(self.columns)) != len(self.columns):
            dups = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise DataError(f"{where}: repeated column name(s) {', '.join(dups)}")
        if self.label not in self.columns:
            raise DataError(f"{where}: label column {self.label!r} not found; columns: {known}")
        if not self.fields:
            raise DataError(f"{where}: no feature fields given")
        for name in self.fields:
            if name not in self.columns:
                raise DataError(f"{where}: unknown field {name!r}; columns: {known}")
            if name == self.label:
                raise DataError(f"{where}: the label column {name!r} cannot also be a field")
        if len(set(self.fields)) != len(self.fields):
            raise DataError(f"{where}: a field is listed twice in {', '.join(self.fields)}")
        for name in self.int_fields:
            if name not in self.fields:
                raise DataError(f"{where}: integer field {name!r} is not one of the fields "
                                f"{', '.join(self.fields)}")


@dataclass
class TokenBatch:
    """Tokens of the good rows among ``parsed`` consecutive parsed rows.

    ``labels`` (k,) int8 0/1; ``codes[f]`` (k,) int32 index into ``keys[f]`` (U_f,) uint64, the
    distinct keys of field ``f`` among the good rows in order of first appearance (values that
    share a key, such as integers of one bucket, share one entry); or ``codes[f]`` None and
    ``keys[f]`` (k,) uint64 the rows' own keys (fixed-width values, packed without a
    dictionary: the vocabulary's hash table encodes them in one pass). ``dropped``
    malformed rows were removed before encoding (so they shape nothing); ``issues`` holds
    (row among the parsed rows of this batch, reason) for the first of them. ``bytes_read``:
    how far the reader got in its file (for progress).
    """

    labels: np.ndarray
    codes: list[np.ndarray | None]
    keys: list[np.ndarray]
    parsed: int
    dropped: int = 0
    issues: list[tuple[int, str]] = field(default_factory=list)
    bytes_read: int = 0

    def __len__(self) -> int:
        return len(self.labels)


# --------------------------------------------------------------------------- integer tokens

def criteo_int_token(text: str) -> str:
    """The paper's token of one raw integer value (authors' ``convert_numeric_feature``).

    ``''`` stays ``''``; ``v > 2`` becomes ``str(int(ln(v)**2))``, else ``str(v - 2)``:
    ``'0' -> '-2'``, ``'2' -> '0'``, ``'3' -> '1'``, ``'100' -> '21'``.
    """
    if text == "":
        return ""
    value = int(text)
    return str(int(math.log(value) ** 2)) if value > 2 else str(value - 2)


def parse_int(raw: bytes) -> int | None:
    """An integer from raw text (``'17'``, ``' 17'``, ``'17.0'``), or None if it is not one."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return None
    return int(value) if math.isfinite(value) and value.is_integer() else None


@functools.lru_cache(maxsize=1 << 16)
def _int_key(raw: bytes) -> int | None:
    """Key of one raw integer value, or None when malformed (cached: few distinct values)."""
    if raw == b"":
        return int(EMPTY_INT_KEY)
    value = parse_int(raw)
    if value is None or abs(value) >= INT_LIMIT:
        return None
    token = int(math.log(value) ** 2) if value > 2 else value - 2
    return token & 0xFFFF_FFFF_FFFF_FFFF


def int_keys(values: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Keys of distinct raw integer values: ``(keys (U,) uint64, valid (U,) bool)``."""
    out = np.zeros(len(values), dtype=np.uint64)
    valid = np.ones(len(values), dtype=bool)
    for i, raw in enumerate(values):
        key = _int_key(raw)
        if key is None:
            valid[i] = False
        else:
            out[i] = key
    return out, valid


# --------------------------------------------------------------------------- string tokens

def _as_binary(values: pa.Array) -> pa.Array:
    """The same bytes as a binary array (zero-copy for strings; a cast would copy)."""
    if pa.types.is_string(values.type):
        return values.view(pa.binary())
    if pa.types.is_large_string(values.type):
        return values.view(pa.large_binary())
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        return values
    raise DataError(f"expected a text column, got {values.type}")


def _binary_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets (U+1,) int64, data (bytes,) uint8)`` of a binary/string array."""
    values = _as_binary(values)
    off_type = np.int64 if pa.types.is_large_binary(values.type) else np.int32
    bufs = values.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_type)[values.offset:values.offset + len(values) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def string_keys(values: pa.Array) -> np.ndarray:
    """Keys of distinct categorical values (a binary/string array of U values) -> (U,) uint64."""
    n = len(values)
    offsets, data = _binary_buffers(values)
    starts, lengths = offsets[:-1], np.diff(offsets)
    padded = np.zeros((n, 8), dtype=np.uint8)
    if n and len(data):
        if (lengths == 8).all():
            padded[:] = data[offsets[0]:offsets[-1]].reshape(n, 8)
        else:
            for k in range(int(min(8, lengths.max()))):
                has = lengths > k
                padded[has, k] = data[starts[has] + k]
    keys = padded.view("<u8").ravel().astype(np.uint64)
    inside = np.arange(8)[None, :] < lengths[:, None]
    hashed = np.flatnonzero((lengths > 8) | ((padded == 0) & inside).any(axis=1))
    for i in hashed:
        raw = data[offsets[i]:offsets[i + 1]].tobytes()
        keys[i] = int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "little")
    return keys


# --------------------------------------------------------------------------- tables

def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _fixed_width_words(column: pa.Array) -> np.ndarray | None:
    """Each value packed into a uint64 (as :func:`string_keys` packs it) when every value is
    empty or of one width <= 8 bytes and no byte is NUL, else None. (n,) uint64."""
    offsets, data = _binary_buffers(column)
    lengths = np.diff(offsets)
    width = int(lengths.max()) if len(lengths) else 0
    if width == 0 or width > 8:
        return None
    filled = lengths == width
    if not (filled | (lengths == 0)).all():
        return None
    used = data[offsets[0]:offsets[-1]]
    if not used.all():                       # a NUL byte: such values are hashed instead
        return None
    if width == 8:
        packed = used.view("<u8")
    else:
        padded = np.zeros((len(used) // width, 8), dtype=np.uint8)
        padded[:, :width] = used.reshape(-1, width)
        packed = padded.view("<u8").ravel()
    if len(packed) == len(column):
        return packed.astype(np.uint64)
    words = np.zeros(len(column), dtype=np.uint64)
    words[filled] = packed
    return words


def _encode(column: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """``(codes (n,) int32, distinct values)`` of a column without nulls."""
    column = _as_binary(column)
    if column.null_count:
        column = column.fill_null(b"")
    encoded = column.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, encoded.dictionary


def _encode_categorical(column: pa.Array) -> tuple[np.ndarray | None, np.ndarray]:
    """``(codes (n,) int32, keys (U,) uint64)`` of a categorical column, or ``(None, keys (n,)
    uint64)`` when its values are of one width (packed per row: a dictionary would only be
    encoded again by the vocabulary's hash table); the keys are the same either way."""
    column = _as_binary(column)
    words = None if column.null_count else _fixed_width_words(column)
    if words is not None:
        return None, words
    codes, values = _encode(column)
    return _distinct_keys(codes, string_keys(values))     # long values' digests may collide


def _distinct_keys(codes: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, keys)`` with repeated keys merged into their first entry (order of first
    appearance kept): (n,) int32 into (U',) uint64 distinct keys."""
    encoded = pa.array(keys, type=pa.uint64()).dictionary_encode()
    if len(encoded.dictionary) == len(keys):
        return codes, keys
    first = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32)
    return first[codes], encoded.dictionary.to_numpy(zero_copy_only=False).astype(np.uint64)


def _int_column(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                      pa.Array]:
    """``(codes (n,), keys (U,), valid (U,) bool, distinct raw values)`` of an integer field
    (several raw values may share a key: ``5`` and ``5.0``, or one bucket)."""
    codes, values = _encode(_column(table, name))
    keys, valid = int_keys([bytes(v) for v in values.to_pylist()])
    return codes, keys, valid, values


def tokenize(table: pa.Table, spec: TableSpec, bad: np.ndarray | None = None,
             reasons: dict[int, str] | None = None) -> TokenBatch:
    """Tokens of one table of raw text columns (every column of ``spec`` that is used).

    Rows with a label other than ``0``/``1`` or a non-integer in an integer field, and rows
    the caller marks in ``bad`` (n,) bool (with ``reasons`` by row), are dropped before the
    fields are encoded.
    """
    n = table.num_rows
    bad = np.zeros(n, dtype=bool) if bad is None else bad.copy()
    flagged: list[tuple[str, np.ndarray, np.ndarray, pa.Array]] = []  # column, codes, bad, values

    codes, values = _encode(_column(table, spec.label))
    label_of = np.array([{b"0": 0, b"1": 1}.get(bytes(v), -1) for v in values.to_pylist()],
                        dtype=np.int8)
    labels = label_of[codes] if n else np.zeros(0, np.int8)
    if (label_of < 0).any():
        bad |= labels < 0
        flagged.append((spec.label, codes, label_of < 0, values))
    ints = {name: _int_column(table, name) for name in spec.int_fields}
    for name, (codes, _, valid, values) in ints.items():
        if not valid.all():
            bad |= ~valid[codes]
            flagged.append((name, codes, ~valid, values))

    issues = []
    for row in np.flatnonzero(bad)[:FIRST_ISSUES]:
        reason = (reasons or {}).get(int(row))
        for name, codes, wrong, values in flagged:
            if reason is None and wrong[codes[row]]:
                text = bytes(values[int(codes[row])].as_py()).decode("utf-8", "replace")
                kind = "not 0 or 1" if name == spec.label else "not an integer"
                reason = f"column {name}: {text[:40]!r} is {kind}"
        issues.append((int(row), reason or "malformed row"))
    if bad.any():
        table = table.filter(pa.array(~bad))
        labels = labels[~bad]
        ints = {name: _int_column(table, name) for name in spec.int_fields}

    all_codes, all_keys = [], []
    for name in spec.fields:
        if name in ints:
            codes, keys = _distinct_keys(*ints[name][:2])
        else:
            codes, keys = _encode_categorical(_column(table, name))
        all_codes.append(codes)
        all_keys.append(keys)
    return TokenBatch(labels=labels, codes=all_codes, keys=all_keys, parsed=n,
                      dropped=int(bad.sum()), issues=issues)


class RowIssues:
    """Malformed rows of one raw file: how many, and the first few with their line numbers.

    Rows with the wrong number of columns arrive through :meth:`on_invalid_row` (pyarrow's
    handler, with the physical line number); rows with a bad label or integer through
    :meth:`add_value_errors`, as indices among the parsed rows, turned into line numbers by
    :meth:`first`. A blank line (nothing but spaces) is no row: counted in ``blank_lines``,
    never malformed. ``line_of`` maps the parser's line numbers to the file's when the reader
    joined lines (quoted values spanning lines, :class:`~.csv.QuoteScan`); ``joined``: the
    byte that stands in for a joined line end in a row's text; ``quoting``: whether quotes
    delimit values (RFC 4180) or are ordinary characters (said in column-count errors).
    """

    MAX_LINES = 1_000_000   # line numbers of column-count errors kept for :meth:`first`

    def __init__(self, path: object, first_data_line: int,
                 line_of: Callable[[int], int] | None = None, joined: bytes | None = None,
                 quoting: bool = False) -> None:
        self.path = path
        self.first_data_line = first_data_line
        self.line_of = line_of or (lambda line: line)
        self.joined = joined.decode() if joined else None
        self.quoting = quoting              # quotes delimit values (else ordinary characters)
        self.column_errors: list[tuple[int, str]] = []
        self.column_error_count = 0
        self.value_errors: list[tuple[int, str]] = []
        self.value_error_count = 0
        self.blank_lines = 0
        self.blank_at: list[int] = []

    @property
    def count(self) -> int:
        return self.column_error_count + self.value_error_count

    def on_invalid_row(self, row: object) -> str:
        """pyarrow ``invalid_row_handler``: count the row (or the blank line) and skip it."""
        number = getattr(row, "number", None)
        number = -1 if number is None else int(number)
        text = getattr(row, "text", "") or ""
        if not text.strip():
            self.blank_lines += 1
            if len(self.blank_at) < self.MAX_LINES:
                self.blank_at.append(number)
            return "skip"
        spans = text.count(self.joined) if self.joined else 0
        self.column_error_count += 1 + spans      # every line of a joined record is lost
        if len(self.column_errors) < self.MAX_LINES:
            reason = (f"{getattr(row, 'actual_columns', '?')} columns, expected "
                      f"{getattr(row, 'expected_columns', '?')}")
            if spans:
                reason += f" (a quoted value spanning {spans + 1} lines)"
            elif '"' in text and not self.quoting:
                reason += " (quotes are ordinary characters here, not value delimiters)"
            self.column_errors.append((number, reason))
        return "skip"

    def add_value_errors(self, batch: TokenBatch, row_offset: int) -> None:
        """Count a batch's malformed rows; ``row_offset`` parsed rows came before it."""
        self.value_error_count += batch.dropped
        for row, reason in batch.issues:
            if len(self.value_errors) < FIRST_ISSUES:
                self.value_errors.append((row_offset + row, reason))

    def first(self) -> list[dict[str, object]]:
        """The first :data:`FIRST_ISSUES` malformed rows as ``{"line": ..., "reason": ...}``."""
        invalid = sorted([line for line, _ in self.column_errors if line >= 0]
                         + [line for line in self.blank_at if line >= 0])
        found = [(line, reason) for line, reason in self.column_errors[:FIRST_ISSUES]]
        for parsed, reason in self.value_errors:
            line = self.first_data_line + parsed
            for skipped in invalid:          # parsed rows skip the lines pyarrow rejected
                if skipped <= line:
                    line += 1
                else:
                    break
            found.append((line, reason))
        found.sort(key=lambda item: item[0])
        return [{"line": self.line_of(line) if line >= 0 else "?", "reason": reason}
                for line, reason in found[:FIRST_ISSUES]]

    def describe(self, limit: int = FIRST_ISSUES) -> str:
        """``line 7: 38 columns, expected 40; line 9: ...`` for error messages."""
        return "; ".join(f"line {item['line']}: {item['reason']}" for item in self.first()[:limit])
