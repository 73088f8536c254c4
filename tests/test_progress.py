"""Console progress (the plan, a line per run), the reader tags, and the GPU memory estimate."""
from __future__ import annotations

import io
import re
from pathlib import Path

import nbformat
import pytest

from embcollapse import book, capacity, sweep
from embcollapse.cli import main
from embcollapse.config import load_profile
from embcollapse.identity import resolved_key
from embcollapse.progress import RunReporter, duration, estimate_seconds
from embcollapse.reader import tag_for_readers


def smoke_plan() -> list:
    pages = book.chapter_notebooks()
    return sweep.labelled_plan(load_profile("smoke"), {p.stem: book.page_grids(p) for p in pages})


def test_the_book_plan_labels_every_run_of_the_profile_once_with_its_first_page() -> None:
    profile = load_profile("smoke")
    labelled = smoke_plan()
    keys = [resolved_key(c) for _, c in labelled]
    assert len(keys) == len(set(keys))
    assert set(keys) == {resolved_key(c) for c in sweep.plan(profile)}
    stems = {p.stem for p in book.chapter_notebooks()}
    assert {where for where, _ in labelled} <= stems
    first = dict((resolved_key(c), where) for where, c in reversed(labelled))
    # the collapse page is the first to read dcnv2 K=8; the appendix page reads it again
    dcnv2_k8 = next(c for _, c in labelled if c.model.name == "dcnv2" and c.model.embed_dim == 8
                    and c.model.num_sets == 1 and c.data.fraction == 1.0)
    assert first[resolved_key(dcnv2_k8)] == "01_embedding_collapse"


def test_plan_and_run_lines() -> None:
    # three runs of the collapse page (the synthetic-data page reads the loader-order runs)
    labelled = [run for run in smoke_plan() if run[0] == "01_embedding_collapse"][:3]
    history = [{"config": {"data": _dict(labelled[0][1].data), "train": _dict(
        labelled[0][1].train), "model": {"name": labelled[0][1].model.name}},
        "train_seconds": 30.0}]
    out = io.StringIO()
    reporter = RunReporter(labelled, history, stream=out)
    plan = reporter.plan(stored=5)
    assert plan.startswith("[train] plan: 3 runs to train, 5 already stored; estimated ")
    assert "01_embedding_collapse 3" in plan
    record = {"best_epoch": 2, "valid": {"auc": 0.71234}}
    line = reporter.finished(1, record, 12.3)
    where, config = labelled[1]
    pattern = (rf"\[train\] {where} 1/3 {config.model.name} K={config.model.embed_dim} "
               rf"M={config.model.num_sets} seed 0: best epoch 2, valid AUC 0\.7123, 12 s, "
               rf"\d+ s left")
    assert re.fullmatch(pattern, line), line
    failed = reporter.finished(0, None, 3.0, "ValueError: boom")
    assert "2/3" in failed and "FAILED" in failed and "ValueError: boom" in failed
    assert reporter.finished(2, record, 1.0).endswith("0 s left")
    assert out.getvalue().count("\n") == 5      # plan (2 lines) + 3 runs
    one = RunReporter(labelled, history, stream=io.StringIO()).plan()
    two = RunReporter(labelled, history, stream=io.StringIO(), workers=2).plan()
    assert "estimated 1.5 min (" in one and "estimated 45 s on 2 workers (" in two


def _dict(value):
    from embcollapse.config import to_dict

    return to_dict(value)


def test_estimates_come_from_comparable_stored_runs_only() -> None:
    _, config = smoke_plan()[0]
    assert estimate_seconds(config, []) is None
    other = {"config": {"data": {"name": "criteo"}, "train": _dict(config.train),
                        "model": {"name": config.model.name}}, "train_seconds": 99.0}
    assert estimate_seconds(config, [other]) is None
    same = {"config": {"data": _dict(config.data), "train": _dict(config.train),
                       "model": {"name": "someothermodel"}}, "train_seconds": 8.0}
    assert estimate_seconds(config, [other, same]) == 8.0
    assert duration(42) == "42 s" and duration(600) == "10.0 min" and duration(None) == "?"


def test_reader_tags_hide_code_remove_parameters_and_respect_the_authors_tags() -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'default'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("profile = 'smoke'",
                                  metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("import numpy"),
        nbformat.v4.new_code_cell("show()", metadata={"tags": ["show-input"]}),
        nbformat.v4.new_markdown_cell("text"),
    ])
    tag_for_readers(tag_for_readers(nb))          # twice: idempotent
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags == [["parameters", "remove-cell"], ["injected-parameters", "hide-cell"],
                    ["hide-input"], ["show-input"], []]


def test_every_chapter_names_the_grids_it_reads() -> None:
    grids = {p.stem: book.page_grids(p) for p in book.chapter_notebooks()}
    assert grids["01_embedding_collapse"] == ["collapse"]
    assert "appendices" in grids["08_appendices"]


def test_memory_estimate_counts_states_and_activations(tmp_path: Path) -> None:
    from embcollapse.models import count_parameters, model_from_config

    configs = capacity.distinct_models(sweep.plan(load_profile("smoke")))
    config = next(c for c in configs if c.model.name == "dcnv2")
    dims = capacity.reference_field_dims(config.data)
    est = capacity.estimate(config, dims)
    assert est.parameters == count_parameters(model_from_config(config.model, dims))
    assert est.state_bytes == 16 * est.parameters
    assert est.activation_bytes > config.train.batch_size * len(dims) * config.model.embed_dim * 4
    from dataclasses import replace as dc_replace
    double = dc_replace(config, train=dc_replace(config.train,
                                                 batch_size=2 * config.train.batch_size))
    ratio = capacity.estimate(double, dims).activation_bytes / est.activation_bytes
    assert 1.9 < ratio < 2.1                                  # activations scale with the batch
    step = capacity.one_step(config, dims, batch_size=32)
    assert step["loss"] > 0


def test_dry_run_prints_each_runs_size_and_the_largest(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", "--profile", "smoke", "--chapter", "theory", "--results",
                 str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "[sweep] plan: 2 runs to train, 0 already stored" in out
    assert re.search(r"would train ffm K=4 M=1 seed 0 \[theory\]: [\d.]+M params, ~[\d.]+ GiB "
                     r"peak GPU memory at batch 1024", out)
    assert "the largest run needs" in out


def test_book_out_chooses_where_executed_notebooks_and_html_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    seen: dict = {}
    monkeypatch.setattr(book, "run_chapters", lambda profile, chapters, params, out_dir:
                        seen.setdefault("run", out_dir) and [])
    monkeypatch.setattr(book, "build_book", lambda profile, execute, out:
                        seen.setdefault("build", out) / "index.html")
    monkeypatch.setattr(book, "render_notebook", lambda notebook, out:
                        seen.setdefault("render", (notebook, out))[1] / "page.html")
    assert main(["book", "run", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    assert seen["run"] == tmp_path.resolve() / "executed" / "smoke"
    assert main(["book", "build", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    assert seen["build"] == tmp_path
    assert main(["book", "render", str(tmp_path / "a.ipynb"), "--out", str(tmp_path / "h")]) == 0
    assert seen["render"] == (tmp_path / "a.ipynb", tmp_path / "h")
    assert main(["book", "render"]) == 2 and "PATH.ipynb" in capsys.readouterr().err
    assert book.executed_dir("configs/x.yaml").parts[-3:] == ("build", "executed", "x")


def test_render_refuses_what_is_not_an_executed_notebook(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not an executed notebook"):
        book.render_notebook(tmp_path / "missing.ipynb")
    (tmp_path / "page.md").write_text("# page")
    with pytest.raises(FileNotFoundError, match="not an executed notebook"):
        book.render_notebook(tmp_path / "page.md")


def test_wide_tables_and_multi_panel_figures_get_the_margin() -> None:
    import base64
    import struct

    def png(width: int, height: int) -> str:
        head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(
            ">II", width, height) + b"\x08\x06\x00\x00\x00"
        return base64.b64encode(head).decode()

    def table(columns: int) -> str:
        row = "".join(f"<td>{i}</td>" for i in range(columns))
        return f"<table><thead><tr>{row}</tr></thead><tbody><tr>{row}</tr></tbody></table>"

    def cell(data: dict) -> nbformat.NotebookNode:
        out = nbformat.v4.new_output("display_data", data=data)
        return nbformat.v4.new_code_cell("x", outputs=[out])

    nb = nbformat.v4.new_notebook(cells=[cell({"text/html": table(11)}),
                                         cell({"text/html": table(5)}),
                                         cell({"image/png": png(1500, 450)}),
                                         cell({"image/png": png(1000, 600)})])
    tag_for_readers(nb)
    wide = ["full-width" in c.metadata["tags"] for c in nb.cells]
    assert wide == [True, False, True, False]
    assert all("hide-input" in c.metadata["tags"] for c in nb.cells)


def test_dry_run_sizes_a_paper_sweep_without_its_data(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    """Sizing GPUs comes before downloading 45M rows: the plan is listed on Criteo's shape."""
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBCOLLAPSE_DATA", raising=False)
    assert main(["sweep", "--profile", "paper", "--chapter", "theory", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "raw data not found" in out and "no run can be looked up" in out
    # the paper profile trains in the authors' fixed order, which the label names
    assert re.search(r"would train ffm K=10 M=1 fixed-order seed 0 \[theory\]: [\d.]+M params",
                     out)
    assert "on 39 fields with" in out
    assert main(["sweep", "--profile", "paper", "--chapter", "theory"]) == 2   # training: no


def test_run_labels_tell_variants_apart() -> None:
    from embcollapse.config import load_profile
    from embcollapse.progress import run_label

    profile = load_profile("smoke")
    plain = profile.run_config({"name": "dcnv2", "embed_dim": 8}, seed=0)
    deeper = profile.run_config({"name": "dcnv2", "embed_dim": 8, "hyper": {"cross_layers": 5}},
                                seed=0, data={"fraction": 0.3})
    assert run_label(plain) == "dcnv2 K=8 M=1 seed 0"
    assert run_label(deeper) == "dcnv2 K=8 M=1 cross_layers=5 30% data seed 0"
    fixed = profile.run_config({"name": "dcnv2", "embed_dim": 8, "ensemble": 2}, seed=0,
                               train={"shuffle": "fixed-order"})
    assert run_label(fixed) == "dcnv2 K=8 M=1 ensemble of 2 fixed-order seed 0"
