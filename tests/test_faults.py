"""Fault injection: ``kill -9`` during preparation, training and a record save (in a
subprocess), and truncated or edited files of every kind the results store and the prepared
folders hold. After each: nothing half-written is taken as valid, a rerun recovers, and no
scratch is left behind.

The subprocesses are stopped at a known point (a patched function writes a "ready" file and
sleeps), so the kill lands mid-work deterministically; the data are tiny, each test takes a few
seconds.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig, to_dict
from embcollapse.identity import run_id
from embcollapse.data import DataError, load_dataset
from embcollapse.data.prepare import PrepareOptions, prepare_source, stale_reason
from embcollapse.data.csv import csv_source
from embcollapse.data.storage import load_prepared
from embcollapse.results import ResultsStore
from embcollapse.sweep import state

REPO = Path(__file__).resolve().parents[1]
CFG = RunConfig(data=DataConfig(preset="tiny", rows=3_000),
                model=ModelConfig(name="dnn", embed_dim=4, hyper={"mlp_dims": [8]}),
                train=TrainConfig(batch_size=512, max_epochs=1, track_ia=False))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBCOLLAPSE_DATA", raising=False)
    return tmp_path / "home"


def hidden(folder: Path) -> list[str]:
    """Temporary or scratch entries (names starting with a dot) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) \
        if folder.is_dir() else []


def kill_when_ready(script: str, args: list[str], ready: Path, home: Path,
                    timeout: float = 120.0) -> None:
    """Run ``script`` in a fresh interpreter; ``kill -9`` it once it writes ``ready``."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "EMBCOLLAPSE_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the subprocess ended before the fault point: "
                                 f"{proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the subprocess never reached the fault point")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def small_csv(path: Path, rows: int = 3000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["y,a,b,c"] + [f"{int(rng.random() < 0.3)},a{int(rng.zipf(1.5)) % 50},b{i % 11},"
                           f"c{int(rng.zipf(1.3)) % 200}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


# --------------------------------------------------------------------------- kill -9

KILL_IN_PREPARE = """
    import pathlib, sys, time
    from embcollapse.data import prepare

    def hang(*args, **kwargs):          # pass 1 is done: the scratch files are written
        pathlib.Path(sys.argv[2]).write_text("ready")
        time.sleep(300)

    prepare._threshold = hang
    prepare.prepare_csv(sys.argv[1], "y", ["a", "b", "c"], out=pathlib.Path(sys.argv[3]),
                        force=True, progress=False)
"""


@pytest.mark.parametrize("existing", [False, True])
def test_kill_during_preparation(tmp_path, home, existing) -> None:
    from embcollapse.data.prepare import prepare_csv

    raw = small_csv(tmp_path / "raw.csv")
    out = tmp_path / "prepared" / "out"
    if existing:                                    # a forced rebuild of a good folder
        prepare_csv(raw, "y", ["a", "b", "c"], out=out, progress=False)
        before = (out / "meta.json").read_text()
    kill_when_ready(KILL_IN_PREPARE, [str(raw), str(tmp_path / "ready"), str(out)],
                    tmp_path / "ready", home)
    left = hidden(out.parent)
    assert len(left) == 1 and ".out.tmp-" in left[0]               # the killed scratch
    assert any(p.name.startswith("scratch-") for p in (out.parent / left[0]).iterdir())
    if existing:                                   # the old folder is untouched and valid
        assert (out / "meta.json").read_text() == before and load_prepared(out)
    else:                                          # nothing that looks finished
        assert not out.exists()
    # the rerun: reuses the intact old folder, or prepares anew; either way the dead
    # writer's scratch is gone
    directory = prepare_csv(raw, "y", ["a", "b", "c"], out=out, progress=False)
    assert load_prepared(directory).meta["rows"] == 3000
    assert (out / "meta.json").read_text() == before if existing else True
    assert hidden(out.parent) == []


KILL_IN_TRAINING = """
    import json, pathlib, sys, time
    import embcollapse.train as train
    from embcollapse.config import RunConfig, from_dict
    from embcollapse.results import ResultsStore

    def hang(*args, **kwargs):          # the first epoch is trained
        pathlib.Path(sys.argv[2]).write_text("ready")
        time.sleep(300)

    train.evaluate = hang
    config = from_dict(RunConfig, json.loads(sys.argv[3]), "run")
    ResultsStore(sys.argv[1]).load_or_run(config, device="cpu", progress=False)
"""


def test_kill_during_training(tmp_path, home) -> None:
    load_dataset(CFG.data)                          # prepared here: the subprocess trains
    store = ResultsStore(tmp_path / "store")
    kill_when_ready(KILL_IN_TRAINING, [str(store.root), str(tmp_path / "ready"),
                                       json.dumps(to_dict(CFG))], tmp_path / "ready", home)
    assert store.status(CFG) == "missing" and store.failures() == {}
    assert list(store.records()) == []
    record = store.load_or_run(CFG, device="cpu", progress=False)      # the rerun trains
    assert record["run_id"] == run_id(CFG) and store.has(CFG)
    assert [p.name for p in (store.root / "runs").iterdir()] == [run_id(CFG)]
    assert hidden(home / "data") == []


KILL_IN_SAVE = """
    import json, pathlib, sys, time
    import torch
    import embcollapse.results as results

    real_save = results.torch.save

    def save_then_hang(obj, path):      # model.pt is written, record.json not yet
        real_save(obj, path)
        pathlib.Path(sys.argv[2]).write_text("ready")
        time.sleep(300)

    results.torch.save = save_then_hang
    results.ResultsStore(sys.argv[1]).save(json.loads(sys.argv[3]), {"w": torch.zeros(3)})
"""


def fake_record(key: str, **extra: object) -> dict:
    return {"run_id": key, "config": to_dict(CFG), "history": [], "best_epoch": 1,
            "valid": {"auc": 0.5, "logloss": 0.6}, "test": {"auc": 0.5, "logloss": 0.6},
            "field_ia": [[1.0]], "field_dims": [3], "device": "cpu", "train_seconds": 0.0,
            **extra}


def test_kill_during_a_record_save(tmp_path, home) -> None:
    store = ResultsStore(tmp_path / "store")
    key = run_id(CFG)
    kill_when_ready(KILL_IN_SAVE, [str(store.root), str(tmp_path / "ready"),
                                   json.dumps(fake_record(key))], tmp_path / "ready", home)
    runs = store.root / "runs"
    assert len(hidden(runs)) == 1                                   # the unfinished save
    assert list(store.records()) == [] and store.status(key) == "missing"
    assert state([CFG], store).missing == [CFG]
    store.save(fake_record(key), {"w": torch.zeros(3)})             # the rerun saves
    assert [r["run_id"] for r in store.records()] == [key]          # once, not twice
    assert hidden(runs) == []


# --------------------------------------------------------------------------- the store

def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


RECORD_DAMAGE = {
    "truncated": lambda d: _truncate(d / "record.json"),
    "empty": lambda d: (d / "record.json").write_text(""),
    "empty object": lambda d: (d / "record.json").write_text("{}"),
    "a list": lambda d: (d / "record.json").write_text("[]"),
    "binary": lambda d: (d / "record.json").write_bytes(b"\xff\xfe\x00"),
    "another run": lambda d: _edit(d, run_id="0123456789ab"),
    "no test metrics": lambda d: _edit(d, test=None),
    "model.pt truncated": lambda d: _truncate(d / "model.pt"),
    "model.pt missing": lambda d: (d / "model.pt").unlink(),
}


def _edit(folder: Path, **changes: object) -> None:
    record = json.loads((folder / "record.json").read_text())
    for key, value in changes.items():
        if value is None:
            record.pop(key)
        else:
            record[key] = value
    (folder / "record.json").write_text(json.dumps(record))


@pytest.mark.parametrize("damage", sorted(RECORD_DAMAGE))
def test_a_damaged_record_is_named_set_aside_and_retrained(tmp_path, monkeypatch, capsys,
                                                          damage) -> None:
    import embcollapse.train as train_mod

    store = ResultsStore(tmp_path / "store")
    key = run_id(CFG)
    store.save(fake_record(key, value=1), {"w": torch.zeros(3)})
    RECORD_DAMAGE[damage](store.run_dir(key))

    assert store.status(CFG) == "damaged" and not store.has(CFG)
    now = state([CFG], store)                                  # sweep --status
    assert now.stored == [] and now.missing == [CFG] and now.damaged == [key]
    assert "1 of them with a damaged record" in now.summary()

    retrained = []

    def fake_fit(config, *args, **kwargs):
        retrained.append(run_id(config))
        return train_mod.FitResult(record=fake_record(run_id(config), value=2),
                                   state_dict={"w": torch.ones(3)})

    monkeypatch.setattr(train_mod, "fit", fake_fit)
    record = store.load_or_run(CFG, device="cpu", progress=False)
    assert retrained == [key] and record["value"] == 2
    err = capsys.readouterr().err
    assert f"{key}/record.json is damaged" in err and "trained again" in err
    aside = list((store.root / "damaged").iterdir())
    assert len(aside) == 1 and aside[0].name.startswith(key)
    assert [r["value"] for r in store.records()] == [2]
    assert torch.equal(store.load_state(CFG)["w"], torch.ones(3))


def test_records_skip_damaged_and_temporary_folders(tmp_path, capsys) -> None:
    store = ResultsStore(tmp_path)
    store.save(fake_record("good"), {"w": torch.zeros(1)})
    store.save(fake_record("bad"))
    (store.run_dir("bad") / "record.json").write_text('{"run_id": "ba')
    leftover = store.root / "runs" / ".good.tmp-abcdef-999999-x"      # a killed save
    leftover.mkdir()
    (leftover / "record.json").write_text(json.dumps(fake_record("good")))
    assert [r["run_id"] for r in store.records()] == ["good"]
    assert "bad/record.json is damaged" in capsys.readouterr().err
    with pytest.raises(KeyError, match="no stored run bad"):
        store.load("bad")                                          # set aside: now missing


def test_a_damaged_model_file_is_set_aside_when_loaded(tmp_path) -> None:
    store = ResultsStore(tmp_path)
    store.save(fake_record("old"))                       # a record without model_bytes
    (store.run_dir("old") / "model.pt").write_bytes(b"PK\x03\x04 not a checkpoint")
    from embcollapse.results import DamagedRun
    with pytest.raises(DamagedRun, match="model.pt cannot be read"):
        store.load_state("old")
    assert store.status("old") == "missing"


def test_a_damaged_failure_note_does_not_block_the_sweep(tmp_path, capsys) -> None:
    store = ResultsStore(tmp_path)
    store.record_failure(CFG, RuntimeError("boom"))
    _truncate(store.failure_path(run_id(CFG)))
    notes = store.failures()
    assert notes[run_id(CFG)]["error"].startswith("unknown (damaged note")
    assert "cannot be read" in capsys.readouterr().err
    assert state([CFG], store).failed_configs == [CFG]


# --------------------------------------------------------------------------- prepared folders

def _rewrite(path: Path, change) -> None:
    array = np.load(path)
    np.save(path, change(array.copy()))


def _edit_meta(folder: Path, **changes: object) -> None:
    meta = json.loads((folder / "meta.json").read_text())
    meta.update(changes)
    (folder / "meta.json").write_text(json.dumps(meta))


def _set(array: np.ndarray, index: tuple, value: float) -> np.ndarray:
    array[index] = value
    return array


PREPARED_DAMAGE = {   # name -> (damage, file the error names)
    "meta.json truncated": (lambda d: _truncate(d / "meta.json"), "meta.json"),
    "meta.json empty": (lambda d: (d / "meta.json").write_text(""), "meta.json"),
    "meta.json rows edited": (lambda d: _edit_meta(d, rows=2999), "ids.npy"),
    "meta.json field_dims too small": (lambda d: _edit_meta(d, field_dims=[2, 11, 5]),
                                       "field a"),
    "meta.json one field fewer": (lambda d: _edit_meta(d, field_dims=[60, 12],
                                                       field_names=["a", "b"]), "ids.npy"),
    "ids.npy truncated": (lambda d: _truncate(d / "ids.npy"), "ids.npy"),
    "ids.npy id past its field": (lambda d: _rewrite(d / "ids.npy", lambda a: _set(
        a, (7, 1), a[:, 1].max() + 1)), "field b (column 1) has id"),
    "ids.npy negative id": (lambda d: _rewrite(d / "ids.npy", lambda a: _set(a, (0, 2), -1)),
                            "field c"),
    "labels.npy truncated": (lambda d: _truncate(d / "labels.npy"), "labels.npy"),
    "labels.npy with a 2": (lambda d: _rewrite(d / "labels.npy", lambda a: _set(a, (5,), 2.0)),
                            "label 2 at row 5"),
    "labels.npy all zero": (lambda d: _rewrite(d / "labels.npy", lambda a: a * 0),
                            "every label is 0"),
}


@pytest.mark.parametrize("damage", sorted(PREPARED_DAMAGE))
def test_a_damaged_prepared_folder_is_refused_then_rebuilt(tmp_path, damage) -> None:
    source = csv_source(small_csv(tmp_path / "raw.csv"), "y", ["a", "b", "c"])
    options = PrepareOptions(min_count=1)
    out = prepare_source(source, tmp_path / "prep", options, progress=False)
    good = load_prepared(out)
    change, named = PREPARED_DAMAGE[damage]
    change(out)
    with pytest.raises(DataError, match=re.escape(named)):
        load_prepared(out)                               # never trained on silently
    assert stale_reason(out, source, options) is not None   # not called up to date
    rebuilt = load_prepared(prepare_source(source, out, options, progress=False))
    assert np.array_equal(rebuilt.train.ids, good.train.ids)
    assert hidden(tmp_path) == []


def test_a_damaged_synthetic_preparation_is_rebuilt_on_the_next_load(home) -> None:
    config = DataConfig(preset="tiny", rows=2_000)
    first = load_dataset(config)
    folder = next((home / "data").iterdir())
    _truncate(folder / "teacher_logit.npy")
    with pytest.raises(DataError, match="teacher_logit.npy"):
        load_prepared(folder)
    again = load_dataset(config)
    assert np.array_equal(again.test.teacher_logit, first.test.teacher_logit)
    assert hidden(home / "data") == []
