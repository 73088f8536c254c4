"""Criteo (Kaggle Display Advertising Challenge): ``train.txt`` or Kaggle ``train.csv``.

Two layouts of the same rows are recognised from the first line:

* ``train.txt``: tab-separated, no header, 40 columns: label, I1..I13 (integers, possibly empty),
  C1..C26 (8-hex-digit hashes, possibly empty); 45,840,617 rows in the full file.
* Kaggle ``train.csv``: comma-separated, header ``Id,Label,I1..I13,C1..C26`` (41 columns),
  possibly CRLF line ends; ``Id`` is ignored.

Either may be gzip-compressed. Preparation as in the paper (NOTES.md, Appendix C.2): the integer
columns become the tokens of :func:`~embcollapse.data.tokens.criteo_int_token`, and values seen
fewer than :data:`MIN_COUNT` times share one out-of-vocabulary id per field.
"""
from __future__ import annotations

from pathlib import Path

from .csv import DelimitedSource, check_file, first_line, split_header
from .errors import DataError
from .tokens import TableSpec

INT_FIELDS = tuple(f"I{i}" for i in range(1, 14))
CAT_FIELDS = tuple(f"C{i}" for i in range(1, 27))
FIELDS = INT_FIELDS + CAT_FIELDS
MIN_COUNT = 10
TXT_SPEC = TableSpec(columns=("label", *FIELDS), label="label", fields=FIELDS,
                     int_fields=INT_FIELDS, delimiter="\t", header=False,
                     format="criteo train.txt")
KAGGLE_SPEC = TableSpec(columns=("Id", "Label", *FIELDS), label="Label", fields=FIELDS,
                        int_fields=INT_FIELDS, delimiter=",", header=True,
                        format="criteo kaggle train.csv")


def source(path: str | Path) -> DelimitedSource:
    """The Criteo file at ``path`` (layout recognised from its first line).

    Raises :class:`DataError` for a missing or empty file, a header in ``train.txt``, a Kaggle
    header that differs from ``Id,Label,I1..I13,C1..C26``, or any other first line.
    """
    path = check_file(path, "Criteo file")
    line = first_line(path)
    if "\t" in line:
        label = line.split("\t", 1)[0]
        if label not in ("0", "1"):
            raise DataError(f"{path}: Criteo train.txt has no header and starts each line with "
                            f"a 0/1 label, but the first line starts with {label[:30]!r}")
        return DelimitedSource(name="criteo", path=path, spec=TXT_SPEC)
    names = split_header(line, ",")
    if names and names[0].lower() == "id":
        if names != KAGGLE_SPEC.columns:
            raise DataError(f"{path}: wrong header for Criteo's Kaggle train.csv: expected "
                            f"{','.join(KAGGLE_SPEC.columns)}; found {line[:200]}")
        return DelimitedSource(name="criteo", path=path, spec=KAGGLE_SPEC)
    raise DataError(f"{path}: not a Criteo file: expected train.txt (tab-separated, 40 columns, "
                    f"no header) or Kaggle train.csv (header Id,Label,I1..I13,C1..C26); "
                    f"first line: {line[:80]!r}")
