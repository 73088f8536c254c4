"""Your own data in three commands (prepare, train or sweep, book run), real data without
synthetic-only settings, the epoch-cap flag, and every chapter on MovieLens-100K."""
from __future__ import annotations

import dataclasses

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from embcollapse.cli import main
from embcollapse.config import (SYNTHETIC_ONLY, DataConfig, ModelConfig, RunConfig, TrainConfig,
                                load_profile, to_dict)

TINY_CHAPTERS = {"collapse": {"models": ["dnn"], "embed_dims": [2, 4], "spectrum_model": "dnn",
                              "field_ia_embed_dim": 4}}


def write_clicks(path: Path, rows: int = 1500, seed: int = 0) -> Path:
    """A CSV with a ``click`` label and five categorical columns, the label depending on two."""
    rng = np.random.default_rng(seed)
    cols = {c: rng.integers(0, k, rows) for c, k in zip("abcde", (4, 30, 12, 60, 3))}
    logit = (cols["a"] - 1.5) + np.sin(cols["b"]) + rng.normal(0, 1, rows)
    lines = ["user_kind,click,item,slot,page,device"]
    lines += [f"k{a},{int(z > 0)},i{b},{c},p{d},d{e}" for a, b, c, d, e, z in
              zip(cols["a"], cols["b"], cols["c"], cols["d"], cols["e"], logit)]
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_profile(tmp_path: Path) -> Path:
    """A profile of seconds: one seed, one epoch, the collapse chapter with two sizes."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({
        "description": "seconds", "device": "cpu", "seeds": [0],
        "train": {"batch_size": 256, "max_epochs": 1, "patience": 1, "eval_batch_size": 1024},
        "chapters": TINY_CHAPTERS}))
    return path


def train_json(capsys: pytest.CaptureFixture, *args: str) -> dict:
    assert main(["train", *args]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def home() -> Path:
    return Path(os.environ["EMBCOLLAPSE_HOME"])


def test_three_commands_on_a_generated_csv(tmp_path: Path, capsys: pytest.CaptureFixture
                                           ) -> None:
    """prepare prints the name and the next commands; train by that name and by the raw
    file's path are one run (one preparation, reused); book run of one chapter goes to --out
    and names the file, not the prepared folder."""
    import nbformat

    raw = write_clicks(tmp_path / "my clicks.csv")
    profile = str(tiny_profile(tmp_path))
    assert main(["data", "prepare", "csv", str(raw)]) == 0     # label guessed: click
    said = capsys.readouterr().out
    name = re.search(r"Its name: (\S+)", said).group(1)
    assert name == "csv-my_clicks"
    assert f"embcollapse train --profile smoke --data name={name}" in said
    assert f"embcollapse book run --profile smoke --data name={name}" in said
    meta = json.loads((home() / "data" / name / "meta.json").read_text())
    assert meta["field_names"] == ["user_kind", "item", "slot", "page", "device"]

    model = ["--model", "dnn", "--embed-dim", "4"]
    by_name = train_json(capsys, "--profile", profile, "--data", f"name={name}", *model)
    prepared = sorted(p.name for p in (home() / "data").iterdir())
    by_path = train_json(capsys, "--profile", profile, "--data", "name=csv", "--data",
                         f"path={raw}", *model)
    assert by_path["run_id"] == by_name["run_id"]
    assert sorted(p.name for p in (home() / "data").iterdir()) == prepared   # reused
    record = json.loads((home() / "results" / "runs" / by_name["run_id"] / "record.json"
                         ).read_text())
    assert not set(SYNTHETIC_ONLY) & set(record["config"]["data"])
    assert "teacher_test_auc" not in record and record["hit_epoch_cap"] is True

    assert main(["sweep", "--profile", profile, "--data", f"name={name}", "--chapter",
                 "collapse", "--status"]) == 0
    assert "2 runs: 1 stored" in capsys.readouterr().out   # dnn K=2 and K=4, K=4 trained

    out = tmp_path / "out"
    assert main(["book", "run", "--profile", profile, "--data", f"name={name}",
                 "--chapter", "collapse", "--out", str(out)]) == 0
    capsys.readouterr()
    page, = (out / "executed").glob("*/01_embedding_collapse.ipynb")
    assert page.parent.name == f"tiny-{name}"
    notebook = nbformat.read(page, as_version=4)
    shown = "".join(str(o) for c in notebook.cells for o in c.get("outputs", []))
    assert "data: my clicks.csv (1,500 rows, 5 fields, min count 1," in shown
    assert "Epoch cap reached" in shown
    assert str(home()) not in shown and "min count default" not in shown


def test_a_wrong_data_setting_is_an_error_never_a_failed_run(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    profile = str(tiny_profile(tmp_path))
    cases = [(["--data", "name=csv", "--data", f"path={tmp_path / 'none.csv'}"],
              "does not exist"),
             (["--data", "name=nosuch"], "unknown dataset 'nosuch'.*csv"),
             (["--data", "name=csv"], "needs data.path"),
             (["--data", "name=movielens-100k", "--data", "rows=1000"], "--data rows: not a")]
    for args, message in cases:
        for command in (["train", "--profile", profile, *args],
                        ["sweep", "--profile", profile, *args]):
            assert main(command) == 2, command
            assert re.search(message, capsys.readouterr().err), command
    assert not list((home() / "results" / "failed").glob("*.json"))


def test_a_real_dataset_carries_no_synthetic_settings() -> None:
    smoke = load_profile("smoke")
    real = smoke.run_config(ModelConfig(name="dnn"), seed=0,
                            data={"name": "movielens-100k", "rows": 123})
    shown = to_dict(real)["data"]
    assert not set(SYNTHETIC_ONLY) & set(shown) and "label" not in shown
    assert to_dict(load_profile("smoke-movielens"))["data"].keys().isdisjoint(SYNTHETIC_ONLY)
    csv = to_dict(DataConfig(name="csv", path="x.csv", label="click"))
    assert csv["label"] == "click" and not set(SYNTHETIC_ONLY) & set(csv)
    synthetic = to_dict(smoke.data)                        # synthetic data keeps all of them
    assert set(SYNTHETIC_ONLY) - {"valid_rows"} <= set(synthetic) and synthetic["rows"] == 20000
    assert "valid_rows" not in synthetic                   # shown only when set (0: the split's)
    fresh = to_dict(dataclasses.replace(smoke.data, valid_rows=1000))
    assert fresh["valid_rows"] == 1000


def test_a_synthetic_runs_identity_is_unchanged() -> None:
    """The resolved configuration and the run id of a synthetic run are those computed on
    main (96609af) before real data lost its synthetic-only keys (with a fixed data
    fingerprint; the id was the same before main added data.test_rows)."""
    import hashlib

    from embcollapse.identity import canonical, hash_identity, resolve

    config = RunConfig(data=DataConfig(name="synthetic", preset="tiny", rows=20000,
                                       fraction=0.5),
                       model=ModelConfig(name="dnn", embed_dim=8),
                       train=TrainConfig(max_epochs=2), seed=1)
    resolved = to_dict(resolve(config))
    assert hashlib.sha256(canonical(to_dict(config.data)).encode()).hexdigest() == \
        "faa9915d7308715a5e94555742411bb16911fbff1089d53d381c7b313097a076"
    assert hashlib.sha256(canonical(resolved).encode()).hexdigest() == \
        "f80af96bbbcc31d3a104012bb6a0a5027fe1dc7296738427d6e1cd9299fafcba"
    assert hash_identity(resolved, "0" * 64, 2) == "10e817adc121"


def test_the_epoch_cap_is_flagged_in_the_record_and_on_the_page() -> None:
    from embcollapse.report import epoch_cap_note
    from embcollapse.train import at_epoch_cap, fit, hit_epoch_cap

    assert hit_epoch_cap([{}] * 3, 3, 3) and not hit_epoch_cap([{}] * 3, 2, 3)
    assert not hit_epoch_cap([{}] * 2, 2, 3)          # stopped early: not the cap
    config = RunConfig(data=DataConfig(name="synthetic", preset="tiny", rows=2000),
                       model=ModelConfig(name="dnn", embed_dim=4),
                       train=TrainConfig(max_epochs=1, batch_size=256, eval_batch_size=1024))
    record = fit(config, device="cpu", progress=False).record
    assert record["hit_epoch_cap"] is True and at_epoch_cap(record)
    stopped = {**record, "history": record["history"] * 3, "best_epoch": 1,
               "config": {**record["config"], "train": {**record["config"]["train"],
                                                        "max_epochs": 3}}}
    stopped.pop("hit_epoch_cap")                      # an older record: computed from history
    assert not at_epoch_cap(stopped)
    note = epoch_cap_note([record, stopped])
    assert "1 of these runs" in note and "dnn K=4" in note and "`train.max_epochs` = 1" in note
    assert epoch_cap_note([stopped]) == ""


@pytest.mark.slow
def test_every_chapter_runs_on_movielens_and_no_page_mentions_synthetic_data(tmp_path: Path
                                                                             ) -> None:
    """The smoke-movielens profile: every chapter executes; what a reader sees (text cells and
    outputs) never mentions a teacher or synthetic data, except on the pages that describe the
    data options (00: the synthetic data itself, 10: the datasets)."""
    import nbformat

    from embcollapse import book
    from embcollapse.data import DataError, movielens

    try:
        movielens.fetch(timeout=60)
    except DataError as err:
        pytest.skip(f"MovieLens-100K cannot be downloaded here: {err}")
    executed = book.run_chapters("smoke-movielens", out_dir=tmp_path / "executed")
    assert len(executed) == len(book.chapter_notebooks())
    for page in executed:
        if page.stem.startswith(("00_", "10_")):
            continue
        notebook = nbformat.read(page, as_version=4)
        texts = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        texts += [str(v) for c in notebook.cells for o in c.get("outputs", [])
                  for k, v in {**o.get("data", {}), "text": o.get("text", "")}.items()
                  if k == "text" or k.startswith("text/")]
        text = "\n".join(texts)
        for word in ("teacher", "synthetic", "ceiling", str(home())):
            assert word.lower() not in text.lower(), f"{page.stem} mentions {word!r}"
        assert "movielens-100k" in text, f"{page.stem} does not name its dataset"
