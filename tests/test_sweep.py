"""Sweeps: the plan is what the chapters read, and sweeps resume (local and submitit backends)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from embcollapse import grids, sweep
from embcollapse.chapters import CHAPTERS, chapter_params
from embcollapse.cli import main
from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig, load_profile
from embcollapse.identity import run_id
from embcollapse.results import ResultsStore


def tiny(seed: int, **data) -> RunConfig:
    return RunConfig(data=DataConfig(preset="tiny", rows=6_000, **data),
                     model=ModelConfig(name="dnn", embed_dim=4, hyper={"mlp_dims": [16]}),
                     train=TrainConfig(batch_size=1024, max_epochs=1), seed=seed)


def test_every_chapter_has_a_grid_and_the_plan_is_their_union() -> None:
    assert set(grids.GRIDS) == set(CHAPTERS)
    profile = load_profile("smoke")
    plan = sweep.plan(profile)
    keys = [run_id(c) for c in plan]
    assert len(keys) == len(set(keys)), "a run appears twice in the plan"
    wanted = {run_id(c) for chapter in CHAPTERS
              for c in grids.run_configs(profile, grids.chapter_runs(profile, chapter))}
    assert set(keys) == wanted


def test_multi_embedding_grid_pairs_single_and_multi_at_every_size() -> None:
    params = chapter_params(load_profile("paper"), "multi_embedding")
    runs = grids.multi_embedding(params)
    by = {(r.name, r.model["embed_dim"], r.model["num_sets"]) for r in runs}
    for name in params.models:
        base = 50 if name == "nfwfm" else 10
        for s in params.scales:
            assert (name, base * s, 1) in by
            assert s == 1 or (name, base, s) in by
        assert all(m == 1 or k == base for (n, k, m) in by if n == name), "ME sets of base K"


def test_data_size_grid_uses_nested_fractions() -> None:
    params = chapter_params(load_profile("paper"), "data_size")
    runs = grids.data_size(params)
    fractions = {r.data.get("fraction", 1.0) for r in runs}
    assert fractions == set(params.fractions)
    assert sum(r.model.get("num_sets", 1) == params.me_sets for r in runs) == len(fractions)


def test_a_chapters_seeds_apply_to_its_runs_only_and_explicit_seeds_win() -> None:
    from embcollapse.config import ConfigError, replace as merged

    profile = merged(load_profile("smoke"), {"seeds": [0], "chapters": {
        "regularized": {"embed_dims": [4, 8], "heatmap_embed_dim": 8, "seeds": [0, 1, 2]},
        "multi_embedding": {"models": ["dnn", "ipnn"], "scales": [1, 2], "field_ia_model": "dnn",
                            "field_ia_scale": 2, "seeds": [0, 1, 2],
                            "one_seed_models": ["ipnn"]}}})
    reg = grids.run_configs(profile, grids.chapter_runs(profile, "regularized"))
    assert sorted(c.seed for c in reg) == [0] * 4 + [1] * 4 + [2] * 4
    assert len(reg) == 12                                   # 2 models x 2 sizes x 3 seeds
    collapse = grids.run_configs(profile, grids.chapter_runs(profile, "collapse"))
    assert {c.seed for c in collapse} == {0}                # the profile's seeds
    me = grids.run_configs(profile, grids.chapter_runs(profile, "multi_embedding"))
    seeds_of = {}
    for c in me:
        seeds_of.setdefault(c.model.name, set()).add(c.seed)
    assert seeds_of == {"dnn": {0, 1, 2}, "ipnn": {0}}
    explicit = grids.run_configs(profile, grids.chapter_runs(profile, "regularized"), (5,))
    assert {c.seed for c in explicit} == {5} and len(explicit) == 4
    with pytest.raises(ConfigError, match="seeds"):
        chapter_params(merged(profile, {"chapters": {"collapse": {"seeds": []}}}), "collapse")


def test_theory_runs_use_the_chapter_seeds() -> None:
    profile = load_profile("paper")
    configs = grids.run_configs(profile, grids.chapter_runs(profile, "theory"), (0, 1, 2))
    assert sorted(c.seed for c in configs) == [0, 0, 1, 1, 2, 2]   # 2 runs, each over the seeds


def test_local_sweep_resumes_and_retries_failed_runs(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import embcollapse.train as train_mod

    store = ResultsStore(tmp_path)
    configs = [tiny(0), tiny(1)]
    real_fit, calls = train_mod.fit, []

    def flaky_fit(config, *args, **kwargs):
        calls.append(config.seed)
        if config.seed == 1 and calls.count(1) == 1:
            raise RuntimeError("CUDA out of memory (simulated)")
        return real_fit(config, *args, **kwargs)

    monkeypatch.setattr(train_mod, "fit", flaky_fit)
    first = sweep.run_local(sweep.to_run(configs, store), store, ["cpu"], progress=False)
    assert first.trained == [run_id(configs[0])]
    assert first.failed == {run_id(configs[1]): "RuntimeError: CUDA out of memory (simulated)"}
    now = sweep.state(configs, store)
    assert [run_id(c) for c in now.stored] == [run_id(configs[0])]
    assert now.failed == first.failed and not now.missing
    note = store.failures()[run_id(configs[1])]
    assert "flaky_fit" in note["traceback"] and note["config"]["seed"] == 1

    assert sweep.to_run(configs, store, retry_failed=False) == []
    second = sweep.run_local(sweep.to_run(configs, store), store, ["cpu"], progress=False)
    assert second.trained == [run_id(configs[1])] and not second.failed
    assert calls == [0, 1, 1], "the stored run was trained again"
    assert store.failures() == {} and sweep.to_run(configs, store) == []


def test_local_sweep_with_one_worker_per_device(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    configs = [tiny(0), tiny(1), tiny(2, path="", fraction=0.5)]
    result = sweep.run_local(configs, store, ["cpu", "cpu"], progress=False)
    assert sorted(result.trained) == sorted(run_id(c) for c in configs)
    assert all(store.has(c) for c in configs)


def test_slurm_backend_through_submitits_local_executor(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import slurm_tasks

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    store = ResultsStore(tmp_path / "store")
    good, bad = tiny(0), tiny(2)                    # bad (seed 2) fails inside its task
    options = sweep.SlurmOptions(folder=tmp_path / "logs", cluster="local", gpus_per_task=0,
                                 cpus_per_task=1, timeout_min=10, device="cpu")
    jobs = sweep.submit_slurm([good, bad], store, options, task=slurm_tasks.fail_seed_2)
    assert len(jobs) == 2
    result = sweep.wait_slurm(jobs, [good, bad], store, progress=False)
    assert result.trained == [run_id(good)] and store.has(good)
    assert list(result.failed) == [run_id(bad)]
    assert slurm_tasks.FAILURE in result.failed[run_id(bad)]
    assert run_id(bad) in store.failures()
    assert sweep.to_run([good, bad], store) == [bad]


def test_sweep_cli_status_and_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", "--profile", "smoke", "--chapter", "theory", "--results",
                 str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 runs: 0 stored, 0 failed, 2 not yet run" in out
    assert out.count("would train") == 2 and "would train ffm" in out
    assert main(["sweep", "--profile", "smoke", "--chapter", "no-such", "--results",
                 str(tmp_path)]) == 2
    assert "unknown chapter(s) no-such" in capsys.readouterr().err
    assert main(["sweep", "--profile", "smoke", "--backend", "ssh"]) == 2


def test_notebooks_of_a_paper_profile_read_only_the_store(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """With train_missing false a chapter never trains; it gets the stored runs only."""
    import yaml

    from embcollapse.report import ChapterContext

    path = tmp_path / "readonly.yaml"
    path.write_text(yaml.safe_dump({"device": "cpu", "seeds": [0, 1], "train_missing": False,
                                    "data": {"preset": "tiny", "rows": 6000},
                                    "train": {"batch_size": 1024, "max_epochs": 1}}))
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    ctx = ChapterContext(str(path))
    run = grids.Run({"name": "dnn", "embed_dim": 4, "hyper": {"mlp_dims": [16]}})
    assert ctx.runs([run]) == []
    ctx.store.load_or_run(ctx.run_config(run.model, seed=1), device="cpu", progress=False)
    records = ctx.runs([run])
    assert [r["config"]["seed"] for r in records] == [1]
    assert json.loads(json.dumps(records[0]))["run_id"] == records[0]["run_id"]


def test_datasets_are_prepared_once_before_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    import embcollapse.data as data_mod

    seen = []
    real = data_mod.load_dataset

    def counting(config):
        seen.append(config.fraction)
        return real(config)

    monkeypatch.setattr(data_mod, "load_dataset", counting)
    lines = sweep.prepare_data([tiny(0), tiny(1), tiny(0, fraction=0.3)])
    assert seen == [1.0] and lines == ["synthetic: 6,000 rows"]
    bad = RunConfig(data=DataConfig(name="criteo", path="/no/such/train.txt"),
                    model=tiny(0).model, train=tiny(0).train)
    with pytest.raises(Exception, match="/no/such/train.txt"):
        sweep.prepare_data([bad])


def test_cpu_workers_share_the_cores(monkeypatch) -> None:
    from embcollapse.config import ConfigError, replace as merged

    monkeypatch.setattr(sweep, "_cuda", lambda: False)
    assert sweep.local_devices("auto", 2) == ["cpu", "cpu"]
    assert sweep.local_devices("cpu", 1) == ["cpu"]
    assert sweep.local_devices("cuda", 2) == ["cuda"]          # a GPU trains one run at a time
    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 2)
    assert sweep.threads_per_worker(["cpu", "cpu"]) == 1
    assert sweep.threads_per_worker(["cpu"]) == 2
    monkeypatch.setattr(sweep.os, "cpu_count", lambda: 16)
    assert sweep.threads_per_worker(["cpu"] * 3) == 5
    with pytest.raises(ConfigError, match="cpu_workers"):
        merged(load_profile("smoke"), {"cpu_workers": 0})
