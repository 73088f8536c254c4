"""Numbers the README and the book's plain pages state about the build come from the build."""
from __future__ import annotations

import re
from pathlib import Path

from embcollapse.config import load_profile
from embcollapse.sweep import plan

REPO = Path(__file__).resolve().parents[1]


def test_the_readme_states_the_default_profiles_run_count() -> None:
    """The README's count of the default profile's runs is the sweep's plan, not a typed
    figure that drifts when a chapter's grid grows."""
    readme = (REPO / "README.md").read_text()
    stated = re.search(r"training the default profile's (\d+) small models", readme)
    assert stated, "the README no longer states the default profile's run count"
    assert int(stated.group(1)) == len(plan(load_profile("default")))


def test_about_so_many_paper_runs_is_the_paper_plan_rounded_to_tens() -> None:
    """"About 370 runs" (README) and "~370 runs" (the book's introduction) state the paper
    profile's plan rounded to tens."""
    want = round(len(plan(load_profile("paper"))), -1)
    stated = [int(n) for n in re.findall(r"about (\d+) training runs",
                                         (REPO / "README.md").read_text())]
    stated += [int(n) for n in re.findall(r"~(\d+) runs", (REPO / "book" / "intro.md").read_text())]
    assert len(stated) == 2 and set(stated) == {want}, (stated, want)
