"""Information abundance and spectra on cases whose answer is known exactly."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from embcollapse.analysis import (information_abundance, model_field_ia, normalized_ia,
                                  normalized_spectrum, random_ia, singular_values)


@pytest.mark.parametrize("n", [1, 3, 10, 40])
def test_ia_of_identity_is_its_size(n: int) -> None:
    assert information_abundance(np.eye(n)) == pytest.approx(n)


def test_ia_of_rank_one_is_one() -> None:
    rng = np.random.default_rng(0)
    m = np.outer(rng.standard_normal(500), rng.standard_normal(16))
    assert information_abundance(m) == pytest.approx(1.0, abs=1e-6)


def test_ia_of_known_spectrum() -> None:
    # singular values 4, 2, 1 -> IA = 7 / 4, whatever the singular vectors
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.standard_normal((50, 3)))
    v, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    m = u @ np.diag([4.0, 2.0, 1.0]) @ v.T
    assert information_abundance(m) == pytest.approx(7 / 4)
    np.testing.assert_allclose(normalized_spectrum(m), [1.0, 0.5, 0.25], atol=1e-9)


def test_ia_is_invariant_to_scale_and_orthogonal_transforms() -> None:
    rng = np.random.default_rng(2)
    m = rng.standard_normal((300, 12)) * np.linspace(3, 0.1, 12)
    q_left, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    q_right, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    base = information_abundance(m)
    assert information_abundance(7.5 * m) == pytest.approx(base)
    assert information_abundance(q_left @ m @ q_right) == pytest.approx(base)
    assert 1.0 < base < 12.0


def test_ia_bounded_by_rank() -> None:
    rng = np.random.default_rng(3)
    m = rng.standard_normal((200, 4)) @ rng.standard_normal((4, 20))  # rank 4
    assert 1.0 <= information_abundance(m) <= 4.0 + 1e-9


def test_gaussian_ia_near_expected_value() -> None:
    # For a tall Gaussian (D >> K) all singular values are close to sqrt(D), so IA -> K.
    # Marchenko-Pastur: sigma_k / sqrt(D) lie in [1 - sqrt(K/D), 1 + sqrt(K/D)].
    d, k = 20000, 16
    ia = random_ia(d, k)
    ratio = np.sqrt(k / d)
    assert k * (1 - ratio) / (1 + ratio) <= ia <= k
    assert ia == pytest.approx(k, rel=0.06)
    # a square Gaussian is far from K: its smallest singular values approach 0
    assert random_ia(64, 64) < 0.75 * 64


def test_tall_and_wide_paths_agree() -> None:
    rng = np.random.default_rng(4)
    m = rng.standard_normal((1000, 8))
    np.testing.assert_allclose(singular_values(m), np.linalg.svd(m, compute_uv=False),
                               rtol=1e-8)
    np.testing.assert_allclose(singular_values(m[:20]), np.linalg.svd(m[:20], compute_uv=False),
                               rtol=1e-10)


def test_zero_matrix_and_bad_shape() -> None:
    assert information_abundance(np.zeros((5, 3))) == 0.0
    with pytest.raises(ValueError, match="2-d"):
        singular_values(np.zeros(5))


def test_normalized_ia_of_random_is_about_one_and_collapsed_is_low() -> None:
    gen = torch.Generator().manual_seed(5)
    assert normalized_ia(torch.randn(3000, 10, generator=gen)) == pytest.approx(1.0, abs=0.05)
    collapsed = torch.randn(3000, 1, generator=gen) @ torch.randn(1, 10, generator=gen)
    assert normalized_ia(collapsed) < 0.15


def test_model_field_ia_shape() -> None:
    tables = [[np.eye(3), np.eye(5)[:, :2]], [np.ones((4, 2)), np.eye(2)]]
    np.testing.assert_allclose(model_field_ia(tables), [[3, 2], [1, 2]])
