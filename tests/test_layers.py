"""The one-way flow of DESIGN.md, enforced: import-linter's contracts in pyproject.toml.

raw -> prepared -> splits -> batches -> model -> record -> notebook; nothing reaches back (no
``embcollapse.data`` module imports training, models, the store, reports or the book).
"""
from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "embcollapse" / "data"


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
