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
  is skipped silently. CRLF line ends are read like LF; a blank line is skipped (not a row).
* :func:`csv_source` files are UTF-8 with RFC 4180 quotes (:func:`scan_quotes` finds the
  values that span lines; :class:`JoinedLines` hands each such record to the parser as one
  line); the other readers' quotes are ordinary characters.
"""
from __future__ import annotations

import codecs
import functools
import gzip
import queue
import threading
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
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


MAX_QUOTED_LINES = 16      # lines one quoted value may span (RFC 4180) before it counts as
                           # an unterminated quote
SCAN_BYTES = 1 << 24       # bytes looked at a time by scan_quotes
PLACEHOLDERS = (b"\x1e", b"\x1f", b"\x1d", b"\x1c")   # stand-ins for quoted line ends
QUOTE = ord('"')
NEWLINE = ord("\n")


@dataclass(frozen=True)
class QuoteScan:
    """What :func:`scan_quotes` found in a file: where its quoted values span lines
    (RFC 4180) and which lines the parser does not see.

    ``joins`` (J,) int64: byte offsets of the line ends inside quoted values; ``groups``:
    ``(first line, line ends inside)`` of each record that spans lines; ``removed`` (R,)
    int64: the sorted lines the parser does not count (blank lines, which it skips, and the
    continuation lines of joined records); ``unterminated``: the line of the first quote
    left open for more than :data:`MAX_QUOTED_LINES` lines or to the end of the file (then
    the file's quotes are read as ordinary characters, as before RFC quoting, so it cannot
    join the rows after it into one value); ``placeholder``: a byte the file does not hold,
    put in place of each joined line end while parsing.
    """

    joins: np.ndarray
    groups: tuple[tuple[int, int], ...]
    removed: np.ndarray
    unterminated: int | None
    placeholder: bytes | None

    def real_line(self, line: int) -> int:
        """The file's line of the parser's line ``line`` (both 1-based): the ``line``-th line
        not in ``removed``."""
        if not len(self.removed):
            return line
        kept_before = self.removed - np.arange(len(self.removed))
        return line + int(np.searchsorted(kept_before, line, side="right"))


def not_utf8(path: Path, data: np.ndarray, ends: np.ndarray, line: int, at: int) -> DataError:
    """The error for a byte at ``at`` of chunk ``data`` (line ends ``ends``; its first line is
    ``line``) that is not UTF-8: the line, the byte and how to convert the file."""
    before = int(np.searchsorted(ends, at))
    column = at - (int(ends[before - 1]) + 1 if before else 0) + 1
    byte = f"byte 0x{int(data[at]):02x}" if at < len(data) else "a cut-off character"
    return DataError(f"{path}: line {line + before:,} is not UTF-8 text ({byte} at byte "
                     f"{column:,} of the line); save the file as UTF-8 (e.g. `iconv -f latin1 "
                     f"-t utf-8 IN > OUT` for Latin-1)")


def scan_quotes(path: Path) -> QuoteScan:
    """One pass over the file's bytes (numpy, a chunk at a time): the lines holding an odd
    number of ``"`` open or close a quoted value that spans lines. In RFC 4180 text quotes
    come in pairs within a record, so an odd line opens a value and the next odd line closes
    it; a value still open after :data:`MAX_QUOTED_LINES` lines, or at the end, is an
    unterminated quote (see :class:`QuoteScan`). Only the odd lines are visited in Python."""
    joins: list[int] = []
    groups: list[tuple[int, int]] = []
    present = np.zeros(256, dtype=bool)
    recent: dict[int, int] = {}         # line -> offset of its line end, the last few lines
    open_line: int | None = None        # the line where the open quoted value starts
    line, offset, carry = 1, 0, 0       # first line ending in this chunk; bytes before; quotes

    unterminated: int | None = None     # the line of the first unterminated quote
    blank: list[np.ndarray] = []        # empty lines ("" or a lone CR)
    previous_end = -1                   # offset of the line end before this chunk
    decoder = codecs.getincrementaldecoder("utf-8")()
    with (gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")) as fh:
        while chunk := fh.read(SCAN_BYTES):
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == NEWLINE)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                raise not_utf8(path, data, ends, line, err.start) from None
            starts = np.concatenate([[previous_end - offset + 1], ends[:-1] + 1])
            length = ends - starts
            empty = (length == 0) | ((length == 1) & (data[np.maximum(ends - 1, 0)] == 13))
            blank.append(line + np.flatnonzero(empty))
            previous_end = offset + int(ends[-1]) if len(ends) else previous_end
            if unterminated is not None:
                line, offset = line + len(ends), offset + len(data)
                continue
            present[np.unique(data[data < 0x20])] = True
            quotes = np.flatnonzero(data == QUOTE)
            if len(quotes) or open_line is not None or carry:
                per_line = np.diff(np.searchsorted(quotes, ends), prepend=0)
                if len(per_line):
                    per_line[0] += carry
                for i in np.flatnonzero(per_line % 2 == 1).tolist():
                    if open_line is None:
                        open_line = line + i
                        continue
                    if line + i - open_line >= MAX_QUOTED_LINES:
                        unterminated = open_line
                        break
                    groups.append((open_line, line + i - open_line))
                    joins.extend(recent[g] if g < line else offset + int(ends[g - line])
                                 for g in range(open_line, line + i))
                    open_line = None
                tail = len(quotes) - int(np.searchsorted(quotes, ends[-1])) if len(ends) else \
                    len(quotes)
                carry = (tail + (0 if len(ends) else carry)) % 2
            last = ends[-(MAX_QUOTED_LINES + 1):]        # the line ends the next chunk may need
            recent.update(zip(range(line + len(ends) - len(last), line + len(ends)),
                              (offset + last).tolist()))
            line, offset = line + len(ends), offset + len(data)
            recent = {g: o for g, o in recent.items() if g >= line - MAX_QUOTED_LINES - 1}
            if open_line is not None and line - open_line >= MAX_QUOTED_LINES:
                unterminated = open_line
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise not_utf8(path, np.zeros(0, np.uint8), np.zeros(0, np.int64), line, 0) from None
    if unterminated is None and carry and open_line is None:
        unterminated = line                     # the last line, without a line end, opens one
    elif unterminated is None and open_line is not None:
        if not carry:                           # still open at the end of the file
            unterminated = open_line
        else:                                   # closed on the last line
            groups.append((open_line, line - open_line))
            joins.extend(recent[g] for g in range(open_line, line))
    removed = np.concatenate(blank).astype(np.int64) if blank else np.zeros(0, np.int64)
    if unterminated is not None:
        return QuoteScan(np.zeros(0, np.int64), (), removed, unterminated, None)
    free = next((c for c in PLACEHOLDERS if not present[ord(c)]), None)
    if joins and free is None:
        raise DataError(f"{path}: quoted values span lines, and the file holds every byte this "
                        f"reader could stand in for their line ends (0x1c-0x1f)")
    inside = [np.arange(first + 1, first + 1 + n) for first, n in groups]
    removed = np.union1d(removed, np.concatenate(inside)) if inside else removed
    return QuoteScan(np.asarray(joins, dtype=np.int64), tuple(groups),
                     removed.astype(np.int64), None, free)


class JoinedLines:
    """A binary file object whose reads put ``scan.placeholder`` in place of the line ends at
    ``scan.joins``, so a record whose quoted value spans lines is one line for the parser."""

    def __init__(self, path: Path, scan: QuoteScan) -> None:
        self.raw = open(path, "rb")
        self.fh = gzip.GzipFile(fileobj=self.raw) if is_gzip(path) else self.raw
        self.joins, self.placeholder = scan.joins, scan.placeholder
        self.position = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        lo, hi = np.searchsorted(self.joins, [self.position, self.position + len(data)])
        if hi > lo:
            buffer = bytearray(data)
            for at in (self.joins[lo:hi] - self.position).tolist():
                buffer[at] = self.placeholder[0]
            data = bytes(buffer)
        self.position += len(data)
        return data

    def tell(self) -> int:
        return self.raw.tell()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.fh.close()
        self.raw.close()
        self.closed = True


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

    @functools.cached_property
    def quotes(self) -> QuoteScan | None:
        """For an RFC 4180 layout (``spec.quoting``, :func:`csv_source`): the file scanned once,
        when it is first read (:func:`scan_quotes`: UTF-8, quoted line ends, blank lines);
        None for the other layouts, whose quotes are ordinary characters."""
        return scan_quotes(self.path) if self.spec.quoting else None

    @property
    def quoted(self) -> bool:
        """Whether quotes delimit values in this file: an RFC 4180 layout without an
        unterminated quote."""
        return self.quotes is not None and self.quotes.unterminated is None

    @property
    def joined(self) -> bool:
        """Whether the parser reads the file through :class:`JoinedLines`."""
        return self.quoted and len(self.quotes.joins) > 0

    def describe(self) -> dict[str, Any]:
        """The layout, for ``meta.json`` (an RFC 4180 layout scans the file)."""
        described = {"format": self.spec.format, "delimiter": self.spec.delimiter,
                     "header": self.spec.header, "gzip": is_gzip(self.path),
                     "label": self.spec.label}
        if self.spec.quoting:           # csv_source only: older folders keep their meta
            described["quoting"] = "rfc4180"
            described["records_across_lines"] = len(self.quotes.groups)
            if self.quotes.unterminated is not None:
                described["quotes_ordinary_from_line"] = self.quotes.unterminated
        return described

    def notes(self) -> list[str]:
        """What a user should know about how the file was read (printed by ``prepare``)."""
        if self.quotes is None:
            return []
        if self.quotes.unterminated is not None:
            return [f"{self.path}: line {self.quotes.unterminated:,} opens a quote that is not "
                    f"closed within {MAX_QUOTED_LINES} lines: quotes are read as ordinary "
                    f"characters in this file"]
        if not self.quotes.groups:
            return []
        first, inside = self.quotes.groups[0]
        return [f"{self.path}: {len(self.quotes.groups):,} record(s) hold quoted values across "
                f"lines (RFC 4180), read as one row each; the first: lines {first:,}-"
                f"{first + inside:,}"]

    def new_issues(self) -> RowIssues:
        return RowIssues(self.path, first_data_line=2 if self.spec.header else 1,
                         line_of=self.quotes.real_line if self.quotes else None,
                         joined=self.quotes.placeholder if self.joined else None,
                         quoting=self.quoted)

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
        if self.joined:
            raw = JoinedLines(self.path, self.quotes)
            stream = pa.PythonFile(raw, mode="r")
        else:
            raw = pa.OSFile(str(self.path))
            stream = pa.CompressedInputStream(raw, "gzip") if is_gzip(self.path) else raw
        read = pcsv.ReadOptions(column_names=list(spec.columns), skip_rows=int(spec.header),
                                block_size=BLOCK_BYTES, use_threads=False)
        parse = pcsv.ParseOptions(delimiter=spec.delimiter,
                                  quote_char='"' if self.quoted else False,
                                  double_quote=self.quoted,
                                  ignore_empty_lines=self.quotes is not None,
                                  invalid_row_handler=issues.on_invalid_row)
        convert = pcsv.ConvertOptions(column_types={c: pa.binary() for c in used},
                                      include_columns=used, strings_can_be_null=False,
                                      quoted_strings_can_be_null=False, check_utf8=False)
        try:
            for batch in pcsv.open_csv(stream, read_options=read, parse_options=parse,
                                       convert_options=convert):
                if self.joined:             # the line ends inside quoted values, back
                    batch = pa.RecordBatch.from_arrays(
                        [pc.replace_substring(column, self.quotes.placeholder, b"\n")
                         for column in batch.columns], names=batch.schema.names)
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


SEPARATORS = (",", "\t", ";", "|")     # named in the hint when a header splits badly


def delimiter_hint(header: str, delimiter: str) -> str:
    """A hint for a header that holds another usual separator than ``delimiter`` (``""`` if
    none): ``; the header holds ';': pass --delimiter ';'``."""
    other = [c for c in SEPARATORS if c != delimiter and c in header]
    if not other or len(split_header(header, delimiter)) > len(split_header(header, other[0])):
        return ""
    shown = "\\t" if other[0] == "\t" else other[0]
    return (f"; the header holds {shown!r} but the delimiter is {delimiter!r}: pass "
            f"--delimiter '{shown}' (data prepare csv) if that separates its columns")


def csv_source(path: str | Path, label: str, fields: Sequence[str] = (),
               int_fields: Sequence[str] = (), delimiter: str | None = None,
               name: str = "csv") -> DelimitedSource:
    """Any CSV/TSV with a header: a 0/1 ``label`` column ("": the one column named like a
    label, :func:`.names.guess_label`), categorical ``fields`` (default:
    every column but the label) and optional integer fields (``int_fields``, a subset of
    ``fields``, bucketed like Criteo's).

    The file is scanned when it is first read (:attr:`DelimitedSource.quotes`), not here, so
    a preparation that is reused costs no pass over it. The text must be UTF-8 (else, when
    read, :class:`DataError` naming the line). Quotes follow RFC 4180:
    ``"a,b"`` is one value, ``""`` inside quotes is a quote, and a quoted value may span up to
    :data:`MAX_QUOTED_LINES` lines (:func:`scan_quotes`). A quote left open longer, or to the
    end of the file, cannot join the rows after it into one value: the file's quotes are
    then read as ordinary characters (as Criteo and Avazu files are read), with a note naming
    the line. Blank lines are skipped. Other columns are ignored.
    Raises :class:`DataError` for a missing, empty or binary file, a delimiter that is not one
    character, or a label or field that the header does not name (with a hint when the header
    holds another separator).
    """
    path = check_file(path)
    if delimiter is not None:
        check_delimiter(delimiter, path)
    header = first_line(path)
    delimiter = delimiter or sniff_delimiter(header)
    columns = split_header(header, delimiter)
    try:
        if not label:
            from .names import guess_label
            label = guess_label(columns, path)
        fields = tuple(fields) or tuple(c for c in columns if c != label)
        spec = TableSpec(columns=columns, label=label, fields=fields,
                         int_fields=tuple(int_fields), delimiter=delimiter, header=True,
                         quoting=True, format="csv with header")
        spec.check(str(path))
    except DataError as err:
        raise DataError(f"{err}{delimiter_hint(header, delimiter)}") from None
    return DelimitedSource(name=name, path=path, spec=spec)
