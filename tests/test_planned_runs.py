"""The runs each profile plans are the ones recorded: a change of layout (modules moved,
helpers renamed) must leave every planned run's resolved configuration, and so its run id and
every stored run, as it was.

The record (``tests/data/planned_runs.json``) holds, per profile, the sorted hashes of
:func:`embcollapse.identity.resolved_key` of its plan; a run id is the hash of that
configuration with the data's fingerprint and the semantics version, both tested elsewhere
(``tests/test_run_identity.py``). A change meant to change runs rewrites the record:
``python tests/test_planned_runs.py --write``, and says so in its commit.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from embcollapse.config import load_profile
from embcollapse.grids import profile_configs
from embcollapse.identity import resolved_key

RECORD = Path(__file__).parent / "data" / "planned_runs.json"
PROFILES = ("smoke", "default", "regime", "paper")


def planned_hashes(profile: str) -> list[str]:
    """The sorted hashes of the resolved configurations of every run ``profile`` plans."""
    return sorted(hashlib.sha256(resolved_key(c).encode()).hexdigest()[:16]
                  for c in profile_configs(load_profile(profile)))


def test_every_profiles_plan_is_the_recorded_one() -> None:
    recorded = json.loads(RECORD.read_text())
    assert set(recorded) == set(PROFILES)
    for profile in PROFILES:
        now = planned_hashes(profile)
        assert len(now) == len(set(now)), f"{profile}: a run planned twice"
        gone, new = sorted(set(recorded[profile]) - set(now)), sorted(set(now) - set(recorded[profile]))
        assert not gone and not new, (f"{profile}: {len(gone)} recorded runs no longer planned, "
                                      f"{len(new)} new (a change meant to change runs rewrites "
                                      f"the record: python {__file__} --write)")


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    RECORD.write_text(json.dumps({p: planned_hashes(p) for p in PROFILES}, indent=1) + "\n")
    print(f"wrote {RECORD}")
