"""The results store: one record per run, keyed by its id (:mod:`embcollapse.identity`).

A run lives in ``<root>/runs/<run_id>/`` as ``record.json`` (resolved configuration, data
fingerprint, semantics version, history, metrics, spectra, timing, device, versions, git
commit), ``model.pt`` (the best checkpoint's weights) and ``test_predictions.npz`` (the best
checkpoint's test labels as uint8 and click probabilities as float32, for paired comparisons;
about 5 bytes a test row). All are written into a temporary
folder that is renamed into place when complete, so a run killed midway leaves no record and
the next request trains it again (the temporary folder is hidden, never listed, and removed by
a later save). A run that raised is noted in ``<root>/failed/<run_id>.json`` (configuration,
error, traceback, host) until it succeeds, so a sweep can report it; a wrong setting
(:class:`~embcollapse.errors.ConfigError`) is not a failed run: it is raised before any work.

A record that cannot be trusted (truncated or empty ``record.json``, not an object, missing
keys, another run's id, a ``model.pt`` of another size than recorded) counts as missing: it is
named on stderr, moved to ``<root>/damaged/<run_id>-<time>/`` and the run is trained again.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import torch
from .progress import tqdm

from . import paths
from .atomic import atomic_directory, clean_stale, write_text
from .config import ModelConfig, RunConfig, TrainConfig, from_dict, to_dict
from .data.errors import DataError
from .errors import ConfigError
from .identity import run_id

RUN_KIND = "run"
PREDICTIONS = "test_predictions.npz"
RUN_FILES = ("record.json", "model.pt", PREDICTIONS)
REQUIRED_KEYS = ("run_id", "config", "history", "best_epoch", "valid", "test", "field_ia")


class DamagedRun(RuntimeError):
    """A stored run's files cannot be used; it has been set aside and will be trained again."""


def record_problem(record: Any, key: str, folder: Path) -> str | None:
    """Why a parsed ``record.json`` of run ``key`` in ``folder`` cannot be used, or None."""
    if not isinstance(record, dict):
        return f"not a JSON object ({type(record).__name__})"
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        return f"missing key(s) {', '.join(missing)}"
    if record["run_id"] != key:
        return f"it holds run {record['run_id']!r}, not {key!r}"
    if not isinstance(record["test"], dict) or "auc" not in record["test"]:
        return "'test' has no auc"
    expected = record.get("model_bytes")
    if expected is not None:
        model = folder / "model.pt"
        size = model.stat().st_size if model.is_file() else None
        if size != expected:
            return (f"model.pt has {'no file' if size is None else f'{size:,} bytes'}, the "
                    f"record says {expected:,} bytes")
    return None


_READ_ATTEMPTS = 20


def _folder_id(folder: Path) -> tuple[int, int] | None:
    """Which folder is at ``folder`` now (device, inode), or None when there is none."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def git_commit() -> str | None:
    """The checkout's commit (with ``+dirty`` when it has changes), or None outside git."""
    root = paths.checkout_root()
    if root is None:
        return None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sha + ("+dirty" if dirty.strip() else "")


def initial_model(record: dict[str, Any]) -> torch.nn.Module:
    """The model of a stored run as it was before its first training step (on the CPU).

    Training seeds every generator with the run's seed (its ``train.init_seed`` when set),
    then builds the model (:func:`embcollapse.train.start_model`); this does the same, so the
    weights are the run's start.
    """
    from .train import build_run_model, seed_everything

    init_seed = record["config"]["train"].get("init_seed")
    seed_everything(record["config"]["seed"] if init_seed is None else init_seed)
    model = build_run_model(from_dict(ModelConfig, record["config"]["model"], "model"),
                            from_dict(TrainConfig, record["config"]["train"], "train"),
                            record["field_dims"])
    return model.eval()


class ResultsStore:
    """Run records on disk. ``root`` defaults to ``<home>/results``."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.home() / "results"
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"results store {self.root} is a file, not a folder")

    def run_dir(self, key: str) -> Path:
        return self.root / "runs" / key

    def has(self, config: RunConfig | str) -> bool:
        """Whether a usable record of the run is stored (a damaged one does not count)."""
        return self.status(config) == "stored"

    def _key(self, config: RunConfig | str) -> str:
        return config if isinstance(config, str) else run_id(config)

    def _read(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        """``(record, None)``, ``(None, None)`` when not stored, or ``(None, why damaged)``.

        A problem counts only if the run's folder is the same one before and after the check:
        another writer of the same run replaces the folder (two renames), and a check that read
        ``record.json`` in the old folder and looked for ``model.pt`` after it was moved would
        otherwise set a good record aside. Then the new folder is read."""
        folder = self.run_dir(key)
        for _ in range(_READ_ATTEMPTS):
            before = _folder_id(folder)
            record, problem = self._read_once(key)
            if problem is None or _folder_id(folder) == before:
                return record, problem
        return record, problem

    def _read_once(self, key: str) -> tuple[dict[str, Any] | None, str | None]:
        path = self.run_dir(key) / "record.json"
        try:
            record = json.loads(path.read_text())
        except (FileNotFoundError, NotADirectoryError):
            return None, None
        except (UnicodeDecodeError, ValueError) as err:     # JSONDecodeError is a ValueError
            return None, f"cannot be parsed ({type(err).__name__}: {str(err)[:80]})"
        problem = record_problem(record, key, self.run_dir(key))
        return (None, problem) if problem else (record, None)

    def status(self, config: RunConfig | str) -> str:
        """``stored``, ``damaged`` (a record that cannot be used) or ``missing``; reads only."""
        record, problem = self._read(self._key(config))
        return "stored" if record is not None else "damaged" if problem else "missing"

    def set_aside(self, key: str, problem: str) -> Path | None:
        """Move a damaged run folder to ``<root>/damaged/<key>-<time>/`` and say so on stderr;
        returns where it went (None when another process moved it first)."""
        folder = self.run_dir(key)
        dest = self.root / "damaged" / f"{key}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(folder, dest)
        except FileNotFoundError:
            return None
        print(f"embcollapse: {folder / 'record.json'} is damaged ({problem}); moved to {dest}; "
              f"the run counts as missing and will be trained again", file=sys.stderr)
        return dest

    def load(self, config: RunConfig | str) -> dict[str, Any]:
        """The record of a run (by config or run id); KeyError when it is not stored, or when
        its record was damaged (then it is set aside, see :meth:`set_aside`)."""
        key = self._key(config)
        record, problem = self._read(key)
        if problem:
            self.set_aside(key, problem)
            raise KeyError(f"stored run {key} under {self.root} was damaged ({problem}) and "
                           f"has been set aside; train it again")
        if record is None:
            raise KeyError(f"no stored run {key} under {self.root}")
        return record

    def load_state(self, config: RunConfig | str) -> dict[str, torch.Tensor]:
        """The best checkpoint's weights of a stored run; :class:`DamagedRun` (after setting
        the run aside) when ``model.pt`` cannot be read."""
        key = self._key(config)
        path = self.run_dir(key) / "model.pt"
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise KeyError(f"stored run {key} has no weights ({path})") from None
        except Exception as err:    # torch raises many kinds for a truncated or edited file
            problem = f"model.pt cannot be read ({type(err).__name__}: {str(err)[:80]})"
            self.set_aside(key, problem)
            raise DamagedRun(f"{path}: {problem}; the run was set aside, train it again"
                             ) from err

    def load_model(self, record: dict[str, Any]) -> torch.nn.Module:
        """The best checkpoint of a stored run as a model in eval mode (on the CPU)."""
        from .models import model_from_config

        model = model_from_config(from_dict(ModelConfig, record["config"]["model"], "model"),
                                  record["field_dims"])
        model.load_state_dict(self.load_state(record["run_id"]))
        return model.eval()

    def load_test_predictions(self, run: dict[str, Any] | str) -> tuple[np.ndarray, np.ndarray]:
        """A stored run's test labels (n,) uint8 and probabilities (n,) float32, by record or id.

        KeyError when the run was stored without them (by an older version): train it again.
        """
        key = run if isinstance(run, str) else run["run_id"]
        path = self.run_dir(key) / PREDICTIONS
        if not path.is_file():
            raise KeyError(f"run {key} under {self.root} has no {PREDICTIONS} (stored before "
                           "test predictions were kept); delete its folder and train it again")
        with np.load(path) as saved:
            return saved["labels"], saved["scores"]

    def paired_difference(self, runs_a: Iterable[dict[str, Any]],
                          runs_b: Iterable[dict[str, Any]], level: float = 0.95):
        """AUC(a) - AUC(b) on the same test rows with a paired interval
        (:class:`~embcollapse.intervals.Difference`): the runs are paired by seed, each pair
        compared with DeLong, the seeds combined (:func:`~embcollapse.intervals.combine_seeds`).

        None when no seed has both runs, or a run was stored without its test predictions.
        """
        return self.paired_contrast([(1.0, runs_a), (-1.0, runs_b)], level)

    def paired_contrast(self, groups: Sequence[tuple[float, Iterable[dict[str, Any]]]],
                        level: float = 0.95):
        """A contrast ``sum(w * AUC(runs))`` of ``groups`` ``(w, runs)`` (e.g. a gain at one
        size minus a gain at another: four groups), paired by seed over the same test rows
        (:func:`~embcollapse.intervals.contrast_over_seeds`). None when no seed has a run in
        every group, or a run was stored without its test predictions."""
        from .intervals import contrast_over_seeds

        by_seed = [{r["config"]["seed"]: r for r in runs} for _, runs in groups]
        common = sorted(set.intersection(*(set(b) for b in by_seed))) if by_seed else []
        if not common:
            return None
        try:
            scored = [[self.load_test_predictions(b[seed]) for b in by_seed] for seed in common]
        except KeyError:
            return None
        return contrast_over_seeds(scored, [w for w, _ in groups], level)

    def save(self, record: dict[str, Any], state_dict: dict[str, torch.Tensor] | None = None,
             test_labels: np.ndarray | None = None, test_scores: np.ndarray | None = None
             ) -> Path:
        """Store a record (weights, test predictions) atomically; an existing record of the run
        is replaced."""
        final = self.run_dir(record["run_id"])
        record = {**record, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "git_commit": record.get("git_commit", git_commit())}
        with atomic_directory(final, RUN_KIND, RUN_FILES) as tmp:
            if state_dict is not None:
                torch.save(state_dict, tmp / "model.pt")
                record["model_bytes"] = (tmp / "model.pt").stat().st_size
            if test_scores is not None:
                if test_labels is None or len(test_labels) != len(test_scores):
                    raise ValueError("test predictions need labels and scores of one length")
                np.savez(tmp / PREDICTIONS, labels=np.asarray(test_labels, dtype=np.uint8),
                         scores=np.asarray(test_scores, dtype=np.float32))
            (tmp / "record.json").write_text(json.dumps(record, indent=1, allow_nan=True))
        return final

    def failure_path(self, key: str) -> Path:
        return self.root / "failed" / f"{key}.json"

    def record_failure(self, config: RunConfig, error: BaseException) -> Path:
        """Note that ``config`` raised ``error`` (kept until the run succeeds)."""
        note = {"run_id": run_id(config), "config": to_dict(config),
                "error": f"{type(error).__name__}: {error}",
                "traceback": "".join(traceback.format_exception(error)),
                "host": platform.node(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        return write_text(self.failure_path(note["run_id"]), json.dumps(note, indent=1))

    def annotate_failure(self, key: str, **fields: Any) -> None:
        """Add ``fields`` (e.g. ``slurm``: the task's job id and log) to run ``key``'s failure
        note, if it has one (rewritten whole, atomically)."""
        path = self.failure_path(key)
        try:
            note = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        write_text(path, json.dumps({**note, **fields}, indent=1))

    def clear_failure(self, key: str) -> None:
        self.failure_path(key).unlink(missing_ok=True)

    def failures(self) -> dict[str, dict[str, Any]]:
        """Failure notes of runs that raised and have not succeeded since, by run id (a note
        that cannot be read is named on stderr and read as "failed, error unknown")."""
        notes = {}
        for path in sorted((self.root / "failed").glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                note = json.loads(path.read_text())
                note["error"] = str(note["error"])
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
                print(f"embcollapse: failure note {path} cannot be read ({type(err).__name__})",
                      file=sys.stderr)
                note = {"run_id": path.stem, "error": f"unknown (damaged note {path.name})"}
            notes[path.stem] = note
        return notes

    def records(self) -> Iterator[dict[str, Any]]:
        """Every usable stored record, once per run. Temporary folders of unfinished saves are
        never listed; a damaged record is set aside (:meth:`set_aside`) and skipped."""
        runs = self.root / "runs"
        clean_stale(runs)                   # folders of saves killed midway
        for folder in sorted(runs.iterdir()) if runs.is_dir() else []:
            if folder.name.startswith(".") or not (folder / "record.json").is_file():
                continue
            record, problem = self._read(folder.name)
            if problem:
                self.set_aside(folder.name, problem)
            elif record is not None:
                yield record

    def load_or_run(self, config: RunConfig, device: str | None = "auto",
                    progress: bool = True) -> dict[str, Any]:
        """The stored record of ``config``, training and storing it first if needed (a
        damaged record is set aside first). A wrong setting or device raises
        :class:`ConfigError` before any data is read and is not noted as a failed run."""
        from .devices import resolve_device

        resolve_device(device)
        key = run_id(config)
        record, problem = self._read(key)
        if record is not None:
            return record
        from .train import fit  # training is only imported when a run is missing

        if problem:
            self.set_aside(key, problem)
        try:
            result = fit(config, device=device, progress=progress)
        except Exception as error:
            if not isinstance(error, ConfigError) or isinstance(error, DataError):
                self.record_failure(config, error)
            raise
        self.save(result.record, result.state_dict, result.test_labels, result.test_scores)
        self.clear_failure(result.record["run_id"])
        return self.load(result.record["run_id"])

    def load_or_run_many(self, configs: Iterable[RunConfig], device: str | None = "auto",
                         progress: bool = True) -> list[dict[str, Any]]:
        """Records of many runs in order; missing ones are trained one after another."""
        configs = list(configs)
        todo = sum(not self.has(c) for c in configs)
        bar = tqdm(configs, desc=f"runs ({todo} to train, {len(configs) - todo} stored)",
                   disable=not progress)
        return [self.load_or_run(c, device=device, progress=progress) for c in bar]
