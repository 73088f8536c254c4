"""Execute the chapters with papermill and build the Jupyter Book from the executed copies.

The chapters are jupytext MyST notebooks (``book/chapters/*.md``). ``run_chapters`` first trains
every run the chapters read (one console line per run, :mod:`embcollapse.sweep`), then converts
each chapter to ``.ipynb`` and executes it with papermill under a profile into
``<out>/executed/<profile>/``; ``build_book`` lays out ``<out>/book/<profile>/`` (the book's pages
with every chapter replaced by its executed notebook, tagged for readers by
:func:`tag_for_readers`) and runs ``jupyter-book build`` there, which never re-executes anything
(``execute_notebooks: off``). ``<out>`` is the checkout's ``build/`` unless given.
``render_notebook`` turns one executed notebook into HTML the same way.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import claims, paths
from .config import ConfigError, Profile, from_dict, load_profile, to_dict
from .reader import tag_for_readers


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


class BookWarnings(RuntimeError):
    """``jupyter-book build`` warned (a strict build fails on any warning); the HTML exists."""

    def __init__(self, warnings: list[str], index: Path) -> None:
        super().__init__(f"the book build gave {len(warnings)} warning(s):\n" + "\n".join(warnings))
        self.warnings, self.index = warnings, index


def build_root(out: Path | None = None) -> Path:
    """Where executed notebooks and the HTML go: ``out``, else the checkout's ``build/``."""
    return Path(out).resolve() if out is not None else book_dir().parent / "build"


def derived_profile(profile: Profile, out: Path | None = None) -> Path:
    """Write ``profile`` (e.g. a profile with other data) as a profile file
    ``<out>/profiles/<profile>-<data name>.yaml`` and return its path: notebooks and the
    results store then see one named profile. Replaced only by another derived profile."""
    import yaml

    from .atomic import write_text

    data = Path(profile.data.name).name
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{profile.name}-{data}")
    values = {**to_dict(profile), "name": name,
              "description": f"Profile '{profile.name}' with data {profile.data.name}."}
    path = build_root(out) / "profiles" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, "# written by embcollapse (profile with other data)\n"
               + yaml.safe_dump(values, sort_keys=False))
    return path


def executed_dir(profile: str, out: Path | None = None) -> Path:
    return build_root(out) / "executed" / Path(profile).stem


def page_grids(page: Path) -> list[str]:
    """The chapter grids (:data:`embcollapse.grids.GRIDS`) a chapter page reads: those whose
    name it passes as a string (``chapter_params(ctx.profile, "collapse")``)."""
    from .grids import GRIDS

    text = page.read_text()
    return [name for name in GRIDS if f'"{name}"' in text]


def is_notebook(page: Path) -> bool:
    """A MyST page is a notebook when its front matter declares a jupytext kernel."""
    text = page.read_text()
    return text.startswith("---") and "kernelspec:" in text.split("\n---", 1)[0]


def chapter_notebooks() -> list[Path]:
    """The notebook pages of the book, in order of their file names."""
    return sorted(p for p in (book_dir() / "chapters").glob("*.md") if is_notebook(p))


def page_parameters(page: Path) -> list[str]:
    """The names a chapter page's ``parameters`` cell assigns (what papermill may override)."""
    import ast

    import jupytext

    for cell in jupytext.read(page).cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
    return []


def check_parameters(prof: Profile, pages: Sequence[Path], parameters: Mapping[str, Any]
                     ) -> dict[Path, dict[str, Any]]:
    """Each page's share of ``book run -p`` ``parameters``, checked before anything runs: every
    name must be a parameter of a chosen page (``profile`` is ``--profile``), ``device`` a
    device name, and every value of the type and range its chapter declares
    (:data:`embcollapse.chapters.CHAPTERS`, merged with the profile's section as the notebook
    merges it). Raises :class:`ConfigError` naming the parameter, the value and what was
    expected, or the chapters' parameters."""
    from .chapters import CHAPTERS
    from .devices import check_device_name

    if "profile" in parameters:
        raise ConfigError("-p profile: choose the profile with --profile NAME (or a YAML path)")
    names = {page: [n for n in page_parameters(page) if n != "profile"] for page in pages}
    for key in parameters:
        if not any(key in own for own in names.values()):
            shown = "; ".join(f"{page.stem}: {', '.join(own) or '(none)'}"
                              for page, own in names.items())
            raise ConfigError(f"-p {key}: not a parameter of the chosen chapter(s); their "
                              f"parameters: {shown}")
    if "device" in parameters:
        check_device_name(parameters["device"], "-p device")
    shares = {}
    for page, own in names.items():
        share = {k: v for k, v in parameters.items() if k in own}
        for chapter in page_grids(page):
            fields = CHAPTERS[chapter].__dataclass_fields__
            given = {k: v for k, v in share.items() if k in fields and v is not None}
            try:
                from_dict(CHAPTERS[chapter], {**prof.chapters.get(chapter, {}), **given},
                          "params")
            except ConfigError as err:
                raise ConfigError(f"-p ({page.stem}, chapter {chapter}): "
                                  f"{str(err).removeprefix('params.')}") from None
        shares[page] = share
    return shares


def execute_notebook(source: Path, output: Path, parameters: Mapping[str, Any],
                     progress: bool = False) -> Path:
    """Convert a jupytext page to ``.ipynb`` and execute it with papermill into ``output``.

    The output is written under a temporary name and renamed, so a failed run leaves no
    executed copy that looks complete (papermill's partial notebook is kept as ``*.failed.ipynb``
    for inspection). ``progress``: papermill's per-cell bar on the console.
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
                                       progress_bar=progress,
                                       kernel_manager_class=ipc_kernel_manager())
        except Exception:
            if partial.exists():
                partial.replace(failed_copy(output))
            raise
        partial.replace(output)
        failed_copy(output).unlink(missing_ok=True)   # an older failure is no longer current
    return output


@functools.cache
def ipc_kernel_manager() -> type:
    """A Jupyter kernel manager whose kernels talk over local sockets (IPC) rather than TCP:
    no port is opened, and the kernel has no reason to warn about unencrypted TCP."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

    return IPCKernelManager


def failed_copy(output: Path) -> Path:
    """Where papermill's partial notebook of a failed chapter is kept."""
    return output.with_name(f"{output.stem}.failed.ipynb")


def run_chapters(profile: str, chapters: Iterable[str] | None = None,
                 parameters: Mapping[str, Any] | None = None, out_dir: Path | None = None,
                 progress: bool = False, keep_going: bool | None = None,
                 train_first: bool = True) -> list[Path]:
    """Execute chapters (all, or those whose file stem contains one of ``chapters``) into
    ``out_dir`` (default ``build/executed/<profile>``).

    ``train_first`` (for profiles that train, ``train_missing: true``, and no notebook
    ``parameters``, which may change the runs): train every run the chapters read before
    executing them, one console line per run (:func:`train_chapter_runs`), so the notebooks
    only read the store. ``keep_going`` (default: for profiles that only read
    the store, whose chapters may lack runs) executes the remaining chapters after one fails and
    then raises :class:`ChaptersFailed`; otherwise the first failure stops everything.
    ``progress``: papermill's per-cell bar. The console ends with each chapter's time.

    Verdicts: the claims of the executed chapters' items under this build (profile and
    ``parameters``, :func:`embcollapse.claims.build_key`) are cleared first; an item whose
    chapter failed or recorded nothing is then recorded as "not run" with the reason.
    """
    prof = load_profile(profile)
    check_store(prof)  # fail early on an unknown profile or an empty store
    keep_going = (not prof.train_missing) if keep_going is None else keep_going
    out_dir = out_dir or executed_dir(profile)
    pages = chapter_notebooks()
    if chapters:
        wanted = list(chapters)
        pages = [p for p in pages if any(w in p.stem for w in wanted)]
        if not pages:
            raise ConfigError(f"--chapter {', '.join(wanted)}: no chapter matches; chapters: "
                              f"{', '.join(p.stem for p in chapter_notebooks())}")
    shares = check_parameters(prof, pages, parameters or {})
    timings: dict[str, float] = {}
    if train_first and prof.train_missing and parameters:
        print("[book] notebook parameters given: the runs they need are trained inside the "
              "notebooks", flush=True)
    elif train_first and prof.train_missing:
        t0 = time.perf_counter()
        train_chapter_runs(prof, pages)
        timings["training (before the chapters)"] = time.perf_counter() - t0
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
                                             {"profile": profile, **shares[page]},
                                             progress))
            except Exception as err:
                claims.fill_not_run(build, claims.items_of([page.stem]),
                                    f"its chapter {page.stem} failed ({type(err).__name__})")
                if not keep_going:
                    raise
                failed.append(page.stem)
                print(f"[book] {page.name} FAILED: {type(err).__name__}; going on", flush=True)
                continue
            finally:
                timings[page.stem] = time.perf_counter() - t0
            claims.fill_not_run(build, claims.items_of([page.stem]),
                                f"its chapter {page.stem} ran but could not compute it "
                                f"(runs missing from the store or switched off; see the page)")
            print(f"[book] {page.name} done in {timings[page.stem]:.0f} s", flush=True)
    finally:
        if previous is None:
            os.environ.pop(claims.BUILD_ENV, None)
        else:
            os.environ[claims.BUILD_ENV] = previous
    print(timing_table(timings, failed), flush=True)
    if failed:
        raise ChaptersFailed(failed, done)
    return done


def timing_table(timings: Mapping[str, float], failed: Sequence[str] = ()) -> str:
    """The console's closing lines: seconds per step (chapter) and the total."""
    from .progress import duration

    width = max([len(k) for k in timings] + [5])
    lines = ["[book] timings:"]
    lines += [f"[book]   {name:<{width}}  {duration(seconds):>8}"
              + ("  FAILED" if name in failed else "") for name, seconds in timings.items()]
    lines.append(f"[book]   {'total':<{width}}  {duration(sum(timings.values())):>8}")
    return "\n".join(lines)


def train_chapter_runs(prof: Profile, pages: Sequence[Path]) -> None:
    """Train, before any notebook runs, every run of ``pages``' grids missing from the store:
    the plan first (runs, estimated time), then a line per run as it finishes. A run that
    fails is reported and left for its chapter (which shows the error)."""
    from . import sweep
    from .identity import resolved_key
    from .results import ResultsStore

    store = ResultsStore()
    labelled = sweep.labelled_plan(prof, {page.stem: page_grids(page) for page in pages})
    now = sweep.state([c for _, c in labelled], store)
    label = {resolved_key(c): where for where, c in labelled}
    todo = [(label[resolved_key(c)], c) for c in now.to_run()]
    sweep.train_reported(todo, store, sweep.local_devices(prof.device, prof.cpu_workers),
                         stored=len(now.stored))


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
            stage_notebook(failed_copy(executed), stage / "chapters" / executed.name)
            (stage / "chapters" / page.name).unlink()
            continue
        if not executed.is_file():
            raise FileNotFoundError(f"{executed} is missing: run the chapters first "
                                    f"(make run PROFILE=...)")
        (stage / "chapters" / page.name).unlink()
        stage_notebook(executed, stage / "chapters" / executed.name)
    return stage


def stage_notebook(executed: Path, dest: Path) -> Path:
    """Copy an executed notebook to ``dest`` with its cells tagged for readers."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    nbformat.write(tag_for_readers(notebook), dest)
    return dest


def build_book(profile: str, execute: bool = True, progress: bool = False,
               out: Path | None = None, strict: bool = False) -> Path:
    """Execute the chapters (unless ``execute`` is False) and build the HTML; returns index.html.

    ``out``: the folder for ``executed/<profile>`` and ``book/<profile>`` (default the
    checkout's ``build/``). ``strict``: raise :class:`BookWarnings` on any build warning.
    """
    name = Path(profile).stem
    executed = executed_dir(profile, out)
    read_only = not load_profile(profile).train_missing
    failure = None
    if execute:
        try:
            run_chapters(profile, out_dir=executed, progress=progress)
        except ChaptersFailed as err:   # only for read-only profiles: build what there is
            failure = err
    index = build_html(stage_book(executed, build_root(out) / "book" / name,
                                  allow_failed=read_only), strict=strict)
    if failure is not None:
        raise ChaptersFailed(failure.failed, [index])
    return index


WARNING_LINE = re.compile(r"(^|: )(WARNING|ERROR|CRITICAL|SEVERE)\b")


def build_html(stage: Path, strict: bool = False) -> Path:
    """Run ``jupyter-book build`` on a staged book (its output on the console); returns the
    path of ``index.html``. Every Sphinx warning is counted; with ``strict`` any warning raises
    :class:`BookWarnings` (after the build, so the HTML is there to look at)."""
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(stage), "--builder", "html"]
    print(f"[book] {' '.join(cmd)}", flush=True)
    warnings: list[str] = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if WARNING_LINE.search(line):
                warnings.append(line.rstrip())
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    index = stage / "_build" / "html" / "index.html"
    if not index.is_file():
        raise RuntimeError(f"jupyter-book finished but {index} does not exist")
    print(f"[book] {len(warnings)} build warning(s)", flush=True)
    if strict and warnings:
        raise BookWarnings(warnings, index)
    return index


def render_notebook(notebook: Path, out: Path | None = None, strict: bool = False) -> Path:
    """HTML of one executed notebook, never executing it: a one-page book (the notebook and
    the references) with the book's configuration. ``out`` defaults to ``<notebook
    stem>_html/`` beside it; returns the page's HTML file."""
    import yaml

    notebook = Path(notebook).resolve()
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        raise FileNotFoundError(f"{notebook}: not an executed notebook (.ipynb)")
    out = Path(out).resolve() if out is not None else notebook.with_name(f"{notebook.stem}_html")
    stage = out / "source"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "references.bib", "references.md"):
        shutil.copy2(book_dir() / name, stage / name)
    if (book_dir() / "_static").is_dir():
        shutil.copytree(book_dir() / "_static", stage / "_static")
    stage_notebook(notebook, stage / notebook.name)
    (stage / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": notebook.stem, "chapters": [{"file": "references"}]}))
    index = build_html(stage, strict=strict)
    return index.parent / f"{notebook.stem}.html"
