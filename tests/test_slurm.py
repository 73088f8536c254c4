"""Sweeps against a real Slurm (issue 21): ``sbatch`` array jobs through submitit, one task per
run, records in the shared store, failures with their Slurm job id and log, ``scancel``, and a
resubmission of what is missing. The cluster (tests/slurm_cluster.py) runs on localhost; the
tests skip, saying why, where Slurm and munge are not installed (.ci/run installs them)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from embcollapse import sweep
from embcollapse.cli import main
from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from embcollapse.identity import run_id
from embcollapse.results import ResultsStore

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
SLURM_ARGS = ["--backend", "slurm", "--slurm-cpus", "1", "--slurm-gpus", "0", "--slurm-mem",
              "1", "--slurm-time", "10"]


def tiny(seed: int, **hyper) -> RunConfig:
    return RunConfig(data=DataConfig(preset="tiny", rows=6_000),
                     model=ModelConfig(name="dnn", embed_dim=4, hyper={"mlp_dims": [16], **hyper}),
                     train=TrainConfig(batch_size=1024, max_epochs=1), seed=seed)


def options(tmp_path: Path, **kw) -> sweep.SlurmOptions:
    return sweep.SlurmOptions(folder=tmp_path / "logs", cluster="slurm", gpus_per_task=0,
                              cpus_per_task=1, mem_gb=1, timeout_min=10, device="cpu", **kw)


def array_tasks(cluster, job: str) -> list[str]:
    """The ids of the tasks of array job ``job`` that Slurm knows of (finished ones too)."""
    out = cluster.command("scontrol", "show", "job", "-o", job)
    return sorted(f"{a}_{t}" for a, t in re.findall(r"ArrayJobId=(\d+) ArrayTaskId=(\d+)", out))


def wait_for(what, timeout_s: float = 180.0, poll_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def test_a_smoke_sweep_as_a_slurm_array_then_status_then_only_the_missing_run(
        slurm_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "store"
    base = ["sweep", "--profile", "smoke", "--chapter", "theory", "--results", str(results)]
    # one task at a time: the wait must not take the pending task for one that ended
    assert main([*base, *SLURM_ARGS, "--slurm-parallelism", "1", "--wait"]) == 0
    out = capsys.readouterr().out
    job = re.search(r"submitted 2 tasks as job (\d+); logs in (\S+)", out)
    assert job, out
    assert array_tasks(slurm_cluster, job[1]) == [f"{job[1]}_0", f"{job[1]}_1"]
    assert "ArrayTaskThrottle=1" in slurm_cluster.command("scontrol", "show", "job", job[1])
    assert out.count("[sweep] theory ") == 2 and "valid AUC" in out        # a line per run
    assert "trained 2, failed 0" in out
    store = ResultsStore(results)
    records = list(store.records())
    assert len(records) == 2 and {r["device"] for r in records} == {"cpu"}
    assert (Path(job[2]) / f"{job[1]}_0_0_log.out").is_file()

    assert main([*base, "--status"]) == 0
    assert "2 runs: 2 stored, 0 failed, 0 not yet run" in capsys.readouterr().out

    lost = records[0]["run_id"]                       # one run lost: only it is submitted
    for path in sorted((results / "runs" / lost).iterdir()):
        path.unlink()
    (results / "runs" / lost).rmdir()
    assert main([*base, *SLURM_ARGS, "--wait"]) == 0
    out = capsys.readouterr().out
    again = re.search(r"submitted 1 tasks as job (\d+)", out)     # submitit: one task, no array
    shown = slurm_cluster.command("scontrol", "show", "job", "-o", again[1])
    assert "JobName=embcollapse-sweep" in shown and "ArrayTaskId" not in shown
    assert store.status(lost) == "stored"
    assert main([*base, *SLURM_ARGS, "--wait"]) == 0              # nothing left: no job
    out = capsys.readouterr().out
    assert "submitted" not in out and "2 runs: 2 stored" in out


def test_failing_and_cancelled_tasks_then_a_resubmission_of_what_is_missing(
        slurm_cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import slurm_tasks

    saving = tmp_path / "saving.txt"
    monkeypatch.setenv("EMBCOLLAPSE_TEST_SAVING", str(saving))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])]))
    store = ResultsStore(tmp_path / "store")
    good, paused, bad = tiny(0), tiny(1), tiny(2)      # bad (seed 2) fails inside its task
    configs = [good, paused, bad]
    sweep.prepare_data(configs)
    keys = [run_id(c) for c in configs]
    jobs = sweep.submit_slurm(configs, store, options(tmp_path), task=slurm_tasks.pause_in_save)
    array = jobs[0].job_id.split("_")[0]
    assert [j.job_id for j in jobs] == [f"{array}_{i}" for i in range(3)]

    # task 1 stops inside its save; tasks 0 and 2 finish (2 CPUs: task 2 starts after 0)
    half = Path(wait_for(lambda: saving.is_file() and saving.read_text()))
    assert half.is_dir() and (half / "record.json").is_file() and half.name.startswith(".")
    wait_for(lambda: store.status(keys[0]) == "stored" and store.failure_path(keys[2]).exists())
    slurm_cluster.command("scancel", array)
    result = sweep.wait_slurm(jobs, configs, store, progress=False, poll_s=0.5, grace_s=1.0)

    assert result.trained == [keys[0]]
    assert set(result.failed) == {keys[1], keys[2]}
    log = tmp_path / "logs" / f"{array}_2_0_log.err"
    assert slurm_tasks.FAILURE in result.failed[keys[2]]
    assert f"[Slurm job {array}_2, log {log}]" in result.failed[keys[2]]
    assert slurm_tasks.FAILURE in log.read_text()             # the log holds the traceback
    assert re.search(rf"Slurm task {array}_1 ended (CANCELLED|UNKNOWN)", result.failed[keys[1]])
    assert f"[Slurm job {array}_1, log " in result.failed[keys[1]]

    # the cancelled save left no record: only its hidden temporary folder, never listed
    assert store.status(keys[1]) == "missing" and not (store.root / "runs" / keys[1]).exists()
    assert [r["run_id"] for r in store.records()] == [keys[0]]
    state = sweep.state(configs, store)
    assert [run_id(c) for c in state.stored] == [keys[0]]
    assert f"Slurm job {array}_2" in state.failed[keys[2]]      # also in `sweep --status`
    assert f"Slurm job {array}_1" in state.failed[keys[1]]

    # a resubmission trains only what is missing (the bad run is left out here)
    todo = [c for c in sweep.to_run(configs, store) if c is not bad]
    assert todo == [paused]
    again = sweep.submit_slurm(todo, store, options(tmp_path))
    assert len(again) == 1
    second = sweep.wait_slurm(again, todo, store, progress=False, poll_s=0.5)
    assert second.trained == [keys[1]] and not second.failed
    assert sorted(r["run_id"] for r in store.records()) == sorted(keys[:2])
    assert not half.exists(), "the killed save's temporary folder was not cleaned up"
    assert keys[1] not in store.failures()
