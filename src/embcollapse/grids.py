"""Which runs each chapter needs: the one place that turns a chapter's parameters into runs.

A chapter notebook asks its context for ``chapter_runs(chapter, params)`` and `embcollapse sweep`
expands the same functions for every chapter of a profile, so what a sweep trains is exactly
what the book reads, and runs shared by chapters (the same configuration) are trained once.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

from .chapters import (AppendixParams, CollapseParams, DataSizeParams, HowItWorksParams,
                       LoaderOrderParams, MultiEmbeddingParams, OverfittingParams, RegularizedParams,
                       SyntheticDataParams, TheoryParams,
                       WhenCollapseParams, chapter_params)
from .config import ConfigError, Profile, RunConfig, SHUFFLES
from .identity import resolved_key
from .models.registry import default_embed_dim
from .models.sizes import size_preset


@dataclass(frozen=True)
class Run:
    """One run of a chapter before seeds: a model (a ModelConfig mapping) and data overrides.

    ``first_seed_only``: the chapter analyses one trained model, so only the first seed is
    needed. ``train``: training overrides (chapter 09's init levels). ``seeds``: the seeds of this run (the chapter's ``seeds``); None: the profile's.
    """

    model: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    first_seed_only: bool = False
    train: Mapping[str, Any] = field(default_factory=dict)   # training overrides
    seeds: tuple[int, ...] | None = None

    @property
    def name(self) -> str:
        return str(self.model["name"])


def sized(name: str, scale: int, embedding: str, train_fraction: float = 1.0,
          **hyper: Any) -> Run:
    """Model ``name`` at size ``scale``x, single (``SE``) or multi (``ME``) embedding."""
    k, m = size_preset(name, scale, embedding)
    model: dict[str, Any] = {"name": name, "embed_dim": k, "num_sets": m}
    if hyper:
        model["hyper"] = hyper
    return Run(model, fraction_override(train_fraction))


def fraction_override(train_fraction: float) -> dict[str, Any]:
    """Data override for a share of the training rows (none for all of them)."""
    return {} if train_fraction == 1.0 else {"fraction": train_fraction}


def chapter_grid(grid: Callable[[Any], list[Run]]) -> Callable[[Any], list[Run]]:
    """A chapter's grid whose runs take the chapter's ``seeds`` (when it sets them)."""
    @functools.wraps(grid)
    def with_seeds(params: Any) -> list[Run]:
        runs = grid(params)
        if params.seeds is None:
            return runs
        return [r if r.seeds is not None else replace(r, seeds=tuple(params.seeds))
                for r in runs]
    return with_seeds


def se_and_me(names: Iterable[str], scales: Iterable[int], train_fraction: float) -> list[Run]:
    """Every model at every size, SE and ME (ME at 1x is SE and is left out)."""
    return [sized(name, s, emb, train_fraction) for name in names for s in scales
            for emb in ("SE", "ME") if not (emb == "ME" and s == 1)]


@chapter_grid
def collapse(p: CollapseParams) -> list[Run]:
    runs = [Run({"name": m, "embed_dim": k}) for m in p.models for k in p.embed_dims]
    if p.field_ia_embed_dim not in p.embed_dims or p.spectrum_model not in p.models:
        runs.append(Run({"name": p.spectrum_model, "embed_dim": p.field_ia_embed_dim}))
    return runs


@chapter_grid
def theory(p: TheoryParams) -> list[Run]:
    """The DCNv2 and the FFM whose sub-embeddings are analysed, under the chapter's seeds
    (each statistic is decided over them)."""
    return [Run({"name": "dcnv2", "embed_dim": p.dcnv2_embed_dim}),
            Run({"name": "ffm", "embed_dim": p.ffm_embed_dim})]


@chapter_grid
def regularized(p: RegularizedParams) -> list[Run]:
    sizes = sorted(set(p.embed_dims) | {p.heatmap_embed_dim})
    return [Run({"name": m, "embed_dim": k}) for m in ("dcnv2", "dcnv2-reg") for k in sizes]


@chapter_grid
def dnn_overfitting(p: OverfittingParams) -> list[Run]:
    return [Run({"name": m, "embed_dim": k}) for m in p.models for k in p.embed_dims]


@chapter_grid
def table_1_runs(p: MultiEmbeddingParams) -> list[Run]:
    """Table 1 and Figure 8: every model at every size, SE and ME (and Figure 8b's pair)."""
    runs = se_and_me(p.models, p.scales, p.train_fraction)
    runs += se_and_me([p.field_ia_model], [p.field_ia_scale], p.train_fraction)
    return [replace(r, first_seed_only=True) if r.name in p.one_seed_models else r
            for r in runs]


def ensemble_of(name: str, members: int, train_fraction: float = 1.0) -> Run:
    """An ensemble of ``members`` single-embedding ``name`` models of the base K (``model.
    ensemble``): the same embedding parameters as ME with that many sets."""
    k, _ = size_preset(name, 1, "SE")
    return Run({"name": name, "embed_dim": k, "num_sets": 1, "ensemble": members},
               fraction_override(train_fraction))


@chapter_grid
def ensemble_runs(p: MultiEmbeddingParams) -> list[Run]:
    """"Is multi-embedding more than an ensemble?": for each of ``ensemble_models`` that the
    chapter trains (``models``), at the largest scale M: SE at M times the base K, ME of M
    sets, and the ensemble of M SE models of the base K (none when the largest scale is 1x)."""
    top = max(p.scales)
    if top == 1:
        return []
    return [run for name in p.ensemble_models if name in p.models
            for run in (sized(name, top, "SE", p.train_fraction),
                        sized(name, top, "ME", p.train_fraction),
                        ensemble_of(name, top, p.train_fraction))]


@chapter_grid
def multi_embedding(p: MultiEmbeddingParams) -> list[Run]:
    """Every run of the chapter: Table 1's and the ensemble control's."""
    return table_1_runs(p) + ensemble_runs(p)


@chapter_grid
def loader_order(p: LoaderOrderParams) -> list[Run]:
    """The loader-order comparison: each model's SE and ME at ``scale`` under both
    ``train.shuffle`` orders (the profile's own order is the run other chapters read)."""

    return [replace(sized(name, p.scale, emb), train={"shuffle": order})
            for name in p.models for emb in ("SE", "ME")
            if not (emb == "ME" and p.scale == 1) for order in SHUFFLES]


@chapter_grid
def how_it_works(p: HowItWorksParams) -> list[Run]:
    f, s = p.train_fraction, p.analysis_scale
    runs = se_and_me(["dcnv2"], sorted(set(p.scales) | {s}), f)           # Figures 9, 10a-10d
    runs += [sized(v, scale, "ME", f) for v in ("dcnv2-shared", "dcnv2-agree")
             for scale in p.scales if scale > 1]                            # Figures 10c, 10d
    runs += [sized(p.linear_model, s, "ME", f)]                             # Appendix E
    runs += se_and_me(["dcnv2-reg", "dnn"], sorted({1, s}), f)              # Appendix K
    if p.analysis_seeds is None:
        return runs
    analysed = {"dcnv2", "dcnv2-shared", "dcnv2-agree"}   # Figures 9, 10a-10d at analysis_scale
    return [replace(r, seeds=tuple(p.analysis_seeds))
            if r.name in analysed and _scale_of(r) == s else r for r in runs]


def _scale_of(run: Run) -> int:
    """A sized run's scale N ("Nx"): its number of sets, or its K over the base K."""
    model = run.model
    return int(model.get("num_sets", 1)) if model.get("num_sets", 1) > 1 else \
        int(model["embed_dim"]) // default_embed_dim(str(model["name"]))


@chapter_grid
def data_size(p: DataSizeParams) -> list[Run]:
    runs = []
    for fraction in p.fractions:
        data = fraction_override(fraction)
        runs += [Run({"name": "dcnv2", "embed_dim": k}, data) for k in p.embed_dims]
        runs.append(Run({"name": "dcnv2", "embed_dim": p.me_embed_dim, "num_sets": p.me_sets},
                        data))
    return runs


def depth_variants(p: AppendixParams) -> dict[str, dict[str, Any]]:
    """Table 3's DCNv2 variants as hyper-parameters (``standard`` is the paper's DCNv2)."""
    return {"standard": {}, "more_cross_layers": {"cross_layers": p.more_cross_layers},
            "deeper_mlp": {"mlp_dims": list(p.deeper_mlp)}}


@chapter_grid
def appendices(p: AppendixParams) -> list[Run]:
    return [sized("dcnv2", s, "SE", p.train_fraction, **hyper)
            for hyper in depth_variants(p).values() for s in p.depth_scales]


def teacher_variants(p: WhenCollapseParams) -> dict[str, dict[str, Any]]:
    """The data overrides of "When does collapse appear?", by label: each rank, then each
    interaction kind, one teacher property changed at a time."""
    out = {f"rank {r}": {"teacher": {"rank": r}} for r in p.ranks}
    out.update({f"{kind} interaction": {"teacher": {"interaction": kind}}
                for kind in p.interactions})
    return out


def init_label(rows: int) -> str:
    """A chapter-09 init level's label: ``init as 1,080,000 rows`` or ``own-vocabulary init``."""
    return f"init as {rows:,} rows" if rows else "own-vocabulary init"


def init_variants(p: WhenCollapseParams) -> dict[str, dict[str, Any]]:
    """The training overrides of chapter 09's init axis, by label: each ``init_rows`` level
    (``train.embed_init_rows``) at the profile's data and batch size."""
    return {init_label(r): {"embed_init_rows": r} for r in p.init_rows}


def _variant_runs(p: WhenCollapseParams, data: Mapping[str, Any] | None = None,
                  train: Mapping[str, Any] | None = None) -> list[Run]:
    """SE at each K and at the ME's total size, and the ME, under one variant."""
    total = p.me_sets * p.me_embed_dim
    sizes = sorted(set(p.embed_dims) | {total})
    models = [{"name": p.model, "embed_dim": k} for k in sizes]
    models.append({"name": p.model, "embed_dim": p.me_embed_dim, "num_sets": p.me_sets})
    return [Run(m, dict(data or {}), train=dict(train or {})) for m in models]


@chapter_grid
def when_collapse(p: WhenCollapseParams) -> list[Run]:
    """For every teacher variant and every init level: SE at each K and at the ME's total
    size, and the ME."""
    runs = []
    for data in teacher_variants(p).values():
        runs += _variant_runs(p, data=data)
    for train in init_variants(p).values():
        runs += _variant_runs(p, train=train)
    return runs


def synthetic_data(p: SyntheticDataParams) -> list[Run]:
    """The synthetic-data page shows data, no trained run."""
    return []


GRIDS: dict[str, Callable[[Any], list[Run]]] = {
    "synthetic_data": synthetic_data, "loader_order": loader_order,
    "collapse": collapse, "theory": theory, "regularized": regularized,
    "dnn_overfitting": dnn_overfitting, "multi_embedding": multi_embedding,
    "how_it_works": how_it_works, "data_size": data_size, "appendices": appendices,
    "when_collapse": when_collapse,
}


SYNTHETIC_ONLY = ("when_collapse",)    # chapters that vary the synthetic data's teacher


def chapter_runs(profile: Profile, chapter: str, params: Any = None) -> list[Run]:
    """The runs of ``chapter`` under ``profile`` (``params``: already resolved parameters)."""
    if chapter in SYNTHETIC_ONLY and not profile.data.is_synthetic:
        return []
    params = params if params is not None else chapter_params(profile, chapter)
    return GRIDS[chapter](params)


def run_configs(profile: Profile, runs: Iterable[Run],
                seeds: Sequence[int] | None = None) -> list[RunConfig]:
    """Every run under every seed (the first seed only where a run asks), duplicates (the same
    resolved configuration) dropped; no data is read. ``seeds`` given: those, for every run;
    None: each run's own (its chapter's), else the profile's."""
    configs: dict[str, RunConfig] = {}
    for run in runs:
        chosen = tuple(seeds) if seeds is not None else (run.seeds or profile.seeds)
        for seed in (chosen[:1] if run.first_seed_only else chosen):
            config = profile.run_config(run.model, seed=seed, data=run.data, train=run.train)
            configs.setdefault(resolved_key(config), config)
    return list(configs.values())


def profile_configs(profile: Profile, chapters: Iterable[str] | None = None,
                    seeds: Sequence[int] | None = None) -> list[RunConfig]:
    """Every run the chapters of ``profile`` need (all chapters by default), each once."""

    names = list(chapters) if chapters else list(GRIDS)
    unknown = [c for c in names if c not in GRIDS]
    if unknown:
        raise ConfigError(f"unknown chapter(s) {', '.join(unknown)}; known: {', '.join(GRIDS)}")
    runs = [run for c in names for run in chapter_runs(profile, c)]
    return run_configs(profile, runs, seeds)
