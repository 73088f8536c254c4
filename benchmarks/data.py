"""Data pipeline speed and memory: preparing a raw Criteo file, and the batch loader.

The raw file is Criteo ``train.txt`` format written by the synthetic generator
(``embcollapse.data.synthetic.write_criteo_txt`` with the 39-field ``criteo`` preset, about 260
bytes a row); it is written once and cached (``--cache``, default ``<home>/bench``) because
writing 2M rows takes minutes. Files of fewer rows are its first lines.

* ``prepare``: :func:`embcollapse.data.prepare.prepare` with min_count 10, each size in a fresh
  process so that its peak resident memory (``ru_maxrss``) is its own; the table gives wall and
  CPU time, rows per second, the part spent reading (pass 1) and the peak memory above the
  process's memory after imports. Memory should not grow with the row count beyond the
  vocabularies (which stop growing once most values have been seen).
* ``load``: memory-mapping the prepared 8/1/1 split into arrays (``load_prepared``).
* ``loader``: one epoch of :class:`~embcollapse.data.loader.BatchLoader` over the training split,
  batch 2048, shuffled and in order, on the CPU with torch's default thread count and with one
  thread (on a machine busy with other work, two intra-op threads that wait for each other are
  many times slower than one), and on CUDA when available; the batches are only touched, so
  this is the loader's own speed.

Targets (issue 4, this 2-core machine): preparation >= 1M rows/s, loader >= 10M rows/s. The
machine may be shared with other work: the load average before and after is recorded.

Usage::

    python benchmarks/data.py                       # 0.5M, 1M, 2M rows
    python benchmarks/data.py --rows 250000 1000000 --skip-loader

Prints a table and writes ``benchmarks/out/data.json`` (temporary file, then rename).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out" / "data.json"


def raw_file(rows: int, cache: Path) -> Path:
    """A cached Criteo-format file of ``rows`` rows (the first lines of the largest one)."""
    from embcollapse.config import DataConfig
    from embcollapse.data.synthetic import write_criteo_txt

    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"criteo-synthetic-{rows}.txt"
    if path.exists():
        return path
    bigger = sorted((p for p in cache.glob("criteo-synthetic-*.txt")
                     if int(p.stem.rsplit("-", 1)[1]) > rows), key=lambda p: p.stat().st_size)
    if bigger:
        tmp = path.with_name(f".{path.name}.tmp")
        with open(bigger[0], "rb") as src, open(tmp, "wb") as dst:
            for i, line in enumerate(src):
                if i == rows:
                    break
                dst.write(line)
        tmp.replace(path)
        return path
    print(f"writing {rows:,} synthetic Criteo rows to {path} (once; minutes) ...", flush=True)
    return write_criteo_txt(DataConfig(preset="criteo", rows=rows), path)


def child_prepare(path: Path, out: Path) -> dict[str, Any]:
    """Prepare ``path`` in this (fresh) process; times and peak memory."""
    import numpy  # noqa: F401  (imports count in the baseline, not in the preparation)
    import pyarrow  # noqa: F401

    from embcollapse.data import criteo
    from embcollapse.data.prepare import PrepareOptions, prepare

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    directory = prepare(criteo.source(path), out, PrepareOptions(min_count=10), progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    meta = json.loads((directory / "meta.json").read_text())
    return {"rows": meta["rows"], "bytes": path.stat().st_size, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "read_s": meta["seconds"]["read"],
            "rows_per_s": round(meta["rows"] / wall),
            "cpu_s_per_million_rows": round(cpu / meta["rows"] * 1e6, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "baseline_rss_mb": round(base), "features": sum(meta["field_dims"]),
            "directory": str(directory)}


def run_child(path: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", str(path), str(out)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"preparing {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_loader(directory: Path, devices: list[str], batch_size: int = 2048
                 ) -> list[dict[str, Any]]:
    import torch

    from embcollapse.data.loader import BatchLoader
    from embcollapse.data.storage import load_prepared

    t0 = time.perf_counter()
    data = load_prepared(directory)
    load_s = time.perf_counter() - t0
    out = [{"case": "load_prepared (memory map -> 8/1/1 arrays)", "device": "cpu",
            "rows": data.meta["rows"], "seconds": round(load_s, 3),
            "rows_per_s": round(data.meta["rows"] / load_s)}]
    cases = [(device, threads) for device in devices
             for threads in ((torch.get_num_threads(), 1) if device == "cpu" else (None,))]
    default_threads = torch.get_num_threads()
    for device, threads in cases:
        if threads is not None:
            torch.set_num_threads(threads)
        for shuffle in (True, False):
            loader = BatchLoader(data.train, batch_size, device, shuffle=shuffle, seed=0)
            for _ in loader.epoch(0):      # warm up (allocations, CUDA context)
                break
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            rows = 0
            for ids, labels in loader.epoch(1):
                rows += ids.shape[0]
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
            out.append({"case": f"BatchLoader epoch, batch {batch_size}, "
                                f"{'shuffled' if shuffle else 'in order'}"
                                + (f", {threads} torch thread(s)" if threads else ""),
                        "device": device, "rows": rows, "seconds": round(seconds, 3),
                        "rows_per_s": round(rows / seconds)})
    torch.set_num_threads(default_threads)
    return out


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(path)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child_prepare(Path(sys.argv[2]), Path(sys.argv[3]))))
        return 0
    from embcollapse import paths

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000])
    parser.add_argument("--cache", type=Path, default=paths.home() / "bench")
    parser.add_argument("--skip-loader", action="store_true")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import torch

    load_before = os.getloadavg()
    files = [raw_file(n, args.cache) for n in sorted(args.rows, reverse=True)][::-1]
    prepare_rows = []
    with tempfile.TemporaryDirectory(dir=args.cache, prefix=".prepared-") as tmp:
        for path in files:
            result = run_child(path, Path(tmp) / path.stem)
            prepare_rows.append(result)
            print(f"prepare {result['rows']:>10,} rows  {result['wall_s']:7.2f} s wall "
                  f"({result['read_s']:.2f} s reading) {result['cpu_s']:7.2f} s cpu  "
                  f"{result['rows_per_s']:>9,} rows/s  {result['cpu_s_per_million_rows']:5.2f} "
                  f"cpu-s/M  peak {result['peak_rss_mb']:,} MB (after imports "
                  f"{result['baseline_rss_mb']:,} MB)", flush=True)
        loader_rows = []
        if not args.skip_loader:
            devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
            loader_rows = bench_loader(Path(prepare_rows[-1]["directory"]), devices)
            for row in loader_rows:
                print(f"{row['case']:<66} {row['device']:<5} {row['rows']:>10,} rows "
                      f"{row['seconds']:7.3f} s  {row['rows_per_s']:>12,} rows/s", flush=True)
    load_after = os.getloadavg()
    best = max(r["rows_per_s"] for r in prepare_rows)
    loader_cpu = [r["rows_per_s"] for r in loader_rows if r["case"].startswith("BatchLoader")
                  and r["device"] == "cpu"]
    payload = {
        "benchmark": "data",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "load_average_before": load_before, "load_average_after": load_after},
        "prepare": prepare_rows, "loader": loader_rows,
        "targets": {"prepare_rows_per_s": {"target": 1_000_000, "best": best,
                                           "met": best >= 1_000_000},
                    "loader_rows_per_s": {"target": 10_000_000,
                                          "worst_cpu": min(loader_cpu) if loader_cpu else None,
                                          "met": bool(loader_cpu) and
                                          min(loader_cpu) >= 10_000_000}},
    }
    for row in prepare_rows:
        row.pop("directory")
    write_json(args.out, payload)
    print(f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
          f"({os.cpu_count()} cpus); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
