"""Short names of prepared datasets, and the CSV files prepared on first use.

``embcollapse data prepare ...`` ends by printing a *short name*: the prepared folder's name
under ``<home>/data`` (:func:`short_name`). ``data.name`` may be that name (or the folder's
path); :func:`prepared_by_name` finds it. ``data.name: csv`` with ``data.path`` (and
optionally ``data.label``) prepares a raw CSV/TSV on first use with the same defaults as
``data prepare csv`` into the same folder (:func:`csv_dir`), so training by the short name
and by the raw path read one preparation and give the same run ids.

A CSV's folder is ``<home>/data/csv-<file stem>``; when that folder already holds another
file's (or another column choice's) preparation, ``csv-<file stem>-<hash>`` instead, so two
files with one stem never replace each other's preparation.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import paths
from .errors import DataError
from .storage import read_meta

LABEL_GUESSES = ("label", "click", "clicked", "clk", "target", "y")


def data_root() -> Path:
    return paths.home() / "data"


def short_name(directory: Path) -> str:
    """What to pass as ``data.name`` for a prepared ``directory``: its folder name when it is
    under ``<home>/data``, else its absolute path."""
    directory = Path(directory).resolve()
    return directory.name if directory.parent == data_root().resolve() else str(directory)


def prepared_by_name(name: str) -> Path | None:
    """The prepared folder ``name`` names (a path, or a short name under ``<home>/data``), or
    None when it names none."""
    candidates = [Path(name).expanduser()] + ([data_root() / name] if "/" not in name else [])
    return next((c for c in candidates if (c / "meta.json").is_file()), None)


def guess_label(columns: Sequence[str], where: object) -> str:
    """The label column of a CSV whose label was not given: the one column named like a label
    (:data:`LABEL_GUESSES`, any case); :class:`DataError` naming the columns otherwise."""
    hits = [c for c in columns if c.strip().lower() in LABEL_GUESSES]
    if len(hits) == 1:
        return hits[0]
    shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    raise DataError(f"{where}: {'several' if hits else 'no'} column(s) look like the label "
                    f"({', '.join(hits) or 'none of ' + ', '.join(LABEL_GUESSES)}); name it "
                    f"with --label COLUMN (data.label); columns: {shown}")


def _same_preparation(meta: Mapping[str, Any], path: Path, label: str, fields: Sequence[str],
                      int_fields: Sequence[str], options_key: Mapping[str, Any]) -> bool:
    files = meta.get("source", {}).get("files") or [{}]
    return (files[0].get("path") == str(path.resolve())
            and meta.get("source", {}).get("label") == label
            and list(meta.get("field_names", [])) == list(fields)
            and list(meta.get("int_fields", [])) == list(int_fields)
            and meta.get("options") == dict(options_key))


def readable_stem(path: Path) -> str:
    """A file's stem as a folder name: letters and digits of any script kept (``dätä`` stays
    ``dätä``, NFC-normalised), every run of other characters but ``_ . -`` one ``_``."""
    stem = unicodedata.normalize("NFC", path.name.split(".")[0])
    return re.sub(r"[^\w.-]+", "_", stem) or "data"


def csv_dir(path: Path, label: str, fields: Sequence[str], int_fields: Sequence[str],
            options_key: Mapping[str, Any], tag_parts: object) -> Path:
    """The prepared folder of a CSV: ``csv-<stem>`` unless that holds another preparation,
    then ``csv-<stem>-<first 8 hex digits of the SHA-256 of tag_parts>``."""
    stem = readable_stem(Path(path))
    plain = data_root() / f"csv-{stem}"
    meta = read_meta(plain)
    taken = plain.exists() and any(plain.iterdir()) if plain.is_dir() else plain.exists()
    if not taken or (meta is not None and _same_preparation(meta, Path(path), label, fields,
                                                            int_fields, options_key)):
        return plain
    tag = hashlib.sha256(repr(tag_parts).encode()).hexdigest()[:8]
    return data_root() / f"csv-{stem}-{tag}"


def next_steps(directory: Path) -> str:
    """The lines ``data prepare`` ends with: the short name and the commands that use it."""
    name = short_name(directory)
    quoted = f"'{name}'" if re.search(r"[^\w./-]", name) else name
    return "\n".join([
        f"Prepared. Its name: {name}",
        "Next:",
        f"  embcollapse train --profile smoke --data name={quoted} --model dcnv2 --embed-dim 8",
        f"  embcollapse sweep --profile smoke --data name={quoted} --status",
        f"  embcollapse book run --profile smoke --data name={quoted} --chapter collapse "
        f"--out build/{Path(name).name}",
        f"(or put `data: {{name: {name}}}` into your own profile YAML and pass --profile FILE)"])
