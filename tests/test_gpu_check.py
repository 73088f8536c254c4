"""The GPU check (benchmarks/gpu_check.py, issue 21) in its dry mode: every part runs on the
CPU at tiny sizes and writes its JSON. It has not run on a GPU (none was lent)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import gpu_check  # noqa: E402

pytestmark = pytest.mark.slow


def test_the_dry_run_does_every_part_on_the_cpu(tmp_path: Path) -> None:
    assert gpu_check.main(["--dry", "--out", str(tmp_path), "--budget-s", "300"]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    parts = report["parts"]
    assert list(parts) == ["environment", "batched_vs_loop", "paper_steps", "train_step",
                           "table1_profile", "criteo_epoch"]
    assert all(p["status"] == "done" and p.get("ok", True) for p in parts.values()), parts
    loop = parts["batched_vs_loop"]["models"]
    assert {r["model"] for r in loop} == set(gpu_check.MODELS) and all(r["ok"] for r in loop)
    steps = parts["paper_steps"]["models"]
    assert {"dcnv2", "dnn", "ipnn", "nfwfm", "xdeepfm", "finalmlp", "autoint"} <= \
        {r["model"].split()[0] for r in steps}
    assert any(" M=1" in r["model"] for r in steps) and any(" M=2" in r["model"] for r in steps)
    assert (tmp_path / "train_step.json").is_file()
    assert parts["train_step"]["target_5x"] is None        # no GPU: the target is not measured
    epoch = parts["criteo_epoch"]
    assert epoch["complete"] and epoch["steps_done"] == epoch["steps_per_epoch"]
    # table1-gpu: its 1x models timed, each run's projection from its step and evaluation
    # costs, and the profile's hours the sum over its runs (5 seeds of each)
    table1 = parts["table1_profile"]
    timed = table1["models"]
    assert {r["model"] for r in timed} == {"dnn K=10 M=1", "ipnn K=10 M=1", "nfwfm K=50 M=1",
                                           "dcnv2 K=10 M=1"}
    assert table1["runs"] == 140 and table1["runs_timed"] == 4 * 5
    assert table1["train_rows"] == round(45_840_617 * 0.8) and table1["test_rows"] == 20_000_000
    for r in timed:
        epoch_s = (-(-table1["train_rows"] // 2048) * r["step_seconds"]
                   + table1["valid_rows"] / r["eval_rows_per_second"])
        assert r["epoch_seconds_projected"] == pytest.approx(epoch_s, rel=1e-3, abs=0.1)
        run_s = table1["epochs_assumed"] * epoch_s + 20_000_000 / r["eval_rows_per_second"]
        assert r["run_hours_projected"] == pytest.approx(run_s / 3600, rel=1e-3, abs=1e-3)
    assert table1["gpu_hours_projected"] == pytest.approx(
        5 * sum(r["run_hours_projected"] for r in timed), rel=1e-2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_real_check_says_so(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"),
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "no CUDA device" in done.stderr
