"""Baselines for the collapse checks: the same statistic where the claim cannot be at stake.

A check on trained tables is evidence only if the same statistic on tables that learned nothing
would not give the same outcome. Two such references, for any stored run:

- its *initial* tables and weights, rebuilt exactly from the run's seed
  (:func:`embcollapse.results.initial_model`);
- *random* Gaussian tables of the same shapes (:func:`random_tables`).

The findings compare each check with these (:class:`~embcollapse.findings.base.Baseline`); this
module computes the statistics the chapters need on them, plus the intervals over fields that
IA differences and correlations get (:mod:`embcollapse.intervals`), and the seed-to-seed spread
a build measures (:func:`seed_spread`), which a one-seed AUC difference uses to say how many
seeds it would need. Chapters call these; nothing here trains.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import torch

from .analysis.spectrum import information_abundance, side_by_side_ia, singular_values
from .analysis.subembedding import marginals, subembedding_ia
from .intervals import Difference, SeedSpread, mean_interval, pooled_seed_sd
from .results import initial_model

Tables = list[list[np.ndarray]]      # [set][field] -> (D_i, K)


def _numpy(tables: Sequence[Sequence[Any]]) -> Tables:
    return [[torch.as_tensor(t).detach().to(torch.float64).numpy() for t in row]
            for row in tables]


def initial_tables(record: Mapping[str, Any]) -> Tables:
    """A stored run's embedding tables before its first training step, [set][field]."""
    return _numpy(initial_model(dict(record)).embedding_tables())


def random_tables(field_dims: Sequence[int], embed_dim: int, num_sets: int = 1,
                  seed: int = 0) -> Tables:
    """Gaussian tables of the shapes of a run's tables, [set][field] -> (D_i, K)."""
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal((d, embed_dim)) for d in field_dims] for _ in range(num_sets)]


def random_tables_like(record: Mapping[str, Any], seed: int = 0) -> Tables:
    model = record["config"]["model"]           # an ensemble: every member's sets
    return random_tables(record["field_dims"], model["embed_dim"],
                         model["num_sets"] * model.get("ensemble", 1), seed)


def field_ia(tables: Tables) -> np.ndarray:
    """Per field, the IA of its tables side by side (one set: each table's own IA), (N,)."""
    return side_by_side_ia(tables)


def initial_field_ia(record: Mapping[str, Any]) -> np.ndarray:
    """:func:`field_ia` of a run's initial tables: the baseline of ``field_ia_concat``."""
    return field_ia(initial_tables(record))


def random_field_ia(record: Mapping[str, Any], seed: int = 0) -> np.ndarray:
    return field_ia(random_tables_like(record, seed))


def spectra(tables: Tables, min_rows: int = 0, embed_set: int = 0) -> list[np.ndarray]:
    """Singular values of one set's tables with at least ``min_rows`` rows (Figure 1b)."""
    return [singular_values(t) for t in tables[embed_set] if t.shape[0] >= min_rows]


def mean_ia(tables: Tables) -> float:
    """Mean over fields of :func:`field_ia` (a run's ``mean_ia``)."""
    return float(np.mean(field_ia(tables)))


def normalized_field_ia(tables: Tables) -> np.ndarray:
    """Per field IA / IA(random of the same shape), sets side by side (Appendix I)."""
    from .analysis import random_ia

    return np.array([information_abundance(np.concatenate([s[i] for s in tables], 1))
                     / random_ia(tables[0][i].shape[0], sum(s[i].shape[1] for s in tables))
                     for i in range(len(tables[0]))])


# ---- IA differences over fields ----------------------------------------------------------

def per_field_mean(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """The mean over runs (seeds) of per-field values, (N,)."""
    return np.mean(np.stack([np.asarray(a, dtype=float) for a in arrays]), axis=0)


def seed_difference(a: Sequence[np.ndarray], b: Sequence[np.ndarray], level: float = 0.95
                    ) -> Difference:
    """The difference of per-field values ``a - b`` (each a list over seeds, in the same seed
    order, of (N,) per-field values): per seed the mean over fields of ``a - b``, then a
    Student-t interval over the seeds (fields are no replicates: training randomness lives
    between seeds). One seed gives an unbounded interval (``seeds`` 1)."""
    if len(a) != len(b):
        raise ValueError(f"{len(a)} seeds of one side against {len(b)} of the other; pair "
                         "the runs by seed")
    per_seed = [float(np.mean(np.asarray(x, float) - np.asarray(y, float)))
                for x, y in zip(a, b)]
    return mean_interval(per_seed, level, "seeds")


def run_field_values(records: Iterable[Mapping[str, Any]], key: str = "field_ia_concat"
                     ) -> list[np.ndarray]:
    return [np.asarray(r[key], dtype=float) for r in records]


# ---- the ensemble's members as a baseline (Figures 8b and 10a) ---------------------------

@dataclass(frozen=True)
class MembersBaseline:
    """One ensemble run (one seed) seen as ME sees its sets: its members' tables, [member]
    [field], measured exactly as ME's sets are.

    ``field_ia`` (N,): each field's member tables side by side, (D_i, M*K) (the run's
    ``field_ia_concat``, Figure 8b's ME statistic); ``diversity`` (fields with more than
    ``min_rows`` values,): Figure 10a's diversity of the members' tables
    (:func:`~embcollapse.analysis.diversity.field_diversity`, as of ME's sets).
    """

    seed: int
    run_id: str
    field_ia: np.ndarray
    diversity: np.ndarray


def ensemble_members_baseline(records: Iterable[Mapping[str, Any]], store: Any,
                              min_rows: int = 10, initial: bool = False
                              ) -> dict[int, MembersBaseline]:
    """Per seed, the ensemble's members as the baseline of Figures 8b and 10a: independently
    trained K-sized tables side by side, against ME's jointly trained sets.

    Args:
        records: the ensemble runs (``model.ensemble`` > 1), one per seed.
        store: the :class:`~embcollapse.results.ResultsStore` holding their weights (the
            diversity needs the tables; the IA is the stored ``field_ia_concat``).
        min_rows: Figure 10a's: fields with at most this many values are left out.
        initial: measure the members' tables before training instead (rebuilt from the seed;
            the IA then is computed from them too).
    Returns: seed -> :class:`MembersBaseline`.
    """
    from .analysis.diversity import field_diversity

    out = {}
    for record in records:
        if record["config"]["model"].get("ensemble", 1) < 2:
            raise ValueError(f"run {record['run_id']} is not an ensemble (model.ensemble < 2)")
        tables = (initial_tables(record) if initial
                  else _numpy(store.load_model(dict(record)).embedding_tables()))
        ia = field_ia(tables) if initial else np.asarray(record["field_ia_concat"], dtype=float)
        seed = int(record["config"]["seed"])
        out[seed] = MembersBaseline(seed, record["run_id"], ia,
                                    field_diversity(tables, min_rows=min_rows))
    return out


# ---- sub-embeddings -----------------------------------------------------------------------

def initial_marginals(record: Mapping[str, Any], embed_set: int | None = None, layer: int = 0):
    """Figure 3b/3c marginals of a run's *initial* model: its sub-embeddings as built, before
    training (``embed_set`` for one set of a multi-embedding model)."""
    model = initial_model(dict(record))
    kwargs: dict[str, int] = {} if embed_set is None else {"embed_set": embed_set}
    if "layer" in inspect.signature(model.field_pair_tables).parameters:
        kwargs["layer"] = layer          # DCNv2's cross layer (FFM has no layers)
    tables = model.embedding_tables()[embed_set or 0]
    own = [information_abundance(t) for t in tables]
    return marginals(subembedding_ia(model.field_pair_tables(**kwargs)), own)


def seed_marginals(store: Any, records: Sequence[Mapping[str, Any]], layer: int = 0,
                   embed_set: int | None = None) -> list[Any]:
    """Figure 3b/3c marginals of each trained run of ``records`` (one per seed): its
    sub-embedding IA matrix (``layer``: DCNv2's cross layer; FFM has none) against its
    tables' own IA (for FFM: each field's tables side by side, the record's ``field_ia``)."""
    out = []
    for record in records:
        model = store.load_model(record)
        kwargs: dict[str, int] = {} if embed_set is None else {"embed_set": embed_set}
        if "layer" in inspect.signature(model.field_pair_tables).parameters:
            kwargs["layer"] = layer
        own = record["field_ia"][embed_set or 0]
        out.append(marginals(subembedding_ia(model.field_pair_tables(**kwargs)), own))
    return out


def seed_column_correlations(store: Any, pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
                             num_sets: int, layer: int = 0) -> dict[str, list[float]]:
    """Figure 9 per seed: for each ``(SE, ME)`` pair of runs of one seed, SE's column
    correlation (Figure 3c's) and ME's mean over its ``num_sets`` sets, on the trained models
    (``se``, ``me``) and on the initial models rebuilt from the seeds (``initial se``,
    ``initial me``)."""
    out: dict[str, list[float]] = {"se": [], "me": [], "initial se": [], "initial me": []}
    for se, me in pairs:
        out["se"].append(seed_marginals(store, [se], layer)[0].pearson_col)
        out["me"].append(float(np.mean([seed_marginals(store, [me], layer, embed_set=m)[0]
                                        .pearson_col for m in range(num_sets)])))
        out["initial se"].append(initial_marginals(se, layer=layer).pearson_col)
        out["initial me"].append(float(np.mean([initial_marginals(me, embed_set=m, layer=layer)
                                                .pearson_col for m in range(num_sets)])))
    return out


def mechanical_subembedding_ia(sub_ia: np.ndarray, field_ia_values: Sequence[float]) -> float:
    """What exactly scaled-orthogonal blocks would give for a heat map: every sub-embedding
    keeps its table's spectrum, IA(E_i^{->j}) = IA(E_i); the mean over the map's cells that
    exist (the baseline of Figure 16)."""
    m = np.asarray(sub_ia, dtype=float)
    own = np.repeat(np.asarray(field_ia_values, dtype=float)[:, None], m.shape[1], axis=1)
    return float(np.mean(own[~np.isnan(m)]))


# ---- interaction patterns (Figure 10b) ------------------------------------------------------

def interaction_patterns(model: torch.nn.Module, layer: int = 0) -> list[np.ndarray]:
    """Per embedding set, the (N, N) map of ||W^(m)_{i->j}||_F of a DCNv2-like model's cross
    layer (one map for one shared cross network)."""
    sets = 1 if model.cross.weights().shape[1] == 1 else model.num_sets
    return [model.cross_blocks(layer=layer, embed_set=m).detach().square().sum(dim=(-1, -2))
            .sqrt().numpy() for m in range(sets)]


def pattern_agreement(maps: Sequence[np.ndarray]) -> float:
    """Mean pairwise Pearson correlation of the sets' maps (1 for a single, shared map)."""
    from itertools import combinations

    if len(maps) < 2:
        return 1.0
    return float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1]
                          for a, b in combinations(maps, 2)]))


# ---- the seed-to-seed spread of a build --------------------------------------------------

def seed_spread(differences: Iterable[Difference | None], where: str) -> SeedSpread | None:
    """The seed-to-seed sd pooled over ``differences`` that have two seeds or more
    (:func:`~embcollapse.intervals.pooled_seed_sd`); None when none has."""
    sd, n, seeds = pooled_seed_sd([d for d in differences if d is not None])
    if n == 0 or math.isnan(sd):
        return None
    return SeedSpread(sd, n, seeds, f"measured in this build: pooled over {n} {where} "
                                    f"comparisons of up to {seeds} seeds")


def seed_heatmap_means(store: Any, records: Sequence[Mapping[str, Any]],
                       models: Sequence[str] = ("dcnv2-reg", "dcnv2")) -> dict[str, Any]:
    """Figure 16 per seed: for every seed both ``models`` have a run of in ``records``, the
    mean of each model's first-cross-layer sub-embedding IA heat map, and for the first model
    what scaled-orthogonal blocks would give (:func:`mechanical_subembedding_ia`). Returns
    ``{model: [mean per seed], "mechanical": [...], "seeds": [...], "records": [...]}``."""

    by = {m: {r["config"]["seed"]: r for r in records if r["config"]["model"]["name"] == m}
          for m in models}
    seeds = sorted(set.intersection(*(set(v) for v in by.values())))
    out: dict[str, Any] = {m: [] for m in models}
    out.update(mechanical=[], seeds=seeds, records=[by[m][s] for s in seeds for m in models])
    for seed in seeds:
        for m in models:
            heat = subembedding_ia(store.load_model(by[m][seed]).field_pair_tables(layer=0))
            out[m].append(float(np.mean(heat)))
            if m == models[0]:
                out["mechanical"].append(mechanical_subembedding_ia(
                    heat, by[m][seed]["field_ia"][0]))
    return out


def seed_small_shares(records: Sequence[Mapping[str, Any]],
                      share: Any) -> dict[str, Any]:
    """Figure 1b per seed: for every K of ``records`` (one model's runs), the ``share`` (e.g.
    :func:`embcollapse.findings.collapse.share_small`) of the first set's spectra of fields
    with at least K rows, on the trained tables (``trained``), the initial tables and Gaussian
    tables of the same shapes; each ``{K: [value per seed]}`` over the seeds every K has,
    in seed order. ``records``: the runs used, ``seeds``: the seeds."""
    def k_of(r: Mapping[str, Any]) -> int:
        return int(r["config"]["model"]["embed_dim"])

    by_k: dict[int, dict[int, Mapping[str, Any]]] = {}
    for r in records:
        by_k.setdefault(k_of(r), {})[r["config"]["seed"]] = r
    seeds = sorted(set.intersection(*(set(v) for v in by_k.values()))) if by_k else []
    out: dict[str, Any] = {"trained": {}, "initial tables": {}, "random tables": {},
                           "seeds": seeds, "records": []}
    for k, runs in sorted(by_k.items()):
        chosen = [runs[s] for s in seeds]
        out["records"] += chosen
        out["trained"][k] = [share([np.array(v) for v, d in zip(r["singular_values"][0],
                                                               r["field_dims"]) if d >= k])
                             for r in chosen]
        out["initial tables"][k] = [share(spectra(initial_tables(r), min_rows=k))
                                    for r in chosen]
        out["random tables"][k] = [share(spectra(random_tables_like(r, seed=r["config"]["seed"]),
                                                 min_rows=k)) for r in chosen]
    return out