"""Tables for the notebooks: run records as data frames, the paper's numbers, and captions."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import paths
from .config import ConfigError, DataConfig, Profile, TrainConfig, load_profile
from .data.stats import summary
from .intervals import Difference, mean_interval
from .paper_numbers import paper_auc, paper_table  # noqa: F401 (the notebooks read them here)


def run_ia(record: dict[str, Any]) -> float:
    """A run's information abundance: mean over fields of the IA of each field's table, for
    multi-embedding the M sets' tables side by side, (D_i, M*K) (the paper's measure)."""
    return float(np.mean(record["field_ia_concat"]))


def per_set_ia(record: dict[str, Any]) -> list[float]:
    """Mean over fields of every embedding set's own IA, (M,): not the run's IA for M > 1."""
    return [float(np.mean(row)) for row in record["field_ia"]]


def tables_per_field(record: Mapping[str, Any]) -> int:
    """How many tables a run has per field: M sets times the ensemble's members (1 for SE)."""
    model = record["config"]["model"]
    return int(model["num_sets"]) * int(model.get("ensemble", 1))


def field_collapse(record: Mapping[str, Any], tables: Sequence[Sequence[Any]] | None = None
                   ) -> dict[str, np.ndarray]:
    """Per field, the three measures of collapse (IA, effective rank, stable rank;
    :data:`~embcollapse.analysis.COLLAPSE_MEASURES`), name -> (N,), of each field's tables side
    by side (one table: its own; ME and ensembles as :func:`run_ia`).

    A run with one table per field is measured from its record's stored ``singular_values``
    (nothing loaded); with several, the stored spectra are each table's own, so ``tables``
    ([set][field] -> (D_i, K), e.g. ``store.load_model(record).embedding_tables()``) is needed.
    """
    from .analysis import field_measures, side_by_side_spectra

    if tables_per_field(record) == 1:
        return field_measures([np.asarray(s) for s in record["singular_values"][0]])
    if tables is None:
        raise ValueError(f"run {record['run_id']}: {tables_per_field(record)} tables per field; "
                         f"their spectrum side by side needs the tables (the stored singular "
                         f"values are each table's own)")
    return field_measures(side_by_side_spectra(tables))


def run_collapse(record: Mapping[str, Any], tables: Sequence[Sequence[Any]] | None = None
                 ) -> dict[str, float]:
    """Mean over fields of :func:`field_collapse`: name -> value (``IA`` is :func:`run_ia`)."""
    return {name: float(v.mean()) for name, v in field_collapse(record, tables).items()}


def runs_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: model, K, M, seed, metrics, IA, epochs, time, device, run id.

    ``mean_ia`` is :func:`run_ia` (ME: sets side by side); ``mean_ia_per_set`` the mean of
    :func:`per_set_ia` (the same for SE).
    """
    from .train import at_epoch_cap

    rows = []
    for r in records:
        cfg = r["config"]
        rows.append({
            "model": cfg["model"]["name"], "embed_dim": cfg["model"]["embed_dim"],
            "num_sets": cfg["model"]["num_sets"], "ensemble": cfg["model"].get("ensemble", 1),
            "shuffle": cfg["train"].get("shuffle", "each-epoch"), "seed": cfg["seed"],
            "test_auc": r["test"]["auc"], "test_logloss": r["test"]["logloss"],
            "valid_auc": r["valid"]["auc"], "mean_ia": run_ia(r),
            "mean_ia_per_set": float(np.mean(per_set_ia(r))),
            "best_epoch": r["best_epoch"], "epochs": len(r["history"]),
            "hit_epoch_cap": at_epoch_cap(r),
            "train_seconds": r["train_seconds"], "num_parameters": r["num_parameters"],
            "device": r["device"], "run_id": r["run_id"],
        })
    return pd.DataFrame(rows)


def collapse_frame(records: Sequence[dict[str, Any]], store: Any = None) -> pd.DataFrame:
    """:func:`with_sizes` of :func:`runs_frame` plus one column per measure of collapse (IA,
    effective rank, stable rank: :func:`run_collapse`, the mean over fields). Runs with several
    tables per field (ME, ensembles) load their tables from ``store`` (a
    :class:`~embcollapse.results.ResultsStore`)."""
    frame = with_sizes(runs_frame(records))
    values = []
    for r in records:
        tables = (store.load_model(r).embedding_tables()
                  if tables_per_field(r) > 1 and store is not None else None)
        values.append(run_collapse(r, tables))
    return pd.concat([frame, pd.DataFrame(values, index=frame.index)], axis=1)


def seed_paired_difference(frame: pd.DataFrame, a: Mapping[str, Any], b: Mapping[str, Any],
                           column: str) -> Difference:
    """``column`` of the rows matching ``a`` minus those matching ``b`` (``column: value``),
    paired by seed, with a Student-t interval over the seeds both have
    (:func:`~embcollapse.intervals.mean_interval`; unbounded with one seed)."""

    def by_seed(match: Mapping[str, Any]) -> pd.Series:
        hits = np.ones(len(frame), dtype=bool)
        for key, value in match.items():
            hits &= (frame[key] == value).to_numpy()
        return frame[hits].groupby("seed")[column].mean()

    left, right = by_seed(a), by_seed(b)
    common = sorted(set(left.index) & set(right.index))
    return mean_interval([float(left[s] - right[s]) for s in common], what="seeds")


def interval_side(difference: Difference) -> str:
    """``higher`` (interval above 0), ``lower`` (below 0) or ``unresolved`` (across 0)."""
    if difference.low > 0:
        return "higher"
    if difference.high < 0:
        return "lower"
    return "unresolved"


def measure_agreement(differences: Mapping[str, Difference], what: str) -> str:
    """A sentence saying whether the measures of collapse agree on a difference ``what``
    (measure name -> its :class:`~embcollapse.intervals.Difference` over seeds): each is
    ``higher``, ``lower`` or ``unresolved`` by its interval against 0."""
    sides = {name: interval_side(d) for name, d in differences.items()}
    values = ", ".join(f"{name} {d.diff:+.2f} [{d.low:+.2f}, {d.high:+.2f}]"
                       for name, d in differences.items())
    if len(set(sides.values())) == 1:
        side = next(iter(sides.values()))
        verdict = ("all three measures leave it unresolved" if side == "unresolved"
                   else f"all three measures agree: {side}")
    else:
        verdict = "the measures disagree: " + ", ".join(f"{n} {v}" for n, v in sides.items())
    return f"{what}: {verdict} ({values})."


def mean_std(frame: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Mean, standard deviation and count of ``value`` per group (std 0 for a single seed)."""
    grouped = frame.groupby(list(by))[value]
    out = grouped.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def normalized_field_ia(record: dict[str, Any]) -> np.ndarray:
    """Per field, IA / IA(random table of the same shape) (paper Appendix I), from the stored
    per-field IA; for multi-embedding, of each field's sets side by side, (D_i, M*K). (N,)"""
    from .analysis import random_ia

    model = record["config"]["model"]
    width = model["embed_dim"] * tables_per_field(record)
    return np.array([ia / random_ia(d, width)
                     for ia, d in zip(record["field_ia_concat"], record["field_dims"])])


def mean_normalized_ia(record: dict[str, Any]) -> float:
    """Mean over fields of :func:`normalized_field_ia`."""
    return float(np.mean(normalized_field_ia(record)))


def normalized_ia_change(small: Sequence[dict[str, Any]], large: Sequence[dict[str, Any]]
                         ) -> Difference:
    """IA / random IA (:func:`normalized_field_ia`) of ``large``'s runs minus ``small``'s,
    paired by seed: the mean over fields per seed, then a Student-t interval over the seeds
    both have; with one common seed, over the fields of that seed (the seed spread is then not
    in the interval: the method says "t over fields")."""

    a = {r["config"]["seed"]: normalized_field_ia(r) for r in large}
    b = {r["config"]["seed"]: normalized_field_ia(r) for r in small}
    common = sorted(set(a) & set(b))
    if not common:
        raise ValueError("no seed has both runs")
    if len(common) > 1:
        return mean_interval([float(a[s].mean() - b[s].mean()) for s in common], what="seeds")
    return mean_interval(a[common[0]] - b[common[0]], what="fields")


def find_runs(records: Sequence[dict[str, Any]], frame: pd.DataFrame,
              **match: Any) -> list[dict[str, Any]]:
    """The records whose row of ``frame`` (a frame of the same records, in order) has every
    ``column=value`` of ``match`` (e.g. every seed of one model and size)."""
    hits = np.ones(len(frame), dtype=bool)
    for column, value in match.items():
        hits &= (frame[column] == value).to_numpy()
    return [records[int(i)] for i in np.flatnonzero(hits)]


def find_run(records: Sequence[dict[str, Any]], frame: pd.DataFrame,
             **match: Any) -> dict[str, Any] | None:
    """The first of :func:`find_runs`; None when there is none."""
    found = find_runs(records, frame, **match)
    return found[0] if found else None


def with_sizes(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``embedding`` (SE/ME, or ``ensemble`` for M single-embedding models averaged) and
    ``scale`` (N in "Nx", relative to the model's base K: ME's sets, the ensemble's members)."""
    from .models.registry import default_embed_dim

    out = frame.copy()
    base = out["model"].map(default_embed_dim)
    members = out["ensemble"] if "ensemble" in out else pd.Series(1, index=out.index)
    out["embedding"] = np.where(members > 1, "ensemble",
                                np.where(out["num_sets"] > 1, "ME", "SE"))
    out["scale"] = np.where(members > 1, members * out["num_sets"] * out["embed_dim"] // base,
                            np.where(out["num_sets"] > 1, out["num_sets"],
                                     out["embed_dim"] // base)).astype(int)
    return out


def dataset_name(data: DataConfig) -> str:
    """The dataset's name for a reader: ``movielens-100k``, ``criteo``, or for a CSV its file's
    name (never a prepared folder's hashed name); from the prepared ``meta.json``."""
    if data.is_synthetic:
        return f"synthetic '{data.preset}'"
    meta = _prepared_meta(data)
    if meta is None:
        return Path(data.name).name
    files = meta.get("source", {}).get("files") or []
    if meta.get("name") == "csv" and files:
        return Path(files[0]["path"]).name
    return str(meta.get("name", Path(data.name).name))


def _prepared_meta(data: DataConfig) -> dict[str, Any] | None:
    from .data.dataset import prepared_directory
    from .data.storage import read_meta

    try:
        return read_meta(prepared_directory(data))
    except ConfigError:         # the data is not here: say what the configuration says
        return None


def describe_data(data: DataConfig) -> str:
    """A short description of a data configuration for captions: the dataset's name
    (:func:`dataset_name`) and the settings its preparation actually used."""
    frac = "" if data.fraction == 1.0 else f"{data.fraction * 100:g}% of train"
    if data.is_synthetic:
        test = f" + {data.test_rows:,} fresh test rows" if data.test_rows else ""
        split = ", split by each run's seed" if data.split_per_run else ""
        if data.valid_rows:
            test = f" + {data.valid_rows:,} fresh validation rows{test}"
        return (f"synthetic '{data.preset}' ({data.rows:,} rows{test}, teacher seed "
                f"{data.seed}{', ' + frac if frac else ''}{split})")
    meta = _prepared_meta(data) or {}
    parts = [frac] if frac else []
    if "rows" in meta:
        parts.append(f"{meta['rows']:,} rows, {len(meta['field_dims'])} fields")
    if "min_count" in meta:
        parts.append(f"min count {meta['min_count']}")
    fit = meta.get("vocab_fit", {}).get("on", data.vocab_fit)
    parts += [f"vocabulary on {fit} rows", "split by each run's seed" if data.split_per_run
              else f"split seed {data.split_seed}"]
    return f"{dataset_name(data)} ({', '.join(parts)})"


def epoch_cap_note(records: Iterable[Mapping[str, Any]]) -> str:
    """A sentence naming the runs whose validation AUC was still rising at the epoch cap
    ("" when none): their numbers are those of under-trained models."""
    from .train import at_epoch_cap

    capped = [r for r in records if at_epoch_cap(r)]
    if not capped:
        return ""
    cap = capped[0]["config"]["train"]["max_epochs"]
    names = ", ".join(sorted({f"{r['config']['model']['name']} K={r['config']['model']['embed_dim']}"
                              + (f" M={r['config']['model']['num_sets']}"
                                 if r["config"]["model"]["num_sets"] > 1 else "")
                              for r in capped}))
    return (f"**Epoch cap reached:** {len(capped)} of these runs had their best validation AUC "
            f"in their last allowed epoch (`train.max_epochs` = {cap}), so they may be "
            f"under-trained: {names}.")


def protocol_departures(train: TrainConfig, data: DataConfig | None = None) -> list[str]:
    """How ``train`` (and ``data``) depart from the paper's protocol (Appendix C.2: Adam,
    learning rate, weight decay, batch size, early stopping patience and its validation
    split, embedding initialisation), e.g. ``["patience 1 (paper: 3)"]``."""
    paper = TrainConfig()
    out = [f"{label} {getattr(train, key)} (paper: {getattr(paper, key)})"
           for key, label in (("lr", "learning rate"), ("weight_decay", "weight decay"),
                              ("batch_size", "batch size"), ("patience", "early-stopping patience"))
           if getattr(train, key) != getattr(paper, key)]
    if train.embed_init_rows != paper.embed_init_rows:
        out.append(f"embedding tables drawn with the Xavier bound of a {train.embed_init_rows:,}-row "
                   "vocabulary (paper: the table's own)")
    fixed = [f"{label} of seed {getattr(train, key)}" for key, label in
             (("order_seed", "the batch order"), ("dropout_seed", "the dropout masks"),
              ("init_seed", "the initial weights")) if getattr(train, key) is not None]
    if fixed:
        out.append(f"every run takes {' and '.join(fixed)}, so its seed varies only the rest "
                   f"(the paper: replicates with 'different random initialization'; the "
                   f"authors' code also draws the split and batch order from each seed)")
    if data is not None and data.valid_rows:
        out.append(f"the checkpoint chosen on {data.valid_rows:,} fresh validation rows of the "
                   f"teacher (paper: the 10% validation split)")
    return out


def loss_line(train: TrainConfig) -> str:
    """Which loss trained the runs, for every page: ours by default, or the authors'."""
    if train.loss == "authors-bce":
        return ("Loss: the authors' `BCELoss` on the sigmoid output (`train.loss: authors-bce`); "
                "its gradient is zero where the sigmoid saturates.")
    return ("Loss: `BCEWithLogitsLoss` on the logit (`train.loss: bce-logits`); the authors' code "
            "uses `BCELoss` on the sigmoid output, whose gradient is zero where the sigmoid "
            "saturates in float32 (`train.loss: authors-bce` trains with it).")


def caption(profile: Profile, seeds: Sequence[int], device: str, extra: str = "") -> str:
    """Provenance line for a figure made from runs under ``profile``."""
    from .plotting import provenance

    return provenance(profile.name, describe_data(profile.data), seeds, device, extra)


class ChapterContext:
    """What every chapter needs: the profile, seeds, device, results store and captions.

    Args:
        profile: profile name or YAML path.
        device: None for the profile's device; ``auto``, ``cpu``, ``cuda``...
        seeds: None for each chapter's seeds (the profile's where a chapter sets none); given,
            these seeds for every run.
        chapter: the chapter this context serves: its ``seeds`` are the page's seeds.
    """

    def __init__(self, profile: str, device: str | None = None,
                 seeds: Sequence[int] | None = None, chapter: str | None = None) -> None:
        from .plotting import use_style
        from .results import ResultsStore
        from .train import resolve_device

        self.profile = load_profile(profile)
        self.seed_override = tuple(seeds) if seeds is not None else None
        own = self.params(chapter).seeds if chapter else None
        self.seeds = self.seed_override or own or self.profile.seeds
        self.device = str(resolve_device(device or self.profile.device))
        self.store = ResultsStore()
        use_style()

    @property
    def synthetic(self) -> bool:
        """Whether this profile trains on synthetic data (with a known labelling teacher)."""
        return self.profile.data.is_synthetic

    @property
    def dataset(self) -> str:
        """The dataset's name for the page (:func:`dataset_name`)."""
        return dataset_name(self.profile.data)

    def skipped(self, what: str) -> Any:
        """The one sentence a section that needs generated data shows on real data (it says
        what the section would show and why it is left out)."""
        from IPython.display import Markdown

        return Markdown(f"*{what} needs data generated from a known labelling model; this "
                        f"build trains on {self.dataset}, so it is left out.*")

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
        configs = run_configs(self.profile, items, self.seed_override)
        from IPython.display import Markdown, display

        if self.profile.train_missing:
            records = self.store.load_or_run_many(configs, device=self.device)
        else:
            stored = [c for c in configs if self.store.has(c)]
            if len(stored) < len(configs):
                display(Markdown(
                    f"**{len(configs) - len(stored)} of the {len(configs)} runs this section "
                    f"reads (profile {self.profile.name}, data "
                    f"{dataset_name(self.profile.data)}) are not trained yet.** What follows "
                    f"uses the {len(stored)} trained ones; `embcollapse sweep --profile "
                    f"{self.profile.name}` trains the rest (`--status` lists them)."))
            records = [self.store.load(c) for c in stored]
        note = epoch_cap_note(records)
        if note:
            display(Markdown(note))
        return records

    def difference(self, records: Sequence[dict[str, Any]], frame: pd.DataFrame,
                   a: Mapping[str, Any], b: Mapping[str, Any]):
        """Paired AUC(a) - AUC(b) (:meth:`~embcollapse.results.ResultsStore.paired_difference`)
        of the runs whose rows of ``frame`` match ``a`` and ``b`` (``column: value``), paired
        by seed; None when they cannot be paired."""
        return self.contrast(records, frame, [(1.0, a), (-1.0, b)])

    def contrast(self, records: Sequence[dict[str, Any]], frame: pd.DataFrame,
                 terms: Sequence[tuple[float, Mapping[str, Any]]]):
        """A paired contrast ``sum(w * AUC(runs matching m))`` over ``terms`` ``(w, m)``
        (:meth:`~embcollapse.results.ResultsStore.paired_contrast`), paired by seed; a
        one-seed result gets the build's seed spread (as :meth:`difference`). None when the
        runs cannot be paired."""
        found = self.store.paired_contrast([(w, find_runs(records, frame, **m))
                                            for w, m in terms])
        return self._with_build_spread(found)

    def contrasts(self, records: Sequence[dict[str, Any]], frame: pd.DataFrame, model: str,
                  terms: Mapping[str, Sequence[tuple[float, str, int]]]) -> dict[str, Any]:
        """:meth:`contrast` of ``model``'s runs for each key of ``terms`` (key ->
        ``[(weight, embedding, scale), ...]``, e.g.
        :func:`~embcollapse.findings.multi_embedding.table_1_terms`); ``frame`` needs the
        ``embedding`` and ``scale`` columns (:func:`with_sizes`)."""
        return {key: self.contrast(records, frame, [(w, {"model": model, "embedding": e,
                                                         "scale": k}) for w, e, k in parts])
                for key, parts in terms.items()}

    def _with_build_spread(self, found: Any) -> Any:
        if found is not None and found.seeds < 2:
            spread = self.seed_spread()
            if spread is not None:
                from dataclasses import replace

                found = replace(found, seed_sd=spread.sd, seed_sd_source=spread.source)
        return found

    def seed_spread(self):
        """The seed-to-seed sd of AUC differences measured in this build
        (:class:`~embcollapse.intervals.SeedSpread`): pooled over the stored multi-seed
        comparisons of the collapse chapter (each model's largest minus smallest K), the ones
        the default profile gives three seeds. None when they have one seed or are not stored.
        A one-seed difference uses it to say how many seeds it would need."""
        if hasattr(self, "_seed_spread"):
            return self._seed_spread
        from .baselines import seed_spread
        from .chapters import chapter_params
        from .grids import collapse, run_configs

        params = chapter_params(self.profile, "collapse")
        configs = [c for c in run_configs(self.profile, collapse(params)) if self.store.has(c)]
        stored = [self.store.load(c) for c in configs]
        lo, hi = min(params.embed_dims), max(params.embed_dims)
        diffs = []
        for model in params.models:
            def at(k):
                return [r for r in stored if r["config"]["model"]["name"] == model
                        and r["config"]["model"]["embed_dim"] == k]
            diffs.append(self.store.paired_difference(at(hi), at(lo)))
        self._seed_spread = seed_spread(diffs, "collapse-chapter (largest minus smallest K)")
        return self._seed_spread

    def banner(self):
        """A line for the top of a chapter: which profile, data, seeds and device made it."""
        from IPython.display import Markdown

        departures = protocol_departures(self.profile.train, self.profile.data)
        training = (f" Training departs from the paper's protocol in: {'; '.join(departures)}"
                    f" (to fit this profile's CPU budget)." if departures else "")
        return Markdown(f"*This page: {self.caption()}.*{training} {loss_line(self.profile.train)}")

    def record(self, *found: Any, records: Iterable[dict[str, Any]] | None = None):
        """Record this build's findings (:class:`~embcollapse.findings.Finding`) for the summary
        page; returns them for display (a finding shows its status, values and rule)."""
        from IPython.display import Markdown

        from .claims import current_build, record_claim

        build = current_build(self.profile)
        records = list(records or [])
        seeds = sorted({r["config"]["seed"] for r in records})
        for f in found:        # an item not run rests on no seeds
            record_claim(build, f, self.caption(records=records),
                         () if f.status in ("not run", "diagram") else seeds)
        return Markdown("\n\n".join(f.summary_line() for f in found))

    def caption(self, extra: str = "", records: Iterable[dict[str, Any]] | None = None) -> str:
        """Provenance line; with ``records``, the devices they were trained on."""
        records = list(records or [])
        devices = sorted({r["device"] for r in records}) if records else [self.device]
        seeds = sorted({r["config"]["seed"] for r in records}) if records else self.seeds
        return caption(self.profile, seeds, ", ".join(devices), extra)


def table4(prepared: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The paper's Table 4 with a row of ours beside each dataset.

    ``prepared`` maps a label (e.g. ``"criteo (shared sample)"``) to the ``meta.json`` of a
    prepared directory; a label starting with ``criteo`` or ``avazu`` is placed after the
    paper's row for that dataset.
    """
    paper = paper_table("table4_datasets")
    rows = []
    for _, row in paper.iterrows():
        rows.append({"dataset": row["dataset"], "source": "paper (full data)",
                     **{k: row[k] for k in paper.columns if k != "dataset"},
                     "positive_rate": ""})
        for label, meta in prepared.items():
            if label.split()[0] == row["dataset"]:
                rows.append({"dataset": row["dataset"], "source": label, **summary(meta)})
    for label, meta in prepared.items():
        if label.split()[0] not in set(paper["dataset"]):
            rows.append({"dataset": label.split()[0], "source": label, **summary(meta)})
    return pd.DataFrame(rows).astype({"instances": str, "total_features": str,
                                      "max_field_cardinality": str,
                                      "min_field_cardinality": str})


def ensemble_members(ctx: "ChapterContext", params: Any, scale: int, model: str = "dcnv2",
                     min_rows: int = 10) -> dict[int, Any]:
    """The stored ensemble of ``scale`` ``model`` SE models of the base K, per seed, as the
    baseline of Figures 8b and 10a (:func:`~embcollapse.baselines.ensemble_members_baseline`);
    empty when this build trains no such ensemble."""
    from .baselines import ensemble_members_baseline
    from .grids import ensemble_of, run_configs

    configs = run_configs(ctx.profile, [ensemble_of(model, scale, params.train_fraction)],
                          params.seeds)
    stored = [ctx.store.load(c) for c in configs if ctx.store.has(c)]
    return ensemble_members_baseline(stored, ctx.store, min_rows=min_rows) if stored else {}


VARIANCE_STUDY = "measured/variance_default.json"   # under book/data: benchmarks/variance.py's


def variance_study(path: Path | None = None) -> tuple[pd.DataFrame, str]:
    """The recorded variance study (``benchmarks/variance.py``'s JSON, kept under
    ``book/data/measured``): one row per condition and arm (``SE``, ``ME``, ``ME - SE``) with
    the sd of test AUC over the replicates and its 95% chi-square interval, the mean best
    epoch and the mean per-replicate DeLong SE; and the file's provenance line."""
    import json

    path = path or paths.paper_data_dir().parent / VARIANCE_STUDY
    study = json.loads(Path(path).read_text())
    frame = pd.DataFrame(study["rows"]).rename(columns={"what": "arm"})
    return frame, str(study.get("provenance", path))


def dominant_source(frame: pd.DataFrame, sources: Sequence[str] = ("init", "order", "dropout")
                    ) -> dict[str, str]:
    """Per arm of :func:`variance_study`'s frame, the single source whose condition gives the
    largest sd of test AUC (one source varied, the others fixed)."""
    part = frame[frame.condition.isin(sources)]
    return {arm: str(rows.loc[rows.sd.idxmax(), "condition"])
            for arm, rows in part.groupby("arm")}