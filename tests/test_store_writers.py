"""The results store under 16 writers finishing at once (issue 21): no record lost or corrupt,
nothing set aside, no scratch left; benchmarks/store_writers.py measures it (no timing here)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import store_writers  # noqa: E402


@pytest.mark.parametrize("same_run", [False, True], ids=["distinct-runs", "one-run"])
def test_sixteen_writers_at_once_lose_and_corrupt_nothing(tmp_path: Path, same_run) -> None:
    row = store_writers.run(writers=16, records=2, model_mb=0.05, rows=1_000,
                            same_run=same_run, root=tmp_path / "store")
    assert row["saves"] == 32 and row["writer_exit_codes_nonzero"] == row["writers_crashed"] == 0, row
    assert (row["lost"], row["corrupt"], row["damaged"], row["left_over"]) == (0, 0, 0, 0), row
    assert row["failure_notes"] == 16 and row["reader_listings"] >= 1
    runs = [p for p in (tmp_path / "store" / "runs").iterdir()]
    assert len(runs) == (1 if same_run else 32)
