"""The one-way flow, enforced: import-linter's contracts in pyproject.toml.

raw -> prepared -> splits -> batches -> model -> record -> verdict -> notebook; nothing reaches
back (no ``embcollapse.data`` module imports training, models, the store, reports or the book),
every top-level module has its layer, and a circle breaks the contract.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "embcollapse"
DATA = PACKAGE / "data"
LAYERS_CONTRACT = "The data flows one way"


def top_level_layers(config_filename: str) -> list[list[str]]:
    """The module names of each layer of the top-level contract, highest first."""
    from importlinter.api import read_configuration

    config = read_configuration(config_filename)
    layers = next(c for c in config["contracts_options"]
                  if c["name"].startswith(LAYERS_CONTRACT))["layers"]
    return [[name.strip() for name in layer.split("|")] for layer in layers]


def test_import_contracts_are_kept(capsys) -> None:
    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True,
                        no_logo=True)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "3 kept, 0 broken" in out


def test_contracts_cover_every_data_module() -> None:
    # a new module in data/ must be placed in the data layer's contract
    from importlinter.api import read_configuration

    config = read_configuration(str(REPO / "pyproject.toml"))
    layers = next(c for c in config["contracts_options"]
                  if c["name"].startswith("The data layer's parts"))["layers"]
    listed = {name.strip().rsplit(".", 1)[-1] for layer in layers for name in layer.split("|")}
    present = {p.stem for p in DATA.glob("*.py") if p.stem != "__init__"}
    assert present <= listed, f"not in the data layers contract: {sorted(present - listed)}"


def test_no_data_module_imports_upwards_even_lazily() -> None:
    # import-linter sees imports inside functions too; this spells out the rule without it
    upward = {"train", "models", "analysis", "results", "sweep", "report", "book", "claims",
              "plotting", "grids", "cli"}
    found = []
    for path in DATA.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                target = (node.module or "").split(".")[0]
                if target in upward:
                    found.append(f"{path.name}:{node.lineno} imports ..{node.module}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "embcollapse."):
                if node.module.split(".")[1] in upward:
                    found.append(f"{path.name}:{node.lineno} imports {node.module}")
    assert found == []


def test_every_top_level_module_has_a_layer() -> None:
    listed = {name for layer in top_level_layers(str(REPO / "pyproject.toml")) for name in layer}
    present = {f"embcollapse.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    present |= {f"embcollapse.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert present == listed, (f"not in a layer: {sorted(present - listed)}; "
                               f"listed but absent: {sorted(listed - present)}")


def test_a_circle_breaks_the_contract(tmp_path: Path) -> None:
    # a copy of the package in which the store imports the sweep that imports it: a circle
    copy = tmp_path / "embcollapse"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    results = copy / "results.py"
    results.write_text(results.read_text() + "\n\ndef _circle():\n    from . import sweep\n")
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    check = ("import sys; from importlinter.cli import lint_imports; "
             "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, "
             "no_logo=True))")
    run = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "embcollapse.results -> embcollapse.sweep" in run.stdout
    assert "1 broken" in run.stdout
