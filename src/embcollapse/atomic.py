"""Write a folder or file completely or not at all, and never replace what we did not create.

A folder is built in a temporary sibling (same parent, so the final rename never crosses file
systems) that carries an owner marker (:data:`MARKER`: kind, host, pid) and a name with the host
and pid of its writer, ``.<name>.tmp-<host>-<pid>-<random>``. When it is complete it replaces the
target, but only if the target is missing, an empty folder, or a folder of ours of the same kind
(its marker says so, or it holds nothing but the files that kind writes); anything else (a
file, a link, a folder with other contents, the current working folder) is a
:class:`~embcollapse.errors.ConfigError` raised before any work, and nothing is touched.

A writer killed midway (``kill -9``) leaves its temporary sibling behind; the next write into
the same parent folder removes the siblings of writers on this host that are no longer running
(:func:`clean_stale`), so scratch does not pile up.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import re
import shutil
import socket
import stat
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Collection, Iterator

from .errors import ConfigError

MARKER = ".embcollapse-owner"
_STALE = re.compile(r"^\..+\.(?:tmp|old)-(?P<host>[0-9a-f]{6})-(?P<pid>\d+)-[^/]*$")


def host_tag() -> str:
    """A short tag of this host, part of every temporary name (pids are per host)."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


def _prefix(final: Path, what: str) -> str:
    return f".{final.name}.{what}-{host_tag()}-{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(parent: Path) -> list[Path]:
    """Remove temporary files and folders in ``parent`` left by writers of this host that no
    longer run (a kill during a write). Only names of :func:`temp_sibling`/:func:`write_text`
    are considered; returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    here = host_tag()
    for entry in entries:
        match = _STALE.match(entry.name)
        if not match or match["host"] != here or pid_alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def write_marker(folder: Path, kind: str) -> None:
    """Mark ``folder`` as written by this package, as a ``kind`` folder."""
    (Path(folder) / MARKER).write_text(json.dumps(
        {"kind": kind, "host": socket.gethostname(), "pid": os.getpid(),
         "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))


def marker_kind(folder: Path) -> str | None:
    """The kind in ``folder``'s owner marker, or None without a readable one."""
    try:
        return json.loads((Path(folder) / MARKER).read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def check_target(final: Path, kind: str, known: Collection[str]) -> Path:
    """``final`` as an absolute path if a ``kind`` folder may be written there, else
    :class:`ConfigError` saying why (nothing is touched).

    Allowed: nothing there yet, an empty folder, or a folder whose entries are all names that
    ``kind`` writes (``known``, the marker included) and whose readable marker, if any, is of
    ``kind`` (a damaged marker in a folder of only our names does not lock it).
    """
    final = Path(os.path.abspath(Path(final).expanduser()))
    try:                            # one look: another writer may move it between two
        mode = os.lstat(final).st_mode
    except FileNotFoundError:
        return final
    if stat.S_ISLNK(mode):
        raise ConfigError(f"{final} is a symbolic link; name a new folder")
    if not stat.S_ISDIR(mode):
        raise ConfigError(f"{final} is a file, not a folder; name a new folder")
    cwd = Path.cwd().resolve()
    if final.resolve() == cwd or final.resolve() in cwd.parents:
        raise ConfigError(f"{final} is (or holds) the current folder; name a new folder")
    try:
        entries = set(os.listdir(final))
    except FileNotFoundError:       # moved away by another writer of it meanwhile: free now
        return final
    if not entries:
        return final
    foreign = sorted(entries - set(known) - {MARKER})
    found = marker_kind(final)          # None when missing or unreadable: the names decide
    if foreign or (found is not None and found != kind):
        what = (f"holds {len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} this tool "
                f"did not write ({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''})"
                if foreign else f"is a {found or 'foreign'} folder, not a {kind} folder")
        raise ConfigError(f"{final} {what}; it will not be replaced: name a new or empty folder")
    return final


def temp_sibling(final: Path, kind: str = "folder") -> Path:
    """A new empty folder next to ``final`` (its parent is created if needed), marked as ours.

    Stale temporary siblings of dead writers in the same parent are removed first."""
    final = Path(os.path.abspath(Path(final).expanduser()))
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final.parent)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(final, "tmp"), dir=final.parent))
    write_marker(tmp, kind)
    return tmp


def replace_directory(tmp: Path, final: Path, kind: str, known: Collection[str]) -> Path:
    """Move the finished folder ``tmp`` to ``final``, replacing a folder of ours that was there
    (see :func:`check_target`; anything else raises and ``tmp`` stays where it is).

    Writers of one target at once (two array tasks saving the same run): each moves the folder
    there aside and renames its own in, trying again when another's landed first, so the last
    one's complete folder stays and none fails. Directories cannot be swapped atomically, so
    ``final`` is missing for the moment between the two renames."""
    final = check_target(final, kind, known)
    tmp = Path(tmp)
    if marker_kind(tmp) != kind:
        write_marker(tmp, kind)
    old = None
    try:
        for attempt in range(_RACE_ATTEMPTS):
            if final.exists():
                old = old or Path(tempfile.mkdtemp(prefix=_prefix(final, "old"),
                                                   dir=final.parent))
                aside = old / f"previous-{attempt}"
                try:
                    os.replace(final, aside)
                except FileNotFoundError:       # another writer moved it aside first
                    pass
            try:
                os.replace(tmp, final)
                return final
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST) or \
                        marker_kind(final) not in (kind, None):
                    _restore(old, final)
                    raise
                # another writer of the same target put its finished folder there in the
                # meantime: move that aside in turn, so that the last writer's folder stays
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
        raise OSError(errno.EBUSY, f"{final} kept changing under {_RACE_ATTEMPTS} writers")
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


_RACE_ATTEMPTS = 200


def _restore(old: Path | None, final: Path) -> None:
    """Put the folder this writer moved aside back at ``final`` if nothing else is there."""
    for previous in sorted(old.glob("previous-*")) if old is not None else []:
        if final.exists():
            return
        try:
            os.replace(previous, final)
        except OSError:
            return


def discard(tmp: Path) -> None:
    """Remove an unfinished temporary folder, if it is still there."""
    if Path(tmp).exists():
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def atomic_directory(final: Path, kind: str, known: Collection[str]) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``final`` when the block ends without an error;
    after an error (or a kill) ``final`` is left as it was. ``final`` is checked first."""
    check_target(final, kind, known)
    tmp = temp_sibling(final, kind)
    try:
        yield tmp
        replace_directory(tmp, final, kind, known)
    finally:
        discard(tmp)


def temp_file(final: Path) -> Path:
    """A new empty file next to ``final`` to be renamed onto it when complete (its parent is
    created if needed; stale temporary files of dead writers there are removed first)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(final.parent)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(final, "tmp"), dir=final.parent)
    os.close(fd)
    return Path(tmp)


def write_text(final: Path, text: str) -> Path:
    """Write a text file completely or not at all (a temporary sibling renamed into place)."""
    final = Path(final)
    tmp = temp_file(final)
    try:
        tmp.write_text(text)
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final
