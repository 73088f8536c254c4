"""Evidence I sub-embeddings and the Evidence II toy experiment."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from embcollapse.analysis import information_abundance
from embcollapse.analysis.subembedding import marginals, subembedding_ia
from embcollapse.analysis.toy import ToyConfig, gradient_share, run_toy
from embcollapse.models import build_model


def test_cross_blocks_are_the_field_to_field_maps() -> None:
    torch.manual_seed(0)
    dims, k = (3, 5, 7), 4
    model = build_model("dcnv2", dims, embed_dim=k, mlp_dims=(8,))
    blocks = model.cross_blocks(layer=0)
    w = model.cross.weight[0, 0].detach()
    e = torch.randn(len(dims), k)
    full = w @ e.reshape(-1)                                   # W x0, slot by slot
    for j in range(len(dims)):
        by_blocks = sum(blocks[j, i] @ e[i] for i in range(len(dims)))
        torch.testing.assert_close(full[j * k:(j + 1) * k], by_blocks)


def test_subembeddings_match_a_direct_computation_from_the_weight() -> None:
    torch.manual_seed(1)
    dims, k = (3, 5, 7), 4
    model = build_model("dcnv2", dims, embed_dim=k, mlp_dims=(8,))
    tables = model.embedding_tables()[0]
    sub = model.field_pair_tables()
    w = model.cross.weight[0, 0].detach()
    for i in range(3):
        for j in range(3):
            direct = tables[i] @ w[j * k:(j + 1) * k, i * k:(i + 1) * k].T
            torch.testing.assert_close(sub[i][j], direct)
    ia = subembedding_ia(sub)
    assert ia.shape == (3, 3)
    assert ia[0, 1] == pytest.approx(information_abundance(sub[0][1]))


def test_marginals_and_correlation() -> None:
    sub_ia = np.array([[1.0, 2.0], [3.0, 5.0]])
    m = marginals(sub_ia, [1.0, 2.0])
    np.testing.assert_allclose(m.row_sum, [3, 8])
    np.testing.assert_allclose(m.col_sum, [4, 7])
    assert m.pearson_row == pytest.approx(1.0) and m.pearson_col == pytest.approx(1.0)
    off = marginals(sub_ia, [1.0, 2.0], exclude_diagonal=True)
    np.testing.assert_allclose(off.row_sum, [2, 3])


def test_gradient_share_finds_the_partners_subspace() -> None:
    gen = torch.Generator().manual_seed(2)
    partner = torch.randn(50, 1, generator=gen, dtype=torch.float64) @ torch.randn(
        1, 6, generator=gen, dtype=torch.float64)
    grad = torch.randn(20, 1, generator=gen, dtype=torch.float64) @ partner[:1]
    share = gradient_share(grad, partner)
    assert share.sum() == pytest.approx(1.0)
    assert share[0] == pytest.approx(1.0)


def test_low_ia_partner_collapses_e1_more_than_high_ia_partner() -> None:
    base = dict(d1=40, d2=40, embed_dim=8, iterations=400, record_every=100)
    low = run_toy(ToyConfig(d3=2, **base), progress=False)
    high = run_toy(ToyConfig(d3=40, **base), progress=False)
    assert low.ia_partners["E3"] < high.ia_partners["E3"]
    # both start from the same E1; the low-IA partner pulls E1 into fewer directions
    assert low.ia_e1[0] == pytest.approx(high.ia_e1[0])
    assert low.ia_e1[-1] < high.ia_e1[-1] - 0.3
    assert low.ia_e1[-1] < low.ia_e1[0]
    # the gradient on E1 concentrates on the low-IA partner's few directions
    assert low.gradient_share[:2].sum() > high.gradient_share[:2].sum()


def test_orthogonality_defect_is_zero_for_scaled_orthogonal_and_k_minus_1_for_rank_one() -> None:
    from embcollapse.analysis.subembedding import orthogonality_defect

    gen = torch.Generator().manual_seed(3)
    q, _ = torch.linalg.qr(torch.randn(2, 2, 6, 6, generator=gen, dtype=torch.float64))
    scales = torch.tensor([0.5, 3.0], dtype=torch.float64).view(2, 1, 1, 1)
    assert orthogonality_defect(q * scales) == pytest.approx(0.0, abs=1e-12)
    u = torch.randn(6, 1, generator=gen, dtype=torch.float64)
    rank_one = (u @ torch.randn(1, 6, generator=gen, dtype=torch.float64)).expand(3, 6, 6)
    assert orthogonality_defect(rank_one) == pytest.approx(5.0)
    assert 0.0 < orthogonality_defect(torch.randn(4, 6, 6, generator=gen)) < 5.0


# --------------------------------------------------------------------------- diversity (Fig. 10a)

def test_diversity_of_identical_sets_is_zero_and_of_orthogonal_spaces_is_one() -> None:
    from embcollapse.analysis.diversity import set_diversity, subspace_similarity

    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 5))
    assert set_diversity([a, a, a]) == pytest.approx(0.0, abs=1e-12)
    # the same column space in another basis and scale is still the same space
    mix = rng.normal(size=(5, 5))
    assert set_diversity([a, 3.0 * a @ mix]) == pytest.approx(0.0, abs=1e-10)
    eye = np.eye(50)
    assert set_diversity([eye[:, :5], eye[:, 5:10], eye[:, 10:15]]) == pytest.approx(1.0)
    # half the space shared: principal cosines 1, 1, 0, 0 -> similarity 0.5
    b = np.concatenate([eye[:, :2], eye[:, 20:22]], axis=1)
    assert subspace_similarity(eye[:, :4], b) == pytest.approx(0.5)


def test_random_sets_are_diverse_and_single_embedding_splits_into_groups() -> None:
    from embcollapse.analysis.diversity import field_diversity, set_diversity, split_columns

    rng = np.random.default_rng(1)
    random_sets = split_columns(rng.normal(size=(2000, 40)), 4)
    assert [s.shape for s in random_sets] == [(2000, 10)] * 4
    assert 0.85 < set_diversity(random_sets) < 1.0    # cosines ~ sqrt(K / D) for random spaces
    collapsed = rng.normal(size=(2000, 1)) @ rng.normal(size=(1, 40))   # rank one: one space
    assert set_diversity(split_columns(collapsed, 4)) == pytest.approx(0.0, abs=1e-9)
    sets = [[rng.normal(size=(30, 3)), rng.normal(size=(3, 3))] for _ in range(2)]
    per_field = field_diversity(sets)
    assert per_field.shape == (2,) and per_field[1] == pytest.approx(0.0, abs=1e-9)  # D <= K
    with pytest.raises(ValueError, match="equal groups"):
        split_columns(np.zeros((5, 10)), 3)
    with pytest.raises(ValueError, match="at least two"):
        set_diversity([np.zeros((5, 2))])


def test_side_by_side_ia_joins_the_sets_of_each_field() -> None:
    from embcollapse.analysis import side_by_side_ia

    eye = torch.eye(6)
    sets = [[eye[:, :3], eye[:, :2]], [eye[:, 3:], eye[:, :2]]]      # [set][field]
    # field 0: the two sets span complementary spaces -> identity of rank 6; field 1: rank 2
    assert side_by_side_ia(sets).tolist() == pytest.approx([6.0, 2.0])
    assert side_by_side_ia(sets[:1]).tolist() == pytest.approx([3.0, 2.0])


def test_field_diversity_leaves_out_fields_too_small_to_differ() -> None:
    from embcollapse.analysis.diversity import field_diversity

    eye = np.eye(20)
    sets = [[eye[:, :5], eye[:5, :5]], [eye[:, 5:10], np.eye(5)[:, ::-1]]]
    assert field_diversity(sets).tolist() == pytest.approx([1.0, 0.0])
    assert field_diversity(sets, min_rows=5).tolist() == pytest.approx([1.0])


def test_drift_rebuilds_the_initial_weights_and_measures_rows_by_training_count() -> None:
    """With a vanishing learning rate and no weight decay a run ends where it started: the
    rebuilt initial model equals the trained one up to the steps' size, and the rows are counted
    by how often the training split holds them."""
    import numpy as np

    from embcollapse.analysis.drift import (drift_by_set, relative_change, row_drift_by_count,
                                            train_counts)
    from embcollapse.results import initial_model
    from embcollapse.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from embcollapse.models import model_from_config
    from embcollapse.train import fit

    config = RunConfig(data=DataConfig(preset="tiny", rows=3000),
                       model=ModelConfig(name="dcnv2", embed_dim=4, num_sets=2),
                       train=TrainConfig(batch_size=512, max_epochs=1, patience=1, lr=1e-12,
                                         weight_decay=0.0), seed=3)
    result = fit(config, device="cpu", progress=False)
    trained = model_from_config(config.model, result.record["field_dims"])
    trained.load_state_dict(result.state_dict)
    start = initial_model(result.record)
    drift = drift_by_set(start, trained)
    assert list(drift["set"]) == [1, 2]
    assert drift["embedding change"].max() < 1e-9 and drift["cross weight change"].max() < 1e-9
    counts = train_counts(result.record)
    assert sum(int(c.sum()) for c in counts) == result.record["train_rows"] * len(counts)
    rows = row_drift_by_count(start.embedding_tables()[0], trained.embedding_tables()[0], counts)
    assert rows["rows"].sum() == sum(result.record["field_dims"])
    assert np.allclose(rows["relative change"].dropna(), 0.0, atol=1e-9)
    assert np.allclose(rows["norm ratio"].dropna(), 1.0, atol=1e-9)
    assert relative_change(np.ones(4), 2 * np.ones(4)) == 1.0
