"""Avazu (Kaggle Click-Through Rate Prediction): the ``train`` CSV.

Comma-separated, 24 columns ``id,click,hour,C1,banner_pos,...,C21``, plain or gzip; 40,428,967
rows in the full file. ``click`` is the label; the 22 columns after it are the fields (``id`` is
dropped; ``hour`` stays one raw token, YYMMDDHH, as in the authors' code). Values seen fewer than
:data:`MIN_COUNT` times share one out-of-vocabulary id per field.

The Kaggle file has a header. A file without one (such as the Wide-ResDNN ``dev.csv`` and
``test.csv`` samples) is accepted when its first line has 24 columns with a 0/1 second column:
it is read in the standard column order and ``meta.json`` records ``header: false``. Kaggle's
``test`` file (no ``click`` column) and any other header are refused.
"""
from __future__ import annotations

from pathlib import Path

from .csv import DelimitedSource, check_file, first_line, split_header
from .errors import DataError
from .tokens import TableSpec

COLUMNS = ("id", "click", "hour", "C1", "banner_pos", "site_id", "site_domain", "site_category",
           "app_id", "app_domain", "app_category", "device_id", "device_ip", "device_model",
           "device_type", "device_conn_type", "C14", "C15", "C16", "C17", "C18", "C19", "C20",
           "C21")
FIELDS = COLUMNS[2:]
MIN_COUNT = 4


def source(path: str | Path) -> DelimitedSource:
    """The Avazu file at ``path``, with or without its header line.

    Raises :class:`DataError` for a missing or empty file, a header other than Avazu's, or a
    first line that is neither that header nor a 24-column data row.
    """
    path = check_file(path, "Avazu file")
    line = first_line(path)
    cells = split_header(line, ",")
    if cells == COLUMNS:
        header = True
    elif cells and cells[0].lower() == "id":
        missing = [c for c in COLUMNS if c not in cells]
        extra = [c for c in cells if c not in COLUMNS]
        hint = " (Kaggle's test file has no click labels)" if "click" in missing else ""
        raise DataError(f"{path}: wrong header for Avazu train{hint}: expected "
                        f"{','.join(COLUMNS)}; missing {missing or 'none'}, unexpected "
                        f"{extra or 'none'}, found {line[:200]}")
    elif len(cells) == len(COLUMNS) and cells[1] in ("0", "1"):
        header = False
    else:
        raise DataError(f"{path}: not an Avazu train file: expected the header "
                        f"{','.join(COLUMNS[:4])},... or a 24-column row with a 0/1 click; "
                        f"first line has {len(cells)} comma-separated columns: {line[:80]!r}")
    spec = TableSpec(columns=COLUMNS, label="click", fields=FIELDS, delimiter=",",
                     header=header, format="avazu train" + ("" if header else " (no header)"))
    return DelimitedSource(name="avazu", path=path, spec=spec)
