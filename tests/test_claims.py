"""The summary page's data: the catalogue of paper items, computed statuses, stored claims."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from embcollapse import claims


def test_status_rules() -> None:
    assert claims.status_of([True, True]) == "reproduced"
    assert claims.status_of([True, False]) == "partly"
    assert claims.status_of([False, False]) == "differs"
    assert claims.status_of([]) == "not run"
    assert claims.correlation_status(0.68) == "reproduced"
    assert claims.correlation_status(0.11) == "partly"
    assert claims.correlation_status(-0.2) == "differs"
    assert claims.correlation_status(float("nan")) == "differs"


def test_claims_are_stored_per_profile_and_joined_with_the_catalogue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path))
    claims.record_claim("p1", "Figure 8a", "partly", "ME > SE for 3/7", "7/7")
    claims.record_claim("p1", "Figure 8a", "reproduced", "ME > SE for 7/7", "7/7")  # replaces
    claims.record_claim("p2", "Table 2", "differs", "x", "y")
    frame = claims.summary_frame("p1").set_index("item")
    assert list(frame.index) == [item.key for item in claims.CATALOGUE]
    assert frame.loc["Figure 8a", "status"] == "reproduced"
    assert frame.loc["Figure 8a", "ours"] == "ME > SE for 7/7"
    assert frame.loc["Table 2", "status"] == "not run"          # claimed under p2 only
    assert frame.loc["Figure 7", "status"] == "not an experiment"
    stored = list((tmp_path / "claims" / "p1").glob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text())["key"] == "Figure 8a"


def test_bad_claims_are_refused() -> None:
    with pytest.raises(KeyError, match="not a figure or table"):
        claims.record_claim("p", "Figure 99", "reproduced", "", "")
    with pytest.raises(ValueError, match="status must be one of"):
        claims.record_claim("p", "Table 1", "sort of", "", "")


def test_paper_items_finds_figures_and_tables() -> None:
    text = "as in Figure 10a and Table 3; see Figure 1b, Figure 12 (and Table 7)."
    assert claims.paper_items(text) == {"Figure 10a", "Table 3", "Figure 1b", "Figure 12",
                                        "Table 7"}


def test_paper_auc_and_sizes_line_up() -> None:
    import pandas as pd

    from embcollapse.report import paper_auc, with_sizes

    paper = paper_auc("criteo")
    assert set(paper.model) == {"dnn", "ipnn", "nfwfm", "xdeepfm", "dcnv2", "finalmlp",
                                "autoint"}
    row = paper[(paper.model == "dcnv2") & (paper.embedding == "ME") & (paper.scale == 10)]
    assert len(row) == 1 and 0.81 < float(row["mean"].iloc[0]) < 0.82
    runs = pd.DataFrame({"model": ["nfwfm", "nfwfm", "dcnv2", "dcnv2-shared"],
                         "embed_dim": [200, 50, 30, 10], "num_sets": [1, 4, 1, 3]})
    sized = with_sizes(runs)
    assert list(sized.embedding) == ["SE", "ME", "SE", "ME"]
    assert list(sized.scale) == [4, 4, 3, 3]


def test_find_run_and_mean_normalized_ia() -> None:
    import pandas as pd

    from embcollapse.analysis import random_ia
    from embcollapse.report import find_run, mean_normalized_ia

    records = [{"id": 0}, {"id": 1}, {"id": 2}]
    frame = pd.DataFrame({"model": ["dnn", "dcnv2", "dcnv2"], "scale": [1, 1, 4]})
    assert find_run(records, frame, model="dcnv2", scale=4) == {"id": 2}
    assert find_run(records, frame, model="dcnv2") == {"id": 1}
    assert find_run(records, frame, model="ipnn") is None
    record = {"config": {"model": {"embed_dim": 4, "num_sets": 1}}, "field_ia": [[2.0, 3.0]],
              "field_ia_concat": [2.0, 3.0], "field_dims": [50, 80]}
    expected = (2.0 / random_ia(50, 4) + 3.0 / random_ia(80, 4)) / 2
    assert mean_normalized_ia(record) == pytest.approx(expected)
    me = {"config": {"model": {"embed_dim": 4, "num_sets": 2}}, "field_ia": [[2.0, 3.0]] * 2,
          "field_ia_concat": [5.0, 6.0], "field_dims": [50, 80]}   # ME: (D_i, 2 * 4) tables
    assert mean_normalized_ia(me) == pytest.approx((5.0 / random_ia(50, 8)
                                                    + 6.0 / random_ia(80, 8)) / 2)
