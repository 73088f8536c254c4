"""Paired AUC intervals: exact cases, a brute-force check of DeLong, and coverage."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from statistics import NormalDist

from embcollapse.intervals import (DIFFERS, NOT_RESOLVED, REPRODUCED, Difference,
                                   bootstrap_paired, combine_seeds, delong_components,
                                   delong_paired, midranks, verdict)


def brute_force_delong(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """O(m n) DeLong: structural components from every positive-negative pair."""
    pos, neg = labels == 1, labels == 0
    comps = []
    for s in (a, b):
        x, y = s[pos][:, None], s[neg][None, :]
        psi = (x > y) + 0.5 * (x == y)                      # (m, n)
        comps.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    m, n = pos.sum(), neg.sum()
    s10 = np.cov(np.stack([comps[0][1], comps[1][1]]))
    s01 = np.cov(np.stack([comps[0][2], comps[1][2]]))
    cov = s10 / m + s01 / n
    return comps[0][0] - comps[1][0], float(np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]))


def test_midranks_share_ties() -> None:
    np.testing.assert_allclose(midranks(np.array([3.0, 1.0, 3.0, 2.0, 3.0])),
                               [4.0, 1.0, 4.0, 2.0, 4.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_brute_force_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random(120) < 0.3).astype(int)
    a = np.round(y * 0.8 + rng.standard_normal(120), 1)      # rounding makes ties
    b = np.round(0.6 * a + y * 0.3 + rng.standard_normal(120), 1)
    diff, se = brute_force_delong(y, a, b)
    got = delong_paired(y, a, b)
    assert got.diff == pytest.approx(diff, abs=1e-12)
    assert got.se == pytest.approx(se, rel=1e-10)
    aucs, _ = delong_components(y, [a, b])
    np.testing.assert_allclose(aucs, [roc_auc_score(y, a), roc_auc_score(y, b)], atol=1e-12)


def test_identical_models_have_zero_difference_and_error() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.4).astype(int)
    s = y + rng.standard_normal(500)
    d = delong_paired(y, s, s)
    assert d.diff == 0.0 and d.se == pytest.approx(0.0, abs=1e-12)


def test_paired_rows_are_required() -> None:
    with pytest.raises(ValueError, match="same test rows"):
        delong_paired(np.array([0, 1, 1]), np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="one class"):
        delong_paired(np.ones(4), np.arange(4.0), np.arange(4.0))


def test_bootstrap_agrees_with_delong() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(3000) < 0.3).astype(int)
    shared = rng.standard_normal(3000)
    a = y * 1.0 + shared + 0.5 * rng.standard_normal(3000)
    b = y * 0.9 + shared + 0.5 * rng.standard_normal(3000)
    dl = delong_paired(y, a, b)
    bs = bootstrap_paired(y, a, b, resamples=300, seed=1)
    assert bs.diff == pytest.approx(dl.diff, abs=1e-12)
    assert bs.se == pytest.approx(dl.se, rel=0.2)


def test_delong_interval_covers_the_true_difference() -> None:
    """Binormal scores: positives N(mu, 1), negatives N(0, 1) -> AUC = Phi(mu / sqrt 2)."""
    rng = np.random.default_rng(5)
    mu_a, mu_b, rho, n = 1.0, 0.8, 0.7, 600
    truth = NormalDist().cdf(mu_a / np.sqrt(2)) - NormalDist().cdf(mu_b / np.sqrt(2))
    hits = 0
    sims = 200
    for _ in range(sims):
        y = (rng.random(n) < 0.4).astype(int)
        e1 = rng.standard_normal(n)
        e2 = rho * e1 + np.sqrt(1 - rho ** 2) * rng.standard_normal(n)
        d = delong_paired(y, mu_a * y + e1, mu_b * y + e2)
        hits += d.low <= truth <= d.high
    assert 0.90 <= hits / sims <= 0.99


def _diff(low: float, high: float) -> Difference:
    return Difference(diff=(low + high) / 2, se=(high - low) / 4, low=low, high=high)


@pytest.mark.parametrize("low, high, direction, expected", [
    (0.0001, 0.0005, 1, REPRODUCED),
    (-0.0005, -0.0001, 1, DIFFERS),
    (-0.0001, 0.0005, 1, NOT_RESOLVED),
    (-0.0005, -0.0001, -1, REPRODUCED),
    (0.0001, 0.0005, -1, DIFFERS),
    (-0.0005, 0.0001, -1, NOT_RESOLVED),
])
def test_verdict_on_both_sides_of_zero(low: float, high: float, direction: int,
                                       expected: str) -> None:
    assert verdict(_diff(low, high), direction) == expected


def test_verdict_needs_a_direction() -> None:
    with pytest.raises(ValueError, match="paper_direction"):
        verdict(_diff(0.1, 0.2), 0)


def test_combine_seeds_one_seed_is_that_seed() -> None:
    c = combine_seeds([0.002], [0.0005])
    assert c.diff == 0.002 and c.se == pytest.approx(0.0005)
    assert c.low == pytest.approx(0.002 - 1.959964 * 0.0005, rel=1e-5)


def test_combine_seeds_adds_between_seed_spread() -> None:
    # differences 1, 2, 3 (sd 1) and per-seed SE 0.5: se^2 = 1/3 + 0.25
    c = combine_seeds([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    assert c.diff == pytest.approx(2.0)
    assert c.se == pytest.approx(np.sqrt(1 / 3 + 0.25))
    assert (c.seeds, c.seed_sd, c.test_se) == (3, pytest.approx(1.0), pytest.approx(0.5))


def test_three_seeds_use_students_t_with_two_degrees_of_freedom() -> None:
    from embcollapse.intervals import quantile

    assert quantile(0.95) == pytest.approx(1.959964, rel=1e-6)
    assert quantile(0.95, 2) == pytest.approx(4.302653, rel=1e-6)
    assert quantile(0.95, 2) / quantile(0.95) == pytest.approx(2.195, abs=1e-3)
    c = combine_seeds([1.0, 2.0, 3.0], [0.5, 0.5, 0.5])
    assert c.high - c.diff == pytest.approx(4.302653 * c.se, rel=1e-6)
    # one seed: the test rows' normal interval, flagged as one seed with no spread
    one = combine_seeds([0.002], [0.0005])
    assert one.seeds == 1 and np.isnan(one.seed_sd)


def test_seeds_needed_from_the_measured_spread() -> None:
    from embcollapse.intervals import quantile, seeds_needed

    # sd 0.0017, test SE 0.0004: 0.003 from the threshold needs S with
    # t(S-1) * sqrt(0.0017^2 / S + 0.0004^2) < 0.003
    need = seeds_needed(0.003, 0.0017, 0.0004)
    assert need == 4
    ok = lambda s: quantile(0.95, s - 1) * np.sqrt(0.0017 ** 2 / s + 0.0004 ** 2) < 0.003  # noqa
    assert ok(need) and not ok(need - 1)
    assert seeds_needed(0.0003, 0.0017, 0.0004) is None      # the test rows alone are wider
    assert seeds_needed(0.003, float("nan"), 0.0004) is None


def test_intervals_for_means_over_fields_correlations_and_shares() -> None:
    from embcollapse.intervals import (correlation_difference_interval, correlation_interval,
                                       mean_interval, pooled_seed_sd, proportion_interval)

    m = mean_interval([1.0, 2.0, 3.0])
    assert m.diff == 2.0 and m.high - 2.0 == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)
    assert mean_interval([1.0]).high == np.inf
    low, high = correlation_interval(0.5, 28)           # z = 0.5493, se = 0.2
    assert low == pytest.approx(np.tanh(0.5493 - 1.96 * 0.2), abs=1e-3)
    assert high == pytest.approx(np.tanh(0.5493 + 1.96 * 0.2), abs=1e-3)
    assert correlation_interval(0.9, 3) == (-1.0, 1.0)
    lo, hi = correlation_difference_interval(0.52, 0.68, 10)
    assert lo < -0.16 < hi and lo > -2 and hi < 2
    assert proportion_interval(10, 10)[1] == 1.0 and proportion_interval(10, 10)[0] < 0.8
    three = combine_seeds([1.0, 2.0, 3.0], [0.1] * 3)
    five = combine_seeds([1.0, 3.0, 1.0, 3.0, 2.0], [0.1] * 5)
    sd, n, seeds = pooled_seed_sd([three, five, combine_seeds([1.0], [0.1])])
    assert (n, seeds) == (2, 5)
    assert sd == pytest.approx(np.sqrt((2 * 1.0 + 4 * 1.0) / 6))
    with pytest.raises(ValueError, match="one standard error per seed"):
        combine_seeds([1.0, 2.0], [0.1])


def test_paired_over_seeds_combines_and_checks_rows() -> None:
    from embcollapse.intervals import paired_over_seeds

    rng = np.random.default_rng(6)
    seeds, singles = [], []
    for _ in range(3):
        y = (rng.random(400) < 0.3).astype(np.uint8)
        a, b = y + rng.standard_normal(400), 0.5 * y + rng.standard_normal(400)
        seeds.append((y, a, y, b))
        singles.append(delong_paired(y, a, b))
    got = paired_over_seeds(seeds)
    want = combine_seeds([d.diff for d in singles], [d.se for d in singles], test_rows=400)
    assert got == want
    y = seeds[0][0]
    with pytest.raises(ValueError, match="same test rows"):
        paired_over_seeds([(y, seeds[0][1], 1 - y, seeds[0][2])])

