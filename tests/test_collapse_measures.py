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
