"""benchmarks/variance.py (issue 25) in its dry mode: the table and JSON are computed from the
stored runs it trained, each condition varies the source it names, and a second call reuses
the runs."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import variance  # noqa: E402

from embcollapse.config import load_profile  # noqa: E402
from embcollapse.identity import run_id  # noqa: E402
from embcollapse.results import ResultsStore  # noqa: E402

pytestmark = pytest.mark.slow
CONDITIONS = ["all", "init", "valid"]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("variance")
    assert variance.main(["--dry", "--replicates", "2", "--conditions", ",".join(CONDITIONS),
                          "--out", str(out)]) == 0
    return json.loads((out / "variance_smoke.json").read_text())


def stored(condition: str, arm: str, s: int) -> dict:
    profile = load_profile("smoke")
    config = variance.condition_run(profile, variance.ARMS[arm], condition, s,
                                    variance.DRY_VALID_ROWS)
    return ResultsStore().load(config)


def test_rows_are_computed_from_the_stored_runs(report) -> None:
    rows = {(r["condition"], r["what"]): r for r in report["rows"]}
    assert list(dict.fromkeys(c for c, _ in rows)) == CONDITIONS
    for condition in CONDITIONS:
        records = {arm: [stored(condition, arm, s) for s in (0, 1)] for arm in variance.ARMS}
        for arm, recs in records.items():
            row = rows[condition, arm]
            aucs = [r["test"]["auc"] for r in recs]
            assert row["replicates"] == 2
            assert row["mean"] == pytest.approx(np.mean(aucs), abs=1e-12)
            assert row["sd"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-12)
            chi = stats.chi2.ppf([0.975, 0.025], 1)
            assert row["sd_low"] == pytest.approx(row["sd"] / math.sqrt(chi[0]))
            assert row["sd_high"] == pytest.approx(row["sd"] / math.sqrt(chi[1]))
            assert row["mean_best_epoch"] == np.mean([r["best_epoch"] for r in recs])
            assert 0 < row["mean_delong_se"] < 0.05
        # the paired ME - SE difference per replicate: the two runs' AUCs on the same test rows
        diffs = [me["test"]["auc"] - se["test"]["auc"]
                 for me, se in zip(records["ME"], records["SE"])]
        row = rows[condition, "ME - SE"]
        assert row["replicates"] == 2
        assert row["mean"] == pytest.approx(np.mean(diffs), abs=1e-5)
        assert row["sd"] == pytest.approx(np.std(diffs, ddof=1), abs=1e-5)
        assert 0 < row["mean_delong_se"] < rows[condition, "SE"]["mean_delong_se"] * 2
    listed = {(r["condition"], r["arm"], r["replicate"]): r for r in report["runs"]}
    assert len(listed) == len(CONDITIONS) * 2 * 2
    assert listed["init", "ME", 1]["test_auc"] == stored("init", "ME", 1)["test"]["auc"]


def test_each_condition_varies_what_it_names(report) -> None:
    profile = load_profile("smoke")
    for s in (0, 1):
        for arm, model in variance.ARMS.items():
            # all: exactly the profile's own runs (a book's stored runs are reused)
            assert stored("all", arm, s)["run_id"] == run_id(profile.run_config(model, seed=s))
            train = stored("init", arm, s)["config"]["train"]
            assert (train["init_seed"], train["order_seed"], train["dropout_seed"]) == (s, 0, 0)
            valid = stored("valid", arm, s)
            assert valid["config"]["data"]["valid_rows"] == variance.DRY_VALID_ROWS
            assert valid["config"]["seed"] == s and "init_seed" not in valid["config"]["train"]
    assert report["estimate"]["runs"] == len(CONDITIONS) * 2 * 2         # nothing was stored
    assert report["estimate"]["cpu_min"]["fewest"] <= report["estimate"]["cpu_min"]["most"]


def test_a_second_call_trains_nothing_and_gives_the_same_table(report, tmp_path, capsys) -> None:
    assert variance.main(["--dry", "--replicates", "2", "--conditions", ",".join(CONDITIONS),
                          "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "variance_smoke.json").read_text())
    assert again["estimate"]["runs"] == 0 and again["rows"] == report["rows"]
    assert "0 to train" in capsys.readouterr().out


def test_runs_shared_by_conditions_are_trained_once(tmp_path, monkeypatch) -> None:
    """init and order at replicate 0 are one run (all three seeds 0): planned and trained once."""
    profile = load_profile("smoke")
    plan = variance.study_plan(profile, ["init", "order", "dropout"], 2, 10)
    assert len(plan) == 12 and len({run_id(c) for *_, c in plan}) == 12 - 2 * 2
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))      # an empty store
    assert variance.main(["--dry", "--replicates", "2", "--conditions", "init,order",
                          "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "variance_smoke.json").read_text())
    assert report["estimate"]["runs"] == 2 * 3          # per arm: the shared s=0, init 1, order 1
    runs = {(r["condition"], r["arm"], r["replicate"]): r["run_id"] for r in report["runs"]}
    assert runs["init", "SE", 0] == runs["order", "SE", 0] != runs["order", "SE", 1]


def test_bad_flags_are_refused() -> None:
    with pytest.raises(SystemExit):
        variance.parse_args(["--conditions", "all,seeds"])
    with pytest.raises(SystemExit):
        variance.parse_args(["--replicates", "1"])
