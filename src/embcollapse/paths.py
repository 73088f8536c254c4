"""Where the companion keeps its files: profiles, prepared data, run records.

Everything the package writes lives under one *home* folder, chosen in this order:
``$EMBCOLLAPSE_HOME``; ``<checkout>/.embcollapse`` when the package runs from a source checkout;
``~/.cache/embcollapse`` otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The repository root when running from a source checkout (src layout), else None."""
    root = PACKAGE_DIR.parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "configs").is_dir() else None


def home() -> Path:
    """The folder that holds prepared data and the results store."""
    env = os.environ.get("EMBCOLLAPSE_HOME")
    if env:
        folder = Path(env).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"EMBCOLLAPSE_HOME={env} is a file, not a folder; point it at a "
                              f"folder (it is created if missing)")
        return folder
    root = checkout_root()
    return root / ".embcollapse" if root else Path.home() / ".cache" / "embcollapse"


def profiles_dir() -> Path:
    """The folder of profile YAML files (``configs/profiles`` of the checkout)."""
    env = os.environ.get("EMBCOLLAPSE_PROFILES")
    if env:
        return Path(env).expanduser().resolve()
    root = checkout_root()
    if root is None:
        raise FileNotFoundError(
            "cannot find configs/profiles: set EMBCOLLAPSE_PROFILES to the folder of profile YAML "
            "files, or pass a profile as a path to a .yaml file")
    return root / "configs" / "profiles"


def paper_data_dir() -> Path:
    """The paper's reported numbers as CSV (``book/data/paper``)."""
    root = checkout_root()
    if root is None:
        raise FileNotFoundError("book/data/paper is only available in a source checkout")
    return root / "book" / "data" / "paper"
