"""The command line: clear errors, and a run trained from the shell lands in the store."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from embcollapse.cli import main


def test_profiles_lists_and_shows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profiles"]) == 0
    assert "smoke:" in capsys.readouterr().out
    assert main(["profiles", "smoke"]) == 0
    assert json.loads(capsys.readouterr().out)["data"]["preset"] == "tiny"


def test_unknown_model_profile_and_hyper_are_clear_errors(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    assert main(["train", "--profile", "smoke", "--model", "dcnv3"]) == 2
    assert "unknown model 'dcnv3'" in capsys.readouterr().err
    assert main(["train", "--profile", "smok"]) == 2
    assert "unknown profile 'smok'" in capsys.readouterr().err
    assert main(["train", "--profile", "smoke", "--model", "dnn", "--hyper", "dropuot=0.1",
                 "--results", str(tmp_path)]) == 2
    assert "dropuot" in capsys.readouterr().err


def test_train_prints_metrics_and_stores_the_run(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    args = ["train", "--profile", "smoke", "--model", "dnn", "--embed-dim", "4", "--device",
            "cpu", "--data", "rows=5000", "--hyper", "mlp_dims=[16]", "--results", str(tmp_path)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 < out["test"]["auc"] < 1.0 and out["device"] == "cpu"
    assert (tmp_path / "runs" / out["run_id"] / "record.json").is_file()
