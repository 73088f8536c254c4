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


def test_figure_1a_counts_a_gain_below_the_resolution_as_not_growing() -> None:
    below = collapse.figure_1a(auc_frame({"dnn": [0.8, 0.8 + AUC_RESOLUTION - EPS]}))
    above = collapse.figure_1a(auc_frame({"dnn": [0.8, 0.8 + AUC_RESOLUTION + EPS]}))
    assert below.status == "reproduced" and above.status == "differs"
    mixed = collapse.figure_1a(auc_frame({"dnn": [0.8, 0.79], "dcnv2": [0.8, 0.81]}))
    assert mixed.status == "partly"
    # the paper's numbers come from its CSV: DNN moves -0.00086 from 1x to 10x on Criteo
    assert "dnn -0.00086" in mixed.paper and "dcnv2 +0.00018" in mixed.paper


def test_figure_1b_needs_most_values_small_and_more_so_at_larger_k() -> None:
    assert collapse.figure_1b({4: 0.3, 8: 0.5}).status == "reproduced"
    assert statuses(collapse.figure_1b({4: 0.3, 8: 0.5 - EPS})) == ["fails", "holds"]
    assert statuses(collapse.figure_1b({4: 0.6, 8: 0.6})) == ["holds", "fails"]
    spectra = [np.array([1.0, 0.5, 0.09, 0.01]), np.array([2.0, 0.1, 0.1, 0.1])]
    assert collapse.share_small(spectra) == pytest.approx((0.5 + 0.75) / 2)


def test_figure_2_needs_every_field_below_random_and_a_low_mean_ratio() -> None:
    rnd = np.array([10.0, 10.0])
    assert collapse.figure_2(np.array([6.9, 6.9]), rnd).status == "reproduced"
    assert statuses(collapse.figure_2(np.array([7.0, 7.0]), rnd)) == ["holds", "fails"]
    assert statuses(collapse.figure_2(np.array([10.0, 1.0]), rnd)) == ["fails", "holds"]


# ---- chapter 2 ---------------------------------------------------------------------------

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
    ok = regularized.figure_6_regularized(by_size([3, 4], [3 + EPS, 5], [0.8, 0.8]))
    assert ok.status == "reproduced"
    tie = regularized.figure_6_regularized(by_size([3, 4], [3, 5], [0.8, 0.8]))
    assert statuses(tie) == ["fails", "holds", "holds"]
    grows = regularized.figure_6_regularized(
        by_size([3, 4], [4, 5], [0.8, 0.8 + AUC_RESOLUTION + EPS]))
    assert statuses(grows)[-1] == "fails"


def test_figure_16_and_figure_6_dnn() -> None:
    assert regularized.figure_16(2.0 + EPS, 2.0).status == "reproduced"
    assert regularized.figure_16(2.0, 2.0).status == "differs"
    norm = pd.Series({"dnn": 0.6, "dcnv2": 0.5})
    flat = pd.Series({5: 0.8, 40: 0.8 + AUC_RESOLUTION - EPS})
    assert regularized.figure_6_dnn(norm, flat).status == "reproduced"
    assert statuses(regularized.figure_6_dnn(pd.Series({"dnn": 0.5, "dcnv2": 0.5}), flat)) \
        == ["fails", "holds"]
    up = pd.Series({5: 0.8, 40: 0.8 + AUC_RESOLUTION})
    assert statuses(regularized.figure_6_dnn(norm, up)) == ["holds", "fails"]


# ---- chapter 5 ---------------------------------------------------------------------------

def me_frame(pairs: dict[str, tuple[float, float]], scale: int = 4) -> pd.DataFrame:
    rows = []
    for model, (se, me) in pairs.items():
        rows += [{"model": model, "embedding": "SE", "scale": 1, "mean": 0.79},
                 {"model": model, "embedding": "SE", "scale": scale, "mean": se},
                 {"model": model, "embedding": "ME", "scale": scale, "mean": me}]
    return pd.DataFrame(rows)


def test_table_1_checks_me_above_se_per_model_without_autoint() -> None:
    found = multi_embedding.table_1(me_frame({"dnn": (0.8, 0.8 + EPS), "dcnv2": (0.8, 0.8),
                                              "autoint": (0.8, 0.7)}))
    assert [c.name.split(":")[0] for c in found.checks] == ["dcnv2", "dnn"]
    assert statuses(found) == ["fails", "holds"] and found.status == "partly"
    assert "dnn +0.00076" in found.paper            # paper ME - SE at 4x on Criteo
    assert multi_embedding.table_1(pd.DataFrame(
        {"model": ["dnn"], "embedding": ["SE"], "scale": [1], "mean": [0.8]})).status == "not run"
    assert multi_embedding.table_1(me_frame({"autoint": (0.8, 0.9)})).status == "not run"


def test_table_1s_plots_and_copies_point_to_it_and_the_other_dataset_is_not_run() -> None:
    found = {f.key: f for f in multi_embedding.same_evidence("criteo")}
    assert {k for k, f in found.items() if f.status == "shared"} == {"Figure 8a", "Table 5",
                                                                     "Figure 12"}
    assert all(found[k].see == "Table 1" for k in ("Figure 8a", "Table 5", "Figure 12"))
    assert found["Table 6"].status == found["Figure 13"].status == "not run"
    avazu = {f.key: f.status for f in multi_embedding.same_evidence("avazu")}
    assert avazu["Table 6"] == "shared" and avazu["Table 5"] == "not run"


def test_table_7_and_figure_8b() -> None:
    assert multi_embedding.table_7(me_frame({"autoint": (0.8, 0.8 + EPS)})).status == "reproduced"
    assert multi_embedding.table_7(me_frame({"autoint": (0.8, 0.8)})).status == "differs"
    assert multi_embedding.table_7(me_frame({"dnn": (0.8, 0.9)})).status == "not run"
    se = np.array([1.0, 2.0, 3.0, 4.0])
    assert multi_embedding.figure_8b(se, se + [1, 1, 1, -1]).status == "reproduced"
    assert statuses(multi_embedding.figure_8b(se, se + [1, 1, -0.5, -0.5])) == ["holds", "fails"]
    assert statuses(multi_embedding.figure_8b(se, se + [-4, 0.1, 0.1, 0.1])) == ["fails", "holds"]


# ---- chapter 6 ---------------------------------------------------------------------------

def test_figure_9() -> None:
    assert how_it_works.figure_9(0.5, 0.5 - EPS).status == "reproduced"
    assert statuses(how_it_works.figure_9(0.5 - EPS, 0.1)) == ["fails", "holds"]
    assert statuses(how_it_works.figure_9(0.7, 0.7)) == ["holds", "fails"]
    assert "0.52" in how_it_works.figure_9(0.7, 0.7).paper


def test_figure_10a_gap_must_exceed_two_standard_errors() -> None:
    se = np.zeros(4)
    gap = np.array([1.0, 1.0, 3.0, 3.0])        # mean 2, std 1.1547, stderr 0.57735
    threshold = 2 * gap.std(ddof=1) / 2
    found = how_it_works.figure_10a(se + gap, se, random=0.9)
    assert found.checks[0].threshold == pytest.approx(threshold)
    assert found.status == "reproduced"
    shifted = gap - gap.mean() + threshold       # same spread, mean exactly at the threshold
    assert how_it_works.figure_10a(se + shifted, se).status == "differs"
    assert len(found.checks) == 1               # "below random" is shown, not checked


def test_figure_10b_needs_the_agree_run_to_be_a_check() -> None:
    assert how_it_works.figure_10b({"ME": 0.9}).status == "illustration"
    assert how_it_works.figure_10b({"ME": 0.5, "dcnv2-agree": 0.5 + EPS}).status == "reproduced"
    assert how_it_works.figure_10b({"ME": 0.5, "dcnv2-agree": 0.5}).status == "differs"


def test_figures_10c_10d_appendix_e_and_17() -> None:
    c, d = how_it_works.figure_10c_10d({"ME": 0.8, "shared": 0.8 - EPS, "agree": 0.8}, 4)
    assert (c.status, d.status) == ("reproduced", "differs")
    c, d = how_it_works.figure_10c_10d({"ME": 0.8}, 4)
    assert c.status == d.status == "not run"
    assert how_it_works.appendix_e(1e-7, 0.8, 0.8).status == "illustration"
    # SE 1x is 0.79 in me_frame: dcnv2-reg's ME does not grow, DNN's ME grows above SE
    auc = me_frame({"dnn": (0.79 + EPS, 0.79 + 2 * EPS), "dcnv2-reg": (0.8, 0.79)})
    a, b = how_it_works.figure_17(auc, 4)
    assert (a.key, b.key) == ("Figure 17a", "Figure 17b")
    assert statuses(a) == ["fails", "fails"] and statuses(b) == ["holds", "holds"]
    tie = how_it_works.figure_17(me_frame({"dnn": (0.8, 0.8)}), 4)[1]
    assert statuses(tie) == ["holds", "fails"]
    # DNN's runs at 4x are Table 1's: its ME - SE comparison is not counted again
    a, b = how_it_works.figure_17(auc, 4, {"dnn": ["r1", "r2"], "dcnv2-reg": ["r3", "r4"]},
                                  table_1_run_ids=["r1", "r2", "r9"])
    assert len(a.checks) == 2 and len(b.checks) == 1 and "judged by Table 1" in b.rule
    a, b = how_it_works.figure_17(auc[auc.model == "dnn"], 4)
    assert a.status == "not run" and b.status == "reproduced"


# ---- chapters 7, 8 and the datasets page -------------------------------------------------

def test_table_2_compares_the_ends_of_each_column_and_me_with_se() -> None:
    ours = pd.DataFrame({"4": [5.0, 5.0 - EPS], "8": [7.0, 7.0], "8, ME": [7.0 + EPS, 6.9]},
                        index=[0.3, 1.0])
    found = data_size.table_2(ours)
    assert statuses(found) == ["holds", "fails", "holds", "fails"]
    assert found.status == "partly"
    assert "8/8 sizes" in found.paper and "5/5 data sizes" in found.paper


def test_table_3_figure_15_and_figure_11() -> None:
    auc = pd.DataFrame({1: [0.8, 0.8 + AUC_RESOLUTION - EPS, 0.8 + AUC_RESOLUTION]},
                       index=["standard", "more_cross_layers", "deeper_mlp"])
    found = appendices.table_3(auc)
    assert statuses(found) == ["holds", "fails"]
    assert "standard 0.81339" in found.paper
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.6 - EPS}), "dcnv2").status == "reproduced"
    assert appendices.figure_15(pd.Series({4: 0.6, 8: 0.6}), "dcnv2").status == "differs"
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

# decimals a chapter may state in its prose because they are parameters or definitions, not
# results: (page, number)
STATED_PARAMETERS: set[tuple[str, str]] = set()


def prose(text: str) -> str:
    """A chapter's markdown without front matter, code cells, math and inline code."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", "", text)
    return re.sub(r"`[^`]*`", "", text)


def typed_results(text: str) -> list[str]:
    """Decimal numbers with two or more decimals in ``text``'s prose (``0.0001``, ``6.64``)."""
    return re.findall(r"(?<![\w.])\d*\.\d{2,}\b", prose(text))


def test_the_typed_number_finder_sees_prose_and_skips_code_and_math() -> None:
    page = ("---\nformat_version: 0.13\n---\nThe paper's DNN moves -0.0001 and IA is 6.64.\n"
            "```{code-cell} ipython3\nx = 0.68\n```\n$$a = 0.52$$ and $b = 0.25$ and `0.125`; "
            "Section 5.3 and r >= 0.5.\n")
    assert typed_results(page) == ["0.0001", "6.64"]


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


def _difference(diff: float, half_width: float):
    from embcollapse.intervals import Difference

    return Difference(diff=diff, se=half_width / 1.96, low=diff - half_width,
                      high=diff + half_width)


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
    for diff, status in ((0.002, "reproduced"), (0.0, "not resolved"), (-0.002, "differs")):
        got = multi_embedding.table_1(me, differences={"dcnv2": _difference(diff, 0.001)})
        assert got.status == status
        assert got.checks[0].interval == pytest.approx((diff - 0.001, diff + 0.001))


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
