"""Effective rank (RankMe) and stable rank beside information abundance, on exact spectra."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from embcollapse.analysis import (COLLAPSE_MEASURES, effective_rank, field_measures,
                                  information_abundance, side_by_side_spectra, singular_values,
                                  stable_rank)

MEASURES = (information_abundance, effective_rank, stable_rank)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_identity_gives_k_for_all_three(k: int) -> None:
    for measure in MEASURES:
        assert measure(np.eye(k)) == pytest.approx(k, rel=1e-12), measure.__name__


def test_rank_one_gives_one_for_all_three() -> None:
    rng = np.random.default_rng(0)
    m = np.outer(rng.normal(size=50), rng.normal(size=6))
    for measure in MEASURES:
        assert measure(m) == pytest.approx(1.0, abs=1e-6), measure.__name__


def test_a_known_spectrum_by_hand() -> None:
    """sigma = (2, 1, 1): IA = 4/2 = 2; stable rank = (4+1+1)/4 = 1.5; p = (1/2, 1/4, 1/4),
    H = 1/2 ln 2 + 2 * 1/4 ln 4 = 3/2 ln 2, effective rank = 2 ** 1.5."""
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.normal(size=(20, 3)))
    v, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    m = u @ np.diag([2.0, 1.0, 1.0]) @ v.T
    assert singular_values(m) == pytest.approx([2, 1, 1])
    assert information_abundance(m) == pytest.approx(2.0)
    assert stable_rank(m) == pytest.approx(1.5)
    assert effective_rank(m) == pytest.approx(2 ** 1.5)
    measures = field_measures([np.array([2.0, 1.0, 1.0]), np.array([1.0, 0.0])])
    assert set(measures) == set(COLLAPSE_MEASURES)
    assert measures["effective rank"] == pytest.approx([2 ** 1.5, 1.0])
    assert measures["stable rank"] == pytest.approx([1.5, 1.0])
    assert measures["IA"] == pytest.approx([2.0, 1.0])


def test_the_three_are_scale_invariant_and_order_a_tail_differently() -> None:
    rng = np.random.default_rng(2)
    m = rng.normal(size=(40, 6)) * np.array([10, 1, 1, 1, 1, 1])
    for measure in MEASURES:
        assert measure(1e3 * m) == pytest.approx(measure(m), rel=1e-9), measure.__name__
        assert 1.0 <= measure(m) <= 6.0
    # one large value and a tail: the squares make the stable rank the smallest
    assert stable_rank(m) < information_abundance(m)
    assert stable_rank(m) < effective_rank(m)


def test_zero_matrix_is_zero_not_nan() -> None:
    for measure in MEASURES:
        assert measure(np.zeros((4, 3))) == 0.0


def test_side_by_side_spectra_are_those_of_the_concatenated_tables() -> None:
    gen = torch.Generator().manual_seed(3)
    tables = [[torch.randn(9, 2, generator=gen), torch.randn(5, 2, generator=gen)]
              for _ in range(3)]
    spectra = side_by_side_spectra(tables)
    for i, s in enumerate(spectra):
        joined = torch.cat([t[i] for t in tables], 1)
        assert s == pytest.approx(singular_values(joined))
        assert len(s) == min(joined.shape)
    assert math.isclose(field_measures(spectra)["IA"][0],
                        information_abundance(torch.cat([t[0] for t in tables], 1)))


def test_a_records_measures_come_from_its_stored_spectra_or_its_tables() -> None:
    from embcollapse.report import field_collapse, run_collapse

    se = {"run_id": "a", "config": {"model": {"num_sets": 1}},
          "singular_values": [[[2.0, 1.0, 1.0], [1.0, 0.0]]]}
    found = field_collapse(se)
    assert found["stable rank"] == pytest.approx([1.5, 1.0])
    assert run_collapse(se)["IA"] == pytest.approx(1.5)
    me = {"run_id": "b", "config": {"model": {"num_sets": 2}},
          "singular_values": [[[1.0]], [[1.0]]]}
    with pytest.raises(ValueError, match="needs the tables"):
        field_collapse(me)
    tables = [[np.eye(3)[:, :1] * 2], [np.eye(3)[:, 1:2]]]   # side by side: sigma (2, 1)
    assert field_collapse(me, tables)["stable rank"] == pytest.approx([1.25])
    ens = {"run_id": "c", "config": {"model": {"num_sets": 1, "ensemble": 2}}}
    assert field_collapse(ens, tables)["IA"] == pytest.approx([1.5])


def test_seed_paired_differences_and_the_agreement_sentence() -> None:
    import pandas as pd

    from embcollapse.intervals import Difference
    from embcollapse.report import measure_agreement, seed_paired_difference

    frame = pd.DataFrame({"kind": ["a"] * 3 + ["b"] * 3 + ["b"], "seed": [0, 1, 2, 0, 1, 2, 3],
                          "x": [3.0, 4.0, 5.0, 1.0, 1.5, 2.0, 100.0]})
    d = seed_paired_difference(frame, {"kind": "a"}, {"kind": "b"}, "x")
    assert d.diff == pytest.approx(2.5) and d.n == 3 and d.low < 2.5 < d.high
    up, down = Difference(1.0, 0.1, 0.5, 1.5), Difference(-1.0, 0.1, -1.5, -0.5)
    across = Difference(0.1, 0.1, -0.5, 0.7)
    assert "agree: higher" in measure_agreement({"IA": up, "stable rank": up}, "ME")
    said = measure_agreement({"IA": up, "stable rank": down, "effective rank": across}, "ME")
    assert "disagree: IA higher, stable rank lower, effective rank unresolved" in said
