"""Write a folder completely or not at all: build it in a temporary sibling, then rename it.

The sibling lies in the same parent folder, so the final rename never crosses file systems.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temp_sibling(final: Path) -> Path:
    """A new empty folder next to ``final`` (its parent is created if needed)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))


def replace_directory(tmp: Path, final: Path) -> Path:
    """Move the finished folder ``tmp`` to ``final``, replacing what was there."""
    if Path(final).exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return Path(final)


def discard(tmp: Path) -> None:
    """Remove an unfinished temporary folder, if it is still there."""
    if Path(tmp).exists():
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_directory(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``final`` when the block ends without an error;
    after an error (or a kill) ``final`` is left as it was."""
    tmp = temp_sibling(final)
    try:
        yield tmp
        replace_directory(tmp, final)
    finally:
        discard(tmp)


def write_text(final: Path, text: str) -> Path:
    """Write a text file completely or not at all (a temporary sibling renamed into place)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=final.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return final
