"""Every rule of embcollapse.findings on exact cases on both sides of its threshold."""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from embcollapse.findings import (AUC_RESOLUTION, Check, finding, illustration, not_run,
                                  shared, status_of_checks)
from embcollapse.findings import (appendices, collapse, data_size, datasets, how_it_works,
                                  multi_embedding, regularized, theory)
from embcollapse.findings.base import CORRELATION_STRONG

EPS = 1e-6


def statuses(found):
    return [c.outcome for c in found.checks]


# ---- the mechanism -----------------------------------------------------------------------

def test_a_check_compares_with_its_threshold_and_never_passes_on_nan() -> None:
    assert Check("a", 0.5, 0.5, ">=").passed and not Check("a", 0.5, 0.5, ">").passed
    assert Check("a", 0.4, 0.5, "<").passed and not Check("a", 0.5, 0.5, "<").passed
    assert Check("a", 0.5, 0.5, "<=").passed
    assert not Check("a", math.nan, 0.5, "<").passed and not Check("a", math.nan, 0.5, ">").passed
    with pytest.raises(ValueError, match="comparison must be one of"):
        Check("a", 1.0, 0.0, "=>")


def test_an_interval_check_is_unresolved_when_it_straddles_the_threshold() -> None:
    assert Check("d", 0.3, 0.0, ">", interval=(0.1, 0.5)).outcome == "holds"
    assert Check("d", 0.3, 0.0, ">", interval=(-0.1, 0.5)).outcome == "unresolved"
    assert Check("d", -0.3, 0.0, ">", interval=(-0.5, -0.1)).outcome == "fails"
    with pytest.raises(ValueError, match="not \\(low, high\\)"):
        Check("d", 0.0, 0.0, ">", interval=(1.0, -1.0))


def test_status_from_checks() -> None:
    yes, no = Check("y", 1, 0, ">"), Check("n", -1, 0, ">")
    open_ = Check("u", 0.1, 0, ">", interval=(-1, 1))
    assert status_of_checks([yes, yes]) == "reproduced"
    assert status_of_checks([yes, no]) == "partly"
    assert status_of_checks([no, no]) == "differs"
    assert status_of_checks([yes, open_]) == "not resolved"
    assert status_of_checks([no, open_]) == "differs"          # nothing holds, one fails
    assert status_of_checks([yes, no, open_]) == "partly"
    assert status_of_checks([]) == "illustration"


def test_every_finding_states_a_rule_generated_from_its_checks() -> None:
    found = finding("Figure 2", "ours", "paper", [Check("share below", 0.25, 0.5, ">=")])
    assert found.status == "differs"
    assert "share below: 0.25 >= 0.5 fails" in found.rule
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


def test_figure_1a_counts_a_gain_below_the_resolution_as_not_growing() -> None:
    frame = auc_frame({"dnn": [0.8, 0.8]})
    below = collapse.figure_1a(frame, differences=exact({"dnn": AUC_RESOLUTION - EPS}))
    above = collapse.figure_1a(frame, differences=exact({"dnn": AUC_RESOLUTION + EPS}))
    assert below.status == "reproduced" and above.status == "differs"
    two = auc_frame({"dnn": [0.8, 0.79], "dcnv2": [0.8, 0.81]})
    mixed = collapse.figure_1a(two, differences=exact({"dnn": -0.01, "dcnv2": 0.01}))
    assert mixed.status == "partly"
    # the paper's numbers come from its CSV: DNN moves -0.00086 from 1x to 10x on Criteo
    assert "dnn -0.00086" in mixed.paper and "dcnv2 +0.00018" in mixed.paper
    # no interval (runs without test predictions): no verdict on the point value alone
    assert collapse.figure_1a(two).status == "not resolved"


def test_figure_1b_needs_most_values_small_and_more_so_at_larger_k() -> None:
    assert collapse.figure_1b({4: 0.3, 8: 0.5}).status == "reproduced"
    assert statuses(collapse.figure_1b({4: 0.3, 8: 0.5 - EPS})) == ["fails", "holds"]
    assert statuses(collapse.figure_1b({4: 0.6, 8: 0.6})) == ["holds", "fails"]
    spectra = [np.array([1.0, 0.5, 0.09, 0.01]), np.array([2.0, 0.1, 0.1, 0.1])]
    assert collapse.share_small(spectra) == pytest.approx((0.5 + 0.75) / 2)


def test_figure_1b_growth_that_random_tables_show_too_is_given() -> None:
    # the case: random tables of our shapes give 0%, 0%, 2%: growth is given
    base = {"initial tables": {5: 0.0, 40: 0.02}, "random tables": {5: 0.0, 40: 0.02}}
    found = collapse.figure_1b({5: 0.3, 40: 0.8}, baselines=base)
    assert statuses(found) == ["holds", "given"] and found.status == "reproduced"
    assert "random tables: 0.02 holds" in found.rule
    # untrained tables fed in as the trained ones: every check given, an illustration
    untrained = collapse.figure_1b({5: 0.6, 40: 0.7}, baselines={"initial tables": {5: 0.6, 40: 0.7}})
    assert untrained.status == "illustration" and "already given" in untrained.rule


def test_figure_2_needs_every_field_below_random_and_a_low_mean_ratio() -> None:
    rnd = np.array([10.0, 10.0])
    assert collapse.figure_2(np.array([6.9, 6.9]), rnd).status == "reproduced"
    assert statuses(collapse.figure_2(np.array([7.0, 7.0]), rnd)) == ["holds", "fails"]
    # the mean ratio has a t interval over fields: two very different fields do not resolve it
    assert statuses(collapse.figure_2(np.array([10.0, 1.0]), rnd)) == ["fails", "unresolved"]


def test_figure_2_fed_its_own_initial_tables_is_an_illustration() -> None:
    rnd = np.array([10.0, 10.0, 10.0])
    low = np.array([5.0, 5.1, 5.2])
    # an untrained table already below random and far from it: nothing learned is at stake
    same = collapse.figure_2(low, rnd, initial_ia=low)
    assert statuses(same) == ["given", "given"] and same.status == "illustration"
    assert "given by its baseline (initial tables)" in same.rule
    # initial tables at random IA: the trained tables' collapse is evidence
    trained = collapse.figure_2(low, rnd, initial_ia=np.array([9.9, 10.0, 10.1]))
    assert trained.status == "reproduced"


# ---- chapter 2 ---------------------------------------------------------------------------

def test_figure_3c_has_a_fisher_interval_and_an_initial_baseline() -> None:
    from embcollapse.intervals import correlation_interval

    low, high = correlation_interval(0.68, 10)
    assert low == pytest.approx(0.0881, abs=1e-3) and high == pytest.approx(0.917, abs=1e-3)
    # the paper's 0.68 over 10 fields: clearly positive, not clearly strong
    assert statuses(theory.figure_3c(0.68, n=10)) == ["holds", "unresolved"]
    assert theory.figure_3c(0.95, n=10).status == "reproduced"
    assert theory.figure_3c(0.95, n=10, initial_r=0.95).status == "illustration"
    assert theory.figure_3c(0.95, n=10, initial_r=0.0).status == "reproduced"
    assert "[0.09, 0.92] over 10 fields" in theory.figure_3c(0.68, n=10).ours


def test_figure_3_checks_only_the_column_correlation() -> None:
    strong = CORRELATION_STRONG
    assert theory.figure_3c(strong).status == "reproduced"
    assert theory.figure_3c(strong - EPS).status == "partly"
    assert theory.figure_3c(0.0).status == "differs"
    assert theory.figure_3c(math.nan).status == "differs"
    assert "0.68" in theory.figure_3c(0.1).paper            # from paper_text_values.csv
    assert theory.figure_3b(0.99).status == "illustration"  # high by construction
    assert theory.figure_3a(0.99, 0.1).status == "shared"
    assert theory.figure_3a(0.99, 0.1).see == "Figure 3c"
    assert theory.figure_14(strong, 0.9).status == "reproduced"
    assert theory.figure_14(-0.1, 0.9).status == "differs"


def test_figure_4_low_partner_must_end_lower_and_below_its_start() -> None:
    assert theory.figure_4(low_start=10, low_end=5, high_end=5 + EPS).status == "reproduced"
    assert statuses(theory.figure_4(10, 5, 5)) == ["fails", "holds"]
    assert statuses(theory.figure_4(10, 10, 12)) == ["holds", "fails"]


# ---- chapters 3 and 4 --------------------------------------------------------------------

def by_size(ia_plain, ia_reg, auc_reg, ks=(4, 8)) -> pd.DataFrame:
    columns = pd.MultiIndex.from_tuples([("mean_ia", "dcnv2"), ("mean_ia", "dcnv2-reg"),
                                         ("test_auc", "dcnv2"), ("test_auc", "dcnv2-reg")])
    rows = [[p, r, 0.8, a] for p, r, a in zip(ia_plain, ia_reg, auc_reg)]
    return pd.DataFrame(rows, index=list(ks), columns=columns)


def test_figure_6_regularized() -> None:
    flat = exact({"r": 0.0})["r"]
    ok = regularized.figure_6_regularized(by_size([3, 4], [3 + EPS, 5], [0.8, 0.8]),
                                          auc_difference=flat)
    assert ok.status == "reproduced"
    tie = regularized.figure_6_regularized(by_size([3, 4], [3, 5], [0.8, 0.8]),
                                           auc_difference=flat)
    assert statuses(tie) == ["fails", "holds", "holds"]
    grows = regularized.figure_6_regularized(
        by_size([3, 4], [4, 5], [0.8, 0.8]),
        auc_difference=exact({"r": AUC_RESOLUTION + EPS})["r"])
    assert statuses(grows)[-1] == "fails"


def test_figure_6_regularized_ia_gain_needs_its_interval_over_fields() -> None:
    from embcollapse.intervals import mean_interval

    frame = by_size([3, 4], [3.009, 4.009], [0.8, 0.8])
    flat = exact({"r": 0.0})["r"]
    # the issue's +0.009 IA: per-field differences that straddle 0 leave it unresolved
    noisy = mean_interval([0.5, -0.48, 0.3, -0.29])
    found = regularized.figure_6_regularized(frame, auc_difference=flat,
                                             ia_differences={4: noisy, 8: noisy})
    assert statuses(found)[:2] == ["unresolved", "unresolved"]
    assert found.status == "not resolved"
    # a clear gain the initial tables also show (the penalty moved nothing) is given
    clear = mean_interval([1.0, 1.1, 0.9])
    given = regularized.figure_6_regularized(frame, auc_difference=flat,
                                             ia_differences={4: clear, 8: clear},
                                             initial_ia_differences={4: clear, 8: clear})
    assert statuses(given) == ["given", "given", "holds"] and given.status == "reproduced"


def test_figure_16_and_figure_6_dnn() -> None:
    assert regularized.figure_16(2.0 + EPS, 2.0).status == "reproduced"
    assert regularized.figure_16(2.0, 2.0).status == "differs"
    # the penalty's mechanical effect: orthogonal blocks would give 3.0 > the plain 2.0
    mech = regularized.figure_16(2.9, 2.0, mechanical=3.0)
    assert mech.status == "illustration" and "what the penalty forces" in mech.rule
    assert regularized.figure_16(2.9, 2.0, mechanical=1.9).status == "reproduced"
    norm = pd.Series({"dnn": 0.6, "dcnv2": 0.5})
    auc = pd.Series({5: 0.8, 40: 0.8})
    drop = exact({"d": -AUC_RESOLUTION - EPS})["d"]
    assert regularized.figure_6_dnn(norm, auc, auc_difference=drop).status == "reproduced"
    assert statuses(regularized.figure_6_dnn(pd.Series({"dnn": 0.5, "dcnv2": 0.5}), auc,
                                             auc_difference=drop)) == ["fails", "holds"]
    # the paper says DNN's AUC *drops*: a flat AUC (inside the band) is not a drop
    flat = exact({"d": -AUC_RESOLUTION + EPS})["d"]
    assert statuses(regularized.figure_6_dnn(norm, auc, auc_difference=flat)) == ["holds", "fails"]


def _history(losses, aucs):
    return [{"train_loss": l, "valid_auc": a} for l, a in zip(losses, aucs)]


def test_figure_6_dnn_judges_the_overfitting_signature() -> None:
    norm = pd.Series({"dnn": 0.6, "dcnv2": 0.5})
    auc = pd.Series({5: 0.8, 40: 0.8})
    drop = exact({"d": -0.01})["d"]
    # best epoch 2; then training loss falls while validation AUC drops by 0.005 and 0.006
    runs = [_history([0.5, 0.45, 0.40, 0.35], [0.70, 0.75, 0.748, 0.745]),
            _history([0.5, 0.44, 0.41, 0.36], [0.71, 0.76, 0.757, 0.754]),
            _history([0.5, 0.44, 0.40, 0.37], [0.71, 0.76, 0.757, 0.7545])]
    sig = regularized.overfitting_signature(runs, [2, 2, 2])
    assert sig["runs"] == 3 and sig["valid_auc_change"].diff == pytest.approx(-0.0055)
    found = regularized.figure_6_dnn(norm, auc, auc_difference=drop, signature=sig)
    assert statuses(found) == ["holds", "holds", "holds", "holds"]
    # validation AUC only within the band after its best epoch: early stopping, not overfitting
    plateau = [_history([0.5, 0.45, 0.40, 0.35], [0.70, 0.75, 0.7499, 0.7498]),
               _history([0.5, 0.44, 0.41, 0.36], [0.71, 0.76, 0.7599, 0.7597]),
               _history([0.5, 0.44, 0.41, 0.36], [0.71, 0.76, 0.7599, 0.7598])]
    found = regularized.figure_6_dnn(norm, auc, auc_difference=drop,
                                     signature=regularized.overfitting_signature(plateau,
                                                                                 [2, 2, 2]))
    assert statuses(found)[-1] == "fails"
    one = regularized.overfitting_signature(runs[:1], [2])
    assert statuses(regularized.figure_6_dnn(norm, auc, auc_difference=drop,
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
    found = multi_embedding.table_1(frame, differences=exact(
        {"dnn": AUC_RESOLUTION + EPS, "dcnv2": AUC_RESOLUTION - EPS}))
    assert [c.name.split(":")[0] for c in found.checks] == ["dcnv2", "dnn"]
    assert statuses(found) == ["fails", "holds"] and found.status == "partly"
    assert "dnn +0.00076" in found.paper            # paper ME - SE at 4x on Criteo
    assert multi_embedding.table_1(pd.DataFrame(
        {"model": ["dnn"], "embedding": ["SE"], "scale": [1], "mean": [0.8]})).status == "not run"
    assert multi_embedding.table_1(me_frame({"autoint": (0.8, 0.9)})).status == "not run"


def test_table_1_judges_me_best_at_the_largest_size() -> None:
    frame = pd.concat([me_frame({"dcnv2": (0.8, 0.81)}),
                       pd.DataFrame([{"model": "dcnv2", "embedding": "ME", "scale": 2,
                                      "mean": 0.812}])], ignore_index=True)
    assert multi_embedding.best_other_me(frame, "dcnv2", 4) == 2
    diffs = exact({"dcnv2": 0.01})
    worse = multi_embedding.table_1(frame, differences=diffs,
                                    best_differences=exact({"dcnv2": -AUC_RESOLUTION - EPS}))
    assert statuses(worse) == ["holds", "fails"] and worse.status == "partly"
    assert "ME at 4x minus ME at 2x" in worse.checks[1].name
    within = multi_embedding.table_1(frame, differences=diffs,
                                     best_differences=exact({"dcnv2": -AUC_RESOLUTION + EPS}))
    assert within.status == "reproduced"


def test_table_1s_plots_and_copies_point_to_it_and_the_other_dataset_is_not_run() -> None:
    found = {f.key: f for f in multi_embedding.same_evidence("criteo")}
    assert {k for k, f in found.items() if f.status == "shared"} == {"Figure 8a", "Table 5",
                                                                     "Figure 12"}
    assert all(found[k].see == "Table 1" for k in ("Figure 8a", "Table 5", "Figure 12"))
    assert found["Table 6"].status == found["Figure 13"].status == "not run"
    avazu = {f.key: f.status for f in multi_embedding.same_evidence("avazu")}
    assert avazu["Table 6"] == "shared" and avazu["Table 5"] == "not run"


def test_table_7_and_figure_8b() -> None:
    frame = me_frame({"autoint": (0.8, 0.8)})
    assert multi_embedding.table_7(frame, differences=exact(
        {"autoint": AUC_RESOLUTION + EPS})).status == "reproduced"
    assert multi_embedding.table_7(frame, differences=exact(
        {"autoint": AUC_RESOLUTION - EPS})).status == "differs"
    assert multi_embedding.table_7(me_frame({"dnn": (0.8, 0.9)})).status == "not run"
    se = np.array([1.0, 2.0, 3.0, 4.0])
    assert multi_embedding.figure_8b(se, se + [1, 1.1, 0.9, 1]).status == "reproduced"
    assert statuses(multi_embedding.figure_8b(se, se + [1, 1, -0.5, -0.5])) == ["unresolved",
                                                                                "fails"]
    assert statuses(multi_embedding.figure_8b(se, se + [-4, 0.1, 0.1, 0.1])) == ["unresolved",
                                                                                "holds"]


def test_figure_8b_on_untrained_tables_is_an_illustration() -> None:
    se = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    me = se + [1, 1.1, 0.9, 1, 1]
    assert multi_embedding.figure_8b(se, me, initial=(se, me)).status == "illustration"
    # random starts: ME about SE, a noisy share of fields above does not give the outcome
    rnd = (se, se + [0.01, -0.01, 0.02, -0.02, 0.01])
    assert multi_embedding.figure_8b(se, me, initial=rnd).status == "reproduced"


# ---- chapter 6 ---------------------------------------------------------------------------

def test_figure_9() -> None:
    assert how_it_works.figure_9(0.5, 0.5 - EPS).status == "reproduced"
    assert statuses(how_it_works.figure_9(0.5 - EPS, 0.1)) == ["fails", "holds"]
    assert statuses(how_it_works.figure_9(0.7, 0.7)) == ["holds", "fails"]
    assert "0.52" in how_it_works.figure_9(0.7, 0.7).paper


def test_figure_10a_gap_needs_its_t_interval_over_fields() -> None:
    se = np.zeros(4)
    gap = np.array([1.0, 1.0, 3.0, 3.0])        # mean 2, std 1.1547, stderr 0.57735
    found = how_it_works.figure_10a(se + gap, se, random=0.9)
    assert found.checks[0].interval[0] == pytest.approx(2 - 3.182446 * 0.57735, rel=1e-4)
    assert found.status == "reproduced" and len(found.checks) == 1
    shifted = gap - gap.mean() + 3.182446 * 0.57735 - EPS  # interval's low end just below 0
    assert how_it_works.figure_10a(se + shifted, se).status == "not resolved"
    assert how_it_works.figure_10a(se - gap, se).status == "differs"
    # untrained tables fed in as the trained ones: the gap is given
    assert how_it_works.figure_10a(se + gap, se, initial=(se + gap, se)).status == "illustration"
    assert how_it_works.figure_10a(se + gap, se, initial=(se + [0.1, -0.1, 0.05, -0.05], se)
                                   ).status == "reproduced"


def test_figure_10b_needs_the_agree_run_to_be_a_check() -> None:
    assert how_it_works.figure_10b({"ME": 0.9}).status == "illustration"
    assert how_it_works.figure_10b({"ME": 0.5, "dcnv2-agree": 0.5 + EPS}).status == "reproduced"
    assert how_it_works.figure_10b({"ME": 0.5, "dcnv2-agree": 0.5}).status == "differs"
    # the case: random starts give ~0 and the penalty forces ~1: given by construction
    forced = how_it_works.figure_10b({"ME": 0.05, "dcnv2-agree": 0.99}, initial_me=0.01)
    assert forced.status == "illustration" and "random start" in forced.rule
    # ME's sets started alike (e.g. a shared initialisation) and learned apart: evidence
    assert how_it_works.figure_10b({"ME": 0.05, "dcnv2-agree": 0.99},
                                   initial_me=1.0).status == "reproduced"


def test_figures_10c_10d_use_the_symmetric_band() -> None:
    frame = {"ME": 0.8, "shared": 0.79, "agree": 0.7998}
    # the case: agree -0.0002 counted as "worse"; with one band it is not
    c, d = how_it_works.figure_10c_10d(frame, 4, differences=exact(
        {"shared": -AUC_RESOLUTION - EPS, "agree": -0.0002}))
    assert (c.status, d.status) == ("reproduced", "differs")
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
        "dcnv2-reg": _fig17_diffs(0.01, 0.01), "dnn": _fig17_diffs(0.01, 0.01)})
    assert statuses(b) == ["given", "fails"] and b.status == "differs"
    # the case: ME - SE unresolved (here: one seed) -> 17b is not reproduced
    runs = {"dnn": ["r1", "r2"], "dcnv2-reg": ["r3", "r4"]}
    one = {"me_gain": _difference(0.01, 1e-9), "se_gain": _difference(0.01, 1e-9),
           "me_minus_se": _difference(0.002, 0.0005, seeds=1, seed_sd=0.0017)}
    a, b = how_it_works.figure_17(auc, 4, runs, table_1_run_ids=["r1", "r2", "r9"],
                                  differences={"dnn": one})
    assert len(b.checks) == 2 and b.status == "not resolved"
    assert "same comparison as Table 1" in b.rule and "would need" in b.rule
    a, b = how_it_works.figure_17(auc[auc.model == "dnn"], 4,
                                  differences={"dnn": _fig17_diffs(0.01, 0.0)})
    assert a.status == "not run" and b.status == "reproduced"


# ---- chapters 7, 8 and the datasets page -------------------------------------------------

def test_table_2_compares_the_ends_of_each_column_and_me_with_se() -> None:
    ours = pd.DataFrame({"4": [5.0, 5.0 - EPS], "8": [7.0, 7.0], "8, ME": [7.0 + EPS, 6.9]},
                        index=[0.3, 1.0])
    found = data_size.table_2(ours)
    assert statuses(found) == ["holds", "fails", "holds", "fails"]
    assert found.status == "partly"
    assert "8/8 sizes" in found.paper and "5/5 data sizes" in found.paper


def test_table_2_fall_from_runs_that_stayed_at_their_initial_ia_is_given() -> None:
    # the case: the small runs stayed at their initial IA (19.60 vs 19.54)
    ours = pd.DataFrame({"20": [19.60, 15.0]}, index=[0.03, 1.0])
    initial = pd.DataFrame({"20": [19.54, 19.54]}, index=[0.03, 1.0])
    found = data_size.table_2(ours, initial=initial)
    assert statuses(found) == ["given"] and found.status == "illustration"
    assert "stayed within 2% of their initial IA" in found.rule
    # small runs that trained away from their start: the fall is evidence
    trained = data_size.table_2(pd.DataFrame({"20": [17.0, 15.0]}, index=[0.03, 1.0]),
                                initial=initial)
    assert trained.status == "reproduced"


def test_table_3_figure_15_and_figure_11() -> None:
    auc = pd.DataFrame({1: [0.8, 0.8, 0.8]},
                       index=["standard", "more_cross_layers", "deeper_mlp"])
    found = appendices.table_3(auc, differences=exact(
        {"more_cross_layers": AUC_RESOLUTION - EPS, "deeper_mlp": AUC_RESOLUTION + EPS}))
    assert statuses(found) == ["holds", "fails"]
    assert "standard 0.81339" in found.paper
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.6 - EPS}), "dcnv2").status == "reproduced"
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.6}), "dcnv2").status == "differs"
    from embcollapse.intervals import mean_interval

    fall = mean_interval([-0.1, -0.12, -0.09])
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.5}), "dcnv2", change=fall,
                                initial_change=fall).status == "illustration"
    assert appendices.figure_11(0.9, 0.5, 0.1, 0.1 + EPS, "MiniLM").status == "reproduced"
    assert statuses(appendices.figure_11(0.5, 0.5, 0.2, 0.1, "MiniLM")) == ["fails", "fails"]


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
    found = finding("Figure 2", "ours", "paper", [Check("share below", 0.25, 0.5, ">=")])
    text = found.summary_line()
    assert "**Figure 2: differs.**" in text and "Ours: ours. Paper: paper." in text
    assert "share below: 0.25 >= 0.5 fails" in text
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
    """With a paired difference the interval decides: above the threshold, across it, below."""
    frame = auc_frame({"dnn": [0.8, 0.8]})
    for diff, half, status in ((0.0, 0.0009, "reproduced"), (0.001, 0.0005, "not resolved"),
                               (0.003, 0.0015, "differs")):
        got = collapse.figure_1a(frame, differences={"dnn": _difference(diff, half)})
        assert got.status == status, (diff, half)
        assert f"[{diff - half:+.4f}, {diff + half:+.4f}]" in got.ours
    me = pd.DataFrame({"model": ["dcnv2"] * 3, "embedding": ["SE", "SE", "ME"],
                       "scale": [1, 4, 4], "mean": [0.7, 0.7, 0.7]})
    for diff, status in ((0.003, "reproduced"), (0.001, "not resolved"), (-0.001, "differs")):
        got = multi_embedding.table_1(me, differences={"dcnv2": _difference(diff, 0.0009)})
        assert got.status == status
        assert got.checks[0].interval == pytest.approx((diff - 0.0009, diff + 0.0009))


def test_one_seed_decides_no_auc_verdict_and_says_how_many_seeds_it_would_need() -> None:
    frame = auc_frame({"dnn": [0.8, 0.8]})
    # a clear-looking one-seed difference: the test rows alone would call it
    one = _difference(-0.004, 0.0008, seeds=1, seed_sd=0.0017)
    got = collapse.figure_1a(frame, differences={"dnn": one})
    assert got.status == "not resolved" and statuses(got) == ["unresolved"]
    from embcollapse.intervals import seeds_needed

    need = seeds_needed(-0.004 - AUC_RESOLUTION, 0.0017, 0.0008 / 1.96)
    assert need == 3 and f"it would need {need} seeds" in got.rule
    unknown = collapse.figure_1a(frame, differences={"dnn": _difference(-0.004, 0.0008, seeds=1)})
    assert "no seed-to-seed spread is measured" in unknown.rule


@pytest.mark.parametrize("diff, better, worse, no_change", [
    (0.0011, "holds", "fails", "fails"),
    (0.0009, "fails", "fails", "holds"),
    (-0.0002, "fails", "fails", "holds"),       # Figure 10d's -0.0002 is no change, not worse
    (-0.0009, "fails", "fails", "holds"),
    (-0.0011, "fails", "holds", "fails"),
])
def test_one_symmetric_band_decides_better_worse_and_no_change(diff, better, worse,
                                                               no_change) -> None:
    from embcollapse.findings.base import auc_claim

    d = _difference(diff, 1e-9)
    got = [auc_claim("x", diff, claim, d).outcome for claim in ("better", "worse", "no change")]
    assert got == [better, worse, no_change]
    # the same interval across an edge of the band is unresolved whichever the claim
    wide = _difference(diff, 0.0015)
    assert auc_claim("x", diff, "no change", wide).outcome == "unresolved"


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
