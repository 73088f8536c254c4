"""Every rule of embcollapse.findings on exact cases on both sides of its threshold."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from embcollapse.findings import (AUC_MARGIN, Check, finding, illustration, not_run,
                                  shared, status_of_checks)
from embcollapse.findings import (appendices, collapse, data_size, datasets, how_it_works,
                                  multi_embedding, regularized, theory)
from embcollapse.findings.base import CORRELATION_STRONG, Baseline, over_seeds

EPS = 1e-6


def statuses(found):
    return [c.outcome for c in found.checks]


# ---- the mechanism -----------------------------------------------------------------------

def test_a_check_compares_with_its_threshold_and_never_passes_on_nan() -> None:
    exact = {"deterministic": "exact value"}
    assert Check("a", 0.5, 0.5, ">=", **exact).passed and not Check("a", 0.5, 0.5, ">", **exact).passed
    assert Check("a", 0.4, 0.5, "<", **exact).passed and not Check("a", 0.5, 0.5, "<", **exact).passed
    assert Check("a", 0.5, 0.5, "<=", **exact).passed
    assert not Check("a", math.nan, 0.5, "<", **exact).passed
    assert not Check("a", math.nan, 0.5, ">", **exact).passed
    with pytest.raises(ValueError, match="comparison must be one of"):
        Check("a", 1.0, 0.0, "=>")


def test_an_interval_check_is_unresolved_when_it_straddles_the_threshold() -> None:
    assert Check("d", 0.3, 0.0, ">", interval=(0.1, 0.5), seeds=3).outcome == "holds"
    assert Check("d", 0.3, 0.0, ">", interval=(-0.1, 0.5), seeds=3).outcome == "unresolved"
    assert Check("d", -0.3, 0.0, ">", interval=(-0.5, -0.1), seeds=3).outcome == "fails"
    with pytest.raises(ValueError, match="not \\(low, high\\)"):
        Check("d", 0.0, 0.0, ">", interval=(1.0, -1.0))


def test_no_check_is_decided_on_one_seed_or_without_an_interval() -> None:
    # the same clear interval: decided over 3 seeds, unresolved over 1 (fields, test rows)
    assert Check("d", 0.3, 0.0, ">", interval=(0.1, 0.5), seeds=1).outcome == "unresolved"
    assert "one seed" in Check("d", 0.3, 0.0, ">", interval=(0.1, 0.5), seeds=1).text()
    assert Check("d", 0.3, 0.0, ">").outcome == "unresolved"               # no interval
    assert "no interval over seeds" in Check("d", 0.3, 0.0, ">").text()
    assert Check("d", 0.3, 0.0, ">", deterministic="a file's row count").outcome == "holds"
    # over_seeds: one value per seed, t interval over the seeds
    found = over_seeds("d", [1.0, 1.2, 0.8], 0.0, ">")
    assert found.seeds == 3 and found.outcome == "holds"
    assert found.interval[0] == pytest.approx(1.0 - 4.302653 * 0.2 / math.sqrt(3), rel=1e-5)
    assert over_seeds("d", [1.0], 0.0, ">").outcome == "unresolved"
    assert over_seeds("d", [1.0, -1.0, 0.5], 0.0, ">").outcome == "unresolved"


def test_given_compares_the_baseline_with_the_trained_value() -> None:
    base = Baseline("random tables", 0.02, (0.01, 0.03))
    # ours beyond the baseline in the claimed direction: evidence, not given
    assert Check("g", 0.1, 0.0, ">", (0.08, 0.12), (base,), seeds=3).outcome == "holds"
    # ours no further than the baseline: given
    assert Check("g", 0.025, 0.0, ">", (0.015, 0.035), (base,), seeds=3).outcome == "given"
    # a baseline on the other side of the threshold: not given
    assert Check("g", 0.1, 0.0, ">", (0.08, 0.12), (Baseline("b", -0.1),), seeds=3
                 ).outcome == "holds"
    # what the method forces: given whenever it holds
    assert Check("g", -0.1, 0.0, "<", (-0.2, -0.05), seeds=3, forced="patience 1"
                 ).outcome == "given"


def test_status_from_checks() -> None:
    yes = Check("y", 1, 0, ">", deterministic="exact")
    no = Check("n", -1, 0, ">", deterministic="exact")
    open_ = Check("u", 0.1, 0, ">", interval=(-1, 1), seeds=3)
    assert status_of_checks([yes, yes]) == "reproduced"
    assert status_of_checks([yes, no]) == "partly"
    assert status_of_checks([no, no]) == "differs"
    assert status_of_checks([yes, open_]) == "not resolved"
    assert status_of_checks([no, open_]) == "differs"          # nothing holds, one fails
    assert status_of_checks([yes, no, open_]) == "partly"
    assert status_of_checks([]) == "illustration"


def test_every_finding_states_a_rule_generated_from_its_checks() -> None:
    found = finding("Figure 2", "ours", "paper",
                    [over_seeds("share below", [0.25, 0.25, 0.25], 0.5, ">=")])
    assert found.status == "differs"
    assert "share below: 0.25 [0.25, 0.25] over 3 seeds >= 0.5 fails" in found.rule
    assert "illustration" in finding("Figure 2", "o", "p", []).rule
    assert illustration("Figure 3b", "o", "p", "by construction").rule
    assert shared("Figure 8a", "Table 1", "o", "p").see == "Table 1"
    assert not_run("Table 6", "needs Avazu").reason == "needs Avazu"
    with pytest.raises(ValueError, match="status must be one of"):
        type(found)("Table 1", "o", "p", (), "sort of", "rule")
    with pytest.raises(ValueError, match="needs a rule"):
        type(found)("Table 1", "o", "p", (), "reproduced", "")


# ---- chapter 1 ---------------------------------------------------------------------------

def auc_frame(values: dict[str, list[float]], ks=(10, 40)) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "embed_dim": k, "mean": v}
                         for m, vs in values.items() for k, v in zip(ks, vs)])


def _difference(diff: float, half_width: float, seeds: int = 3, seed_sd: float = math.nan):
    from embcollapse.intervals import Difference

    return Difference(diff=diff, se=half_width / 1.96, low=diff - half_width,
                      high=diff + half_width, seeds=seeds, seed_sd=seed_sd,
                      test_se=half_width / 1.96)


def exact(values: dict[str, float], seeds: int = 3) -> dict:
    """Paired differences with a negligible interval (the point value decides)."""
    return {k: _difference(v, 1e-9, seeds) for k, v in values.items()}


def test_figure_1a_judges_does_not_grow_against_the_margin() -> None:
    frame = auc_frame({"dcnv2": [0.8, 0.8]})
    below = collapse.figure_1a(frame, differences=exact({"dcnv2": AUC_MARGIN - EPS}))
    above = collapse.figure_1a(frame, differences=exact({"dcnv2": AUC_MARGIN + EPS}))
    assert below.status == "reproduced" and above.status == "differs"
    two = auc_frame({"ipnn": [0.8, 0.79], "dcnv2": [0.8, 0.81]})
    mixed = collapse.figure_1a(two, differences=exact({"ipnn": -0.01, "dcnv2": 0.01}))
    assert mixed.status == "partly"
    # the paper's numbers come from its CSV, and each check shows the paper's value
    assert "ipnn -0.00010" in mixed.paper and "dcnv2 +0.00018" in mixed.paper
    assert "(paper: 1.80e-04)" in mixed.rule
    # no interval (runs without test predictions): no verdict on the point value alone
    assert collapse.figure_1a(two).status == "not resolved"


def test_figure_1a_leaves_dnn_to_figure_6_so_one_comparison_counts_once() -> None:
    frame = auc_frame({"dnn": [0.8, 0.79], "dcnv2": [0.8, 0.8]})
    found = collapse.figure_1a(frame, differences=exact({"dnn": -0.01, "dcnv2": 0.0}))
    assert [c.name.split(":")[0] for c in found.checks] == ["dcnv2"]
    assert "judged by Figure 6 (DNN)" in found.ours


def test_figure_1b_needs_most_values_small_and_more_so_at_larger_k() -> None:
    three = lambda v: [v, v, v]
    assert collapse.figure_1b({4: three(0.3), 8: three(0.5)}).status == "reproduced"
    assert statuses(collapse.figure_1b({4: three(0.3), 8: three(0.5 - EPS)})) == ["fails", "holds"]
    assert statuses(collapse.figure_1b({4: three(0.6), 8: three(0.6)})) == ["holds", "fails"]
    # seed 0 alone decides nothing
    assert collapse.figure_1b({4: [0.3], 8: [0.6]}).status == "not resolved"
    spectra = [np.array([1.0, 0.5, 0.09, 0.01]), np.array([2.0, 0.1, 0.1, 0.1])]
    assert collapse.share_small(spectra) == pytest.approx((0.5 + 0.75) / 2)


def test_figure_1b_growth_that_random_tables_show_too_is_given() -> None:
    # random tables grow by 2 points, ours by about as much: given; ours by 50: evidence
    base = {"random tables": {5: [0.0, 0.0, 0.0], 40: [0.02, 0.02, 0.03]}}
    small = collapse.figure_1b({5: [0.5, 0.5, 0.5], 40: [0.52, 0.52, 0.53]}, baselines=base)
    assert statuses(small) == ["holds", "given"]
    assert "random tables: 0.02333" in small.rule
    large = collapse.figure_1b({5: [0.3, 0.31, 0.29], 40: [0.8, 0.8, 0.81]}, baselines=base)
    assert statuses(large) == ["holds", "holds"] and large.status == "reproduced"
    # untrained tables fed in as the trained ones: every check given, an illustration
    same = {5: [0.6, 0.6, 0.61], 40: [0.7, 0.72, 0.7]}
    untrained = collapse.figure_1b(same, baselines={"initial tables": same})
    assert untrained.status == "illustration" and "already given" in untrained.rule


def test_figure_2_needs_every_field_below_random_and_a_low_mean_ratio() -> None:
    rnd = np.array([10.0, 10.0])
    seeds = lambda a: [np.array(a)] * 3
    assert collapse.figure_2(seeds([6.9, 6.9]), rnd).status == "reproduced"
    assert statuses(collapse.figure_2(seeds([7.5, 7.5]), rnd)) == ["holds", "fails"]
    # the ratio's interval is over seeds: seeds that disagree leave it unresolved
    apart = [np.array([2.0, 2.0]), np.array([9.0, 9.0]), np.array([6.0, 6.0])]
    assert statuses(collapse.figure_2(apart, rnd)) == ["holds", "unresolved"]
    # one seed: nothing decided, however many fields
    assert collapse.figure_2([np.array([1.0] * 20)], np.full(20, 10.0)).status == "not resolved"


def test_figure_2_fed_its_own_initial_tables_is_an_illustration() -> None:
    rnd = np.array([10.0, 10.0, 10.0])
    low = [np.array([5.0, 5.1, 5.2]), np.array([5.1, 5.0, 5.2]), np.array([5.2, 5.1, 5.0])]
    # an untrained table already below random and far from it: nothing learned is at stake
    same = collapse.figure_2(low, rnd, initial_ia=low)
    assert statuses(same) == ["given", "given"] and same.status == "illustration"
    assert "given (initial tables)" in same.rule
    # initial tables at random IA: the trained tables' collapse is evidence
    trained = collapse.figure_2(low, rnd, initial_ia=[np.array([9.9, 10.0, 10.1])] * 3)
    assert trained.status == "reproduced"


# ---- chapter 2 ---------------------------------------------------------------------------

def test_figure_3c_has_a_fisher_interval_and_an_initial_baseline() -> None:
    from embcollapse.intervals import correlation_interval

    low, high = correlation_interval(0.68, 10)
    assert low == pytest.approx(0.0881, abs=1e-3) and high == pytest.approx(0.917, abs=1e-3)
    # one trained seed: the Fisher interval is over fields, no verdict rests on it
    assert theory.figure_3c(0.95, n=10).status == "not resolved"
    assert "one seed" in theory.figure_3c(0.95, n=10).rule
    assert "[0.09, 0.92] over 10 fields" in theory.figure_3c(0.68, n=10).ours
    # the same rule over seeds decides: positive, and strong only when the interval is
    checks = theory.correlation_checks("r", 0.68, n=10, seeds=3)
    assert [c.outcome for c in checks] == ["holds", "unresolved"]
    assert [c.outcome for c in theory.correlation_checks("r", 0.95, n=10, seeds=3)] == \
        ["holds", "holds"]
    base = theory.correlation_checks("r", 0.95, n=10, initial_r=0.95, seeds=3)
    assert [c.outcome for c in base] == ["given", "given"]


def test_figure_3_items_point_where_they_should() -> None:
    assert "0.68" in theory.figure_3c(0.1).paper            # from paper_text_values.csv
    assert theory.figure_3b(0.99).status == "illustration"  # high by construction
    assert theory.figure_3a(0.99, 0.1).status == "shared"
    assert theory.figure_3a(0.99, 0.1).see == "Figure 3c"
    assert theory.figure_14(0.9, 0.9).status == "not resolved"   # one seed


def test_figure_4_low_partner_must_end_lower_and_below_its_start() -> None:
    s = lambda v: [v, v + 0.01, v - 0.01]
    assert theory.figure_4(s(10), s(5), s(5 + 0.1)).status == "reproduced"
    assert statuses(theory.figure_4(s(10), s(5), s(5))) == ["fails", "holds"]     # 0 is not < 0
    assert statuses(theory.figure_4(s(10), s(10.5), s(12))) == ["holds", "fails"]
    assert theory.figure_4([10], [5], [6]).status == "not resolved"    # one toy seed


# ---- chapters 3 and 4 --------------------------------------------------------------------

def by_size(ia_plain, ia_reg, auc_reg, ks=(4, 8)) -> pd.DataFrame:
    columns = pd.MultiIndex.from_tuples([("mean_ia", "dcnv2"), ("mean_ia", "dcnv2-reg"),
                                         ("test_auc", "dcnv2"), ("test_auc", "dcnv2-reg")])
    rows = [[p, r, 0.8, a] for p, r, a in zip(ia_plain, ia_reg, auc_reg)]
    return pd.DataFrame(rows, index=list(ks), columns=columns)


def test_figure_6_regularized() -> None:
    flat = exact({"r": 0.0})["r"]
    gain = lambda v: _difference(v, 1e-9)
    ok = regularized.figure_6_regularized(by_size([3, 4], [3.1, 5], [0.8, 0.8]),
                                          auc_difference=flat,
                                          ia_differences={4: gain(0.1), 8: gain(1.0)})
    assert ok.status == "reproduced"
    tie = regularized.figure_6_regularized(by_size([3, 4], [3, 5], [0.8, 0.8]),
                                           auc_difference=flat,
                                           ia_differences={4: gain(-0.1), 8: gain(1.0)})
    assert statuses(tie) == ["fails", "holds", "holds"]
    grows = regularized.figure_6_regularized(
        by_size([3, 4], [4, 5], [0.8, 0.8]), ia_differences={4: gain(1), 8: gain(1)},
        auc_difference=exact({"r": AUC_MARGIN + EPS})["r"])
    assert statuses(grows)[-1] == "fails"
    # without the per-seed IA differences the IA checks decide nothing
    assert statuses(regularized.figure_6_regularized(
        by_size([3, 4], [4, 5], [0.8, 0.8]), auc_difference=flat))[:2] == ["unresolved"] * 2


def test_figure_6_regularized_ia_gain_needs_its_interval_over_seeds() -> None:
    from embcollapse.baselines import seed_difference

    frame = by_size([3, 4], [3.009, 4.009], [0.8, 0.8])
    flat = exact({"r": 0.0})["r"]
    # per-seed IA gains that straddle 0 leave it unresolved
    noisy = seed_difference([np.array([0.5, 0.5]), np.array([-0.48, -0.48]), np.array([0.1])],
                            [np.zeros(2), np.zeros(2), np.zeros(1)])
    assert noisy.seeds == 3
    found = regularized.figure_6_regularized(frame, auc_difference=flat,
                                             ia_differences={4: noisy, 8: noisy})
    assert statuses(found)[:2] == ["unresolved", "unresolved"]
    assert found.status == "not resolved"
    # a clear gain the initial tables also show (the penalty moved nothing) is given
    clear = seed_difference([np.array([1.0]), np.array([1.1]), np.array([0.9])],
                            [np.zeros(1)] * 3)
    given = regularized.figure_6_regularized(frame, auc_difference=flat,
                                             ia_differences={4: clear, 8: clear},
                                             initial_ia_differences={4: clear, 8: clear})
    assert statuses(given) == ["given", "given", "holds"] and given.status == "reproduced"


def test_figure_16_and_figure_6_dnn() -> None:
    s = lambda v: [v, v + 0.01, v - 0.01]
    assert regularized.figure_16(s(2.1), s(2.0)).status == "reproduced"
    assert regularized.figure_16(s(2.0), s(2.0)).status == "differs"       # exactly 0 is not > 0
    assert regularized.figure_16(s(1.9), [1.99, 2.0, 2.01]).status == "differs"
    assert regularized.figure_16([2.9], [2.0]).status == "not resolved"      # one seed
    # the penalty's mechanical effect: orthogonal blocks would give 3.0 > the plain 2.0
    mech = regularized.figure_16(s(2.9), s(2.0), mechanical=s(3.0))
    assert mech.status == "illustration" and "what the penalty forces" in mech.rule
    assert regularized.figure_16(s(2.9), s(2.0), mechanical=s(1.9)).status == "reproduced"
    norm = pd.Series({"dnn": 0.6, "dcnv2": 0.5})
    auc = pd.Series({5: 0.8, 40: 0.8})
    ia = _difference(0.1, 1e-9)
    drop = exact({"d": -EPS})["d"]
    assert regularized.figure_6_dnn(norm, auc, auc_difference=drop,
                                    ia_difference=ia).status == "reproduced"
    assert statuses(regularized.figure_6_dnn(norm, auc, auc_difference=drop,
                                             ia_difference=_difference(-0.1, 1e-9))) == \
        ["fails", "holds"]
    # the paper says DNN's AUC *drops*: a direction claim, decided against zero
    rises = exact({"d": EPS})["d"]
    assert statuses(regularized.figure_6_dnn(norm, auc, auc_difference=rises,
                                             ia_difference=ia)) == ["holds", "fails"]


def _history(losses, aucs):
    return [{"train_loss": l, "valid_auc": a} for l, a in zip(losses, aucs)]


def test_figure_6_dnn_judges_the_overfitting_signature() -> None:
    norm = pd.Series({"dnn": 0.6, "dcnv2": 0.5})
    auc = pd.Series({5: 0.8, 40: 0.8})
    drop = exact({"d": -0.01})["d"]
    ia = _difference(0.1, 1e-9)
    # best epoch 2; then training loss falls while validation AUC drops by 0.005 and 0.006
    runs = [_history([0.5, 0.45, 0.40, 0.35], [0.70, 0.75, 0.748, 0.745]),
            _history([0.5, 0.44, 0.41, 0.36], [0.71, 0.76, 0.757, 0.754]),
            _history([0.5, 0.44, 0.40, 0.37], [0.71, 0.76, 0.757, 0.7545])]
    sig = regularized.overfitting_signature(runs, [2, 2, 2])
    assert sig["runs"] == 3 and sig["valid_auc_change"].diff == pytest.approx(-0.0055)
    assert not sig["one_epoch_after_best"]
    found = regularized.figure_6_dnn(norm, auc, auc_difference=drop, ia_difference=ia,
                                     signature=sig)
    assert statuses(found) == ["holds", "holds", "holds", "holds"]
    # patience 1: every run stopped one epoch after its best, so the loss fall is forced
    short = [h[:3] for h in runs]
    forced = regularized.figure_6_dnn(norm, auc, auc_difference=drop, ia_difference=ia,
                                      signature=regularized.overfitting_signature(short, [2] * 3))
    assert statuses(forced)[2] == "given" and "patience 1" in forced.rule
    # validation AUC only within the margin after its best epoch: early stopping, not overfitting
    plateau = [_history([0.5, 0.45, 0.40, 0.35], [0.70, 0.75, 0.7499, 0.7498]),
               _history([0.5, 0.44, 0.41, 0.36], [0.71, 0.76, 0.7599, 0.7597]),
               _history([0.5, 0.44, 0.41, 0.36], [0.71, 0.76, 0.7599, 0.7598])]
    found = regularized.figure_6_dnn(norm, auc, auc_difference=drop, ia_difference=ia,
                                     signature=regularized.overfitting_signature(plateau,
                                                                                 [2, 2, 2]))
    assert statuses(found)[-1] == "fails"
    one = regularized.overfitting_signature(runs[:1], [2])
    assert statuses(regularized.figure_6_dnn(norm, auc, auc_difference=drop, ia_difference=ia,
                                             signature=one))[-2:] == ["unresolved", "unresolved"]


# ---- chapter 5 ---------------------------------------------------------------------------

def me_frame(pairs: dict[str, tuple[float, float]], scale: int = 4) -> pd.DataFrame:
    rows = []
    for model, (se, me) in pairs.items():
        rows += [{"model": model, "embedding": "SE", "scale": 1, "mean": 0.79},
                 {"model": model, "embedding": "SE", "scale": scale, "mean": se},
                 {"model": model, "embedding": "ME", "scale": scale, "mean": me}]
    return pd.DataFrame(rows)


def test_table_1_checks_me_above_se_per_model_without_autoint() -> None:
    frame = me_frame({"dnn": (0.8, 0.8 + EPS), "dcnv2": (0.8, 0.8), "autoint": (0.8, 0.7)})
    contrasts = {"dnn": {"me_minus_se": _difference(EPS, 1e-9), "me_growth": _difference(0.01, 1e-9)},
                 "dcnv2": {"me_minus_se": _difference(-EPS, 1e-9),
                           "me_growth": _difference(0.01, 1e-9)}}
    found = multi_embedding.table_1(frame, contrasts=contrasts)
    assert [c.name.split(":")[0] for c in found.checks] == ["dcnv2", "dcnv2", "dnn", "dnn"]
    assert statuses(found) == ["fails", "holds", "holds", "holds"] and found.status == "partly"
    assert "dnn +0.00076" in found.paper            # paper ME - SE at 4x on Criteo
    assert "(paper: 7.60e-04)" in found.checks[2].text()
    # without intervals nothing is decided
    assert multi_embedding.table_1(frame).status == "not resolved"
    assert multi_embedding.table_1(pd.DataFrame(
        {"model": ["dnn"], "embedding": ["SE"], "scale": [1], "mean": [0.8]})).status == "not run"
    assert multi_embedding.table_1(me_frame({"autoint": (0.8, 0.9)})).status == "not run"


def test_table_1_judges_growth_of_the_gain_and_me_best_at_the_largest_size() -> None:
    frame = pd.concat([me_frame({"dcnv2": (0.8, 0.81)}),
                       pd.DataFrame([{"model": "dcnv2", "embedding": "ME", "scale": 2,
                                      "mean": 0.812},
                                     {"model": "dcnv2", "embedding": "SE", "scale": 2,
                                      "mean": 0.8}])], ignore_index=True)
    assert multi_embedding.best_other_me(frame, "dcnv2", 4) == 2
    terms = multi_embedding.table_1_terms(frame, "dcnv2", 4)
    assert set(terms) == {"me_minus_se", "me_growth", "gain_growth", "best_at_largest"}
    assert terms["gain_growth"] == [(1.0, "ME", 4), (-1.0, "SE", 4), (-1.0, "ME", 2),
                                    (1.0, "SE", 2)]
    assert multi_embedding.contrast_value(frame, "dcnv2", terms["gain_growth"]) == \
        pytest.approx((0.81 - 0.8) - (0.812 - 0.8))
    ok = {"me_minus_se": _difference(0.01, 1e-9), "me_growth": _difference(0.02, 1e-9),
          "gain_growth": _difference(0.001, 1e-9)}
    worse = multi_embedding.table_1(frame, contrasts={"dcnv2": {
        **ok, "best_at_largest": _difference(-AUC_MARGIN - EPS, 1e-9)}})
    assert statuses(worse) == ["holds", "holds", "holds", "fails"] and worse.status == "partly"
    assert "ME at 4x minus ME at 2x" in worse.checks[3].name
    within = multi_embedding.table_1(frame, contrasts={"dcnv2": {
        **ok, "best_at_largest": _difference(-AUC_MARGIN + EPS, 1e-9)}})
    assert within.status == "reproduced"
    shrinks = multi_embedding.table_1(frame, contrasts={"dcnv2": {
        **ok, "gain_growth": _difference(-0.001, 1e-9),
        "best_at_largest": _difference(0.0, 1e-9)}})
    assert statuses(shrinks)[2] == "fails"


def test_table_7_and_figure_8b() -> None:
    frame = me_frame({"autoint": (0.8, 0.8)})
    assert multi_embedding.table_7(frame, differences=exact({"autoint": EPS})).status == \
        "reproduced"
    assert multi_embedding.table_7(frame, differences=exact({"autoint": -EPS})).status == \
        "differs"
    assert multi_embedding.table_7(me_frame({"dnn": (0.8, 0.9)})).status == "not run"
    se = np.array([1.0, 2.0, 3.0, 4.0])
    seeds = lambda gaps: ([se] * len(gaps), [se + g for g in gaps])
    assert multi_embedding.figure_8b(*seeds([[1, 1.1, 0.9, 1]] * 3)).status == "reproduced"
    # higher on 3 of 4 fields in every seed: "every field" fails
    assert statuses(multi_embedding.figure_8b(*seeds([[1, 1, 1, -0.5]] * 3))) == \
        ["holds", "fails"]
    # one seed decides nothing, however many fields
    assert multi_embedding.figure_8b([se], [se + 1]).status == "not resolved"


def test_figure_8b_on_untrained_tables_is_an_illustration() -> None:
    se = [np.array([1.0, 2.0, 3.0, 4.0, 5.0])] * 3
    me = [s + [1, 1.1, 0.9, 1, 1] for s in se]
    assert multi_embedding.figure_8b(se, me, baselines={"initial tables": (se, me)}
                                     ).status == "illustration"
    # random starts: ME about SE; the gap and share of the trained tables are evidence
    rnd = (se, [s + [0.01, -0.01, 0.02, -0.02, 0.01] for s in se])
    assert multi_embedding.figure_8b(se, me, baselines={"initial tables": rnd}
                                     ).status == "reproduced"


def test_table_1s_plots_and_copies_point_to_it_and_the_other_dataset_is_not_run() -> None:
    found = {f.key: f for f in multi_embedding.same_evidence("criteo")}
    assert {k for k, f in found.items() if f.status == "shared"} == {"Figure 8a", "Table 5",
                                                                     "Figure 12"}
    assert all(found[k].see == "Table 1" for k in ("Figure 8a", "Table 5", "Figure 12"))
    assert found["Table 6"].status == found["Figure 13"].status == "not run"
    avazu = {f.key: f.status for f in multi_embedding.same_evidence("avazu")}
    assert avazu["Table 6"] == "shared" and avazu["Table 5"] == "not run"


# ---- chapter 6 ---------------------------------------------------------------------------

def test_figure_9() -> None:
    # one trained seed: not resolved, whatever the correlations
    assert how_it_works.figure_9(0.9, 0.1, n=10).status == "not resolved"
    assert "one seed" in how_it_works.figure_9(0.9, 0.1, n=10).rule
    assert "0.52" in how_it_works.figure_9(0.7, 0.7).paper


def test_figure_10a_rests_on_one_seed_and_says_so() -> None:
    se = np.zeros(4)
    gap = np.array([1.0, 1.0, 3.0, 3.0])        # mean 2, std 1.1547, stderr 0.57735
    found = how_it_works.figure_10a(se + gap, se, random=0.9)
    # the t interval over fields is shown as a spread, never decides
    assert found.checks[0].interval[0] == pytest.approx(2 - 3.182446 * 0.57735, rel=1e-4)
    assert found.status == "not resolved" and "one seed" in found.rule


def test_figure_10b_needs_the_agree_run_to_be_a_check() -> None:
    assert how_it_works.figure_10b({"ME": 0.9}).status == "illustration"
    assert how_it_works.figure_10b({"ME": 0.5, "dcnv2-agree": 0.9}).status == "not resolved"


def test_figures_10c_10d_are_direction_claims() -> None:
    frame = {"ME": 0.8, "shared": 0.79, "agree": 0.7998}
    # "scales worse" is a direction claim: a clear -0.0002 is worse, a clear +0.0002 is not
    c, d = how_it_works.figure_10c_10d(frame, 4, differences=exact(
        {"shared": -0.0002, "agree": +0.0002}))
    assert (c.status, d.status) == ("reproduced", "differs")
    # one seed (the default's): not resolved, with what would resolve it
    c, _ = how_it_works.figure_10c_10d(frame, 4, differences={
        "shared": _difference(-0.0007, 0.0005, seeds=1, seed_sd=0.002)})
    assert c.status == "not resolved" and "seeds would resolve it" in c.rule
    c, d = how_it_works.figure_10c_10d({"ME": 0.8}, 4)
    assert c.status == d.status == "not run"
    assert how_it_works.appendix_e(1e-7, 0.8, 0.8).status == "illustration"


def _fig17_diffs(me_gain: float, se_gain: float, seeds: int = 3) -> dict:
    return {"me_gain": _difference(me_gain, 1e-9, seeds),
            "se_gain": _difference(se_gain, 1e-9, seeds),
            "me_minus_se": _difference(me_gain - se_gain, 1e-9, seeds)}


def test_figure_17_me_growth_is_given_where_se_grows_too() -> None:
    auc = me_frame({"dnn": (0.79, 0.8), "dcnv2-reg": (0.8, 0.79)})
    a, b = how_it_works.figure_17(auc, 4, differences={
        "dcnv2-reg": _fig17_diffs(-0.0001, 0.01), "dnn": _fig17_diffs(0.01, 0.0)})
    assert (a.key, b.key) == ("Figure 17a", "Figure 17b")
    assert statuses(a) == ["fails", "fails"] and statuses(b) == ["holds", "holds"]
    # headroom: SE grows as much as ME: "ME grows" is given, ME - SE decides (and fails)
    a, b = how_it_works.figure_17(auc, 4, differences={
        "dcnv2-reg": _fig17_diffs(0.01, 0.011), "dnn": _fig17_diffs(0.01, 0.011)})
    assert statuses(b) == ["given", "fails"] and b.status == "differs"
    # the case: ME - SE unresolved (here: one seed) -> 17b is not reproduced
    runs = {"dnn": ["r1", "r2"], "dcnv2-reg": ["r3", "r4"]}
    one = {"me_gain": _difference(0.01, 1e-9), "se_gain": _difference(0.01, 1e-9),
           "me_minus_se": _difference(0.002, 0.0005, seeds=1, seed_sd=0.0017)}
    a, b = how_it_works.figure_17(auc, 4, runs, table_1_run_ids=["r1", "r2", "r9"],
                                  differences={"dnn": one})
    assert len(b.checks) == 2 and b.status == "not resolved"
    assert "same comparison as Table 1" in b.rule and "would resolve it" in b.rule
    a, b = how_it_works.figure_17(auc[auc.model == "dnn"], 4,
                                  differences={"dnn": _fig17_diffs(0.01, 0.0)})
    assert a.status == "not run" and b.status == "reproduced"


# ---- chapters 7, 8 and the datasets page -------------------------------------------------

def table_2_runs(values: dict[float, dict[str, list[float]]], initial=None) -> pd.DataFrame:
    """One row per run: fraction -> column -> value per seed (and the same initial IA)."""
    rows = []
    for f, columns in values.items():
        for c, per_seed in columns.items():
            for seed, v in enumerate(per_seed):
                row = {"fraction": f, "column": c, "seed": seed, "mean_ia": v}
                if initial is not None:
                    row["initial_ia"] = initial[f][c][seed]
                rows.append(row)
    return pd.DataFrame(rows)


def test_table_2_compares_the_ends_of_each_column_and_me_with_se_over_seeds() -> None:
    s = lambda v: [v, v + 0.01, v - 0.01]
    runs = table_2_runs({0.3: {"4": s(5.0), "8": s(7.0), "8, ME": s(7.5)},
                         1.0: {"4": s(4.5), "8": s(7.5), "8, ME": s(6.9)}})
    found = data_size.table_2(runs)
    assert statuses(found) == ["holds", "fails", "holds", "fails"]
    assert found.status == "partly"
    assert all(c.seeds == 3 for c in found.checks)
    assert "8/8 sizes" in found.paper and "5/5 data sizes" in found.paper
    # 3-seed means that differ but whose seeds disagree: not resolved, not a bare comparison
    noisy = table_2_runs({0.3: {"4": [5.0, 3.0, 7.0]}, 1.0: {"4": [4.0, 6.0, 3.5]}})
    assert data_size.table_2(noisy).status == "not resolved"


def test_table_2_fall_from_runs_that_stayed_at_their_initial_ia_is_given() -> None:
    # the case: the small runs stayed at their initial IA (19.60 vs 19.54)
    s = lambda v: [v, v + 0.01, v - 0.01]
    start = {0.03: {"20": s(19.54)}, 1.0: {"20": s(19.54)}}
    wide = lambda v: [v, v + 0.1, v - 0.1]      # the fall's spread over seeds covers 0.06
    runs = table_2_runs({0.03: {"20": s(19.60)}, 1.0: {"20": wide(15.0)}}, start)
    found = data_size.table_2(runs)
    assert statuses(found) == ["given"] and found.status == "illustration"
    assert "stayed within 2% of their initial IA" in found.rule
    # small runs that trained away from their start: the fall is evidence
    trained = data_size.table_2(table_2_runs({0.03: {"20": s(17.0)}, 1.0: {"20": s(15.0)}},
                                             start))
    assert trained.status == "reproduced"


def test_table_3_figure_15_and_figure_11() -> None:
    auc = pd.DataFrame({1: [0.8, 0.8, 0.8]},
                       index=["standard", "more_cross_layers", "deeper_mlp"])
    found = appendices.table_3(auc, differences=exact(
        {"more_cross_layers": AUC_MARGIN - EPS, "deeper_mlp": AUC_MARGIN + EPS}))
    assert statuses(found) == ["holds", "fails"]
    assert "standard 0.81339" in found.paper
    from embcollapse.intervals import mean_interval

    fall = mean_interval([-0.1, -0.12, -0.09], what="seeds")
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.5}), "dcnv2", change=fall
                                ).status == "reproduced"
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.5}), "dcnv2", change=fall,
                                initial_change=fall).status == "illustration"
    over_fields = mean_interval([-0.1, -0.12, -0.09], what="fields")
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.5}), "dcnv2", change=over_fields
                                ).status == "not resolved"
    s = lambda v: [v, v + 0.01, v - 0.01]
    assert appendices.figure_11(0.9, s(0.5), 0.1, s(0.2), "MiniLM").status == "reproduced"
    assert statuses(appendices.figure_11(0.5, s(0.6), 0.2, s(0.1), "MiniLM")) == \
        ["fails", "fails"]
    assert appendices.figure_11(0.9, [0.5], 0.1, [0.2], "MiniLM").status == "not resolved"






def test_table_4_compares_full_files_and_is_not_run_on_samples() -> None:
    sample = {"criteo (sample)": {"rows": 7200, "field_dims": [3] * 39}}
    assert datasets.table_4(sample).status == "not run"
    dims = [1000] * 39
    dims[0] += 1_080_000 - sum(dims)
    full = {"criteo": {"rows": 45_840_617, "field_dims": dims}}
    assert datasets.table_4(full).status == "reproduced"
    wrong = {"criteo": {"rows": int(45.8e6 * 1.02), "field_dims": dims[:-1]}}
    assert statuses(datasets.table_4(wrong)) == ["fails", "fails", "holds"]


# ---- no typed results in the chapters' prose ----------------------------------------------

# numbers a chapter may state in its prose because they are parameters, definitions or facts
# of a source (a file format, a dataset's size, the paper's settings), not results of a run:
# (page, number) -> why
STATED_PARAMETERS: dict[tuple[str, str], str] = {
    ("00_synthetic_data.md", "293"): "a line number of the authors' main.py (a citation)",
    ("00_synthetic_data.md", "295"): "a line number of the authors' main.py (a citation)",
    ("00_synthetic_data.md", "95%"): "the confidence level of every interval (a setting)",
    ("20_reproduction_summary.md", "95%"): "the confidence level of every interval (a setting)",
    ("00_synthetic_data.md", "25%"): "Criteo's click rate, the teacher's target",
    ("00_synthetic_data.md", "80%"): "the paper's 8/1/1 split",
    ("00_synthetic_data.md", "100"): "regime.HEAD_SEEN, the definition of a head row",
    ("00_synthetic_data.md", "1.4"): "sqrt(2), the relative change of an unrelated draw",
    ("01_embedding_collapse.md", "0.1"): "a level read off the paper's Figure 1b",
    ("02_interaction_collapse.md", "1.4"): "sqrt(2), the relative change of an unrelated draw",
    ("02_interaction_collapse.md", "5000"): "the paper's toy setting (iterations)",
    ("06_how_multi_embedding_works.md", "10"): "the paper's base embedding size",
    ("06_how_multi_embedding_works.md", "1.4"): "sqrt(2), as above",
    ("06_how_multi_embedding_works.md", "1.0"): "a model option's weight, a setting",
    ("07_data_size.md", "1%"): "the paper's smallest data share (Table 2)",
    ("07_data_size.md", "100%"): "the paper's largest data share (Table 2)",
    ("07_data_size.md", "10"): "the paper's Table 2 sizes (4 sets of 10)",
    ("07_data_size.md", "40"): "the paper's Table 2 sizes (SE of 40)",
    ("08_appendices.md", "400"): "the paper's DCNv2 (MLP 400-400)",
    ("08_appendices.md", "30,522"): "MiniLM's vocabulary, a fact of the model",
    ("08_appendices.md", "384"): "MiniLM's width, a fact of the model",
    ("08_appendices.md", "10%"): "the definition of the share of small singular values",
    ("10_datasets.md", "40"): "Criteo's file format (columns)",
    ("10_datasets.md", "13"): "Criteo's file format (integer fields)",
    ("10_datasets.md", "26"): "Criteo's file format (categorical fields)",
    ("10_datasets.md", "10"): "the paper's frequency threshold for Criteo",
    ("10_datasets.md", "24"): "Avazu's file format (columns)",
    ("10_datasets.md", "22"): "Avazu's fields after the dropped columns",
    ("10_datasets.md", "1%"): "the default of the malformed-rows option named beside it",
    ("10_datasets.md", "8,000"): "the size of the shipped Criteo sample",
    ("10_datasets.md", "7,200"): "the rows of the shipped sample that are read",
    ("10_datasets.md", "8,087"): "the size of the shipped Avazu sample",
    ("10_datasets.md", "45,840,617"): "Criteo's rows, a fact of the source",
    ("10_datasets.md", "40,428,967"): "Avazu's rows, a fact of the source",
    ("20_reproduction_summary.md", "10"): "the authors' IPNN configurations' embedding size",
}

# what is not a typed measurement: references to the paper's items ("Figure 14", "Tables 5-7",
# "Appendix C.2", "Evidence I"), sizes named as the paper names them ("10x"), years, a
# numbered list's markers, 0/1 as a label's values, a split named as 8/1/1, and digits inside
# a word ("MovieLens-100K", "L6-v2"); single-digit integers (counts of things a sentence names:
# "4 sets", "1 = as spread") are not flagged
_REFERENCE = (r"\b(?:Figures?|Fig\.|Tables?|Sections?|Appendix|Appendices|Chapters?|Equations?|"
              r"Eqs?\.|Evidence|Findings?|Theorems?|Lemmas?|[Ii]ssues?)")
_ITEM = r"(?:\d[\w.]*|[A-Z](?:\.\d+)*\b|[IVX]+\b)"
_REFERENCES = re.compile(_REFERENCE + r"\s+" + _ITEM
                         + r"(?:\s*(?:,|and|or|to|-|\u2013)\s*" + _ITEM + r")*")
_NOT_MEASURED = [_REFERENCES,
                 re.compile(r"(?<![\w.,/-])\d+x\b"),                    # 10x
                 re.compile(r"(?<![\w.,/-])(?:19|20)\d\d(?![\w,.]*\d)"),  # 2014
                 re.compile(r"(?m)^\s*\d+\.\s"),                       # 1. a list item
                 re.compile(r"\b\d+(?:/\d+){2,}\b|(?<![\w/])0/1(?![\w/])"),  # 8/1/1, 0/1
                 re.compile(r"[A-Za-z][\w]*-[\w-]*\d[\w-]*")]             # MovieLens-100K
_NUMBER = re.compile(r"(?<![\w.,/])(?<!\w-)(?:\d+/\d+"                         # a fraction: 1/61
                     r"|\d*\.\d+"                                         # a decimal: 1.4
                     r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?[kKM%]?"                # 1,400
                     r"|\d+[kKM%]"                                         # 150k, 18k, 25%
                     r"|\d{2,})"                                           # 27, 512
                     r"(?![\w/]|,\d|\.\d)")


def prose(text: str) -> str:
    """A chapter's markdown without front matter, code cells, math and inline code."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", "", text)
    return re.sub(r"`[^`]*`", "", text)


def typed_results(text: str) -> list[str]:
    """Numbers typed into ``text``'s prose that may be measurements: decimals (``0.0001``,
    ``6.64``, ``1.4``), fractions (``1/61``), integers of two digits or more (``27``,
    ``2,048``, ``150k``) and percentages (``25%``), leaving out what :data:`_NOT_MEASURED`
    matches."""
    text = prose(text)
    for pattern in _NOT_MEASURED:
        text = pattern.sub(" ", text)
    return _NUMBER.findall(text)


def test_the_typed_number_finder_sees_prose_and_skips_code_and_math() -> None:
    page = ("---\nformat_version: 0.13\n---\nThe paper's DNN moves -0.0001 and IA is 6.64.\n"
            "```{code-cell} ipython3\nx = 0.68\n```\n$$a = 0.52$$ and $b = 0.25$ and `0.125`; "
            "Section 5.3 and r >= 0.5.\n")
    assert typed_results(page) == ["0.0001", "6.64", "0.5"]


def test_the_typed_number_finder_sees_integers_and_fractions_not_references() -> None:
    page = ("The bound is 27 times Criteo's and a row travels 1/61 of it, 150k rows in batches of "
            "2,048 give 73 updates (18k at Criteo's), 25% click, drift 1.4.\n"
            "1. See Figures 8, 12 and 13, Tables 5-7, Appendix C.2 and Evidence II (Figure 14), "
            "issue 19;\n"
            "2. at 10x on MovieLens-100K, a 0/1 label, an 8/1/1 split, Criteo (2014), 4 sets.\n")
    assert typed_results(page) == ["27", "1/61", "150k", "2,048", "73", "18k", "25%", "1.4"]


def test_no_chapter_states_a_result_typed_into_its_prose() -> None:
    from embcollapse import book

    found = [(page.name, number) for page in book.chapter_notebooks()
             for number in typed_results(page.read_text())
             if (page.name, number) not in STATED_PARAMETERS]
    assert not found, f"typed numbers in chapter prose (generate them from the runs or the " \
                      f"paper CSVs): {found}"


def test_a_finding_shows_its_status_values_and_rule() -> None:
    found = finding("Figure 2", "ours", "paper",
                    [over_seeds("share below", [0.25, 0.25], 0.5, ">=")])
    text = found.summary_line()
    assert "**Figure 2: differs.**" in text and "Ours: ours. Paper: paper." in text
    assert "share below: 0.25 [0.25, 0.25] over 2 seeds >= 0.5 fails" in text
    assert "**Figure 8a: see Table 1.**" in shared("Figure 8a", "Table 1", "o", "p").summary_line()
    assert "needs Avazu" in not_run("Table 6", "needs Avazu").summary_line()


def test_no_chapter_types_a_number_of_the_papers_csvs_even_in_code() -> None:
    """The paper's results are read from book/data/paper/*.csv, never typed into a chapter."""
    import glob

    from embcollapse import book, paths

    numbers = set()
    for path in glob.glob(str(paths.paper_data_dir() / "*.csv")):
        table = pd.read_csv(path, comment="#", dtype=str)
        for column in ("test_auc_mean", "test_auc_std", "test_auc", "mean_ia", "value"):
            if column in table:
                numbers |= {v for v in table[column] if len(v.split(".")[-1]) >= 2}
    assert {"0.68", "0.52", "6.64", "0.81228"} <= numbers
    found = [(page.name, n) for page in book.chapter_notebooks()
             for n in set(re.findall(r"(?<![\w.])\d+\.\d+\b", page.read_text())) & numbers]
    assert not found, f"numbers of the paper's CSVs typed into chapters: {found}"


def test_paired_intervals_decide_auc_verdicts_on_both_sides() -> None:
    """With a paired difference the interval decides: wholly on the claimed side of its
    threshold, across it, wholly on the other side."""
    frame = auc_frame({"dcnv2": [0.8, 0.8]})
    for diff, half, status in ((0.0, 0.0009, "reproduced"), (0.001, 0.0005, "not resolved"),
                               (0.003, 0.0015, "differs")):
        got = collapse.figure_1a(frame, differences={"dcnv2": _difference(diff, half)})
        assert got.status == status, (diff, half)
        assert f"[{diff - half:+.4f}, {diff + half:+.4f}]" in got.ours
    me = pd.DataFrame({"model": ["dcnv2"] * 3, "embedding": ["SE", "SE", "ME"],
                       "scale": [1, 4, 4], "mean": [0.7, 0.7, 0.7]})
    for diff, status in ((0.001, "reproduced"), (0.0005, "not resolved"), (-0.001, "differs")):
        got = multi_embedding.table_1(me, contrasts={"dcnv2": {
            "me_minus_se": _difference(diff, 0.0009), "me_growth": _difference(0.01, 1e-9)}})
        assert got.status == (status if status != "differs" else "partly")
        assert got.checks[0].interval == pytest.approx((diff - 0.0009, diff + 0.0009))


def test_an_unresolved_auc_check_names_the_seeds_and_test_rows_that_would_resolve_it() -> None:
    frame = auc_frame({"dcnv2": [0.8, 0.8]})
    # a clear-looking one-seed difference: the test rows alone would call it
    one = _difference(-0.004, 0.0008, seeds=1, seed_sd=0.0017)
    got = collapse.figure_1a(frame, differences={"dcnv2": one})
    assert got.status == "not resolved" and statuses(got) == ["unresolved"]
    from embcollapse.intervals import seeds_needed

    need = seeds_needed(-0.004 - AUC_MARGIN, 0.0017, 0.0008 / 1.96)
    assert need == 3 and f"{need} seeds would resolve it" in got.rule
    unknown = collapse.figure_1a(frame, differences={"dcnv2": _difference(-0.004, 0.0008,
                                                                          seeds=1)})
    assert "no seed-to-seed spread is measured" in unknown.rule
    # three seeds whose interval holds the threshold: the seeds and the test rows named
    from dataclasses import replace
    from embcollapse.intervals import rows_needed

    three = replace(_difference(0.0, 0.0012, seeds=3, seed_sd=0.0002), test_rows=500_000)
    got = collapse.figure_1a(frame, differences={"dcnv2": three})
    rows = rows_needed(three.test_se, 500_000, 0.0002, 3, gap=AUC_MARGIN).resolving
    assert statuses(got) == ["unresolved"] and "over 3 seeds holds the threshold" in got.rule
    assert rows is not None and f"or {rows:,} test rows at 3 seeds" in got.rule


@pytest.mark.parametrize("diff, better, worse, no_change, not_better", [
    (0.0011, "holds", "fails", "fails", "fails"),
    (0.0009, "holds", "fails", "holds", "holds"),
    (-0.0002, "fails", "holds", "holds", "holds"),   # a clear -0.0002 is worse (a direction)
    (-0.0011, "fails", "holds", "fails", "holds"),
])
def test_direction_claims_against_zero_equivalence_claims_against_the_margin(
        diff, better, worse, no_change, not_better) -> None:
    from embcollapse.findings.base import auc_claim

    d = _difference(diff, 1e-9)
    got = [auc_claim("x", diff, claim, d).outcome
           for claim in ("better", "worse", "no change", "not better")]
    assert got == [better, worse, no_change, not_better]
    # the same difference with an interval across its threshold is unresolved
    wide = _difference(diff, 0.0015)
    assert auc_claim("x", diff, "no change", wide).outcome == "unresolved"
    assert auc_claim("x", diff, "better", wide).outcome == "unresolved"






def test_store_pairs_runs_by_seed_for_a_paired_difference(tmp_path) -> None:
    from embcollapse.intervals import delong_paired, paired_over_seeds
    from embcollapse.results import ResultsStore

    store = ResultsStore(tmp_path)
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.3).astype(np.uint8)
    runs = {}
    for who, scale in (("a", 1.0), ("b", 0.3)):
        for seed in (0, 1):
            scores = (scale * y + rng.standard_normal(500)).astype(np.float32)
            record = {"run_id": f"{who}{seed}", "config": {"seed": seed}, "history": [],
                      "best_epoch": 1, "valid": {"auc": 0.5}, "test": {"auc": 0.5},
                      "field_ia": [[1.0]]}
            store.save(record, test_labels=y, test_scores=scores)
            runs[who, seed] = (store.load(f"{who}{seed}"), scores)
    a = [runs["a", s][0] for s in (1, 0)]                  # order does not matter: by seed
    b = [runs["b", s][0] for s in (0, 1)]
    got = store.paired_difference(a, b)
    want = paired_over_seeds([(y, runs["a", s][1], y, runs["b", s][1]) for s in (0, 1)])
    assert got == want and got.diff > 0 and got.n == 2
    assert store.paired_difference([runs["a", 1][0]], [runs["b", 0][0]]) is None  # no common seed
