"""The conda environment and the package metadata name the same packages and versions."""
from __future__ import annotations

import re
try:
    import tomllib
except ImportError:  # Python 3.10
    from pip._vendor import tomli as tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    assert set(extras) <= {"bench"}, "only the benchmarks' extra is expected"
    wanted = dict(_split(r) for r in [*project["dependencies"], *extras.get("bench", [])])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = dict(_split(r) for r in pip_section if not r.startswith("-e"))
    assert listed == wanted
    assert "-e ." in pip_section


def test_torch_is_pinned_exactly() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch_spec = dict(_split(r) for r in project["dependencies"])["torch"]
    assert torch_spec.startswith("==")
