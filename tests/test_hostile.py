"""Bad input and wrong settings, as a hostile but realistic user gives them (issue 11).

Each case ends in a short error that names the file, line or option before any work, with
nothing deleted or half-written, or is handled correctly; never a traceback, never silent loss.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embcollapse import atomic, cli
from embcollapse.config import ConfigError, DataConfig, ModelConfig, TrainConfig, from_dict
from embcollapse.data import DataError, csv as csvmod, prepare
from embcollapse.data.prepare import PrepareOptions, prepare_csv
from embcollapse.data.storage import load_prepared

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBCOLLAPSE_DATA", raising=False)
    return tmp_path / "home"


def ctr_csv(path: Path, rows: int = 2000, bad_every: int = 0, seed: int = 0) -> Path:
    """A CSV ``y,a,b`` with both labels; every ``bad_every``-th data line has a bad label."""
    rng = np.random.default_rng(seed)
    lines = ["y,a,b"]
    for i in range(rows):
        label = "x" if bad_every and i % bad_every == bad_every - 1 else str(int(rng.random() < .3))
        lines.append(f"{label},a{int(rng.zipf(1.5)) % 40},b{i % 7}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"<dir>")
            for p in sorted(folder.rglob("*"))}


# --------------------------------------------------------------------------- 1. data loss

def test_prepare_never_replaces_a_folder_it_did_not_write(tmp_path, capsys) -> None:
    path = ctr_csv(tmp_path / "my.csv")
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "notes.txt").write_text("mine")
    shutil_copy = (victim / "my.csv")
    shutil_copy.write_bytes(path.read_bytes())
    before = snapshot(victim)
    code, err = run_cli(capsys, "data", "prepare", "csv", str(path), "--label", "y",
                        "--fields", "a,b", "--out", str(victim))
    assert code == 2 and "victim holds 3 entries this tool did not write" in err
    assert snapshot(victim) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_prepare_out_dot_and_out_file_touch_nothing(tmp_path, capsys, monkeypatch) -> None:
    path = ctr_csv(tmp_path / "my.csv")
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("mine")
    monkeypatch.chdir(work)
    code, err = run_cli(capsys, "data", "prepare", "csv", str(path), "--label", "y",
                        "--fields", "a,b", "--out", ".")
    assert code == 2 and "current folder" in err and "Traceback" not in err
    assert sorted(os.listdir(work)) == ["keep.txt"]
    code, err = run_cli(capsys, "data", "prepare", "csv", str(path), "--label", "y",
                        "--fields", "a,b", "--out", "keep.txt")
    assert code == 2 and "keep.txt is a file, not a folder" in err
    assert (work / "keep.txt").read_text() == "mine"


def test_a_prepared_folder_of_ours_or_an_empty_one_is_replaced(tmp_path) -> None:
    path = ctr_csv(tmp_path / "my.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert load_prepared(prepare_csv(path, "y", ["a", "b"], out=empty, progress=False))
    (empty / "ids.npy").write_bytes(b"")                       # ours, damaged: rebuilt
    prepare_csv(path, "y", ["a", "b"], out=empty, progress=False)
    assert load_prepared(empty).meta["rows"] == 2000 and (empty / atomic.MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "my.csv"]   # nothing left
    (empty / "notes.txt").write_text("added by the user")
    with pytest.raises(DataError, match="notes.txt"):
        prepare_csv(path, "y", ["a", "b"], out=empty, force=True, progress=False)
    assert (empty / "notes.txt").read_text() == "added by the user"


@pytest.mark.parametrize("contents, allowed", [
    ({}, True),
    ({"meta.json": "{}", "ids.npy": ""}, True),                       # ours, before markers
    ({"meta.json": "{}", atomic.MARKER: '{"kind": "prepared-data"}'}, True),
    ({"meta.json": "{}", atomic.MARKER: '{"kind": "run"}'}, False),   # ours, another kind
    ({"meta.json": "{}", atomic.MARKER: '{"ki'}, True),                # a truncated marker
    ({"meta.json": "{}", "paper.pdf": ""}, False),
])
def test_check_target_allows_only_empty_or_own_folders(tmp_path, contents, allowed) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    for name, text in contents.items():
        (folder / name).write_text(text)
    if allowed:
        assert atomic.check_target(folder, "prepared-data", ("meta.json", "ids.npy"))
    else:
        with pytest.raises(ConfigError):
            atomic.check_target(folder, "prepared-data", ("meta.json", "ids.npy"))


def test_fetch_refuses_a_foreign_dest_before_downloading(tmp_path, capsys, monkeypatch) -> None:
    from embcollapse.data import movielens

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded into a folder that is not ours")

    monkeypatch.setattr(movielens, "pip_download", no_download)
    dest = tmp_path / "victim2"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    code, err = run_cli(capsys, "data", "fetch", "movielens-100k", "--dest", str(dest))
    assert code == 2 and "keep.txt" in err
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]


# --------------------------------------------------------------------------- 2. quotes

@pytest.mark.parametrize("bad_line", ['1,"oops,b1', '1,a1,"oops', '"1,a1,b1'])
def test_an_unterminated_quote_does_not_eat_rows(tmp_path, bad_line) -> None:
    lines = ["y,a,b"] + [f"{i % 2},a{i % 50},b{i % 7}" for i in range(20_000)]
    lines[19_001 - 1] = bad_line                       # physical line 19,001
    path = tmp_path / "q.csv"
    path.write_text("\n".join(lines) + "\n")
    try:
        directory = prepare_csv(path, "y", ["a", "b"], out=tmp_path / "out", progress=False,
                                max_bad_rows=0.001)
    except DataError as err:                           # a row it cannot use: named by line
        assert "line 19,001" in str(err) or "line 19001" in str(err)
        return
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["rows_read"] == 20_000
    assert meta["rows"] + meta["skipped_rows"]["count"] == 20_000
    assert meta["skipped_rows"]["count"] <= 1


# --------------------------------------------------------------------------- 3. reuse

def test_a_reused_preparation_honours_max_bad_rows(tmp_path) -> None:
    path = ctr_csv(tmp_path / "bad3.csv", rows=300, bad_every=100)          # 3 bad labels
    out = tmp_path / "out"
    prepare_csv(path, "y", ["a", "b"], out=out, progress=False)             # 1% allowed
    with pytest.raises(DataError, match=r"3 of 300 rows read are malformed \(1%\).*max_bad_rows=0 "
                                        r"\(0%\)"):
        prepare_csv(path, "y", ["a", "b"], out=out, max_bad_rows=0.0, progress=False)
    with pytest.raises(DataError, match=r"max_bad_rows=0 \(0%\)"):
        prepare_csv(path, "y", ["a", "b"], out=out, max_bad_rows=0.0, force=True,
                    progress=False)
    assert load_prepared(out).meta["skipped_rows"]["count"] == 3      # still the old copy


# --------------------------------------------------------------------------- 6. bad-row rate

def test_a_share_just_under_the_limit_passes_with_the_parser_ahead(tmp_path, monkeypatch
                                                                   ) -> None:
    # small parse blocks and chunks: the parser runs chunks ahead of the rows used, so bad
    # lines already parsed outnumber the good rows already used when the share is checked
    monkeypatch.setattr(csvmod, "BLOCK_BYTES", 1 << 12)
    monkeypatch.setattr(csvmod, "CHUNK_ROWS", 512)
    lines = ["y,a"]
    for i in range(120_000):
        lines.append("1,a,extra" if i % 102 == 101 else f"{i % 2},a{i % 9}")  # 0.98% bad
    path = tmp_path / "share.csv"
    path.write_text("\n".join(lines) + "\n")
    directory = prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False)
    meta = json.loads((directory / "meta.json").read_text())
    assert meta["skipped_rows"]["count"] == 120_000 // 102
    assert meta["skipped_rows"]["share"] < 0.01


def test_a_file_certainly_over_the_limit_stops_early(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(csvmod, "BLOCK_BYTES", 1 << 12)
    monkeypatch.setattr(csvmod, "CHUNK_ROWS", 512)
    lines = ["y,a"] + ["x,a" if i % 2 else f"{i % 2},a" for i in range(60_000)]
    path = tmp_path / "half.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"stopped early.*line 3: column y: 'x' is not 0 or 1"):
        prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False)


def test_the_early_bound_never_exceeds_the_true_share() -> None:
    spec = csvmod.TableSpec(columns=("y", "a", "b"), label="y", fields=("a", "b"))

    class Fake(csvmod.DelimitedSource):
        @property
        def total_bytes(self) -> int:
            return 6 * 1000 + 1 * 20          # 1000 good rows of 6 bytes, 20 empty lines

    source = Fake(name="x", path=Path(__file__), spec=spec)
    assert source.max_rows(20) >= 1020


# --------------------------------------------------------------------------- 8. settings

@pytest.mark.parametrize("cls, values, key", [
    (TrainConfig, {"batch_size": 0}, "batch_size"),
    (TrainConfig, {"batch_size": -5}, "batch_size"),
    (TrainConfig, {"max_epochs": 0}, "max_epochs"),
    (TrainConfig, {"lr": -0.001}, "lr"),
    (TrainConfig, {"lr": 0.0}, "lr"),
    (TrainConfig, {"patience": 0}, "patience"),
    (DataConfig, {"split_seed": -1}, "split_seed"),
    (DataConfig, {"fraction": 0.0}, "fraction"),
    (DataConfig, {"rows": 5}, "rows"),
    (DataConfig, {"max_bad_rows": 1.5}, "max_bad_rows"),
    (ModelConfig, {"embed_dim": 0}, "embed_dim"),
])
def test_settings_are_checked_when_the_configuration_is_built(cls, values, key) -> None:
    with pytest.raises(ConfigError, match=rf"^train\.{key} must be|^cfg\.{key} must be"):
        from_dict(cls, values, "train" if cls is TrainConfig else "cfg")


@pytest.mark.parametrize("argv, option", [
    (["--data", "split_seed=-1"], "data.split_seed"),
    (["--device", "gpu"], "--device: unknown device 'gpu'"),
    (["--device", "cuda:7"], "--device: 'cuda:7' requested"),
    (["--device", "mps"], "--device: 'mps' requested"),
])
def test_bad_settings_fail_before_any_data_is_read(tmp_path, home, capsys, argv, option) -> None:
    import torch

    if "cuda:7" in argv and torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    if "mps" in argv and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    code, err = run_cli(capsys, "train", "--profile", "smoke", "--results",
                        str(tmp_path / "store"), *argv)
    assert code == 2 and option in err and "Traceback" not in err
    assert not (home / "data").exists()                 # no data was loaded
    assert not (tmp_path / "store").exists()            # and no failed-run note was written


def test_a_bad_profile_value_names_the_file_and_key(tmp_path, home, capsys) -> None:
    profile = tmp_path / "mine.yaml"
    profile.write_text("train:\n  batch_size: 0\n")
    code, err = run_cli(capsys, "train", "--profile", str(profile))
    assert code == 2 and "mine.yaml.train.batch_size must be an integer >= 1, got 0" in err
    assert not (home / "data").exists()


def test_cuda_on_a_cpu_machine_and_sweep_devices_fail_once_up_front(tmp_path, capsys) -> None:
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has 8 GPUs")
    code, err = run_cli(capsys, "sweep", "--profile", "smoke", "--devices", "cuda:7",
                        "--results", str(tmp_path / "store"))
    assert code == 2 and err.count("cuda:7") == 1 and not (tmp_path / "store").exists()
    if not torch.cuda.is_available():
        code, err = run_cli(capsys, "train", "--profile", "smoke", "--device", "cuda")
        assert code == 2 and "CUDA is not available here" in err


def test_a_device_error_is_not_a_failed_run(tmp_path) -> None:
    from embcollapse.config import RunConfig
    from embcollapse.results import ResultsStore

    store = ResultsStore(tmp_path)
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        store.load_or_run(RunConfig(data=DataConfig(preset="tiny", rows=500)), device="gpu")
    assert store.failures() == {}


def test_all_labels_zero_is_rejected_at_prepare(tmp_path) -> None:
    path = tmp_path / "zeros.csv"
    path.write_text("y,a\n" + "".join(f"0,a{i % 5}\n" for i in range(100)))
    with pytest.raises(DataError, match="every one of the 100 good rows has label 0"):
        prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_split_without_both_classes_is_refused_before_training(tmp_path) -> None:
    from embcollapse.config import RunConfig
    from embcollapse.train import fit

    path = tmp_path / "one.csv"                      # one click in 20 rows
    path.write_text("y,a\n1,a\n" + "".join(f"0,a{i % 3}\n" for i in range(19)))
    directory = prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="split .* holds a single class"):
        fit(RunConfig(data=DataConfig(name=str(directory))), device="cpu", progress=False)


# --------------------------------------------------------------------------- 9. messages

def test_messages_instead_of_tracebacks(tmp_path, capsys, monkeypatch) -> None:
    good = ctr_csv(tmp_path / "good.csv")
    def base(path) -> list[str]:
        return ["data", "prepare", "csv", str(path), "--label", "y", "--fields", "a,b"]

    code, err = run_cli(capsys, *base(good), "--split-seed", "-1")
    assert code == 2 and "split_seed must be an integer >= 0, got -1" in err

    code, err = run_cli(capsys, *base(good), "--delimiter", "ab")
    assert code == 2 and "--delimiter must be one character" in err

    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    code, err = run_cli(capsys, *base(bom), "--out", str(tmp_path / "bom"))
    assert code == 0 and load_prepared(tmp_path / "bom").meta["rows"] == 2000

    long = tmp_path / "long.csv"
    long.write_bytes(b"y,a,b\n1,a,b\n0," + b"x" * 5_000_000 + b",c\n" + b"1,a,b\n" * 20)
    code, err = run_cli(capsys, *base(long), "--out", str(tmp_path / "long"))
    assert code == 2 and "line 3 is 5,000,004 bytes long" in err and len(err) < 400

    code, err = run_cli(capsys, *base("/bin/ls"), "--out", str(tmp_path / "ls"))
    assert code == 2 and "binary file" in err and len(err) < 300

    home_file = tmp_path / "home-file"
    home_file.write_text("")
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(home_file))
    code, err = run_cli(capsys, "train", "--profile", "smoke")
    assert code == 2 and "EMBCOLLAPSE_HOME" in err and "is a file" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_closed_pipe_ends_quietly(tmp_path) -> None:
    read, write = os.pipe()
    os.close(read)                                      # `| head` that has already left
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-m", "embcollapse", "profiles", "default"],
                          stdout=write, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    os.close(write)
    assert done.stderr == "" and done.returncode == 141


# --------------------------------------------------------------------------- beyond the list

@pytest.mark.parametrize("text, match", [
    ("", "is empty"),
    ("y,a,b\n", "no data rows"),
    ("y,a,a\n1,x,y\n", "repeated column name"),
    ("\n\n1,2\n", "the first line is empty"),
    (",".join(f"c{i}" for i in range(20_000)) + "\n1\n", "line 1 is longer than 65,536 bytes"),
    (",a\n" * 30, "label column 'y' not found"),
])
def test_empty_header_only_and_duplicate_columns(tmp_path, text, match) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match):
        prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False)


def test_labels_like_2_or_yes_are_malformed_rows_named_by_line(tmp_path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("y,a\n" + "".join(f"{i % 2},a\n" for i in range(50)) + "yes,a\n2,a\n")
    with pytest.raises(DataError, match=r"line 52: column y: 'yes' is not 0 or 1.*line 53"):
        prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False, max_bad_rows=0.0)


def test_non_utf8_bytes_are_refused_with_their_line(tmp_path) -> None:
    # a CSV is read as UTF-8 (issue 28): Latin-1 bytes are named by line, not taken as values
    path = tmp_path / "latin.csv"
    path.write_bytes(b"y,a\n" + b"".join(b"%d,caf\xe9%d\n" % (i % 2, i % 3) for i in range(40)))
    with pytest.raises(DataError, match=r"line 2 is not UTF-8 text \(byte 0xe9 at byte 6 "):
        prepare_csv(path, "y", ["a"], out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_a_folder_given_as_the_csv_and_a_missing_file(tmp_path) -> None:
    with pytest.raises(DataError, match="is not a file"):
        csvmod.csv_source(tmp_path, "y", ["a"])
    with pytest.raises(DataError, match="does not exist"):
        csvmod.csv_source(tmp_path / "nope.csv", "y", ["a"])


def test_a_results_store_that_is_a_file(tmp_path, capsys) -> None:
    from embcollapse.results import ResultsStore

    (tmp_path / "store").write_text("")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        ResultsStore(tmp_path / "store")
    code, err = run_cli(capsys, "sweep", "--profile", "smoke", "--status", "--results",
                        str(tmp_path / "store"))
    assert code == 2 and "is a file" in err


def test_synthetic_criteo_does_not_overwrite_a_file(tmp_path, capsys) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    code, err = run_cli(capsys, "data", "synthetic-criteo", str(out), "--rows", "10")
    assert code == 2 and "already exists" in err and out.read_text() == "mine"


def test_ctrl_c_exits_130_with_a_line(monkeypatch, capsys) -> None:
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_profiles", interrupted)
    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), interrupted))
    code, err = run_cli(capsys, "profiles")
    assert code == 130 and "interrupted" in err


def test_ctrl_c_during_a_sweep_keeps_nothing_half_written(tmp_path, capsys, monkeypatch
                                                          ) -> None:
    import embcollapse.train as train_mod
    from embcollapse.results import ResultsStore

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "fit", interrupted)
    code, err = run_cli(capsys, "sweep", "--profile", "smoke", "--chapter", "collapse",
                        "--no-prepare", "--devices", "cpu", "--results", str(tmp_path / "s"))
    assert code == 130 and "interrupted" in err
    store = ResultsStore(tmp_path / "s")
    assert store.failures() == {} and list(store.records()) == []
    assert hidden(tmp_path / "s" / "runs") == []


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) \
        if folder.is_dir() else []


def _with_func(parser, func):
    parser.set_defaults(func=func)
    for action in parser._subparsers._group_actions:
        for sub in action.choices.values():
            sub.set_defaults(func=func)
    return parser


def test_prepare_options_reject_a_negative_split_seed() -> None:
    with pytest.raises(DataError, match="split_seed"):
        PrepareOptions(min_count=1, split_seed=-1)
    assert prepare.PrepareOptions(min_count=1).split_seed == 0
