"""Two builds of one commit on one machine agree: the same records, claims and summary.

Two "fresh builds" (each its own home: prepared data, results store, claims) execute the
collapse chapter of a small smoke grid (2 models x 2 sizes x 2 seeds) through ``book run``,
which trains the runs in a sweep of two CPU worker processes (``cpu_workers: 2``) and then
executes the notebook. Their records (test metrics, histories, per-field IA and spectra, test
predictions, weights), their claims and their summary must be identical, bit for bit; so must
a run trained in this process with two torch threads (as a notebook kernel or
``embcollapse train`` does) and the same run trained by a sweep worker (one thread).

Only what a build cannot reproduce is left out of the comparison: wall-clock seconds and the
time a record or claim was written (:data:`VOLATILE`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from embcollapse import book, claims, paths, sweep
from embcollapse.config import load_profile
from embcollapse.identity import run_id
from embcollapse.results import ResultsStore
from embcollapse.sweep import plan

pytestmark = pytest.mark.slow      # executes a notebook twice (about a minute on 2 cores)

CHAPTER = "01_embedding_collapse"
VOLATILE = {"train_seconds", "saved", "time", "recorded"}   # clock readings, nothing else


def small_profile(folder: Path) -> Path:
    """The smoke profile with two CPU workers, two seeds, half its rows and a 2 x 2 collapse
    grid."""
    values = yaml.safe_load((paths.profiles_dir() / "smoke.yaml").read_text())
    values.update({"cpu_workers": 2, "seeds": [0, 1],
                   "description": "smoke, two CPU workers: the determinism test"})
    values["data"]["rows"] = 10_000
    values["chapters"]["collapse"] = {"models": ["dcnv2", "dnn"], "embed_dims": [4, 8],
                                      "field_ia_embed_dim": 8}
    path = folder / "determinism.yaml"
    path.write_text(yaml.safe_dump(values, sort_keys=False))
    return path


def without_clock(value: Any) -> Any:
    """``value`` (a record, claim or summary row) without its clock readings: the keys of
    :data:`VOLATILE` and every history entry's ``seconds``."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items()
                if k not in VOLATILE and not (k == "seconds" and "epoch" in value)}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The top-level keys whose values differ between ``a`` and ``b``, clock readings left out
    (compared as canonical JSON, so NaN equals NaN and 0.1 is compared bit for bit)."""
    a, b = without_clock(a), without_clock(b)
    return sorted(k for k in a.keys() | b.keys()
                  if json.dumps(a.get(k), sort_keys=True) != json.dumps(b.get(k), sort_keys=True))


def stored_run(store: ResultsStore, key: str) -> dict[str, Any]:
    """A stored run as one mapping: its record, its test predictions and its weights."""
    labels, scores = store.load_test_predictions(key)
    state = store.load_state(key)
    return {**store.load(key),
            "test_predictions": [labels.tobytes().hex(), scores.tobytes().hex()],
            "weights": {name: t.numpy().tobytes().hex() for name, t in state.items()}}


class Build:
    """One fresh build of the chapter: its home, profile and build key."""

    def __init__(self, home: Path, profile: Path) -> None:
        self.home, self.profile = home, profile
        self.key = claims.build_key(load_profile(profile))

    @property
    def store(self) -> ResultsStore:
        return ResultsStore(self.home / "results")

    def claims(self) -> dict[str, dict[str, Any]]:
        return {k: without_clock(v) for k, v in claims.stored_claims(self.key).items()}

    def summary(self) -> list[dict[str, Any]]:
        return without_clock(claims.summary_frame(self.key).to_dict("records"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Build, Build]:
    root = tmp_path_factory.mktemp("determinism")
    profile = small_profile(root)
    out = []
    mp = pytest.MonkeyPatch()
    # the plan's time estimate from timed training steps: 15 s per build, no part of a result
    mp.setattr(sweep, "_timed_estimate", lambda *args, **kwargs: lambda config: None)
    try:
        for name in ("first", "second"):
            home = root / name
            mp.setenv("EMBCOLLAPSE_HOME", str(home))
            book.run_chapters(str(profile), chapters=[CHAPTER], out_dir=home / "executed")
            out.append(Build(home, profile))
    finally:
        mp.undo()
    return out[0], out[1]


@pytest.fixture
def in_build(monkeypatch: pytest.MonkeyPatch):
    """Look at a build: its home becomes this process's home."""
    def enter(build: Build) -> Build:
        monkeypatch.setenv("EMBCOLLAPSE_HOME", str(build.home))
        return build
    return enter


def test_two_fresh_builds_store_identical_runs(builds: tuple[Build, Build], in_build) -> None:
    first, second = builds
    keys = [run_id(c) for c in plan(load_profile(first.profile), ["collapse"])]
    assert len(keys) == 8
    runs = {}
    for build in builds:
        in_build(build)
        runs[build.home.name] = {k: stored_run(build.store, k) for k in keys}
    assert {k for k in keys if runs["first"][k]["torch_threads"] == 1} == set(keys)
    differing = {k: differences(runs["first"][k], runs["second"][k]) for k in keys}
    assert not any(differing.values()), f"runs that differ between the builds: {differing}"


def test_two_fresh_builds_record_identical_claims_and_summary(builds: tuple[Build, Build],
                                                              in_build) -> None:
    first, second = builds
    assert first.key == second.key
    found = {}
    for build in builds:
        in_build(build)
        found[build.home.name] = (build.claims(), build.summary())
    (claims_a, summary_a), (claims_b, summary_b) = found["first"], found["second"]
    assert set(claims_a) == set(claims.items_of([CHAPTER])) >= {"Figure 1a", "Figure 2"}
    assert all(c["status"] != "not run" for c in claims_a.values()), claims_a
    differing = {k: differences(claims_a[k], claims_b[k]) for k in claims_a}
    assert claims_a.keys() == claims_b.keys() and not any(differing.values()), differing
    assert summary_a == summary_b


def test_a_run_trained_in_a_two_thread_process_equals_the_sweep_workers(
        builds: tuple[Build, Build], in_build, tmp_path: Path) -> None:
    """A notebook kernel (or ``embcollapse train``) trains in a process with the machine's
    torch threads; its run must be the one a one-thread sweep worker stored."""
    build = in_build(builds[0])
    configs = plan(load_profile(build.profile), ["collapse"])
    chosen = [c for c in configs if (c.model.name, c.model.embed_dim, c.seed)
              in {("dcnv2", 8, 1), ("dnn", 4, 0)}]
    assert len(chosen) == 2
    here = ResultsStore(tmp_path / "here")
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for config in chosen:
            here.load_or_run(config, device="cpu", progress=False)
    finally:
        torch.set_num_threads(threads)
    for config in chosen:
        key = run_id(config)
        assert differences(stored_run(here, key), stored_run(build.store, key)) == [], key


def test_the_comparison_sees_a_difference(builds: tuple[Build, Build], in_build) -> None:
    """The check above can fail: two seeds of one run differ in every measured part."""
    build = in_build(builds[0])
    configs = plan(load_profile(build.profile), ["collapse"])
    seed0, seed1 = (next(c for c in configs if c.model.name == "dcnv2"
                         and c.model.embed_dim == 8 and c.seed == s) for s in (0, 1))
    a, b = stored_run(build.store, run_id(seed0)), stored_run(build.store, run_id(seed1))
    assert {"test", "history", "field_ia", "singular_values", "test_predictions",
            "weights"} <= set(differences(a, b))
    assert differences(a, {**a, "test": {**a["test"], "auc": np.nextafter(a["test"]["auc"], 1)}}
                       ) == ["test"]
    assert differences(a, {**a, "train_seconds": 0.0, "saved": "never"}) == []
