"""Execute the chapters with papermill and build the Jupyter Book from the executed copies.

The chapters are jupytext MyST notebooks (``book/chapters/*.md``). ``run_chapters`` converts each
to ``.ipynb`` and executes it with papermill under a profile into ``build/executed/<profile>/``;
``build_book`` lays out ``build/book/<profile>/`` (the book's pages with every chapter replaced by
its executed notebook) and runs ``jupyter-book build`` there, which never re-executes anything.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from . import claims, paths
from .config import ConfigError, Profile, load_profile


class ChaptersFailed(RuntimeError):
    """Chapters that raised while executing; the others were executed (``executed``)."""

    def __init__(self, failed: list[str], executed: list[Path]) -> None:
        super().__init__(f"chapter(s) failed: {', '.join(failed)}; their partial notebooks "
                         f"(with the error) are kept as *.failed.ipynb")
        self.failed, self.executed = failed, executed


def book_dir() -> Path:
    root = paths.checkout_root()
    if root is None:
        raise FileNotFoundError("the book sources are only available in a source checkout")
    return root / "book"


def build_root() -> Path:
    return book_dir().parent / "build"


def is_notebook(page: Path) -> bool:
    """A MyST page is a notebook when its front matter declares a jupytext kernel."""
    text = page.read_text()
    return text.startswith("---") and "kernelspec:" in text.split("\n---", 1)[0]


def chapter_notebooks() -> list[Path]:
    """The notebook pages of the book, in order of their file names."""
    return sorted(p for p in (book_dir() / "chapters").glob("*.md") if is_notebook(p))


def execute_notebook(source: Path, output: Path, parameters: Mapping[str, Any],
                     progress: bool = True) -> Path:
    """Convert a jupytext page to ``.ipynb`` and execute it with papermill into ``output``.

    The output is written under a temporary name and renamed, so a failed run leaves no
    executed copy that looks complete (papermill's partial notebook is kept as ``*.failed.ipynb``
    for inspection).
    """
    import jupytext
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    notebook = jupytext.read(source)
    with tempfile.TemporaryDirectory() as tmpdir:
        raw = Path(tmpdir) / f"{source.stem}.ipynb"
        jupytext.write(notebook, raw)
        partial = output.with_name(f".{output.stem}.running.ipynb")
        try:
            papermill.execute_notebook(str(raw), str(partial), parameters=dict(parameters),
                                       kernel_name="python3", cwd=str(source.parent),
                                       progress_bar=progress)
        except Exception:
            if partial.exists():
                partial.replace(failed_copy(output))
            raise
        partial.replace(output)
        failed_copy(output).unlink(missing_ok=True)   # an older failure is no longer current
    return output


def failed_copy(output: Path) -> Path:
    """Where papermill's partial notebook of a failed chapter is kept."""
    return output.with_name(f"{output.stem}.failed.ipynb")


def run_chapters(profile: str, chapters: Iterable[str] | None = None,
                 parameters: Mapping[str, Any] | None = None, out_dir: Path | None = None,
                 progress: bool = True, keep_going: bool | None = None) -> list[Path]:
    """Execute chapters (all, or those whose file stem contains one of ``chapters``).

    ``keep_going`` (default: for profiles that only read the store, whose chapters may lack
    runs) executes the remaining chapters after one fails and then raises
    :class:`ChaptersFailed`; otherwise the first failure stops everything.

    Verdicts: the claims of the executed chapters' items under this build (profile and
    ``parameters``, :func:`embcollapse.claims.build_key`) are cleared first; an item whose
    chapter failed or recorded nothing is then recorded as "not run" with the reason.
    """
    prof = load_profile(profile)
    check_store(prof)  # fail early on an unknown profile or an empty store
    keep_going = (not prof.train_missing) if keep_going is None else keep_going
    out_dir = out_dir or build_root() / "executed" / Path(profile).stem
    pages = chapter_notebooks()
    if chapters:
        wanted = list(chapters)
        pages = [p for p in pages if any(w in p.stem for w in wanted)]
        if not pages:
            raise ValueError(f"no chapter matches {wanted}; chapters: "
                             f"{', '.join(p.stem for p in chapter_notebooks())}")
    build = claims.build_key(prof, parameters)
    claims.clear_claims(build, claims.items_of(p.stem for p in pages))
    done, failed = [], []
    previous = os.environ.get(claims.BUILD_ENV)
    os.environ[claims.BUILD_ENV] = build            # the kernels record their claims there
    try:
        for page in pages:
            t0 = time.perf_counter()
            print(f"[book] executing {page.name} (profile {profile}, build {build})", flush=True)
            try:
                done.append(execute_notebook(page, out_dir / f"{page.stem}.ipynb",
                                             {"profile": profile, **(parameters or {})},
                                             progress))
            except Exception as err:
                claims.fill_not_run(build, claims.items_of([page.stem]),
                                    f"its chapter {page.stem} failed ({type(err).__name__})")
                if not keep_going:
                    raise
                failed.append(page.stem)
                print(f"[book] {page.name} FAILED: {type(err).__name__}; going on", flush=True)
                continue
            claims.fill_not_run(build, claims.items_of([page.stem]),
                                f"its chapter {page.stem} ran but could not compute it "
                                f"(runs missing from the store or switched off; see the page)")
            print(f"[book] {page.name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    finally:
        if previous is None:
            os.environ.pop(claims.BUILD_ENV, None)
        else:
            os.environ[claims.BUILD_ENV] = previous
    if failed:
        raise ChaptersFailed(failed, done)
    return done


def check_store(prof: Profile) -> None:
    """For a profile whose notebooks only read (``train_missing: false``): say what the store
    holds, and refuse to execute chapters when it holds none of the profile's runs."""
    if prof.train_missing:
        return
    from .data import DataError
    from .results import ResultsStore
    from .sweep import plan, state

    store = ResultsStore()
    try:
        now = state(plan(prof), store)
    except DataError as err:  # a run is identified by its data's content
        raise ConfigError(f"profile {prof.name}: its runs cannot be identified without their "
                          f"data: {err}. With the data in place: embcollapse sweep --profile "
                          f"{prof.name}") from err
    print(f"[book] profile {prof.name} reads the results store {store.root}: {now.summary()}",
          flush=True)
    if not now.stored:
        raise ConfigError(f"profile {prof.name}: none of its {now.total} runs is in the results "
                          f"store {store.root}; its notebooks do not train (train_missing: "
                          f"false). Train them first: embcollapse sweep --profile {prof.name}")


def stage_book(executed_dir: Path, stage: Path, allow_failed: bool = False) -> Path:
    """Copy the book's pages into ``stage``, chapters replaced by their executed notebooks
    (with ``allow_failed``, a failed chapter's partial notebook, error shown, stands in)."""
    if stage.exists():
        shutil.rmtree(stage)
    source = book_dir()
    shutil.copytree(source, stage, ignore=shutil.ignore_patterns("_build", "*.ipynb",
                                                                 ".ipynb_checkpoints"))
    for page in chapter_notebooks():
        executed = executed_dir / f"{page.stem}.ipynb"
        if allow_failed and not executed.is_file() and failed_copy(executed).is_file():
            print(f"[book] {page.stem} failed: its partial notebook goes into the book", flush=True)
            shutil.copy2(failed_copy(executed), stage / "chapters" / executed.name)
            (stage / "chapters" / page.name).unlink()
            continue
        if not executed.is_file():
            raise FileNotFoundError(f"{executed} is missing: run the chapters first "
                                    f"(make run PROFILE=...)")
        (stage / "chapters" / page.name).unlink()
        shutil.copy2(executed, stage / "chapters" / executed.name)
    return stage


def build_book(profile: str, execute: bool = True, progress: bool = True) -> Path:
    """Execute the chapters (unless ``execute`` is False) and build the HTML; returns index.html."""
    name = Path(profile).stem
    executed_dir = build_root() / "executed" / name
    read_only = not load_profile(profile).train_missing
    failure = None
    if execute:
        try:
            run_chapters(profile, out_dir=executed_dir, progress=progress)
        except ChaptersFailed as err:   # only for read-only profiles: build what there is
            failure = err
    index = build_html(stage_book(executed_dir, build_root() / "book" / name,
                                  allow_failed=read_only))
    if failure is not None:
        raise ChaptersFailed(failure.failed, [index])
    return index


def build_html(stage: Path) -> Path:
    """Run ``jupyter-book build`` on a staged book; returns the path of ``index.html``."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(stage), "--builder", "html"]
    print(f"[book] {' '.join(cmd)}", flush=True)
    subprocess.run(cmd, check=True, env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    index = stage / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RuntimeError(f"jupyter-book finished but {index} does not exist")
    return index
