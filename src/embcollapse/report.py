"""Tables for the notebooks: run records as data frames, the paper's numbers, and captions."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from . import paths
from .config import DataConfig, Profile


def runs_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: model, K, M, seed, metrics, mean IA, epochs, time, device, run id."""
    rows = []
    for r in records:
        cfg = r["config"]
        rows.append({
            "model": cfg["model"]["name"], "embed_dim": cfg["model"]["embed_dim"],
            "num_sets": cfg["model"]["num_sets"], "seed": cfg["seed"],
            "test_auc": r["test"]["auc"], "test_logloss": r["test"]["logloss"],
            "valid_auc": r["valid"]["auc"], "mean_ia": float(np.mean(r["field_ia"])),
            "best_epoch": r["best_epoch"], "epochs": len(r["history"]),
            "train_seconds": r["train_seconds"], "num_parameters": r["num_parameters"],
            "device": r["device"], "run_id": r["run_id"],
        })
    return pd.DataFrame(rows)


def mean_std(frame: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Mean, standard deviation and count of ``value`` per group (std 0 for a single seed)."""
    grouped = frame.groupby(list(by))[value]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def paper_table(name: str) -> pd.DataFrame:
    """A table of the paper's reported numbers, e.g. ``paper_table("table1_auc")``."""
    path = paths.paper_data_dir() / f"paper_{name}.csv"
    return pd.read_csv(path, comment="#")


def describe_data(data: DataConfig) -> str:
    """A short description of a data configuration for captions."""
    if data.name == "synthetic":
        frac = "" if data.fraction == 1.0 else f", {data.fraction:.0%} of train"
        return f"synthetic '{data.preset}' ({data.rows:,} rows, teacher seed {data.seed}{frac})"
    frac = "" if data.fraction == 1.0 else f"{data.fraction:.0%} of train, "
    source = f" from {data.path}" if data.path else ""
    return (f"{data.name}{source} ({frac}min count {data.min_count or 'default'}, "
            f"vocabulary on {data.vocab_fit} rows, split seed {data.split_seed})")


def caption(profile: Profile, seeds: Sequence[int], device: str, extra: str = "") -> str:
    """Provenance line for a figure made from runs under ``profile``."""
    from .plotting import provenance

    return provenance(profile.name, describe_data(profile.data), seeds, device, extra)


class ChapterContext:
    """What every chapter needs: the profile, seeds, device, results store and captions.

    Args:
        profile: profile name or YAML path.
        device: None for the profile's device; ``auto``, ``cpu``, ``cuda``...
        seeds: None for the profile's seeds.
    """

    def __init__(self, profile: str, device: str | None = None,
                 seeds: Sequence[int] | None = None) -> None:
        from .config import load_profile
        from .plotting import use_style
        from .results import ResultsStore
        from .train import resolve_device

        self.profile = load_profile(profile)
        self.seeds = tuple(seeds) if seeds is not None else self.profile.seeds
        self.device = str(resolve_device(device or self.profile.device))
        self.store = ResultsStore()
        use_style()

    def run_config(self, model: dict[str, Any], seed: int, **overrides: Any):
        """The run of ``model`` (a ModelConfig mapping) under this chapter's profile."""
        return self.profile.run_config(model, seed=seed, **overrides)

    def params(self, chapter: str, **overrides: Any) -> Any:
        """The chapter's parameters under this profile (non-None ``overrides`` win)."""
        from .chapters import chapter_params

        return chapter_params(self.profile, chapter, **overrides)

    def runs(self, runs: Iterable[Any], data: dict[str, Any] | None = None
             ) -> list[dict[str, Any]]:
        """Records of ``runs`` (:class:`~embcollapse.grids.Run` or ModelConfig mappings, the
        latter with ``data`` overrides) under every seed, each run once.

        With the profile's ``train_missing`` (the small profiles) missing runs are trained here;
        otherwise only stored runs are returned and the page says how many are missing.
        """
        from .grids import Run, run_configs

        items = [r if isinstance(r, Run) else Run(r, data or {}) for r in runs]
        configs = run_configs(self.profile, items, self.seeds)
        if self.profile.train_missing:
            return self.store.load_or_run_many(configs, device=self.device)
        stored = [c for c in configs if self.store.has(c)]
        if len(stored) < len(configs):
            from IPython.display import Markdown, display

            display(Markdown(
                f"**{len(configs) - len(stored)} of the {len(configs)} runs this section "
                f"reads are not in the results store ({self.store.root}).** What follows "
                f"uses the {len(stored)} stored ones; `embcollapse sweep --profile "
                f"{self.profile.name}` trains the rest (`--status` lists them)."))
        return [self.store.load(c) for c in stored]

    def banner(self):
        """A line for the top of a chapter: which profile, data, seeds and device made it."""
        from IPython.display import Markdown

        return Markdown(f"*This page: {self.caption()}.*")

    def caption(self, extra: str = "", records: Iterable[dict[str, Any]] | None = None) -> str:
        """Provenance line; with ``records``, the devices they were trained on."""
        devices = sorted({r["device"] for r in records}) if records else [self.device]
        return caption(self.profile, self.seeds, ", ".join(devices), extra)
