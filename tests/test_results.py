"""The results store: round trip, cache hits, atomic writes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embcollapse import results as results_mod
from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from embcollapse.identity import run_id
from embcollapse.results import ResultsStore
from embcollapse.train import auc

CFG = RunConfig(data=DataConfig(preset="tiny", rows=8_000),
                model=ModelConfig(name="dnn", embed_dim=4, hyper={"mlp_dims": [16]}),
                train=TrainConfig(batch_size=1024, max_epochs=1))


def test_round_trip_and_cache_hit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultsStore(tmp_path)
    assert not store.has(CFG)
    first = store.load_or_run(CFG, device="cpu", progress=False)
    assert store.has(CFG) and first["run_id"] == run_id(CFG)
    assert first["config"]["model"]["hyper"] == {"mlp_dims": [16], "dropout": 0.2,
                                                 "projection": "nonlinear"}   # defaults filled
    assert set(first) >= {"history", "test", "valid", "field_ia", "singular_values",
                          "train_seconds", "device", "package_version", "git_commit"}
    state = store.load_state(CFG)
    assert any(k.endswith("embedding.weight") for k in state)
    labels, scores = store.load_test_predictions(first)
    assert labels.dtype == np.uint8 and scores.dtype == np.float32
    assert len(labels) == len(scores) == 800          # the 8/1/1 split's test rows
    assert auc(labels, scores) == pytest.approx(first["test"]["auc"], abs=1e-6)

    import embcollapse.train as train_mod

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(train_mod, "fit", no_training)
    assert store.load_or_run(CFG, device="cpu", progress=False) == first
    assert [r["run_id"] for r in store.records()] == [first["run_id"]]


def test_missing_run_is_a_key_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no stored run"):
        ResultsStore(tmp_path).load(CFG)


def test_a_run_stored_without_predictions_says_so(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.save({"run_id": "abc"})
    with pytest.raises(KeyError, match="test_predictions.npz"):
        store.load_test_predictions("abc")


def test_a_run_killed_while_saving_leaves_no_record(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    store = ResultsStore(tmp_path)
    record = {"run_id": "abc123abc123", "history": []}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(results_mod.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save(record, {"w": torch.zeros(2)})
    assert not store.run_dir("abc123abc123").exists()
    assert list((tmp_path / "runs").iterdir()) == []
    with pytest.raises(KeyError):
        store.load("abc123abc123")


def test_a_killed_training_leaves_no_record(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import embcollapse.train as train_mod

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "fit", killed)
    store = ResultsStore(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        store.load_or_run(CFG, device="cpu", progress=False)
    assert not store.has(CFG)


def fake_record(key: str, **extra: object) -> dict:
    """A record with every key the store requires (values meaningless)."""
    return {"run_id": key, "config": {}, "history": [], "best_epoch": 1,
            "valid": {"auc": 0.5}, "test": {"auc": 0.5}, "field_ia": [[1.0]], **extra}


def test_saving_again_replaces_the_record(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    store.save(fake_record("r1", value=1))
    store.save(fake_record("r1", value=2))
    assert store.load("r1")["value"] == 2
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["r1"]
    assert not (tmp_path / "damaged").exists()
