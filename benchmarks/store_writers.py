"""The results store under many writers: N processes finishing at once, as the tasks of a Slurm
array do, each saving its records into one shared store (``ResultsStore.save``: files written
into a hidden temporary folder, then renamed into place), while a reader lists the store.

Each writer waits at a barrier, then saves ``--records`` records (a ``record.json`` of the size
of a real one, ``model.pt`` of ``--model-mb`` MB of random weights, test predictions of
``--rows`` rows) and notes one failure. With ``--same-run`` every writer saves the same run id
(a resubmitted task racing the one it replaces): one complete record must remain. Afterwards
every record is read back and checked: all there, each one's weights equal to what its writer
saved (SHA-256), nothing set aside as damaged, no temporary folder left, every failure note
readable. No timing is asserted anywhere; the figures are for ``benchmarks/README.md``.

Usage::

    python benchmarks/store_writers.py                              # 16 writers x 4 records
    python benchmarks/store_writers.py --writers 16 --records 4 --model-mb 40 --root /shared/x

Prints a table and writes ``benchmarks/out/store_writers.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import queue
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from embcollapse.results import ResultsStore  # noqa: E402


def fake_record(key: str, fields: int = 39, embed_dim: int = 10) -> dict[str, Any]:
    """A record with the keys and about the size of a real one (spectra of 39 fields)."""
    rng = np.random.default_rng(abs(hash(key)) % 2**32)
    return {"run_id": key, "config": {"seed": 0, "model": {"name": "dcnv2"}},
            "history": [{"epoch": e, "valid_auc": 0.8} for e in range(1, 6)],
            "best_epoch": 3, "valid": {"auc": 0.8, "logloss": 0.45},
            "test": {"auc": 0.8, "logloss": 0.45}, "field_ia": rng.random(fields).tolist(),
            "singular_values": [[rng.random(embed_dim).tolist()] for _ in range(fields)],
            "train_seconds": 1.0, "device": "cpu"}


def digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].numpy().tobytes())
    return h.hexdigest()


def writer(index: int, root: str, records: int, model_mb: float, rows: int, same_run: bool,
           barrier: Any, out: Any) -> None:
    store = ResultsStore(root)
    gen = torch.Generator().manual_seed(index)
    state = {"embedding.weight": torch.rand(max(1, int(model_mb * 2**20 / 4)), generator=gen)}
    labels = np.random.default_rng(index).integers(0, 2, rows).astype(np.uint8)
    scores = np.random.default_rng(index + 1).random(rows).astype(np.float32)
    barrier.wait(timeout=300)
    times = []
    for r in range(records):
        key = "samerun00000" if same_run else f"w{index:02d}r{r:03d}"
        t0 = time.perf_counter()
        store.save(fake_record(key), state, labels, scores)
        times.append(time.perf_counter() - t0)
    failure = store.failure_path(f"f{index:02d}")
    failure.parent.mkdir(parents=True, exist_ok=True)
    from embcollapse.atomic import write_text
    write_text(failure, json.dumps({"run_id": failure.stem, "error": "RuntimeError: test"}))
    out.put((index, times, digest(state), time.perf_counter()))


def reader(root: str, barrier: Any, stop: Any, out: Any) -> None:
    store = ResultsStore(root)
    barrier.wait(timeout=300)
    listings = 0
    while not stop.is_set():
        list(store.records())
        listings += 1
    out.put(("reader", listings))


def run(writers: int = 16, records: int = 4, model_mb: float = 4.0, rows: int = 100_000,
        same_run: bool = False, root: Path | None = None) -> dict[str, Any]:
    """Run the writers (and a reader) against a store at ``root``; returns the measurements
    and the checks (``lost``, ``corrupt``, ``damaged``, ``left_over`` are counts: all 0 when
    the store kept every record whole)."""
    ctx = mp.get_context("fork")          # forked after torch is imported: writers start fast
    own = root is None
    root = Path(root or tempfile.mkdtemp(prefix="store-writers-"))
    barrier, out, stop = ctx.Barrier(writers + 2), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=writer, args=(i, str(root), records, model_mb, rows, same_run,
                                              barrier, out)) for i in range(writers)]
    procs.append(ctx.Process(target=reader, args=(str(root), barrier, stop, out)))
    for p in procs:
        p.start()
    barrier.wait(timeout=300)
    start = time.perf_counter()
    results, listings = {}, 0
    while len(results) < writers:          # a writer that crashed sends nothing: not waited for
        try:
            index, times, sha, end = out.get(timeout=1)
            results[index] = (times, sha, end)
        except queue.Empty:
            if all(p.exitcode is not None for p in procs[:writers]) and out.empty():
                break
    wall = max((end for _, _, end in results.values()), default=start) - start
    stop.set()
    listings = out.get(timeout=60)[1]
    for p in procs:
        p.join(timeout=60)
    exit_codes = [p.exitcode for p in procs]

    store = ResultsStore(root)
    expected = ({"samerun00000": {sha for _, sha, _ in results.values()}} if same_run else
                {f"w{i:02d}r{r:03d}": {results[i][1]} if i in results else set()
                 for i in range(writers) for r in range(records)})
    lost = corrupt = 0
    for key, shas in expected.items():
        if store.status(key) != "stored":
            lost += 1
            continue
        record = store.load(key)
        weights = torch.load(store.run_dir(key) / "model.pt")
        predictions = np.load(store.run_dir(key) / "test_predictions.npz")
        if digest(weights) not in shas or record["run_id"] != key or \
                len(predictions["scores"]) != rows:
            corrupt += 1
    damaged = len(list((root / "damaged").glob("*"))) if (root / "damaged").exists() else 0
    left_over = [p.name for p in (root / "runs").iterdir() if p.name.startswith(".")]
    failures = store.failures()
    saves = [t for times, _, _ in results.values() for t in times]
    total_mb = len(saves) * (model_mb + rows * 5 / 2**20)
    row = {"writers": writers, "records_each": records, "same_run": same_run,
           "model_mb": model_mb, "test_rows": rows, "saves": len(saves),
           "writers_crashed": writers - len(results),
           "wall_s": wall, "saves_per_s": len(saves) / max(wall, 1e-9), "mb_per_s": total_mb / max(wall, 1e-9),
           "save_median_s": statistics.median(saves) if saves else None,
           "save_max_s": max(saves, default=None),
           "reader_listings": listings, "lost": lost, "corrupt": corrupt, "damaged": damaged,
           "left_over": len(left_over), "failure_notes": len(failures),
           "writer_exit_codes_nonzero": sum(c != 0 for c in exit_codes),
           "store": str(root)}
    if own:
        shutil.rmtree(root, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--records", type=int, default=4, help="records per writer")
    ap.add_argument("--model-mb", type=float, default=4.0, help="model.pt size of each record")
    ap.add_argument("--rows", type=int, default=100_000, help="test predictions per record")
    ap.add_argument("--root", type=Path, default=None,
                    help="store folder (default: a temporary one, removed after)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = [run(args.writers, args.records, args.model_mb, args.rows, same, args.root and
                args.root / ("same" if same else "distinct"))
            for same in (False, True)]
    print_table([{k: v for k, v in r.items() if k != "store"} for r in rows])
    write_json("store_writers", rows)
    bad = [r for r in rows if r["lost"] or r["corrupt"] or r["damaged"] or r["left_over"]
           or r["writer_exit_codes_nonzero"] or r["writers_crashed"]
           or r["failure_notes"] != r["writers"]]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
