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
                           "criteo_epoch"]
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_the_real_check_says_so(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu_check.py"),
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2 and "no CUDA device" in done.stderr
