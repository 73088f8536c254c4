"""The chapters execute under the smoke profile through papermill and the book builds."""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest

from embcollapse import book

pytestmark = pytest.mark.slow

# figures each chapter must show (a lower bound on <img> tags in its page)
FIGURES = {"00_synthetic_data": 2, "01_embedding_collapse": 3, "02_interaction_collapse": 3,
           "03_regularized_dcnv2": 4, "04_dnn_overfitting": 3, "05_multi_embedding": 2,
           "06_how_multi_embedding_works": 4, "07_data_size": 1, "08_appendices": 1,
           "09_when_collapse_appears": 2, "20_reproduction_summary": 1}


@dataclass
class Build:
    executed: Path          # the executed notebooks
    index: Path             # the built book's index.html
    warnings: list[str]     # Sphinx's warnings


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    root = tmp_path_factory.mktemp("book")
    executed = root / "executed"
    book.run_chapters("smoke", out_dir=executed, progress=False)
    try:
        return Build(executed, book.build_html(book.stage_book(executed, root / "stage"),
                                               strict=True), [])
    except book.BookWarnings as err:
        return Build(executed, err.index, err.warnings)


@pytest.fixture(scope="module")
def built(build: Build) -> tuple[Path, Path]:
    return build.executed, build.index


def chapter_pages(index: Path) -> dict[str, str]:
    return {p.stem: p.read_text() for p in (index.parent / "chapters").glob("*.html")}


def test_the_book_builds_without_a_warning(build: Build) -> None:
    assert build.warnings == []


def test_the_reader_meets_text_figures_and_tables_not_plumbing(build: Build) -> None:
    import nbformat

    for page in book.chapter_notebooks():
        nb = nbformat.read(build.executed / f"{page.stem}.ipynb", as_version=4)
        streams = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        assert not streams, f"{page.stem} printed to stderr: {streams[0]['text'][:300]}"
    for stem, html in chapter_pages(build.index).items():
        for noise in ("site-packages", "Warning", "IProgress", "it/s]", "TCP"):
            assert noise not in html, f"{stem}: {noise!r} on the page"
        assert 'profile = "default"' not in html, f"{stem}: the parameters cell is shown"
        cells = re.findall(r'<div class="cell((?: [^"]*)?)"', html)
        assert cells and all("tag_" in c for c in cells), stem
        assert any("tag_hide-input" in c for c in cells), stem
        injected = [c for c in cells if "tag_injected-parameters" in c]
        assert all("tag_hide-cell" in c for c in injected), stem


def test_math_is_served_by_the_book_and_citations_resolve(build: Build) -> None:
    html_dir = build.index.parent
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    pages = chapter_pages(build.index)
    for stem, html in pages.items():
        assert "cdn.jsdelivr.net" not in html and "mathjax@3" not in html, stem
    assert "_static/mathjax/tex-chtml.js" in pages["01_embedding_collapse"]
    references = (html_dir / "references.html").read_text()
    for author in ("Guo", "Lian", "Mao", "Qu", "Pan", "Song", "Juan", "Rendle"):
        assert author in references, author
    assert 'href="../references.html#id' in pages["05_multi_embedding"]


def test_math_renders_offline_in_headless_chromium(build: Build, tmp_path: Path) -> None:
    from embcollapse import screenshots

    if screenshots.find_chromium() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    page = build.index.parent / "chapters" / "01_embedding_collapse.html"
    report = screenshots.take(build.index.parent, tmp_path, pages=[page])
    for width, seen in report[str(page)].items():
        assert seen["math"] > 0 and seen["raw_math"] == [], (width, seen)
        assert (tmp_path / seen["screenshot"]).stat().st_size > 10_000


def test_one_executed_notebook_renders_without_executing_it(build: Build, tmp_path: Path
                                                            ) -> None:
    notebook = build.executed / "01_embedding_collapse.ipynb"
    before = notebook.read_bytes()
    page = book.render_notebook(notebook, tmp_path / "html", strict=True)
    assert page.is_file() and notebook.read_bytes() == before
    html = page.read_text()
    assert "In this build:" in html and "tag_hide-input" in html
    assert not (tmp_path / "html" / "source" / "_build" / ".jupyter_cache").exists()


def test_every_chapter_executed_under_smoke(built: tuple[Path, Path]) -> None:
    import nbformat

    executed, _ = built
    for page in book.chapter_notebooks():
        nb = nbformat.read(executed / f"{page.stem}.ipynb", as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert injected and 'profile = "smoke"' in injected[0].source
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors


def test_every_chapter_page_has_its_figures(built: tuple[Path, Path]) -> None:
    _, index = built
    html_dir = index.parent
    pages = {p.stem: p for p in (html_dir / "chapters").glob("*.html")}
    for page in book.chapter_notebooks():
        assert page.stem in pages, f"{page.stem} missing from the built book"
        html = pages[page.stem].read_text()
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
        assert len(images) >= FIGURES.get(page.stem, 1), page.stem
        for src in images:
            assert (pages[page.stem].parent / src).resolve().is_file()
        text = unescape(html).replace("\u2018", "'").replace("\u2019", "'")  # smart quotes
        assert "profile 'smoke'" in text, f"{page.stem} does not say its profile"


def test_collapse_chapter_shows_the_papers_numbers_beside_ours(built: tuple[Path, Path]) -> None:
    _, index = built
    html = (index.parent / "chapters" / "01_embedding_collapse.html").read_text()
    for heading in ("Figure 1a", "Figure 1b", "Figure 2"):
        assert heading in html
    assert "paper: mean IA (Criteo, Table 2)" in html
    assert "In this build:" in html


def test_summary_page_lists_every_paper_item_with_a_computed_status(
        built: tuple[Path, Path]) -> None:
    from embcollapse.claims import CATALOGUE, build_key, summary_frame
    from embcollapse.config import load_profile

    _, index = built
    html = unescape((index.parent / "chapters" / "20_reproduction_summary.html").read_text())
    for item in CATALOGUE:
        assert f">{item.key}<" in html, f"{item.key} is not on the summary page"
    summary = summary_frame(build_key(load_profile("smoke"))).set_index("item")
    # every item a chapter reproduces was claimed by that chapter under smoke; only the
    # diagram, the Avazu results and the full-data statistics (or Appendix B, off) remain
    unclaimed = set(summary.index[summary.status == "not run"])
    assert unclaimed <= {"Table 6", "Figure 13", "Table 4", "Figure 11"}, unclaimed
    assert summary.loc["Figure 7", "status"] == "diagram"
    assert summary.loc["Figure 8a", "verdict"] == "see Table 1"
    assert summary.loc["Figure 3b", "status"] == "illustration"
    assert all(summary.rule.str.len() > 0)


def test_no_verdict_rests_on_one_seed_or_on_fields(built: tuple[Path, Path]) -> None:
    """Walk the catalogue's claims of the smoke build: every check carries its seed count, and
    a check that decides (holds or fails) rests on an interval over two seeds or more, or says
    why no training randomness enters it."""
    from embcollapse.claims import CATALOGUE, build_key, stored_claims
    from embcollapse.config import load_profile

    claims = stored_claims(build_key(load_profile("smoke")))
    checked = 0
    for item in CATALOGUE:
        for check in claims.get(item.key, {}).get("checks", []):
            assert "seeds" in check, f"{item.key}: check {check['name']!r} has no seed count"
            if check["outcome"] in ("holds", "fails") and not check.get("deterministic"):
                assert check["seeds"] >= 2 and check["interval"] is not None, \
                    f"{item.key}: {check['name']!r} is decided on {check['seeds']} seed(s)"
            checked += 1
    assert checked > 20


def test_the_catalogue_covers_every_figure_and_table_the_paper_mentions() -> None:
    from embcollapse.claims import CATALOGUE, ITEMS, paper_items

    paper = Path(book.book_dir()).parents[1] / "shared" / "paper" / "paper.txt"
    if not paper.is_file():
        pytest.skip("../shared/paper is not present")
    mentioned = paper_items(paper.read_text())
    assert len(mentioned) > 25
    keys = {k.split(" (")[0] for k in ITEMS}
    assert mentioned <= keys, mentioned - keys
    chapters = {p.stem for p in book.chapter_notebooks()}
    assert all(item.chapter in chapters for item in CATALOGUE if item.chapter)


def test_unknown_profile_or_chapter_fails_clearly(tmp_path: Path) -> None:
    from embcollapse.config import ConfigError

    with pytest.raises(ConfigError, match="unknown profile"):
        book.run_chapters("no-such-profile", out_dir=tmp_path)
    with pytest.raises(ValueError, match="no chapter matches"):
        book.run_chapters("smoke", chapters=["no-such-chapter"], out_dir=tmp_path)


def test_every_chapter_is_in_the_table_of_contents() -> None:
    import yaml

    toc = yaml.safe_load((book.book_dir() / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    for page in book.chapter_notebooks():
        assert f"chapters/{page.stem}" in files, page.name


def test_every_chapter_runs_on_real_criteo_rows(tmp_path: Path, shared_data: Path) -> None:
    """The chapters work on a real dataset too: a smoke-sized profile on the Criteo sample."""
    import nbformat
    import yaml

    from embcollapse.config import load_profile

    smoke = load_profile("smoke")
    profile = {
        "description": "smoke-sized chapters on the real Criteo sample in ../shared/data",
        "device": "cpu", "seeds": [0],
        "data": {"name": "criteo",
                 "path": str(shared_data / "criteo" / "wideresdnn_criteo_train.tsv")},
        "train": {"batch_size": 512, "max_epochs": 2, "patience": 1},
        "chapters": {name: dict(values) for name, values in smoke.chapters.items()},
    }
    path = tmp_path / "criteo-smoke.yaml"
    path.write_text(yaml.safe_dump(profile))
    executed = book.run_chapters(str(path), out_dir=tmp_path / "executed", progress=False)
    collapse = nbformat.read(next(p for p in executed if "01_" in p.name), as_version=4)
    outputs = "".join(str(o) for c in collapse.cells for o in c.get("outputs", []))
    assert "data: criteo (7,200 rows, 39 fields, min count 10," in outputs
    assert profile["data"]["path"] not in outputs
    assert "over 39 fields" in outputs          # Figure 2's summary line: Criteo's 39 fields


def test_a_read_only_profile_with_an_empty_store_is_refused_before_executing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from embcollapse.config import ConfigError

    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "empty-home"))
    with pytest.raises(ConfigError, match="embcollapse sweep --profile paper"):
        book.run_chapters("paper", out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_chapters_of_a_read_only_profile_use_what_the_store_holds(
        built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile that does not train (train_missing: false) and whose store holds only part of
    its runs still executes every chapter it can: here the store holds seed 0 of seeds [0, 1]
    (trained by the smoke build) without the FFM run. Each chapter says how many runs it is
    missing; the chapter that needs the FFM run fails alone, and the others are executed."""
    import os
    import shutil

    import nbformat
    import yaml

    from embcollapse.config import load_profile, to_dict

    home = tmp_path / "home"
    shutil.copytree(Path(os.environ["EMBCOLLAPSE_HOME"]) / "results" / "runs",
                    home / "results" / "runs")
    for record in (home / "results" / "runs").glob("*/record.json"):
        if '"name": "ffm"' in record.read_text():
            shutil.rmtree(record.parent)
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(home))
    values = to_dict(load_profile("smoke"))
    values.pop("name")
    values.update(seeds=[0, 1], train_missing=False)
    path = tmp_path / "smoke-readonly.yaml"
    path.write_text(yaml.safe_dump(values))
    out = tmp_path / "executed"
    with pytest.raises(book.ChaptersFailed) as failure:
        book.run_chapters(str(path), out_dir=out, progress=False)
    assert failure.value.failed == ["02_interaction_collapse"]
    assert len(failure.value.executed) == len(book.chapter_notebooks()) - 1
    said = 0
    for page in failure.value.executed:
        nb = nbformat.read(page, as_version=4)
        outputs = "".join(str(o) for c in nb.cells for o in c.get("outputs", []))
        said += "runs this section reads (profile smoke-readonly, data synthetic" in outputs
    assert said >= 6, "chapters should say which runs are missing"
    stage = book.stage_book(out, tmp_path / "stage", allow_failed=True)
    assert (stage / "chapters" / "02_interaction_collapse.ipynb").is_file()
    with pytest.raises(FileNotFoundError):
        book.stage_book(out, tmp_path / "stage2")       # a normal build does not hide it
