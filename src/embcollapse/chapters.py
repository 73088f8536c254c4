"""Each chapter's own parameters, checked strictly, and how a notebook resolves them.

A notebook's ``parameters`` cell holds plain values; ``None`` means "take it from the profile".
:func:`chapter_params` merges those overrides into the profile's section for the chapter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from .errors import ConfigError
from .schema import check_seeds, from_dict

if TYPE_CHECKING:                      # a type only: config imports this module
    from .config import Profile


@dataclass(frozen=True)
class ChapterParams:
    """What every chapter has: ``seeds``, the chapter's own seeds (None: the profile's), so a
    profile can give the comparisons a verdict rests on more seeds than the rest."""

    seeds: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.seeds is not None:
            check_seeds(self.seeds)


@dataclass(frozen=True)
class CollapseParams(ChapterParams):
    """Chapter 1, "Embedding collapse" (paper Figures 1 and 2)."""

    models: tuple[str, ...] = ("dcnv2", "dnn")     # Figure 1a: one curve per model
    embed_dims: tuple[int, ...] = (5, 10, 20, 40)  # single-embedding sizes K
    spectrum_model: str = "dcnv2"                  # Figure 1b and Figure 2 show this model
    field_ia_embed_dim: int = 40                   # Figure 2: per-field IA at this K


@dataclass(frozen=True)
class OverfittingParams(ChapterParams):
    """Evidence IV, "DNN overfitting" (paper Figure 6, Appendix K Figure 17b)."""

    models: tuple[str, ...] = ("dnn", "dcnv2")
    embed_dims: tuple[int, ...] = (5, 10, 20, 40)


@dataclass(frozen=True)
class TheoryParams(ChapterParams):
    """Evidence I and II, "Interaction-collapse theory" (paper Figures 3, 4, 14)."""

    dcnv2_embed_dim: int = 10       # the trained DCNv2 whose sub-embeddings are analysed
    ffm_embed_dim: int = 10         # the trained FFM (Appendix H)
    toy_d1: int = 100               # toy: cardinality of the trained field (inferred)
    toy_d2: int = 100               # toy: cardinality of the fixed partner field (inferred)
    toy_low_d3: int = 3             # toy: the low-IA partner's cardinality
    toy_high_d3: int = 100          # toy: the high-IA partner's cardinality
    toy_embed_dim: int = 16         # toy: K (not stated in the paper)
    toy_iterations: int = 5000
    toy_lr: float = 1.0
    toy_seeds: tuple[int, ...] = (0, 1, 2)   # toy: one run per seed (the first is plotted)


@dataclass(frozen=True)
class RegularizedParams(ChapterParams):
    """Evidence III, "Regularized DCNv2" (paper Figure 6, Appendix J Figure 16)."""

    embed_dims: tuple[int, ...] = (5, 10, 20, 40)
    heatmap_embed_dim: int = 10     # Appendix J: sub-embedding heat maps at this K


@dataclass(frozen=True)
class MultiEmbeddingParams(ChapterParams):
    """Section 5.2, "Multi-embedding results" (paper Table 1 / 5 / 6 / 7, Figure 8)."""

    models: tuple[str, ...] = ("dnn", "ipnn", "nfwfm", "xdeepfm", "dcnv2", "finalmlp", "autoint")
    scales: tuple[int, ...] = (1, 2, 3, 4, 10)  # "Nx": SE K = base*N, ME N sets of base K
    field_ia_model: str = "dcnv2"                # Figure 8b: per-field IA of this model...
    field_ia_scale: int = 10                     # ...at this size, SE against ME
    train_fraction: float = 1.0                  # share of the training rows (valid/test whole)
    one_seed_models: tuple[str, ...] = ()        # models run on the first seed only (cost)
    # beyond the paper: "is multi-embedding more than an ensemble?" For each of these models
    # that `models` holds, an ensemble of M single-embedding models of the base K (M = the largest of `scales`)
    # beside SE at K = M * base and ME with M sets of the base K
    ensemble_models: tuple[str, ...] = ("dcnv2", "dnn")


@dataclass(frozen=True)
class LoaderOrderParams(ChapterParams):
    """The synthetic-data page's protocol section: the authors' loader order (one fixed
    permutation, ``train.shuffle: fixed-order``) against a new permutation every epoch."""

    models: tuple[str, ...] = ()    # SE at `scale` x the base K and ME of `scale` sets of the
    scale: int = 4                  # base K, each trained under both orders (none: no runs)


@dataclass(frozen=True)
class HowItWorksParams(ChapterParams):
    """Section 5.3, "How multi-embedding works" (Figures 9, 10; Appendices E and K)."""

    scales: tuple[int, ...] = (2, 3, 4, 10)  # Figure 10c/10d: variants against ME across sizes
    analysis_scale: int = 4                  # Figures 9, 10a, 10b and Appendix K at this size
    linear_model: str = "dnn-linear"         # Appendix E: the linear-projection ME to collapse
    train_fraction: float = 1.0
    analysis_seeds: tuple[int, ...] | None = None  # the seeds of the runs Figures 9, 10a-10d
                                                   # analyse at analysis_scale (None: seeds)


@dataclass(frozen=True)
class DataSizeParams(ChapterParams):
    """Section 5.4, "Data size" (paper Table 2)."""

    fractions: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)  # shares of the training rows
    embed_dims: tuple[int, ...] = (5, 10, 20, 40)                # single-embedding K
    me_embed_dim: int = 10                                       # the "40, ME" column:
    me_sets: int = 4                                             # 4 sets of K = 10


@dataclass(frozen=True)
class AppendixParams(ChapterParams):
    """Appendices A (Table 3), B (Figure 11) and I (Figure 15)."""

    depth_scales: tuple[int, ...] = (1, 2, 4)   # Table 3: DCNv2 sizes for each variant
    more_cross_layers: int = 8                  # Table 3 "more cross layers" (inferred)
    deeper_mlp: tuple[int, ...] = (400, 400, 400, 400)  # Table 3 "deeper MLP" (inferred)
    train_fraction: float = 1.0
    language_model: bool = True                 # Appendix B: fetch MiniLM's token embeddings


@dataclass(frozen=True)
class WhenCollapseParams(ChapterParams):
    """Beyond the paper, "When does collapse appear?": one property of the teacher varied at a
    time -- its rank, then the kind of interaction -- with the profile's other settings."""

    model: str = "dcnv2"
    embed_dims: tuple[int, ...] = (5, 10, 20, 40)   # single-embedding K (IA against size)
    me_embed_dim: int = 10                          # ME: me_sets sets of this K, against SE
    me_sets: int = 4                                # at K = me_sets * me_embed_dim
    ranks: tuple[int, ...] = (8, 80)                # teacher ranks (interaction as the profile)
    interactions: tuple[str, ...] = ("fm", "projected")  # kinds (rank as the profile)
    init_rows: tuple[int, ...] = ()   # train.embed_init_rows levels (0: the tables' own) at the
                                      # profile's data: how far a row travels from its start


@dataclass(frozen=True)
class SyntheticDataParams(ChapterParams):
    """The synthetic-data page: it trains nothing; on a profile of real data it shows the
    synthetic data of ``shown_profile``."""

    shown_profile: str = "default"


CHAPTERS: dict[str, type] = {
    "synthetic_data": SyntheticDataParams,
    "loader_order": LoaderOrderParams,
    "regularized": RegularizedParams,
    "theory": TheoryParams,
    "collapse": CollapseParams,
    "dnn_overfitting": OverfittingParams,
    "multi_embedding": MultiEmbeddingParams,
    "how_it_works": HowItWorksParams,
    "data_size": DataSizeParams,
    "appendices": AppendixParams,
    "when_collapse": WhenCollapseParams,
}


def check_chapters(sections: Mapping[str, Mapping[str, Any]], where: str) -> None:
    """Raise :class:`ConfigError` for an unknown chapter or a bad chapter parameter."""
    for name, values in sections.items():
        if name not in CHAPTERS:
            raise ConfigError(f"{where}: unknown chapter {name!r}; known: {', '.join(CHAPTERS)}")
        from_dict(CHAPTERS[name], values, f"{where}.{name}")


def chapter_params(profile: Profile, chapter: str, **overrides: Any) -> Any:
    """The chapter's parameters: defaults, then the profile's section, then non-None overrides."""
    if chapter not in CHAPTERS:
        raise ConfigError(f"unknown chapter {chapter!r}; known: {', '.join(CHAPTERS)}")
    values = dict(profile.chapters.get(chapter, {}))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(CHAPTERS[chapter], values, f"profile {profile.name}: chapters.{chapter}")
