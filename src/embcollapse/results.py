"""The results store: one record per run, keyed by its id (:mod:`embcollapse.identity`).

A run lives in ``<root>/runs/<run_id>/`` as ``record.json`` (resolved configuration, data
fingerprint, semantics version, history, metrics, spectra, timing, device, versions, git
commit) and ``model.pt`` (the best checkpoint's weights). Both are written into a temporary
folder that is renamed into place when complete, so a run killed midway leaves no record and
the next request trains it again. A run that raised is noted in
``<root>/failed/<run_id>.json`` (configuration, error, traceback, host) until it succeeds, so a
sweep can report it.
"""
from __future__ import annotations

import json
import platform
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch
from tqdm.auto import tqdm

from . import paths
from .atomic import atomic_directory, write_text
from .config import RunConfig, to_dict
from .identity import run_id


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


class ResultsStore:
    """Run records on disk. ``root`` defaults to ``<home>/results``."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else paths.home() / "results"

    def run_dir(self, key: str) -> Path:
        return self.root / "runs" / key

    def has(self, config: RunConfig | str) -> bool:
        """Whether the run (by config or run id) is stored."""
        key = config if isinstance(config, str) else run_id(config)
        return (self.run_dir(key) / "record.json").is_file()

    def load(self, config: RunConfig | str) -> dict[str, Any]:
        """The record of a run (by config or run id); KeyError when it is not stored."""
        key = config if isinstance(config, str) else run_id(config)
        path = self.run_dir(key) / "record.json"
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise KeyError(f"no stored run {key} under {self.root}") from None

    def load_state(self, config: RunConfig | str) -> dict[str, torch.Tensor]:
        """The best checkpoint's weights of a stored run."""
        key = config if isinstance(config, str) else run_id(config)
        return torch.load(self.run_dir(key) / "model.pt", map_location="cpu", weights_only=True)

    def load_model(self, record: dict[str, Any]) -> torch.nn.Module:
        """The best checkpoint of a stored run as a model in eval mode (on the CPU)."""
        from .config import ModelConfig, from_dict
        from .models import model_from_config

        model = model_from_config(from_dict(ModelConfig, record["config"]["model"], "model"),
                                  record["field_dims"])
        model.load_state_dict(self.load_state(record["run_id"]))
        return model.eval()

    def save(self, record: dict[str, Any], state_dict: dict[str, torch.Tensor] | None = None
             ) -> Path:
        """Store a record (and weights) atomically; an existing record of the run is replaced."""
        final = self.run_dir(record["run_id"])
        record = {**record, "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                  "git_commit": record.get("git_commit", git_commit())}
        with atomic_directory(final) as tmp:
            if state_dict is not None:
                torch.save(state_dict, tmp / "model.pt")
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

    def clear_failure(self, key: str) -> None:
        self.failure_path(key).unlink(missing_ok=True)

    def failures(self) -> dict[str, dict[str, Any]]:
        """Failure notes of runs that raised and have not succeeded since, by run id."""
        return {p.stem: json.loads(p.read_text())
                for p in sorted((self.root / "failed").glob("*.json"))}

    def records(self) -> Iterator[dict[str, Any]]:
        """Every stored record."""
        for path in sorted((self.root / "runs").glob("*/record.json")):
            yield json.loads(path.read_text())

    def load_or_run(self, config: RunConfig, device: str | None = "auto",
                    progress: bool = True) -> dict[str, Any]:
        """The stored record of ``config``, training and storing it first if needed."""
        key = run_id(config)
        if self.has(key):
            return self.load(key)
        from .train import fit  # training is only imported when a run is missing

        try:
            result = fit(config, device=device, progress=progress)
        except Exception as error:
            self.record_failure(config, error)
            raise
        self.save(result.record, result.state_dict)
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
