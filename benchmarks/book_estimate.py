"""An estimate of the CPU time a profile's runs take to train, from measured step costs.

For every distinct model of ``sweep.plan(profile)`` (fractions of the training rows share the
model's step cost) a few training steps (forward, loss, backward, fused Adam, as ``train.fit``)
on real batches of the profile's data and one evaluation pass over the validation split are
timed in CPU seconds (``time.process_time``, all threads: the figure that survives a shared
machine). A run's estimate is ``epochs x (steps per epoch x step + evaluation)``, for the
profile's ``max_epochs`` (an upper bound: early stopping ends runs sooner) and for ``patience +
1`` epochs (the fewest a run can take, best epoch first). Wall time on an idle 2-core machine is
about CPU time over the parallel speed-up (1 to 2).

Usage::

    python benchmarks/book_estimate.py --profile default
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import embcollapse  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads OpenMP)
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from embcollapse import sweep  # noqa: E402
from embcollapse.config import load_profile, to_dict  # noqa: E402
from embcollapse.data import load_dataset  # noqa: E402
from embcollapse.data.loader import BatchLoader  # noqa: E402
from embcollapse.models import model_from_config  # noqa: E402
from embcollapse.train import data_loss, evaluate, make_optimizer  # noqa: E402


def step_and_eval_cpu(config, data, steps: int, warmup: int = 2) -> tuple[float, float]:
    """CPU seconds of one training step and of one validation pass."""
    torch.manual_seed(0)
    model = model_from_config(config.model, data.field_dims)
    optimizer = make_optimizer(model, config.train.lr, config.train.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    batches = BatchLoader(data.train, config.train.batch_size, "cpu", shuffle=True).epoch(0)
    model.train()
    for i in range(warmup + steps):
        if i == warmup:
            c0 = time.process_time()
        ids, labels = next(batches)
        optimizer.zero_grad(set_to_none=True)
        loss = data_loss(model, ids, labels, loss_fn)      # an ensemble: its members' losses
        penalty = model.regularization() if hasattr(model, "regularization") else 0.0
        (loss + penalty).backward()
        optimizer.step()
    step = (time.process_time() - c0) / steps
    c0 = time.process_time()
    evaluate(model, BatchLoader(data.valid, config.train.eval_batch_size, "cpu"))
    return step, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    profile = load_profile(args.profile)
    configs = sweep.plan(profile)
    full = load_dataset(profile.data)
    costs: dict[str, tuple[float, float]] = {}
    rows = []
    for config in configs:
        key = repr(to_dict(config.model))
        if key not in costs:
            costs[key] = step_and_eval_cpu(config, full, args.steps)
        step, evaluation = costs[key]
        train_rows = max(1, int(round(len(full.train) * config.data.fraction)))
        per_epoch = math.ceil(train_rows / config.train.batch_size) * step + evaluation
        hyper = ",".join(f"{k}={v}" for k, v in config.model.hyper.items())
        rows.append({"model": config.model.name, "K": config.model.embed_dim,
                     "M": config.model.num_sets, "members": config.model.ensemble,
                     "hyper": hyper, "fraction": config.data.fraction,
                     "step_cpu_s": step, "eval_cpu_s": evaluation, "epoch_cpu_s": per_epoch,
                     "min_cpu_s": (config.train.patience + 1) * per_epoch,
                     "max_cpu_s": config.train.max_epochs * per_epoch})
        print(rows[-1], flush=True)
    print_table(rows)
    low, high = sum(r["min_cpu_s"] for r in rows), sum(r["max_cpu_s"] for r in rows)
    print(f"\n{len(rows)} runs: {low / 60:.1f} to {high / 60:.1f} CPU minutes of training "
          f"(patience + 1 to max_epochs epochs each)")
    write_json(f"book_estimate_{args.profile}", rows, threads=torch.get_num_threads(),
               total_min_cpu_s=low, total_max_cpu_s=high)


if __name__ == "__main__":
    main()
