"""The statistics of issue 24 decided over seeds: contrasts of AUCs paired over test rows and
seeds, published summaries with Welch's interval, the power of a comparison, and the per-seed
forms of the correlation, diversity and agreement checks, each on exact cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from embcollapse.findings import how_it_works, theory
from embcollapse.intervals import (combine_seeds, contrast_over_seeds, delong_components,
                                   delong_contrast, delong_paired, half_width,
                                   minimum_detectable_effect, quantile, seeds_needed,
                                   summary_contrast, summary_difference,
                                   rows_needed)


def scored(rng, n=600, k=4):
    y = (rng.random(n) < 0.3).astype(np.uint8)
    return y, [(0.2 * (i + 1)) * y + rng.standard_normal(n) for i in range(k)]


def test_a_two_model_contrast_is_the_paired_difference() -> None:
    y, s = scored(np.random.default_rng(0), k=2)
    assert delong_contrast(y, s, [1.0, -1.0]) == delong_paired(y, s[0], s[1])


def test_a_four_model_contrast_uses_the_whole_delong_covariance() -> None:
    y, s = scored(np.random.default_rng(1))
    w = np.array([1.0, -1.0, -1.0, 1.0])
    got = delong_contrast(y, s, w)
    aucs, cov = delong_components(y, s)
    assert got.diff == pytest.approx(float(w @ aucs))
    assert got.se == pytest.approx(math.sqrt(w @ cov @ w))
    # the difference of two paired differences, point value
    d1, d2 = delong_paired(y, s[0], s[1]), delong_paired(y, s[2], s[3])
    assert got.diff == pytest.approx(d1.diff - d2.diff)
    with pytest.raises(ValueError, match="weights"):
        delong_contrast(y, s, [1.0, -1.0])


def test_a_contrast_over_seeds_combines_each_seeds_contrast() -> None:
    rng = np.random.default_rng(2)
    seeds, singles = [], []
    for _ in range(3):
        y, s = scored(rng)
        seeds.append([(y, v) for v in s])
        singles.append(delong_contrast(y, s, [1, -1, -1, 1]))
    got = contrast_over_seeds(seeds, [1, -1, -1, 1])
    assert got == combine_seeds([d.diff for d in singles], [d.se for d in singles],
                                test_rows=600)
    y = seeds[0][0][0]
    with pytest.raises(ValueError, match="same test rows"):
        contrast_over_seeds([[(y, seeds[0][0][1]), (1 - y, seeds[0][1][1])]], [1, -1])


def test_welch_interval_from_published_summaries() -> None:
    d = summary_difference(0.81385, 0.00005, 3, 0.81357, 0.00004, 3)
    var = (0.00005 ** 2 + 0.00004 ** 2) / 3
    df = var ** 2 / ((0.00005 ** 2 / 3) ** 2 / 2 + (0.00004 ** 2 / 3) ** 2 / 2)
    assert d.diff == pytest.approx(0.00028)
    assert d.se == pytest.approx(math.sqrt(var))
    assert d.high - d.diff == pytest.approx(stats.t.ppf(0.975, df) * math.sqrt(var))
    assert d.seeds == 3
    four = summary_contrast([(1, 1.0, 0.1, 3), (-1, 0.5, 0.1, 3), (-1, 0.2, 0.2, 3),
                             (1, 0.1, 0.2, 3)])
    assert four.diff == pytest.approx(1.0 - 0.5 - 0.2 + 0.1)
    assert four.se == pytest.approx(math.sqrt((0.01 + 0.01 + 0.04 + 0.04) / 3))
    with pytest.raises(ValueError, match="n >= 2"):
        summary_difference(1, 0.1, 1, 0, 0.1, 3)


def test_power_half_width_minimum_detectable_effect_and_test_rows() -> None:
    assert half_width(0.002, 0.0005, 3) == pytest.approx(
        quantile(0.95, 2) * math.sqrt(0.002 ** 2 / 3 + 0.0005 ** 2))
    assert minimum_detectable_effect(0.002, 0.0005, 3) == half_width(0.002, 0.0005, 3)
    assert math.isnan(minimum_detectable_effect(math.nan, 0.0005, 3))
    with pytest.raises(ValueError):
        half_width(0.002, 0.0005, 1)
    # seeds_needed is the first seed count whose half-width is below the gap
    need = seeds_needed(0.002, 0.002, 0.0005)
    assert half_width(0.002, 0.0005, need) < 0.002 <= half_width(0.002, 0.0005, need - 1)
    # test rows: the fewest at which 3 seeds resolve the gap
    rows = rows_needed(0.0008, 500_000, 0.0005, 3, gap=0.002).resolving
    se_at = lambda r: 0.0008 * math.sqrt(500_000 / r)
    assert rows > 500_000
    assert half_width(0.0005, se_at(rows), 3) < 0.002 <= half_width(0.0005, se_at(rows - 1), 3)
    # the seeds' own spread already wider than the gap: no number of rows helps
    assert rows_needed(0.0001, 500_000, 0.002, 3, gap=0.001).resolving is None
    # rows at which the test-row term is half the between-seed term (a quarter of its variance)
    rows = rows_needed(0.0005, 500_000, 0.002, 3, fraction=0.25).balanced
    assert 0.0005 * math.sqrt(500_000 / rows) == pytest.approx(0.5 * 0.002 / math.sqrt(3),
                                                               rel=1e-4)


def test_correlations_over_seeds_decide_and_one_seed_does_not() -> None:
    found = theory.figure_3c([0.8, 0.75, 0.85], n=10, initial_r=[0.0, 0.1, -0.1])
    assert found.status == "reproduced" and all(c.seeds == 3 for c in found.checks)
    assert "mean of 3 seeds" in found.ours
    given = theory.figure_3c([0.8, 0.75, 0.85], n=10, initial_r=[0.8, 0.75, 0.85])
    assert given.status == "illustration"
    assert theory.figure_3c(0.95, n=10).status == "not resolved"


def test_figures_9_10a_10b_over_seeds() -> None:
    assert how_it_works.figure_9([0.7, 0.72, 0.68], [0.3, 0.35, 0.32]).status == "reproduced"
    assert [c.outcome for c in how_it_works.figure_9([0.7, 0.72, 0.68],
                                                      [0.8, 0.82, 0.79]).checks] == \
        ["holds", "fails"]
    me = [np.array([0.6, 0.7]), np.array([0.62, 0.69]), np.array([0.61, 0.7])]
    se = [np.array([0.5, 0.5])] * 3
    found = how_it_works.figure_10a(me, se)
    assert found.status == "reproduced" and found.checks[0].seeds == 3
    assert how_it_works.figure_10a(me, se, baselines={"initial tables": (me, se)}
                                   ).status == "illustration"
    # an ensemble whose members are as diverse as ME's sets: ME's diversity is given
    found = how_it_works.figure_10a(me, se, baselines={"ensemble": (me, se)})
    assert found.status == "illustration" and "ensemble" in found.rule
    apart = [np.array([0.55, 0.55])] * 3
    assert how_it_works.figure_10a(me, se, baselines={"ensemble": (apart, se)}
                                   ).status == "reproduced"
    agree = {"ME": [0.1, 0.12, 0.09], "dcnv2-agree": [0.9, 0.95, 0.92]}
    assert how_it_works.figure_10b(agree).status == "reproduced"
    forced = how_it_works.figure_10b(agree, initial_me=[0.0, 0.02, 0.01])
    assert forced.status == "illustration"
    learned = how_it_works.figure_10b(agree, initial_me=[0.95, 0.96, 0.97])
    assert learned.status == "reproduced"
