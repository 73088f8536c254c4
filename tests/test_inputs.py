"""Issue 28, "no input unheard": one test per numbered case of the issue (each failed before
the fix), and the behaviours built for them: prepared folders that know what they hold and
are verified whenever used, settings checked by their declared type on every surface, and a
CSV reader for UTF-8 text with RFC 4180 quotes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from embcollapse import book, cli
from embcollapse.config import ConfigError, ModelConfig, check_seeds, from_dict
from embcollapse.data import DataError, csv as csvmod, storage
from embcollapse.data.prepare import prepare_csv
from embcollapse.data.storage import load_prepared, verify_prepared
from embcollapse.models.registry import MODELS, check_hyper, check_model, hyper_parameters


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBCOLLAPSE_DATA", raising=False)
    return tmp_path / "home"


def clicks_csv(path: Path, rows: int = 600, seed: int = 0, sep: str = ",") -> Path:
    """``click,site,app`` rows with both labels."""
    rng = np.random.default_rng(seed)
    lines = [sep.join(("click", "site", "app"))]
    lines += [sep.join((str(int(rng.random() < .3)), f"s{int(rng.zipf(1.5)) % 30}",
                        f"a{i % 9}")) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------- case 1

def test_1_out_into_another_datasets_folder_is_refused_and_left_as_it_was(
        tmp_path, home, capsys) -> None:
    raw = tmp_path / "train.txt"
    assert run_cli(capsys, "data", "synthetic-criteo", str(raw), "--rows", "300")[0] == 0
    code, out, err = run_cli(capsys, "data", "prepare", "criteo", str(raw), "--min-count", "1")
    assert code == 0, err
    criteo_dir = next((home / "data").glob("criteo-*"))
    before = snapshot(criteo_dir)
    mine = clicks_csv(tmp_path / "c20k.csv")
    code, _, err = run_cli(capsys, "data", "prepare", "csv", str(mine), "--label", "click",
                           "--out", str(criteo_dir))
    assert code == 2
    assert f"holds the preparation of criteo from {raw.resolve()}" in err
    assert f"this is csv from {mine.resolve()}" in err and "nothing was changed" in err
    code, _, err = run_cli(capsys, "data", "prepare", "csv", str(mine), "--label", "click",
                           "--out", str(criteo_dir), "--force")
    assert code == 2 and "holds the preparation of criteo" in err
    assert snapshot(criteo_dir) == before

    # another file into a CSV's folder: refused too; the same file with other options: rebuilt
    out = tmp_path / "mine"
    prepare_csv(mine, "click", out=out, progress=False)
    other = clicks_csv(tmp_path / "other.csv", seed=1)
    with pytest.raises(DataError, match=r"holds the preparation of csv from .*c20k\.csv; this "
                                        r"is csv from .*other\.csv"):
        prepare_csv(other, "click", out=out, progress=False)
    prepare_csv(mine, "click", out=out, min_count=2, progress=False)
    assert json.loads((out / "meta.json").read_text())["options"]["min_count"] == 2


# --------------------------------------------------------------------------- case 2

@pytest.mark.parametrize("model, hyper, message", [
    ("dnn", "dropout=abc", "model.hyper.dropout must be a number in [0, 1), got 'abc'"),
    ("dnn", "dropout=1.5", "model.hyper.dropout must be a number in [0, 1), got 1.5"),
    ("dnn", "mlp_dims=[400,0]", "model.hyper.mlp_dims must be a list of integers >= 1, got "
                                "[400, 0]"),
    ("dcnv2", "cross_layers=2.5", "model.hyper.cross_layers must be an integer >= 1, got 2.5"),
    ("dcnv2", "orthogonal_weight=-1", "model.hyper.orthogonal_weight must be a number >= 0 or "
                                      "null, got -1"),
    ("ipnn", "product_only=1", "model.hyper.product_only must be true or false or null, got 1"),
    ("dnn", "projection=curved", "model.hyper.projection: unknown projection 'curved'"),
    ("dnn", "dropuot=0.1", "unknown hyper-parameter(s) dropuot for dnn"),
])
def test_2_a_hyper_parameter_of_the_wrong_type_is_an_error_before_any_data(
        tmp_path, capsys, model, hyper, message) -> None:
    # the data named does not exist: an error about the hyper-parameter proves it came first
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--model", model,
                           "--embed-dim", "4", "--hyper", hyper, "--data", "name=csv",
                           "--data", f"path={tmp_path / 'missing.csv'}")
    assert code == 2 and message in err, err
    assert "Traceback" not in err and "missing.csv" not in err


def test_every_registered_default_passes_its_own_check() -> None:
    for name in MODELS:
        check_hyper(name, hyper_parameters(name))
        check_model(ModelConfig(name=name, embed_dim=2))


# --------------------------------------------------------------------------- case 3

def tiny_profile(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({
        "description": "seconds", "device": "cpu", "seeds": [0],
        "train": {"batch_size": 256, "max_epochs": 1, "patience": 1,
                  "eval_batch_size": 1024}}))
    return path


def damage(folder: Path, how: str) -> None:
    if how == "truncated ids":
        with open(folder / "ids.npy", "r+b") as fh:
            fh.truncate((folder / "ids.npy").stat().st_size - 100)
    elif how == "labels deleted":
        (folder / "labels.npy").unlink()
    elif how == "rows edited":
        meta = json.loads((folder / "meta.json").read_text())
        meta["rows"] -= 1
        (folder / "meta.json").write_text(json.dumps(meta))
    else:
        ids = np.load(folder / "ids.npy")
        ids[7, 1] = 120 if how == "id out of range" else (ids[7, 1] + 1) % 9
        np.save(folder / "ids.npy", ids)


@pytest.mark.parametrize("how, message", [
    ("truncated ids", r"ids\.npy: missing or damaged"),
    ("labels deleted", r"labels\.npy: missing or damaged"),
    ("rows edited", r"ids\.npy: .*meta\.json says integers of shape \(599, 2\)"),
    ("id out of range", r"ids\.npy: field app \(column 1\) has id 120 at row 7"),
    ("id changed in range", r"ids\.npy: its sampled content changed since it was prepared"),
])
def test_3_a_damaged_folder_is_noticed_even_when_its_run_is_stored(
        tmp_path, home, capsys, how, message) -> None:
    import re

    folder = home / "data" / "mine"
    prepare_csv(clicks_csv(tmp_path / "c.csv"), "click", out=folder, progress=False)
    profile = str(tiny_profile(tmp_path))
    args = ["train", "--profile", profile, "--model", "dnn", "--embed-dim", "2", "--data",
            "name=mine"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert run_cli(capsys, *args)[1] == out                  # stored: read back as it was
    damage(folder, how)
    for argv in (args, [*args, "--seeds", "3"], ["data", "info", str(folder)]):  # stored, new
        code, out, err = run_cli(capsys, *argv)
        assert code == 2 and re.search(message, err), (argv, err)
        assert "prepare the data again" in err and not out


def test_an_older_folder_without_sample_hashes_is_checked_by_its_full_hash(tmp_path) -> None:
    folder = prepare_csv(clicks_csv(tmp_path / "c.csv"), "click", out=tmp_path / "p",
                         progress=False)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["content_sample"]
    (folder / "meta.json").write_text(json.dumps(meta))
    verify_prepared(folder)
    damage(folder, "id changed in range")
    with pytest.raises(DataError, match=r"ids\.npy: its content changed since it was prepared"):
        verify_prepared(folder)


def test_the_sample_reaches_every_part_of_a_large_array(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(storage, "SAMPLE_BLOCKS", 8)
    monkeypatch.setattr(storage, "SAMPLE_BLOCK_BYTES", 64)
    path = tmp_path / "a.npy"
    array = np.arange(100_000, dtype=np.int32)
    np.save(path, array)
    first = storage.sample_digest(path)
    middle = int(np.linspace(0, array.nbytes - 64, 8)[3]) // 4 + 2     # inside block 3
    for index in (0, len(array) - 1, middle):           # the first, the last, a middle block
        changed = array.copy()
        changed[index] += 1
        np.save(path, changed)
        assert storage.sample_digest(path) != first, index
    # the sample is a sample: a value between blocks is not seen (the id range check still
    # sees any id outside its field's cardinality)
    changed = array.copy()
    changed[middle + 100] += 1
    np.save(path, changed)
    assert storage.sample_digest(path) == first


# --------------------------------------------------------------------------- case 4

def test_4_a_chapter_parameter_of_the_wrong_name_or_type_stops_before_anything_runs(
        capsys, monkeypatch) -> None:
    def nothing_may_run(*args, **kwargs):
        raise AssertionError("a chapter ran (or trained) with a bad parameter")

    monkeypatch.setattr(book, "execute_notebook", nothing_may_run)
    monkeypatch.setattr(book, "train_chapter_runs", nothing_may_run)
    base = ["book", "run", "--profile", "smoke", "--chapter", "01_embedding"]
    code, _, err = run_cli(capsys, *base, "-p", "max_epochs=abc")
    assert code == 2
    assert ("-p max_epochs: not a parameter of the chosen chapter(s); their parameters: "
            "01_embedding_collapse: device, seeds, models, embed_dims") in err
    for param, message in [
            ("embed_dims=abc", "chapter collapse): embed_dims must be a list, got 'abc'"),
            ("embed_dims=[5,x]", "embed_dims[1] must be an integer, got 'x'"),
            ("seeds=[1,1]", "seeds must be a non-empty list of distinct integers >= 0"),
            ("device=gpu", "-p device: unknown device 'gpu'"),
            ("profile=paper", "-p profile: choose the profile with --profile")]:
        code, _, err = run_cli(capsys, *base, "-p", param)
        assert code == 2 and message in err, (param, err)


# --------------------------------------------------------------------------- case 5

def quoted_file(path: Path) -> Path:
    lines = ["click,site,app"] + [f"{i % 2},s{i % 5},a{i % 3}" for i in range(40)]
    lines[3] = '1,"s1\nx",a2'                           # lines 4-5 of the file
    lines[10] = '0,"two\n\nlines, and a comma",a1'      # lines 12-14
    lines[20] = "7,s1,a1"                               # a bad label at line 24
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("scan_bytes", [1 << 24, 5, 13])
def test_5_a_quoted_line_end_is_part_of_its_value(tmp_path, monkeypatch, scan_bytes) -> None:
    monkeypatch.setattr(csvmod, "SCAN_BYTES", scan_bytes)       # chunk edges anywhere
    path = quoted_file(tmp_path / "q.csv")
    with pytest.raises(DataError, match=r"malformed.* first: line 24: column click: '7' is "
                                        r"not 0 or 1$"):
        prepare_csv(path, "click", out=tmp_path / "strict", max_bad_rows=0.0, progress=False)
    folder = prepare_csv(path, "click", out=tmp_path / "p", max_bad_rows=0.1, progress=False)
    data = load_prepared(folder).meta
    assert data["rows"] == 39 and data["rows_read"] == 40
    assert data["source"]["records_across_lines"] == 2
    ids = np.load(folder / "ids.npy")
    assert ids[2, 0] == 3 and ids[9, 0] == 7          # "s1\nx" and the two-line value: new ids
    assert data["field_dims"][0] == 5 + 2 + 1


def test_an_unterminated_quote_turns_quoting_off_and_says_where(tmp_path, capsys) -> None:
    lines = ["click,site,app"] + [f"{i % 2},s{i % 5},a{i % 3}" for i in range(100)]
    lines[50] = '1,"s1,a2'
    path = tmp_path / "u.csv"
    path.write_text("\n".join(lines) + "\n")
    folder = prepare_csv(path, "click", out=tmp_path / "p", progress=False)
    assert "line 51 opens a quote that is not closed within 16 lines" in capsys.readouterr().err
    meta = load_prepared(folder).meta
    assert meta["rows"] == 100 and meta["source"]["quotes_ordinary_from_line"] == 51


# --------------------------------------------------------------------------- case 6

def test_6_seeds_follow_one_rule_everywhere(tmp_path, capsys) -> None:
    rule = "must be a non-empty list of distinct integers >= 0"
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--seeds", "-1")
    assert code == 2 and f"--seeds {rule}, got [-1]" in err
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--seeds", "2", "2")
    assert code == 2 and f"--seeds {rule}, got [2, 2]" in err
    for seeds in ([-3], [0, 0]):
        profile = tmp_path / "p.yaml"
        profile.write_text(yaml.safe_dump({"seeds": seeds}))
        code, _, err = run_cli(capsys, "train", "--profile", str(profile))
        assert code == 2 and f"seeds {rule}, got {seeds}" in err, err
    from embcollapse.chapters import CHAPTERS
    with pytest.raises(ConfigError, match=f"seeds {rule}, got \\[1, 1\\]"):
        from_dict(CHAPTERS["collapse"], {"seeds": [1, 1]}, "chapters.collapse")
    assert check_seeds([2, 0, 1]) == (2, 0, 1)


# --------------------------------------------------------------------------- case 7

def test_7_encoding_delimiter_blank_lines_and_names(tmp_path, home, capsys) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"click,site,app\n" + b"1,a,b\n0,a,b\n" * 5 + b"1,caf\xff,b\n")
    with pytest.raises(DataError, match=r"latin\.csv: line 12 is not UTF-8 text \(byte 0xff at "
                                        r"byte 6 of the line\)"):
        prepare_csv(latin, "click", out=tmp_path / "l", progress=False)

    semi = clicks_csv(tmp_path / "semi.csv", sep=";")
    code, _, err = run_cli(capsys, "data", "prepare", "csv", str(semi), "--label", "click")
    assert code == 2 and "label column 'click' not found" in err
    assert "the header holds ';' but the delimiter is ',': pass --delimiter ';'" in err
    code, out, err = run_cli(capsys, "data", "prepare", "csv", str(semi), "--label", "click",
                             "--delimiter", ";")
    assert code == 0, err

    blank = clicks_csv(tmp_path / "blank.csv")
    blank.write_text("click,site,app\n\n" + blank.read_text().split("\n", 1)[1] + "\n\n \n\r\n")
    meta = load_prepared(prepare_csv(blank, "click", out=tmp_path / "b", max_bad_rows=0.0,
                                     progress=False)).meta
    assert meta["rows"] == meta["rows_read"] == 600

    folder = tmp_path / "dätä dir"
    folder.mkdir()
    named = clicks_csv(folder / "dätä.csv")
    code, out, err = run_cli(capsys, "data", "prepare", "csv", str(named))
    assert code == 0 and "Its name: csv-dätä" in out, err


# --------------------------------------------------------------------------- case 8

def test_8_messages_show_the_limit_as_given_and_name_their_option(tmp_path, capsys) -> None:
    lines = ["click,site"] + [f"{i % 2},s{i % 7}" for i in range(4_500)]
    lines[100] = lines[200] = "x,s1"                    # 2 of 4,500: 0.0444%
    path = tmp_path / "two.csv"
    path.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(capsys, "data", "prepare", "csv", str(path), "--max-bad-rows",
                           "0.0004")
    assert code == 2 and "(0.0444%), more than data.max_bad_rows=0.0004 (0.04%)" in err, err
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--data", "rows")
    assert code == 2 and "--data 'rows' must be KEY=VALUE (e.g. --data rows=VALUE)" in err
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--hyper", "=3")
    assert code == 2 and "--hyper '=3' must be KEY=VALUE" in err
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--data", "rows=abc")
    assert code == 2 and "--data.rows must be an integer, got 'abc'" in err
    code, _, err = run_cli(capsys, "train", "--profile", "smoke", "--data", "rows=100",
                           "--data", "rows=200")
    assert code == 2 and "--data rows given more than once" in err
