"""Exact cases of the statistics the chapters compute on stored runs: the baselines
(:mod:`embcollapse.baselines`), the seed spread, a chapter's paired AUC difference
(:meth:`embcollapse.report.ChapterContext.difference`) and the normalised IA change."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from embcollapse import baselines, report
from embcollapse.analysis import information_abundance, random_ia
from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig, to_dict
from embcollapse.intervals import (SeedSpread, combine_seeds, delong_paired, mean_interval,
                                   paired_over_seeds, pooled_seed_sd, quantile)


class _Started(Exception):
    """Raised by the capturing build: training stops before its first step."""


def tables_training_starts_from(config: RunConfig, monkeypatch: pytest.MonkeyPatch
                                ) -> tuple[list[list[np.ndarray]], list[int]]:
    """The embedding tables ``train.fit`` builds for ``config``, [set][field] (D_i, K), taken
    from the model fit itself builds (training stops before its first step), and the data's
    field cardinalities."""
    from embcollapse import train as train_mod

    build, seen = train_mod.build_run_model, {}

    def capture(model, train, field_dims):
        built = build(model, train, field_dims)
        seen["tables"] = [[t.detach().double().numpy().copy() for t in row]
                          for row in built.embedding_tables()]
        seen["field_dims"] = list(field_dims)
        raise _Started

    with monkeypatch.context() as patch:
        patch.setattr(train_mod, "build_run_model", capture)
        with pytest.raises(_Started):
            train_mod.fit(config, device="cpu", progress=False)
    return seen["tables"], seen["field_dims"]


def config_of(init_rows: int, seed: int, num_sets: int = 1, name: str = "dnn") -> RunConfig:
    return RunConfig(data=DataConfig(preset="tiny", rows=2_000),
                     model=ModelConfig(name=name, embed_dim=4, num_sets=num_sets),
                     train=TrainConfig(embed_init_rows=init_rows), seed=seed)


# ---- baselines: initial and random tables --------------------------------------------------

@pytest.mark.parametrize("init_rows", [0, 100_000])
def test_initial_tables_are_the_tables_training_started_from(
        init_rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    config = config_of(init_rows, seed=3, num_sets=2)
    started, field_dims = tables_training_starts_from(config, monkeypatch)
    record = {"config": to_dict(config), "field_dims": field_dims}
    rebuilt = baselines.initial_tables(record)
    assert [[t.shape for t in row] for row in rebuilt] == [[(d, 4) for d in field_dims]] * 2
    for got, want in zip(sum(rebuilt, []), sum(started, [])):
        np.testing.assert_array_equal(got, want)
    # train.embed_init_rows is honoured: the tables fill the Xavier bound of that many rows
    # (0: of their own vocabulary); ~18k uniform draws per set come within 1% of it
    bound = math.sqrt(6 / ((init_rows or sum(field_dims)) + 4))
    for row in rebuilt:
        largest = max(float(np.abs(t).max()) for t in row)
        assert bound * 0.99 < largest <= bound
    other = baselines.initial_tables({"config": to_dict(config_of(init_rows, seed=4, num_sets=2)),
                                      "field_dims": field_dims})
    assert not np.array_equal(other[0][-1], rebuilt[0][-1])     # another seed, another draw


def test_initial_field_ia_is_the_ia_of_the_initial_tables(monkeypatch) -> None:
    config = config_of(0, seed=1)
    started, field_dims = tables_training_starts_from(config, monkeypatch)
    record = {"config": to_dict(config), "field_dims": field_dims}
    np.testing.assert_allclose(baselines.initial_field_ia(record),
                               [information_abundance(t) for t in started[0]])


def test_random_tables_have_the_runs_shapes_and_unit_scale() -> None:
    dims = [30, 500, 2_000]
    tables = baselines.random_tables(dims, 8, num_sets=3, seed=5)
    assert [[t.shape for t in row] for row in tables] == [[(d, 8) for d in dims]] * 3
    values = np.concatenate([t.ravel() for row in tables for t in row])
    assert abs(values.mean()) < 0.02 and values.std() == pytest.approx(1.0, abs=0.02)
    again = baselines.random_tables(dims, 8, num_sets=3, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(sum(tables, []), sum(again, [])))
    assert not np.array_equal(baselines.random_tables(dims, 8, 3, seed=6)[0][0], tables[0][0])
    record = {"config": {"model": {"embed_dim": 8, "num_sets": 3}}, "field_dims": dims}
    like = baselines.random_tables_like(record, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(sum(like, []), sum(tables, [])))
    np.testing.assert_allclose(baselines.random_field_ia(record, seed=5),
                               baselines.field_ia(tables))


# ---- baselines: IA of constructed tables -----------------------------------------------------

def scaled_columns(rows: int, scales: list[float], offset: int = 0) -> np.ndarray:
    """A (rows, len(scales)) table whose column c is ``scales[c]`` times unit vector
    ``offset + c``: orthogonal columns, singular values ``scales``."""
    out = np.zeros((rows, len(scales)))
    for c, s in enumerate(scales):
        out[offset + c, c] = s
    return out


def test_field_ia_puts_sets_side_by_side_and_mean_ia_averages_fields() -> None:
    one = [[scaled_columns(6, [3, 2, 1]), scaled_columns(6, [1, 1, 1])]]
    np.testing.assert_allclose(baselines.field_ia(one), [2.0, 3.0])    # (3+2+1)/3, 3/1
    assert baselines.mean_ia(one) == pytest.approx(2.5)
    # two sets of field 0 in orthogonal directions: singular values 3, 2, 1, 3 -> 9/3
    two = [[scaled_columns(8, [3, 2, 1])], [scaled_columns(8, [3, 0, 0], offset=3)]]
    np.testing.assert_allclose(baselines.field_ia(two), [3.0])
    # the same direction in both sets: one singular value, IA 1
    same = [[scaled_columns(8, [3, 0, 0])], [scaled_columns(8, [3, 0, 0])]]
    np.testing.assert_allclose(baselines.field_ia(same), [1.0])


def test_spectra_filter_by_rows_and_pick_the_set() -> None:
    tables = [[scaled_columns(4, [2, 1]), scaled_columns(10, [5, 3])],
              [scaled_columns(4, [7, 6]), scaled_columns(10, [9, 8])]]
    got = baselines.spectra(tables, min_rows=5)
    assert len(got) == 1 and np.allclose(got[0], [5, 3])
    second = baselines.spectra(tables, embed_set=1)
    assert [list(np.round(s, 9)) for s in second] == [[7, 6], [9, 8]]


def test_normalized_field_ia_divides_by_the_random_ia_of_the_whole_width() -> None:
    tables = [[scaled_columns(40, [1, 1]), scaled_columns(60, [2, 1])],
              [scaled_columns(40, [1, 1], offset=2), scaled_columns(60, [1, 1], offset=2)]]
    want = [4.0 / random_ia(40, 4), (2 + 1 + 1 + 1) / 2 / random_ia(60, 4)]
    np.testing.assert_allclose(baselines.normalized_field_ia(tables), want)


def test_seed_difference_takes_each_seeds_mean_then_t_over_seeds() -> None:
    a = [np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0]), np.array([5.0, 6.0, 7.0])]
    b = [np.zeros(3)] * 3                                            # seed means 2, 4, 6
    np.testing.assert_allclose(baselines.per_field_mean(a), [3.0, 4.0, 5.0])
    got = baselines.seed_difference(a, b)
    assert got.diff == pytest.approx(4.0) and got.method == "t over 3 seeds"
    assert got.seeds == 3
    assert got.high - 4.0 == pytest.approx(quantile(0.95, 2) * 2.0 / math.sqrt(3))
    with pytest.raises(ValueError, match="pair the runs by seed"):
        baselines.seed_difference(a, b[:2])
    one = baselines.seed_difference(a[:1], b[:1])
    assert one.seeds == 1 and math.isinf(one.high)                  # fields are no replicates
    records = [{"field_ia_concat": [1, 2]}, {"field_ia_concat": [3, 4], "other": [5, 6]}]
    assert [list(v) for v in baselines.run_field_values(records)] == [[1, 2], [3, 4]]
    assert [list(v) for v in baselines.run_field_values(records[1:], "other")] == [[5, 6]]


def test_mechanical_subembedding_ia_is_each_rows_own_ia_over_the_cells_that_exist() -> None:
    sub = np.array([[np.nan, 1.0, 1.0], [2.0, np.nan, 2.0]])    # FFM: no diagonal
    assert baselines.mechanical_subembedding_ia(sub, [3.0, 6.0]) == pytest.approx(4.5)
    full = np.ones((2, 2))
    assert baselines.mechanical_subembedding_ia(full, [3.0, 6.0]) == pytest.approx(4.5)
    sub[1, 0] = np.nan                                          # only one of field 1's cells
    assert baselines.mechanical_subembedding_ia(sub, [3.0, 6.0]) == pytest.approx(4.0)


# ---- interaction patterns ----------------------------------------------------------------

def dcnv2(num_sets: int, name: str = "dcnv2"):
    from embcollapse.models import model_from_config

    torch.manual_seed(0)
    return model_from_config(ModelConfig(name=name, embed_dim=2, num_sets=num_sets),
                             [5, 7, 9])


def test_interaction_patterns_are_the_frobenius_norms_of_the_cross_blocks() -> None:
    model = dcnv2(2)
    n, k = 3, 2
    with torch.no_grad():
        w = model.cross.weight                                   # (L, S, N*K, N*K)
        for j in range(n):
            for i in range(n):
                w[0, 0, j * k:(j + 1) * k, i * k:(i + 1) * k] = j * n + i + 1
        w[0, 1] = -3 * w[0, 0]
    first, second = baselines.interaction_patterns(model)
    want = np.arange(1, n * n + 1, dtype=float).reshape(n, n) * k  # ||c * ones(K, K)||_F = cK
    np.testing.assert_allclose(first, want, rtol=1e-6)
    np.testing.assert_allclose(second, 3 * want, rtol=1e-6)
    assert baselines.pattern_agreement([first, second]) == pytest.approx(1.0)
    assert len(baselines.interaction_patterns(dcnv2(2, "dcnv2-shared-cross"))) == 1


def test_pattern_agreement_is_the_mean_pairwise_correlation() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert baselines.pattern_agreement([a]) == 1.0
    assert baselines.pattern_agreement([a, -a]) == pytest.approx(-1.0)
    assert baselines.pattern_agreement([a, a, -a]) == pytest.approx((1 - 1 - 1) / 3)


def test_initial_marginals_are_those_of_the_model_training_started_from(monkeypatch) -> None:
    from embcollapse.analysis.subembedding import marginals, subembedding_ia
    from embcollapse import train as train_mod

    config = config_of(0, seed=2, num_sets=2, name="dcnv2")
    build, seen = train_mod.build_run_model, {}

    def capture(model, train, field_dims):
        seen["model"], seen["dims"] = build(model, train, field_dims), list(field_dims)
        raise _Started

    with monkeypatch.context() as patch:
        patch.setattr(train_mod, "build_run_model", capture)
        with pytest.raises(_Started):
            train_mod.fit(config, device="cpu", progress=False)
    record = {"config": to_dict(config), "field_dims": seen["dims"]}
    model = seen["model"]
    for embed_set in (0, 1):
        own = [information_abundance(t) for t in model.embedding_tables()[embed_set]]
        want = marginals(subembedding_ia(model.field_pair_tables(embed_set=embed_set)), own)
        got = baselines.initial_marginals(record, embed_set=embed_set)
        np.testing.assert_allclose(got.row_sum, want.row_sum)
        np.testing.assert_allclose(got.col_sum, want.col_sum)
    assert not np.allclose(baselines.initial_marginals(record, embed_set=1).row_sum,
                           baselines.initial_marginals(record, embed_set=0).row_sum)


# ---- the seed spread ---------------------------------------------------------------------

def test_seed_spread_pools_variances_weighted_by_degrees_of_freedom() -> None:
    three = combine_seeds([1.0, 2.0, 3.0], [0.1] * 3)            # sd 1, 2 degrees of freedom
    five = combine_seeds([0.0, 2.0, 4.0, 6.0, 8.0], [0.1] * 5)   # sd sqrt(10), 4
    one = combine_seeds([5.0], [0.1])
    want = math.sqrt((2 * 1.0 + 4 * 10.0) / 6)                   # sqrt 7, not sqrt 5.5
    assert pooled_seed_sd([three, five, one]) == (pytest.approx(want), 2, 5)
    got = baselines.seed_spread([three, None, five, one], "test")
    assert isinstance(got, SeedSpread)
    assert (got.sd, got.comparisons, got.seeds) == (pytest.approx(want), 2, 5)
    assert got.source == "measured in this build: pooled over 2 test comparisons of up to 5 seeds"
    assert baselines.seed_spread([one, None], "test") is None
    assert baselines.seed_spread([], "test") is None
    assert pooled_seed_sd([one]) [1:] == (0, 0) and math.isnan(pooled_seed_sd([one])[0])


# ---- a chapter's paired difference -------------------------------------------------------

def _save(store, run_id: str, seed: int, labels: np.ndarray, scores: np.ndarray,
          config: dict | None = None) -> dict:
    record = {"run_id": run_id, "config": config or {"seed": seed}, "history": [],
              "best_epoch": 1, "valid": {"auc": 0.5}, "test": {"auc": 0.5}, "field_ia": [[1.0]]}
    store.save(record, test_labels=labels, test_scores=scores)
    return store.load(run_id)


@pytest.fixture
def context(tmp_path: Path):
    """A chapter context of the smoke profile over an empty store of its own."""
    from embcollapse.results import ResultsStore

    ctx = report.ChapterContext("smoke", device="cpu")
    ctx.store = ResultsStore(tmp_path / "store")
    return ctx


def _scored(seed: int, strength: float, rows: int = 400):
    rng = np.random.default_rng(seed)
    y = (np.random.default_rng(99).random(rows) < 0.3).astype(np.uint8)   # one test split
    return y, (strength * y + rng.standard_normal(rows)).astype(np.float32)


def test_difference_pairs_runs_by_seed(context) -> None:
    records, rows = [], []
    for seed in (0, 1, 2):
        for model, strength in (("a", 1.0), ("b", 0.4)):
            y, s = _scored(10 * seed + len(model) + ord(model), strength)
            records.append(_save(context.store, f"{model}{seed}", seed, y, s))
            rows.append({"model": model, "seed": seed})
    frame = pd.DataFrame(rows)
    got = context.difference(records, frame, {"model": "a"}, {"model": "b"})
    by = {(r["run_id"][0], r["config"]["seed"]): r for r in records}
    want = paired_over_seeds([(*context.store.load_test_predictions(by["a", s]),
                               *context.store.load_test_predictions(by["b", s]))
                              for s in (0, 1, 2)])
    assert got == want and got.seeds == 3 and got.diff > 0
    # seed 2 of a against seed 0 of b: no seed has both
    assert context.difference(records, frame, {"model": "a", "seed": 2},
                              {"model": "b", "seed": 0}) is None
    assert context.difference(records, frame, {"model": "c"}, {"model": "b"}) is None


def test_a_one_seed_difference_gets_the_builds_seed_spread(context) -> None:
    y, a = _scored(1, 1.0)
    _, b = _scored(2, 0.4)
    records = [_save(context.store, "a0", 0, y, a), _save(context.store, "b0", 0, y, b)]
    frame = pd.DataFrame({"model": ["a", "b"]})
    bare = context.difference(records, frame, {"model": "a"}, {"model": "b"})
    assert bare.seeds == 1 and math.isnan(bare.seed_sd) and bare.seed_sd_source == ""
    assert bare.diff == pytest.approx(delong_paired(y, a, b).diff)
    spread = SeedSpread(0.0017, 2, 3, "measured in this build: pooled over 2 comparisons")
    context._seed_spread = spread                          # what seed_spread() measured
    got = context.difference(records, frame, {"model": "a"}, {"model": "b"})
    assert (got.seed_sd, got.seed_sd_source) == (0.0017, spread.source)
    assert (got.diff, got.low, got.high) == (bare.diff, bare.low, bare.high)


def test_the_builds_seed_spread_is_measured_on_the_collapse_chapters_runs(tmp_path) -> None:
    """Stored runs of a profile's collapse grid at two seeds (predictions made up): the spread
    is pooled over each model's largest minus smallest K, as :func:`baselines.seed_spread`
    pools."""
    import yaml

    from embcollapse.chapters import chapter_params
    from embcollapse.config import load_profile
    from embcollapse.grids import collapse, run_configs
    from embcollapse.identity import run_id
    from embcollapse.results import ResultsStore

    values = to_dict(load_profile("smoke"))
    values.pop("name")
    values["chapters"]["collapse"]["seeds"] = [0, 1]
    path = tmp_path / "two-seeds.yaml"
    path.write_text(yaml.safe_dump(values))
    ctx = report.ChapterContext(str(path), device="cpu")
    ctx.store = ResultsStore(tmp_path / "store")
    assert ctx.seed_spread() is None                      # nothing stored
    del ctx._seed_spread
    params = chapter_params(ctx.profile, "collapse")
    lo, hi = min(params.embed_dims), max(params.embed_dims)
    configs = run_configs(ctx.profile, collapse(params))
    saved = {}
    for n, c in enumerate(configs):
        k = c.model.embed_dim
        y, s = _scored(n, 1.0 + 0.1 * n if k == hi else 0.5)
        saved[c.model.name, k, c.seed] = _save(ctx.store, run_id(c), c.seed, y, s, to_dict(c))
    pairs = {m: ctx.store.paired_difference(
        [r for (name, k, _), r in saved.items() if name == m and k == hi],
        [r for (name, k, _), r in saved.items() if name == m and k == lo])
        for m in params.models}
    assert all(d.seeds == len(params.seeds) > 1 for d in pairs.values())
    got = ctx.seed_spread()
    sd, n, seeds = pooled_seed_sd(list(pairs.values()))
    assert (got.sd, got.comparisons, got.seeds) == (pytest.approx(sd), len(params.models),
                                                    len(params.seeds))
    assert "collapse-chapter" in got.source


# ---- IA / random IA change ---------------------------------------------------------------

DIMS = [50, 80]


def ia_record(seed: int, ratios: list[float], embed_dim: int = 4) -> dict:
    """A record whose IA / random IA is ``ratios`` per field (IA = ratio x random IA)."""
    return {"config": {"seed": seed, "model": {"embed_dim": embed_dim, "num_sets": 1}},
            "field_dims": DIMS,
            "field_ia_concat": [r * random_ia(d, embed_dim) for r, d in zip(ratios, DIMS)]}


def test_normalized_ia_change_means_fields_per_seed_then_t_over_seeds() -> None:
    small = [ia_record(s, [2.0, 2.0], 4) for s in (0, 1, 2)]
    large = [ia_record(0, [2.0, 4.0], 8), ia_record(1, [5.0, 5.0], 8),
             ia_record(2, [3.0, 5.0], 8), ia_record(7, [100.0, 100.0], 8)]  # seed 7: no pair
    np.testing.assert_allclose(report.normalized_field_ia(large[0]), [2.0, 4.0])
    got = report.normalized_ia_change(small, large)        # per seed: 1, 3, 2
    assert got.diff == pytest.approx(2.0) and got.method == "t over 3 seeds" and got.n == 3
    assert got.high - 2.0 == pytest.approx(quantile(0.95, 2) * 1.0 / math.sqrt(3))
    assert got == mean_interval([1.0, 3.0, 2.0], what="seeds")


def test_normalized_ia_change_with_one_common_seed_is_over_fields() -> None:
    small = [ia_record(0, [2.0, 2.0]), ia_record(1, [2.0, 2.0])]
    large = [ia_record(1, [3.0, 5.0], 8), ia_record(4, [9.0, 9.0], 8)]
    got = report.normalized_ia_change(small, large)        # seed 1's fields: 1, 3
    assert got.diff == pytest.approx(2.0) and got.method == "t over 2 fields"
    assert got.high - 2.0 == pytest.approx(quantile(0.95, 1) * math.sqrt(2) / math.sqrt(2))
    with pytest.raises(ValueError, match="no seed has both runs"):
        report.normalized_ia_change(small, [ia_record(5, [1.0, 1.0])])


def test_fresh_validation_rows_are_a_stated_departure() -> None:
    from embcollapse.config import DataConfig, TrainConfig
    from embcollapse.report import protocol_departures

    assert protocol_departures(TrainConfig(), DataConfig(name="synthetic")) == []
    got = protocol_departures(TrainConfig(), DataConfig(name="synthetic", valid_rows=100_000))
    assert got == ["the checkpoint chosen on 100,000 fresh validation rows of the teacher "
                   "(paper: the 10% validation split)"]


def test_fixed_sources_of_randomness_are_stated_on_the_banner() -> None:
    from embcollapse.config import TrainConfig
    from embcollapse.report import protocol_departures

    got = protocol_departures(TrainConfig(order_seed=0, dropout_seed=0))
    assert any("the batch order of seed 0 and the dropout masks of seed 0" in d for d in got)
