"""The summary page's data: the catalogue of paper items, computed statuses, stored claims."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from embcollapse import claims


def _profile(name: str = "smoke", **changes):
    import dataclasses

    from embcollapse.config import load_profile

    return dataclasses.replace(load_profile(name), **changes)


def test_a_build_is_keyed_by_the_resolved_profile_and_the_parameters() -> None:
    smoke = _profile()
    assert claims.build_key(smoke) == claims.build_key(_profile())
    assert claims.build_key(smoke).startswith("smoke-")
    assert claims.build_key(smoke, {"embed_dims": [4]}) != claims.build_key(smoke)
    assert claims.build_key(_profile(seeds=(0, 1))) != claims.build_key(smoke)


def test_claims_are_stored_per_build_and_joined_with_the_catalogue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from embcollapse.findings import Check, finding

    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path))
    fails = finding("Table 1", "ME > SE for 3/7", "7/7", [Check("x", -1, 0, ">", deterministic="exact")])
    holds = finding("Table 1", "ME > SE for 7/7", "7/7", [Check("x", 1, 0, ">", deterministic="exact")])
    claims.record_claim("b1", fails)
    claims.record_claim("b1", holds)                              # replaces
    claims.record_claim("b2", finding("Table 2", "x", "y", [Check("y", 1, 0, "<", deterministic="exact")]))
    frame = claims.summary_frame("b1").set_index("item")
    assert list(frame.index) == [item.key for item in claims.CATALOGUE]
    assert frame.loc["Table 1", "status"] == "reproduced"
    assert frame.loc["Table 1", "ours"] == "ME > SE for 7/7"
    assert "x: 1 (exact) > 0 holds" in frame.loc["Table 1", "rule"]
    assert frame.loc["Table 2", "status"] == "not run"          # claimed under b2 only
    assert frame.loc["Figure 7", "status"] == "diagram"
    assert all(frame.rule.str.len() > 0)
    stored = list((tmp_path / "claims" / "b1").glob("*.json"))
    assert len(stored) == 1 and json.loads(stored[0].read_text())["key"] == "Table 1"


@pytest.mark.parametrize("damage", ["truncated", "empty", "list", "missing key"])
def test_a_damaged_claim_file_is_not_a_verdict_and_names_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    from embcollapse.findings import Check, finding

    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path))
    claims.record_claim("b1", finding("Table 1", "7/7", "7/7", [Check("x", 1, 0, ">", deterministic="exact")]))
    claims.record_claim("b1", finding("Table 2", "x", "y", [Check("y", -1, 0, "<", deterministic="exact")]))
    path = next(p for p in (tmp_path / "claims" / "b1").glob("*.json")
                if json.loads(p.read_text())["key"] == "Table 1")
    text = path.read_text()
    path.write_text({"truncated": text[: len(text) // 2], "empty": "", "list": "[]",
                     "missing key": json.dumps({k: v for k, v in json.loads(text).items()
                                                if k != "status"})}[damage])
    frame = claims.summary_frame("b1").set_index("item")
    assert frame.loc["Table 1", "status"] == "not run"
    assert str(path) in frame.loc["Table 1", "rule"] + str(claims.stored_claims("b1")
                                                           ["Table 1"]["reason"])
    assert frame.loc["Table 2", "status"] == "reproduced"       # the others are untouched


def test_bad_claims_are_refused() -> None:
    from embcollapse.findings import illustration

    with pytest.raises(KeyError, match="not a figure or table"):
        claims.record_claim("b", illustration("Figure 99", "", "", "why"))


def test_book_run_clears_its_chapters_claims_and_says_why_an_item_was_not_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chapter run under a changed profile changes that build's summary and leaves no claim of
    an earlier run behind: a chapter that fails or records nothing shows "not run" with the
    reason, and builds with other parameters keep their own claims."""
    import os

    import yaml

    from embcollapse import book
    from embcollapse.config import load_profile, to_dict
    from embcollapse.findings import Check, finding

    monkeypatch.setenv("EMBCOLLAPSE_HOME", str(tmp_path / "home"))
    behaviour = {"gain": 1.0, "fail": False}

    def fake_execute(page, output, parameters, progress=True):
        """Stands in for papermill: the 'chapter' records Table 1 in the build it is given."""
        if behaviour["fail"]:
            raise RuntimeError("boom")
        if behaviour["gain"] is not None:
            build = os.environ[claims.BUILD_ENV]
            claims.record_claim(build, finding("Table 1", f"gain {behaviour['gain']}", "p",
                                               [Check("gain", behaviour["gain"], 0, ">",
                                                      deterministic="exact")]))
        return output

    monkeypatch.setattr(book, "execute_notebook", fake_execute)
    run = dict(chapters=["05_multi"], out_dir=tmp_path / "out", progress=False)
    status = lambda build: claims.summary_frame(build).set_index("item").loc["Table 1"]

    book.run_chapters("smoke", **run)
    smoke = claims.build_key(load_profile("smoke"))
    assert status(smoke)["status"] == "reproduced"

    values = to_dict(load_profile("smoke"))                      # a changed profile
    values.pop("name")
    values["train"]["max_epochs"] = 3
    changed_path = tmp_path / "smoke.yaml"                       # same name, other contents
    changed_path.write_text(yaml.safe_dump(values))
    behaviour["gain"] = -1.0
    book.run_chapters(str(changed_path), **run)
    changed = claims.build_key(load_profile(changed_path))
    assert changed != smoke
    assert status(changed)["status"] == "differs"
    assert status(smoke)["status"] == "reproduced"                # the other build is untouched

    behaviour["gain"] = None                                      # the chapter records nothing
    book.run_chapters(str(changed_path), **run)
    row = status(changed)
    assert row["status"] == "not run" and "could not compute it" in row["rule"]

    behaviour["fail"] = True                                      # the chapter fails
    with pytest.raises(RuntimeError):
        book.run_chapters("smoke", **run)
    row = status(smoke)
    assert row["status"] == "not run" and "failed (RuntimeError)" in row["rule"]
    assert claims.BUILD_ENV not in os.environ

    behaviour.update(fail=False, gain=1.0)                        # other parameters: own build
    book.run_chapters("smoke", parameters={"scales": [1, 2]}, **run)
    assert status(smoke)["status"] == "not run"
    assert status(claims.build_key(load_profile("smoke"), {"scales": [1, 2]}))["status"] \
        == "reproduced"


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


def test_the_summary_says_what_of_each_claim_is_not_judged() -> None:
    from embcollapse.claims import NOT_JUDGED, not_judged

    assert not_judged("Figure 1a", "reproduced") == ""
    assert not_judged("Figure 8b", "reproduced") == NOT_JUDGED["Figure 8b"]
    assert "all of it" in not_judged("Figure 16", "illustration", "given by its baseline")
    assert not_judged("Figure 8a", "shared", see="Table 1") == "judged by Table 1"
    assert not_judged("Table 6", "not run") == "all of it (not run)"
    from embcollapse.claims import ITEMS

    assert set(NOT_JUDGED) <= set(ITEMS)


def test_the_paper_column_names_the_papers_setting_beside_ours() -> None:
    import pandas as pd

    from embcollapse.findings import collapse, data_size

    frame = pd.DataFrame([{"model": "dnn", "embed_dim": k, "mean": 0.8} for k in (5, 40)])
    assert "K=10 to 100; ours: K=5 to 40" in collapse.figure_1a(frame).paper
    runs = pd.DataFrame({"fraction": [0.03, 1.0], "column": ["20", "20"], "seed": [0, 0],
                         "mean_ia": [19.6, 15.0]})
    assert "1% to 100% of Criteo (ours: 3% to 100% of our data)" in data_size.table_2(runs).paper
