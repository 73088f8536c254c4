"""The synthetic teacher: deterministic, streamable, Criteo-like, with a real ceiling."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embcollapse.config import ConfigError, DataConfig, TeacherConfig
from embcollapse.data import load_dataset, synthetic
from embcollapse.data.splits import split_indices
from embcollapse.metrics import auc

TINY = DataConfig(preset="tiny", rows=30_000)


def test_same_seed_same_rows_and_other_seed_differs() -> None:
    a = synthetic.generate(TINY)
    b = synthetic.generate(TINY)
    c = synthetic.generate(DataConfig(preset="tiny", rows=30_000, seed=1))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_rows_do_not_depend_on_how_many_are_asked_for() -> None:
    short = synthetic.generate(DataConfig(preset="tiny", rows=70_000))
    long = synthetic.generate(DataConfig(preset="tiny", rows=140_000))
    np.testing.assert_array_equal(short[0], long[0][:70_000])
    np.testing.assert_array_equal(short[1], long[1][:70_000])


def test_streamed_blocks_equal_the_whole() -> None:
    teacher = synthetic.teacher_for(TINY)
    whole = synthetic.generate(DataConfig(preset="tiny", rows=2 * synthetic.BLOCK + 5))
    late = next(synthetic.generate_blocks(teacher, 2 * synthetic.BLOCK + 5, TINY.seed,
                                          start_block=2))
    np.testing.assert_array_equal(late[0], whole[0][2 * synthetic.BLOCK:])


def test_shape_ranges_long_tail_and_click_rate() -> None:
    ids, labels, _ = synthetic.generate(DataConfig(preset="criteo-small", rows=200_000))
    dims = synthetic.PRESETS["criteo-small"]
    assert ids.shape == (200_000, len(dims))
    assert (ids >= 0).all() and (ids < np.array(dims)).all()
    assert min(dims) <= 5 and max(dims) >= 10_000
    assert abs(labels.mean() - 0.25) < 0.02
    counts = np.sort(np.bincount(ids[:, -1], minlength=dims[-1]))[::-1]
    # Zipf: the top 1% of values of the largest field cover far more than 1% of the rows
    assert counts[: dims[-1] // 100].sum() > 0.3 * counts.sum()


def test_criteo_preset_matches_paper_table4() -> None:
    dims = synthetic.PRESETS["criteo"]
    assert len(dims) == 39
    assert 1.0e6 < sum(dims) < 1.2e6          # paper: 1.08M features
    assert 0.15e6 < max(dims) < 0.2e6         # paper: largest field 0.19M


def test_teacher_auc_is_a_ceiling_above_chance_and_noise_matters() -> None:
    ids, labels, logit = synthetic.generate(DataConfig(preset="tiny", rows=50_000))
    clean = auc(labels, logit)
    assert 0.7 < clean < 0.95
    noisy = DataConfig(preset="tiny", rows=50_000, teacher=TeacherConfig(noise_scale=3.0))
    _, labels2, logit2 = synthetic.generate(noisy)
    assert auc(labels2, logit2) < clean - 0.03


def test_bad_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="data.preset"):
        synthetic.generate(DataConfig(preset="huge"))
    with pytest.raises(ConfigError, match="positive_rate"):
        synthetic.generate(DataConfig(preset="tiny", teacher=TeacherConfig(positive_rate=1.5)))
    with pytest.raises(ConfigError, match="data.teacher.interaction"):
        synthetic.teacher_for(DataConfig(preset="tiny", teacher=TeacherConfig(interaction="x")))
    with pytest.raises(ConfigError, match="spectrum_decay"):
        synthetic.teacher_for(DataConfig(preset="tiny",
                                         teacher=TeacherConfig(spectrum_decay=-1.0)))


def test_spectrum_scales_follow_the_decay() -> None:
    np.testing.assert_allclose(synthetic.spectrum_scales(4, 1.0), [1, 1 / 2, 1 / 3, 1 / 4])
    np.testing.assert_allclose(synthetic.spectrum_scales(3, 0.0), [1, 1, 1])
    teacher = synthetic.teacher_for(DataConfig(preset="tiny",
                                               teacher=TeacherConfig(rank=6, spectrum_decay=2.0)))
    stds = teacher.vectors.std(axis=0)
    np.testing.assert_allclose(stds / stds[0], synthetic.spectrum_scales(6, 2.0), rtol=0.1)


def test_projected_interaction_with_identity_projections_is_fm() -> None:
    """t_i' U_i' diag(s_ij) U_j t_j with U = I and s_ij = S_ij (every coordinate) is S_ij <t_i, t_j>."""
    import dataclasses

    fm = synthetic.teacher_for(TINY)
    rank, n_fields = fm.rank, fm.num_fields
    as_projected = dataclasses.replace(
        fm, field_proj=np.broadcast_to(np.eye(rank), (n_fields, rank, rank)).copy(),
        pair_strength=np.repeat(fm.pair_strength[:, :, None], rank, axis=2))
    ids = fm.sample_ids(np.random.default_rng(0), 10_000)     # more than one PARTS_CHUNK
    np.testing.assert_allclose(as_projected.parts(ids), fm.parts(ids), rtol=1e-10, atol=1e-10)
    projected = synthetic.teacher_for(
        DataConfig(preset="tiny", teacher=TeacherConfig(interaction="projected")))
    assert projected.pair_strength.shape == (n_fields, n_fields, rank)
    np.testing.assert_allclose(projected.pair_strength, projected.pair_strength.transpose(1, 0, 2))
    assert not projected.pair_strength[np.arange(n_fields), np.arange(n_fields)].any()
    # the teacher draws its FM parts first: the same vectors whatever the interaction
    np.testing.assert_array_equal(projected.vectors, fm.vectors)


def test_criteo_txt_format(tmp_path: Path) -> None:
    path = synthetic.write_criteo_txt(DataConfig(preset="criteo", rows=500), tmp_path / "t.txt")
    lines = path.read_text().split("\n")
    assert lines[-1] == "" and len(lines) == 501
    for line in lines[:-1]:
        cols = line.split("\t")
        assert len(cols) == 40 and cols[0] in ("0", "1")
        assert all(c == "" or c.lstrip("-").isdigit() for c in cols[1:14])
        assert all(c == "" or (len(c) == 8 and int(c, 16) >= 0) for c in cols[14:])
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(ConfigError, match="39 fields"):
        synthetic.write_criteo_txt(TINY, tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()


def test_prepared_dataset_splits_and_reuse() -> None:
    data = load_dataset(TINY)
    n = TINY.rows
    assert len(data.train) + len(data.valid) + len(data.test) == n
    assert len(data.train) == int(round(0.8 * n))
    train, valid, test = split_indices(n, 0)
    assert not (set(train) & set(valid)) and not (set(valid) & set(test))
    assert data.teacher_auc("test") > 0.7
    again = load_dataset(TINY)
    np.testing.assert_array_equal(data.test.ids, again.test.ids)
