"""Planning a comparison's resolution (issue 25): the smallest difference a number of seeds
resolves (intervals.minimum_detectable_effect) and the test rows a comparison needs
(intervals.rows_needed), each checked against the criterion it inverts."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from embcollapse import intervals
from embcollapse.intervals import combine_seeds, quantile


def test_minimum_detectable_effect_is_the_combined_intervals_half_width() -> None:
    mde = intervals.minimum_detectable_effect(0.0017, 0.0004, 4)
    assert mde == pytest.approx(quantile(0.95, 3) * math.sqrt(0.0017 ** 2 / 4 + 0.0004 ** 2),
                                rel=1e-12)
    assert mde == pytest.approx(3.182446 * 0.00093941, rel=1e-5)      # by hand: t(3), se
    # seeds whose per-seed differences have exactly that sd, centred just above / below it:
    # combine_seeds' interval excludes zero just above the MDE and holds it just below
    z = np.array([-1.5, -0.5, 0.5, 1.5])
    spread = z / np.std(z, ddof=1) * 0.0017
    for centre, excludes in ((mde * 1.0001, True), (mde * 0.9999, False)):
        c = combine_seeds(centre + spread, [0.0004] * 4)
        assert (c.low > 0) == excludes
    # more seeds resolve less; power 0.8 asks for a larger effect (t(3) one-sided 0.8 added)
    assert intervals.minimum_detectable_effect(0.0017, 0.0004, 10) < mde
    p80 = intervals.minimum_detectable_effect(0.0017, 0.0004, 4, power=0.8)
    assert p80 == pytest.approx(mde + stats.t.ppf(0.8, 3) * mde / quantile(0.95, 3))
    assert math.isnan(intervals.minimum_detectable_effect(math.nan, 0.0004, 4))
    with pytest.raises(ValueError, match="seeds"):
        intervals.minimum_detectable_effect(0.0017, 0.0004, 1)
    with pytest.raises(ValueError, match="power"):
        intervals.minimum_detectable_effect(0.0017, 0.0004, 3, power=1.0)


def test_rows_needed_balanced_and_resolving_are_the_fewest_rows() -> None:
    se, n, sd, s = 0.0005, 500_000, 0.0022, 3
    need = intervals.rows_needed(se, n, sd, s, fraction=0.25, gap=0.007)
    at = lambda rows: se ** 2 * n / rows                        # noqa: E731  test SE^2 at rows
    # balanced: the test term at most a quarter of sd^2 / S, and not one row fewer
    assert at(need.balanced) <= 0.25 * sd ** 2 / s < at(need.balanced - 1)
    assert need.balanced == math.ceil(n * se ** 2 * s / (0.25 * sd ** 2)) == 309_918
    # resolving 0.007 at 3 seeds: t(2) sqrt(sd^2/3 + se(r)^2) < 0.007, and not one row fewer
    ok = lambda rows: quantile(0.95, s - 1) * math.sqrt(sd ** 2 / s + at(rows)) < 0.007  # noqa
    assert ok(need.resolving) and not ok(need.resolving - 1)
    # a gap the between-seed term alone cannot resolve at these seeds: no number of rows does
    assert quantile(0.95, 2) * sd / math.sqrt(3) > 0.004
    assert intervals.rows_needed(se, n, sd, s, gap=0.004).resolving is None
    assert intervals.rows_needed(se, n, sd, s).resolving is None     # no gap asked
    # a quarter of the rows doubles the SE: 4x the rows needed for the same target
    quarter = intervals.rows_needed(se * 2, n // 4, sd, s, fraction=0.25)
    assert abs(quarter.balanced - need.balanced) <= 1
    with pytest.raises(ValueError, match="seeds"):
        intervals.rows_needed(se, n, sd, 1)
    with pytest.raises(ValueError, match="rows"):
        intervals.rows_needed(se, 0, sd, 3)
    with pytest.raises(ValueError, match="fraction"):
        intervals.rows_needed(se, n, sd, 3, fraction=0.0)
