"""Delimited text files, plain or gzip, read in chunks: the reading core of every file reader.

Criteo's ``train.txt`` and Kaggle ``train.csv`` (:mod:`.criteo`), Avazu's ``train``
(:mod:`.avazu`) and any CSV/TSV with a label column (:func:`csv_source`) are each described by a
:class:`~embcollapse.data.tokens.TableSpec` and read by :class:`DelimitedSource`:

* pyarrow's streaming CSV reader parses blocks of :data:`BLOCK_BYTES` in a background thread
  while :data:`TOKENIZE_THREADS` others encode chunks (:func:`ordered_map`, file order kept);
  gzip is recognised by its magic bytes, not its name;
* blocks are gathered into chunks of about :data:`CHUNK_ROWS` rows and tokenized
  (:func:`~embcollapse.data.tokens.tokenize`); memory stays at a few chunks whatever the file size;
* a row with the wrong number of columns is counted with its line number, a row with a bad label
  or integer is flagged by the tokenizer (:class:`~embcollapse.data.tokens.RowIssues`); nothing
  is skipped silently. CRLF line ends are read like LF; an empty line is a malformed row.
"""
from __future__ import annotations

import codecs
import gzip
import queue
import threading
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import pyarrow as pa
import pyarrow.csv as pcsv

from .errors import DataError, shorten
from .tokens import RowIssues, TableSpec, TokenBatch, tokenize

BLOCK_BYTES = 2 << 20     # pyarrow parse block: small blocks parse fastest here (cache)
CHUNK_ROWS = 1 << 17      # rows tokenized together (fewer distinct values to look up)
SNIFF_BYTES = 1 << 16     # bytes looked at for the first line and for binary content
MAX_HEADER_BYTES = SNIFF_BYTES
TOKENIZE_THREADS = 2      # chunks tokenized at once (pyarrow and numpy release the GIL)
T = TypeVar("T")
R = TypeVar("R")


def check_file(path: str | Path, what: str = "raw data file") -> Path:
    """``path`` as a Path if it is a non-empty file, else :class:`DataError` saying why."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{what} {path} does not exist")
    if not path.is_file():
        raise DataError(f"{what} {path} is not a file")
    if path.stat().st_size == 0:
        raise DataError(f"{what} {path} is empty")
    return path


def is_gzip(path: Path) -> bool:
    """Whether the file starts with gzip's magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def first_line(path: Path) -> str:
    """The first line of a (possibly gzip) text file without its line end or a UTF-8 byte
    order mark. Raises :class:`DataError` for a binary file (NUL bytes in its first
    :data:`SNIFF_BYTES`), an empty first line, or one longer than :data:`MAX_HEADER_BYTES`."""
    try:
        with (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as fh:
            head = fh.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: cannot read the first line ({err}): damaged gzip file?"
                        ) from err
    if b"\0" in head:
        raise DataError(f"{path}: a binary file (NUL bytes in its first "
                        f"{len(head):,} bytes), not delimited text")
    head = head[len(codecs.BOM_UTF8):] if head.startswith(codecs.BOM_UTF8) else head
    end = head.find(b"\n")
    if end < 0 and len(head) == SNIFF_BYTES:
        raise DataError(f"{path}: line 1 is longer than {MAX_HEADER_BYTES:,} bytes; expected a "
                        f"header or a data row of delimited text")
    raw = head if end < 0 else head[:end]
    if not raw.strip():
        raise DataError(f"{path}: the first line is empty; expected a header or a data row")
    return raw.rstrip(b"\r\n").decode("utf-8", "replace")


def check_delimiter(delimiter: str, where: object) -> str:
    """``delimiter`` if it is one character other than a line end or quote, else DataError."""
    if len(delimiter) != 1 or delimiter in "\r\n\"":
        raise DataError(f"{where}: --delimiter must be one character (not a line end or a "
                        f"quote), got {delimiter!r}")
    return delimiter


def line_longer_than(path: Path, limit: int) -> tuple[int, int] | None:
    """``(line number, length in bytes)`` of the first line longer than ``limit`` bytes, or
    None."""
    number, length = 1, 0
    with (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as fh:
        while chunk := fh.read(1 << 20):
            start = 0
            while (end := chunk.find(b"\n", start)) >= 0:
                length += end - start
                if length > limit:
                    return number, length
                number, length, start = number + 1, 0, end + 1
            length += len(chunk) - start
    return (number, length) if length > limit else None


def prefetch(items: Iterable[T], depth: int = 3) -> Iterator[T]:
    """Iterate ``items`` in a background thread, up to ``depth`` items ahead of the consumer.

    An exception in the producer is raised in the consumer; leaving the loop early stops it.
    """
    box: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(("item", item)):
                    return
            put(("done", None))
        except BaseException as err:  # handed to the consumer
            put(("error", err))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="embcollapse-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "item":
                yield item
            elif kind == "done":
                return
            else:
                raise item
    finally:
        stop.set()
        thread.join(timeout=30)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``fn`` of every item, in the items' order, computed by ``workers`` threads, at most
    ``workers`` items ahead of the consumer (memory stays at a few items). Leaving the loop
    early cancels what has not started and waits for what has."""
    if workers <= 1:
        yield from map(fn, items)
        return
    pending: deque = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix="embcollapse-tokenize") as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


@dataclass(frozen=True)
class DelimitedSource:
    """One delimited text file and its layout; :meth:`read` yields its tokens in chunks."""

    name: str
    path: Path
    spec: TableSpec

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.path,)

    @property
    def total_bytes(self) -> int:
        return self.path.stat().st_size

    def describe(self) -> dict[str, Any]:
        """The layout, for ``meta.json``."""
        return {"format": self.spec.format, "delimiter": self.spec.delimiter,
                "header": self.spec.header, "gzip": is_gzip(self.path),
                "label": self.spec.label}

    def new_issues(self) -> RowIssues:
        return RowIssues(self.path, first_data_line=2 if self.spec.header else 1)

    def max_rows(self, bad: int) -> int | None:
        """The most rows the file can hold when ``bad`` are malformed (each at least one byte,
        its line end) and the rest are good (each at least one byte per column: the
        delimiters and the line end); None for gzip (its text size is unknown)."""
        if is_gzip(self.path):
            return None
        width = len(self.spec.columns)
        return bad + max(0, self.total_bytes - bad + 1) // width

    def _batches(self, issues: RowIssues) -> Iterator[tuple[pa.RecordBatch, int]]:
        """pyarrow record batches of the used columns, with bytes read so far."""
        spec = self.spec
        used = [spec.label, *spec.fields]
        raw = pa.OSFile(str(self.path))
        stream = pa.CompressedInputStream(raw, "gzip") if is_gzip(self.path) else raw
        read = pcsv.ReadOptions(column_names=list(spec.columns), skip_rows=int(spec.header),
                                block_size=BLOCK_BYTES, use_threads=False)
        parse = pcsv.ParseOptions(delimiter=spec.delimiter,
                                  quote_char='"' if spec.quoting else False,
                                  double_quote=spec.quoting, ignore_empty_lines=False,
                                  invalid_row_handler=issues.on_invalid_row)
        convert = pcsv.ConvertOptions(column_types={c: pa.binary() for c in used},
                                      include_columns=used, strings_can_be_null=False,
                                      quoted_strings_can_be_null=False, check_utf8=False)
        try:
            for batch in pcsv.open_csv(stream, read_options=read, parse_options=parse,
                                       convert_options=convert):
                yield batch, raw.tell()
        except (pa.ArrowInvalid, OSError) as err:
            text = str(err)
            if "compressed" in text.lower() or "gzip" in text.lower() or "zlib" in text.lower():
                raise DataError(f"{self.path}: truncated or damaged gzip file "
                                f"({shorten(text, 120)}); download it again") from err
            if "straddl" in text or "block size" in text:
                long = line_longer_than(self.path, BLOCK_BYTES)
                if long is not None:
                    raise DataError(f"{self.path}: line {long[0]:,} is {long[1]:,} bytes long, "
                                    f"more than {BLOCK_BYTES:,}; a row of click data is a few "
                                    f"hundred bytes: is this the right file?") from err
            raise DataError(f"{self.path}: cannot parse as {spec.format}: "
                            f"{shorten(text, 160)}") from err
        finally:
            stream.close()

    def _tables(self, issues: RowIssues) -> Iterator[tuple[pa.Table, int]]:
        """Parsed batches gathered into tables of about :data:`CHUNK_ROWS` rows."""
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch, position in self._batches(issues):
            pending.append(batch)
            rows += batch.num_rows
            if rows >= CHUNK_ROWS:
                yield pa.Table.from_batches(pending), position
                pending, rows = [], 0
        if pending:
            yield pa.Table.from_batches(pending), self.total_bytes

    def _tokenize(self, item: tuple[pa.Table, int]) -> TokenBatch:
        table, position = item
        tokens = tokenize(table, self.spec)
        tokens.bytes_read = position
        return tokens

    def _tokenized(self, issues: RowIssues) -> Iterator[TokenBatch]:
        tables = prefetch(self._tables(issues), depth=1)
        try:
            yield from ordered_map(self._tokenize, tables, TOKENIZE_THREADS)
        finally:
            tables.close()          # stops the parsing thread when the caller stops early

    def read(self, issues: RowIssues) -> Iterator[TokenBatch]:
        """Token batches of the whole file: one thread parses, :data:`TOKENIZE_THREADS` others
        tokenize consecutive chunks, a chunk or two ahead of the caller (pyarrow and numpy
        release the GIL while they parse and encode); batches come in file order. Close the
        iterator (``contextlib.closing``) to stop both threads when leaving early."""
        return prefetch(self._tokenized(issues), depth=1)


def split_header(line: str, delimiter: str) -> tuple[str, ...]:
    """Column names of a header line (surrounding quotes and spaces removed)."""
    return tuple(name.strip().strip('"').strip() for name in line.split(delimiter))


def sniff_delimiter(line: str) -> str:
    """Tab if the line has a tab, else comma (for ``csv_source`` without a delimiter)."""
    return "\t" if "\t" in line else ","


def csv_source(path: str | Path, label: str, fields: Sequence[str] = (),
               int_fields: Sequence[str] = (), delimiter: str | None = None,
               name: str = "csv") -> DelimitedSource:
    """Any CSV/TSV with a header: a 0/1 ``label`` column ("": the one column named like a
    label, :func:`.names.guess_label`), categorical ``fields`` (default:
    every column but the label) and optional integer fields (``int_fields``, a subset of
    ``fields``, bucketed like Criteo's).

    Other columns are ignored. Quote characters are ordinary characters, as in Criteo and
    Avazu files: a stray ``"`` cannot join the lines after it into one value (a quoted value
    holding the delimiter is a row with too many columns, reported with its line).
    Raises :class:`DataError` for a missing, empty or binary file, a delimiter that is not one
    character, or a label or field that the header does not name.
    """
    path = check_file(path)
    if delimiter is not None:
        check_delimiter(delimiter, path)
    header = first_line(path)
    delimiter = delimiter or sniff_delimiter(header)
    columns = split_header(header, delimiter)
    if not label:
        from .names import guess_label
        label = guess_label(columns, path)
    fields = tuple(fields) or tuple(c for c in columns if c != label)
    spec = TableSpec(columns=columns, label=label, fields=fields,
                     int_fields=tuple(int_fields), delimiter=delimiter, header=True,
                     quoting=False, format="csv with header")
    spec.check(str(path))
    return DelimitedSource(name=name, path=path, spec=spec)
