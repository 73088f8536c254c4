"""Where one epoch of a default-profile run spends its time, in CPU seconds and wall seconds.

Trains real runs of the ``default`` profile (synthetic criteo-small data, batch 2048, the
package's model, fused Adam, BCE as ``train.fit``) for ``--epochs`` epochs and times each part
of every epoch separately:

* ``batch``     drawing the shuffled batch (``BatchLoader``: index_select of ids and labels);
* ``forward``   the model's forward and the loss;
* ``backward``  the backward pass;
* ``optimizer`` ``zero_grad`` and Adam's step;
* ``evaluate``  the validation pass and its AUC (``train.evaluate``);
* ``ia``        the per-epoch mean information abundance (``track_ia``: one SVD per field);

and, with ``--profile-ops``, the share of the training steps' CPU time taken by the top torch
operators (``torch.profiler``), dropout's ``bernoulli_`` among them.

CPU time (``time.process_time``: all threads of this process) is the figure to compare on a
shared machine; wall time is printed too, with the load average at the start.

Usage::

    python benchmarks/epoch.py                                # the default cases
    python benchmarks/epoch.py --cases dcnv2:10:1 --epochs 1 --profile-ops

A case is ``model:K:M[:fraction]`` (fraction of the training rows; the multi-embedding chapters
of the default profile train on 0.25).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import embcollapse  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads OpenMP)
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from embcollapse.config import load_profile  # noqa: E402
from embcollapse.data import load_dataset  # noqa: E402
from embcollapse.data.loader import BatchLoader  # noqa: E402
from embcollapse.models import model_from_config  # noqa: E402
from embcollapse.train import _mean_ia, evaluate, make_optimizer, seed_everything  # noqa: E402

DEFAULT_CASES = ["dcnv2:10:1", "dcnv2:40:1", "dnn:10:1", "dcnv2:10:4:0.25"]


class Clock:
    """Accumulates CPU and wall seconds per named part."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        c0, w0 = time.process_time(), time.perf_counter()
        yield
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - c0
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - w0


def parse_case(case: str) -> tuple[str, int, int, float]:
    parts = case.split(":")
    name, k, m = parts[0], int(parts[1]), int(parts[2])
    return name, k, m, float(parts[3]) if len(parts) > 3 else 1.0


def run_case(case: str, epochs: int, profile_ops: bool, max_steps: int = 0) -> dict:
    name, k, m, fraction = parse_case(case)
    profile = load_profile("default")
    config = profile.run_config({"name": name, "embed_dim": k, "num_sets": m}, seed=0,
                                data={"fraction": fraction})
    data = load_dataset(config.data)
    tc = config.train
    seed_everything(0)
    model = model_from_config(config.model, data.field_dims)
    optimizer = make_optimizer(model, tc.lr, tc.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    train = BatchLoader(data.train, tc.batch_size, "cpu", shuffle=True, seed=0)
    valid = BatchLoader(data.valid, tc.eval_batch_size, "cpu")
    clock = Clock()
    ops: list[tuple[str, float]] = []
    load = os.getloadavg()[0]
    c_start, w_start = time.process_time(), time.perf_counter()
    for epoch in range(epochs):
        model.train()
        batches = train.epoch(epoch)
        prof = (torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                if profile_ops and epoch == 0 else None)
        if prof is not None:
            prof.__enter__()
        steps = 0
        while not max_steps or steps < max_steps:
            steps += 1
            with clock.part("batch"):
                batch = next(batches, None)
            if batch is None:
                break
            ids, labels = batch
            with clock.part("optimizer"):
                optimizer.zero_grad(set_to_none=True)
            with clock.part("forward"):
                loss = loss_fn(model(ids), labels)
                penalty = model.regularization() if hasattr(model, "regularization") else 0.0
                total = loss + penalty
            with clock.part("backward"):
                total.backward()
            with clock.part("optimizer"):
                optimizer.step()
            with clock.part("python"):
                loss.item()
        if prof is not None:
            prof.__exit__(None, None, None)
            averages = prof.key_averages()
            whole = sum(e.self_cpu_time_total for e in averages)
            ops = [(e.key, e.self_cpu_time_total / whole)
                   for e in sorted(averages, key=lambda e: -e.self_cpu_time_total)[:12]]
        with clock.part("evaluate"):
            evaluate(model, valid)
        if tc.track_ia:
            with clock.part("ia"):
                _mean_ia(model)
    cpu_total, wall_total = time.process_time() - c_start, time.perf_counter() - w_start
    # with --steps, the training parts are scaled up to a whole epoch's steps
    scale = len(train) / max_steps if max_steps and max_steps < len(train) else 1.0
    step_parts = ("batch", "forward", "backward", "optimizer", "python")
    step_cpu = sum(clock.cpu.get(p, 0.0) for p in step_parts)
    step_wall = sum(clock.wall.get(p, 0.0) for p in step_parts)
    row = {"case": case, "train_rows": len(data.train), "load": round(load, 1),
           "cpu_s_epoch": (cpu_total + (scale - 1) * step_cpu) / epochs,
           "wall_s_epoch": (wall_total + (scale - 1) * step_wall) / epochs}
    for part in ("batch", "forward", "backward", "optimizer", "python", "evaluate", "ia"):
        factor = scale if part in step_parts else 1.0
        row[f"{part}_cpu"] = factor * clock.cpu.get(part, 0.0) / epochs
    if ops:
        print(f"\n{case}: top operators by self CPU time (share of the profiled epoch's steps)")
        for key, share in ops:
            print(f"  {share:6.1%}  {key}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--profile-ops", action="store_true")
    parser.add_argument("--steps", type=int, default=0,
                        help="training steps per epoch (0: all); the rest is extrapolated")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave)")
    parser.add_argument("--name", default="epoch", help="output file name under benchmarks/out")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [run_case(case, args.epochs, args.profile_ops, args.steps) for case in args.cases]
    print()
    print_table(rows)
    write_json(args.name, rows, epochs=args.epochs, threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
