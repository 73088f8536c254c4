"""Run identity (issue 10): a run is its resolved configuration, its data's content and the
semantics version; and a multi-embedding run's IA is that of its sets side by side."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from embcollapse import identity
from embcollapse.analysis import run_field_ia, side_by_side_ia
from embcollapse.cli import main
from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig, replace
from embcollapse.data import synthetic
from embcollapse.data.dataset import prepared_directory, read_meta
from embcollapse.identity import hash_identity, run_id
from embcollapse.models import DNN
from embcollapse.models import registry
from embcollapse.report import per_set_ia, run_ia, runs_frame
from embcollapse.results import ResultsStore

TINY = DataConfig(preset="tiny", rows=3_000)
FAST = TrainConfig(batch_size=512, max_epochs=1)


def tiny_run(name: str = "dnn", data: DataConfig = TINY, **hyper) -> RunConfig:
    return RunConfig(data=data, model=ModelConfig(name=name, embed_dim=4, hyper=hyper),
                     train=FAST)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBCOLLAPSE_DATA", raising=False)
    return tmp_path / "home"


def train_args(raw: Path, store: Path, *extra: str) -> list[str]:
    return ["train", "--profile", "smoke", "--model", "dnn", "--embed-dim", "4", "--device",
            "cpu", "--hyper", "mlp_dims=[16]", "--data", "name=criteo", "--data",
            f"path={raw}", "--data", "min_count=2", "--results", str(store), *extra]


def last_json(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_appended_raw_rows_are_prepared_again_and_train_a_new_run(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = synthetic.write_criteo_txt(DataConfig(preset="criteo", seed=3), tmp_path / "train.txt",
                                     rows=3_000)
    extra = synthetic.write_criteo_txt(DataConfig(preset="criteo", seed=4),
                                       tmp_path / "extra.txt", rows=800)
    store = ResultsStore(tmp_path / "store")
    assert main(train_args(raw, store.root)) == 0
    first = store.load(last_json(capsys)["run_id"])

    with open(raw, "ab") as fh:                      # 800 more rows in the same file
        fh.write(extra.read_bytes())
    assert main(train_args(raw, store.root)) == 0
    second = store.load(last_json(capsys)["run_id"])
    assert second["run_id"] != first["run_id"]
    assert second["data_fingerprint"] != first["data_fingerprint"]
    assert (first["train_rows"], second["train_rows"]) == (2_400, 3_040)
    prepared = [read_meta(d) for d in (home / "data").iterdir()]
    assert [m["rows"] for m in prepared] == [3_800], "the raw file was not prepared again"
    assert sorted(r["run_id"] for r in store.records()) == sorted([first["run_id"],
                                                                   second["run_id"]])

    import embcollapse.train as train_mod

    def no_training(*args, **kwargs):
        raise AssertionError("an unchanged run was trained again")

    monkeypatch.setattr(train_mod, "fit", no_training)
    assert main(train_args(raw, store.root)) == 0             # unchanged: the stored run
    assert last_json(capsys)["run_id"] == second["run_id"]


def test_one_prepared_folder_by_any_path_or_copy_is_one_run(
        tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "prep"
    shutil.copytree(prepared_directory(TINY), folder)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    absolute = run_id(tiny_run(data=DataConfig(name=str(folder))))
    assert run_id(tiny_run(data=DataConfig(name="../prep"))) == absolute
    shutil.copytree(folder, tmp_path / "copy")
    assert run_id(tiny_run(data=DataConfig(name=str(tmp_path / "copy")))) == absolute
    assert run_id(tiny_run()) == absolute          # by the configuration that generated it
    # what selects rows of the data is part of the run; other data is another run
    assert run_id(tiny_run(data=DataConfig(name="../prep", fraction=0.5))) != absolute
    assert run_id(tiny_run(data=DataConfig(name="../prep", split_seed=1))) != absolute
    assert run_id(tiny_run(data=replace(TINY, {"seed": 1}))) != absolute


def test_the_same_raw_content_at_two_paths_is_one_run(tmp_path: Path, home: Path) -> None:
    a = synthetic.write_criteo_txt(DataConfig(preset="criteo", seed=5), tmp_path / "a.txt",
                                   rows=500)
    b = tmp_path / "elsewhere" / "train.txt"
    b.parent.mkdir()
    shutil.copy(a, b)
    runs = [tiny_run(data=DataConfig(name="criteo", path=str(p), min_count=2)) for p in (a, b)]
    assert prepared_directory(runs[0].data) != prepared_directory(runs[1].data)
    assert run_id(runs[0]) == run_id(runs[1])


def test_a_changed_default_is_a_new_run(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reg = tiny_run("dcnv2-reg")
    before = run_id(reg)
    assert run_id(tiny_run("dcnv2-reg", orthogonal_weight=1e-5)) == before  # spelled out: same
    assert run_id(tiny_run("dcnv2", orthogonal_weight=1e-5)) != before      # another name
    spec = registry.MODELS["dcnv2-reg"]
    monkeypatch.setitem(registry.MODELS, "dcnv2-reg",
                        registry.ModelSpec(spec.cls, {"orthogonal_weight": 1e-4}))
    assert run_id(reg) != before

    dnn = tiny_run("dnn")
    before = run_id(dnn)
    defaults = DNN.__init__.__defaults__
    assert defaults[3] == 0.2                                   # dropout
    monkeypatch.setattr(DNN.__init__, "__defaults__", (*defaults[:3], 0.3, *defaults[4:]))
    assert run_id(dnn) != before
    assert identity.resolve(dnn).model.hyper["dropout"] == 0.3


def test_integer_for_a_float_default_is_the_same_run(home: Path) -> None:
    assert run_id(tiny_run("dnn", dropout=0)) == run_id(tiny_run("dnn", dropout=0.0))


def test_a_semantics_version_bump_is_a_new_run(home: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    before = run_id(tiny_run())
    monkeypatch.setattr(identity, "SEMANTICS_VERSION", identity.SEMANTICS_VERSION + 1)
    assert run_id(tiny_run()) != before


def test_the_record_holds_the_three_parts_of_its_id(tmp_path: Path, home: Path) -> None:
    config = tiny_run(mlp_dims=[8])
    record = ResultsStore(tmp_path / "store").load_or_run(config, device="cpu", progress=False)
    assert record["config"]["model"]["hyper"] == {"mlp_dims": [8], "dropout": 0.2,
                                                  "projection": "nonlinear"}
    assert record["semantics_version"] == identity.SEMANTICS_VERSION
    assert len(record["data_fingerprint"]) == 64
    assert hash_identity(record["config"], record["data_fingerprint"],
                         record["semantics_version"]) == record["run_id"] == run_id(config)
    assert hash_identity(record["config"], "0" * 64, record["semantics_version"]) \
        != record["run_id"]


# --------------------------------------------------------------------------- ME's IA

def orthogonal_sets() -> list[list[torch.Tensor]]:
    """Two sets, one field: each set's table has rank one (IA 1), in orthogonal row directions,
    so side by side the field's (6, 4) table has two equal singular values (IA 2)."""
    u = torch.tensor([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    v = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    e = torch.tensor([1.0, 0.0])
    return [[torch.outer(u, e)], [torch.outer(v, e)]]


def test_me_ia_is_the_concatenated_tables_not_the_mean_over_sets() -> None:
    concatenated, per_set = run_field_ia(orthogonal_sets())
    assert per_set.shape == (2, 1) and per_set.ravel().tolist() == pytest.approx([1.0, 1.0])
    assert concatenated.tolist() == pytest.approx([2.0])
    record = {"field_ia_concat": concatenated.tolist(), "field_ia": per_set.tolist()}
    assert run_ia(record) == pytest.approx(2.0) and per_set_ia(record) == pytest.approx([1, 1])
    single = [[torch.outer(torch.arange(6.0), torch.tensor([1.0, 2.0]))]]
    assert run_field_ia(single)[0].tolist() == run_field_ia(single)[1][0].tolist()


def test_cli_and_frames_report_me_ia_of_the_sets_side_by_side(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ResultsStore(tmp_path / "store")
    assert main(["train", "--profile", "smoke", "--model", "dnn", "--embed-dim", "4",
                 "--num-sets", "3", "--device", "cpu", "--data", "rows=3000", "--hyper",
                 "mlp_dims=[16]", "--results", str(store.root)]) == 0
    out = last_json(capsys)
    record = store.load(out["run_id"])
    tables = store.load_model(record).embedding_tables()
    side_by_side = float(np.mean(side_by_side_ia(tables)))
    sets = run_field_ia(tables)[1].mean(axis=1).tolist()
    assert out["mean_ia"] == pytest.approx(side_by_side, rel=1e-6)
    assert out["mean_ia_per_set"] == pytest.approx(sets, rel=1e-6)
    assert abs(out["mean_ia"] - np.mean(sets)) > 0.1, "the case does not tell the two apart"
    frame = runs_frame([record])
    assert frame.mean_ia.iloc[0] == pytest.approx(side_by_side, rel=1e-6)
    assert frame.mean_ia_per_set.iloc[0] == pytest.approx(np.mean(sets), rel=1e-6)
    assert record["history"][-1]["mean_ia"] == pytest.approx(side_by_side, rel=1e-6)


def test_a_sweep_reports_a_run_whose_data_is_missing_without_an_id(tmp_path: Path,
                                                                  home: Path) -> None:
    from embcollapse import sweep

    bad = tiny_run(data=DataConfig(name="criteo", path=str(tmp_path / "no-such.txt")))
    store = ResultsStore(tmp_path / "store")
    result = sweep.run_local([bad], store, ["cpu"], progress=False)
    assert list(result.failed) == ["dnn K=4 M=1 seed=0 (criteo)"] and not result.trained
    assert "no-such.txt" in result.failed["dnn K=4 M=1 seed=0 (criteo)"]
    assert store.failures() == {}
