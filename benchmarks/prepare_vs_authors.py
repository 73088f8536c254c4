"""Preparing one Criteo file, side by side: the authors' LMDB build and ``embcollapse data prepare``.

Both read the same Criteo ``train.txt``-format file (the synthetic generator's 39-field rows,
written once and cached like :mod:`data`), one after the other in this one run, each in a fresh
process whose wall time, CPU time (user + system, every thread and child process) and peak
resident memory are taken from ``os.wait4``:

* ``authors``: thuml/Multi-Embedding's ``torchfm/dataset/criteo.py`` (commit c05a783),
  ``CriteoDataset.__build_cache``, restated below without the ``torch`` Dataset around it:
  pass 1 reads the file line by line in Python, splits on tabs, skips lines that are not 40
  columns and counts every field's tokens in nested ``defaultdict``s (integer columns through
  the cached ``convert_numeric_feature``); tokens seen at least ``min_threshold`` (10) times are
  numbered by iterating a ``set``, the rest get the field's default id; pass 2 reads the file
  again, turns every line into a (40,) uint32 array and puts it into LMDB under a big-endian
  row key, 100,000 rows per write transaction (``map_size`` 1e11), after ``field_dims``.
* ``ours``: the whole command ``python -m embcollapse data prepare criteo FILE --force`` (with
  ``EMBCOLLAPSE_HOME`` in a temporary folder), interpreter start and imports included.

Each process also reports its build alone (the authors' ``build_cache`` call; our
``meta.json`` ``seconds.total``, the :func:`~embcollapse.data.prepare.prepare` call), so the
table gives two ratios: build against build, and whole process against whole process (the
authors' process imports ``lmdb``, ``numpy`` and ``tqdm``, not ``torch``, which their module
also imports). The field cardinalities of both must agree (both count on every row, both keep
values seen >= 10 times plus one id for the rest).

Target (issue 13, this 2-core machine): ours >= 10x the authors' on 2M rows, peak memory flat in
rows. The machine may be shared: the load average is recorded and CPU seconds matter more.

Usage::

    python benchmarks/prepare_vs_authors.py                    # 2M rows
    python benchmarks/prepare_vs_authors.py --rows 500000 --cache /tmp/bench

Prints a table and writes ``benchmarks/out/prepare_vs_authors.json``. Needs ``lmdb`` (the
``bench`` extra: ``pip install -e .[bench]``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

NUM_FEATS, NUM_INT_FEATS, MIN_THRESHOLD = 39, 13, 10


# --------------------------------------------------------------------------- the authors' build

@lru_cache(maxsize=None)
def convert_numeric_feature(val: str) -> str:
    """The authors' integer token (``''`` -> ``'NULL'``, ``v > 2`` -> ``int(ln(v)**2)``)."""
    if val == "":
        return "NULL"
    v = int(val)
    return str(int(math.log(v) ** 2)) if v > 2 else str(v - 2)


def _lines(path: Path, what: str):
    from tqdm import tqdm
    with open(path) as fh:
        bar = tqdm(fh, mininterval=1, smoothing=0.1, file=sys.stderr)
        bar.set_description(f"Create criteo dataset cache: {what}")
        yield from bar


def feature_mapper(path: Path) -> tuple[dict[int, dict[str, int]], dict[int, int]]:
    """Pass 1: per field (1..39) token -> id for tokens seen >= MIN_THRESHOLD times, and the
    default (out-of-vocabulary) id."""
    counts: defaultdict = defaultdict(lambda: defaultdict(int))
    for line in _lines(path, "counting features"):
        values = line.rstrip("\n").split("\t")
        if len(values) != NUM_FEATS + 1:
            continue
        for i in range(1, NUM_INT_FEATS + 1):
            counts[i][convert_numeric_feature(values[i])] += 1
        for i in range(NUM_INT_FEATS + 1, NUM_FEATS + 1):
            counts[i][values[i]] += 1
    kept = {i: {tok for tok, c in cnt.items() if c >= MIN_THRESHOLD} for i, cnt in counts.items()}
    mapper = {i: {tok: idx for idx, tok in enumerate(toks)} for i, toks in kept.items()}
    return mapper, {i: len(m) for i, m in mapper.items()}


def row_buffers(path: Path, mapper: dict, defaults: dict, size: int = 100_000):
    """Pass 2: lists of (row key, (40,) uint32 bytes), ``size`` rows at a time."""
    import numpy as np

    index, buffer = 0, []
    for line in _lines(path, "setup lmdb"):
        values = line.rstrip("\n").split("\t")
        if len(values) != NUM_FEATS + 1:
            continue
        row = np.zeros(NUM_FEATS + 1, dtype=np.uint32)
        row[0] = int(values[0])
        for i in range(1, NUM_INT_FEATS + 1):
            row[i] = mapper[i].get(convert_numeric_feature(values[i]), defaults[i])
        for i in range(NUM_INT_FEATS + 1, NUM_FEATS + 1):
            row[i] = mapper[i].get(values[i], defaults[i])
        buffer.append((struct.pack(">I", index), row.tobytes()))
        index += 1
        if index % size == 0:
            yield buffer
            buffer.clear()
    yield buffer


def build_cache(path: Path, cache_path: Path) -> list[int]:
    """The authors' LMDB cache of ``path`` at ``cache_path``; returns the field dims."""
    import lmdb
    import numpy as np

    mapper, defaults = feature_mapper(path)
    with lmdb.open(str(cache_path), map_size=int(1e11)) as env:
        dims = np.zeros(NUM_FEATS, dtype=np.uint32)
        for i, m in mapper.items():
            dims[i - 1] = len(m) + 1
        with env.begin(write=True) as txn:
            txn.put(b"field_dims", dims.tobytes())
        for buffer in row_buffers(path, mapper, defaults):
            with env.begin(write=True) as txn:
                for key, value in buffer:
                    txn.put(key, value)
    return [int(d) for d in dims]


def child_authors(path: Path, out: Path) -> dict[str, Any]:
    import lmdb  # noqa: F401  (imports count in the process, not in the build)
    import numpy  # noqa: F401
    import tqdm  # noqa: F401

    t0, c0 = time.perf_counter(), time.process_time()
    dims = build_cache(path, out)
    return {"build_wall_s": time.perf_counter() - t0, "build_cpu_s": time.process_time() - c0,
            "field_dims": dims}


# --------------------------------------------------------------------------- measuring

def measured(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command``; wall s, CPU s (user + system of it and its children), peak RSS MB, and
    the JSON object on its last stdout line (if any)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)
    # wait4 gives this child's own resource use; read the pipes in threads meanwhile
    import threading
    outputs: dict[str, str] = {}
    readers = [threading.Thread(target=lambda n=n, s=s: outputs.__setitem__(n, s.read()))
               for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{outputs['err'][-3000:]}")
    lines = outputs["out"].strip().splitlines()
    try:
        reported = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        reported = {}
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "reported": reported,
            "stdout": outputs["out"]}


def run_authors(path: Path, work: Path) -> dict[str, Any]:
    out = work / "authors.lmdb"
    result = measured([sys.executable, __file__, "--child-authors", str(path), str(out)])
    size = sum(f.stat().st_size for f in out.iterdir())
    shutil.rmtree(out)
    rep = result.pop("reported")
    result.pop("stdout")
    return {**result, "build_wall_s": rep["build_wall_s"], "build_cpu_s": rep["build_cpu_s"],
            "field_dims": rep["field_dims"], "output_mb": size / 2**20}


def run_ours(path: Path, work: Path, src: Path | None = None) -> dict[str, Any]:
    """``embcollapse data prepare criteo`` of this checkout, or of the package under ``src``."""
    home = work / "home"
    env = {**os.environ, "EMBCOLLAPSE_HOME": str(home)}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    result = measured([sys.executable, "-m", "embcollapse", "data", "prepare", "criteo",
                       str(path), "--force"], env=env)
    directory = Path(result.pop("stdout").strip().splitlines()[0])
    meta = json.loads((directory / "meta.json").read_text())
    size = sum(f.stat().st_size for f in directory.iterdir())
    result.pop("reported")
    shutil.rmtree(home)
    return {**result, "build_wall_s": meta["seconds"]["total"], "build_cpu_s": None,
            "field_dims": meta["field_dims"], "output_mb": size / 2**20}


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-authors":
        print(json.dumps(child_authors(Path(sys.argv[2]), Path(sys.argv[3]))))
        return 0
    from common import print_table, write_json
    from data import raw_file

    from embcollapse import paths

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--cache", type=Path, default=paths.home() / "bench")
    parser.add_argument("--ours-repeats", type=int, default=2,
                        help="runs of ours (the best wall time is used; all are recorded)")
    parser.add_argument("--baseline-src", type=Path,
                        help="also time `data prepare` of another version's src folder (e.g. "
                             "`git archive <commit> src | tar -x -C DIR`, then DIR/src), for a "
                             "before/after table in the same run")
    args = parser.parse_args()
    path = raw_file(args.rows, args.cache)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=args.cache, prefix=".vs-authors-") as tmp:
        work = Path(tmp)
        baseline_runs = [run_ours(path, work, args.baseline_src)
                         for _ in range(max(1, args.ours_repeats) if args.baseline_src else 0)]
        ours_runs = [run_ours(path, work) for _ in range(max(1, args.ours_repeats))]
        authors = run_authors(path, work)
    load_after = os.getloadavg()
    ours = min(ours_runs, key=lambda r: r["wall_s"])
    if authors["field_dims"] != ours["field_dims"]:
        raise RuntimeError(f"field dims differ: authors {authors['field_dims']}, "
                           f"ours {ours['field_dims']}")
    rows = []
    cases = ([("authors (LMDB)", authors)]
             + [(f"baseline {args.baseline_src} (run {i + 1})", r)
                for i, r in enumerate(baseline_runs)]
             + [(f"ours (run {i + 1})", r) for i, r in enumerate(ours_runs)])
    for name, r in cases:
        rows.append({"case": name, "rows": args.rows, "process_wall_s": round(r["wall_s"], 2),
                     "process_cpu_s": round(r["cpu_s"], 2),
                     "build_wall_s": round(r["build_wall_s"], 2),
                     "peak_rss_mb": round(r["peak_rss_mb"]),
                     "output_mb": round(r["output_mb"])})
    print_table(rows)
    ratios = {"build_wall": authors["build_wall_s"] / ours["build_wall_s"],
              "process_wall": authors["wall_s"] / ours["wall_s"],
              "process_cpu": authors["cpu_s"] / ours["cpu_s"]}
    if baseline_runs:
        base = min(baseline_runs, key=lambda r: r["wall_s"])
        ratios["baseline_build_wall"] = authors["build_wall_s"] / base["build_wall_s"]
        ratios["baseline_process_wall"] = authors["wall_s"] / base["wall_s"]
        ratios["baseline_process_cpu"] = authors["cpu_s"] / base["cpu_s"]
        print(f"\nbaseline / authors: build {ratios['baseline_build_wall']:.1f}x, whole process "
              f"{ratios['baseline_process_wall']:.1f}x (wall), "
              f"{ratios['baseline_process_cpu']:.1f}x (CPU)")
    print(f"ours / authors speed-up: build {ratios['build_wall']:.1f}x, whole process "
          f"{ratios['process_wall']:.1f}x (wall), {ratios['process_cpu']:.1f}x (CPU); target "
          f">= 10x. Load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"({os.cpu_count()} cpus). Field dims agree ({sum(ours['field_dims']):,} features).")
    write_json("prepare_vs_authors", rows, file=str(path), ratios=ratios, target=10,
               load_average_before=load_before, load_average_after=load_after,
               authors_source="thuml/Multi-Embedding torchfm/dataset/criteo.py @ c05a783")
    return 0


if __name__ == "__main__":
    sys.exit(main())
