"""Synthetic data generation speed: rows/s of the teacher and of the Criteo-format writer.

    python benchmarks/synthetic.py [--rows 2000000]

Target (issue 2): millions of rows in seconds on a 2-core CPU.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from embcollapse.config import DataConfig  # noqa: E402
from embcollapse.data import synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    rows = []
    for preset in ("criteo-small", "criteo"):
        config = DataConfig(preset=preset, rows=args.rows)
        t0 = time.perf_counter()
        teacher = synthetic.teacher_for(config)
        t1 = time.perf_counter()
        n = sum(len(block[1]) for block in synthetic.generate_blocks(teacher, args.rows, 0))
        t2 = time.perf_counter()
        rows.append({"task": "generate (ids, labels, teacher logit)", "preset": preset,
                     "fields": teacher.num_fields, "rows": n, "teacher_setup_s": t1 - t0,
                     "seconds": t2 - t1, "rows_per_s": n / (t2 - t1)})
    with tempfile.TemporaryDirectory() as tmp:
        n = args.rows // 4
        t0 = time.perf_counter()
        path = synthetic.write_criteo_txt(DataConfig(preset="criteo", rows=n), Path(tmp) / "t.txt")
        seconds = time.perf_counter() - t0
        rows.append({"task": f"write Criteo train.txt ({path.stat().st_size / 1e6:.0f} MB)",
                     "preset": "criteo", "fields": 39, "rows": n,
                     "teacher_setup_s": float("nan"), "seconds": seconds, "rows_per_s": n / seconds})
    print_table(rows)
    write_json("synthetic", rows)


if __name__ == "__main__":
    main()
