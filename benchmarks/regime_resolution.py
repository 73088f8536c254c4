"""The regime profile's costs and resolution (issue 12): generation, one epoch, paired AUC SEs.

1. Generates the ``regime`` profile's data (CPU seconds).
2. Trains DCNv2 K=10 for one epoch and reports the epoch's CPU seconds (``time.process_time``,
   all threads) and wall seconds.
3. Trains a few models briefly (``--epochs``, early stopping as the profile) and scores them on
   ``--fresh-rows`` new rows from the same teacher (another random stream, so no row of the
   prepared data). The DeLong standard error of each pair's paired AUC difference, measured on
   those rows, gives the test rows needed for a standard error of ``--target``:
   ``n * (se / target) ** 2`` (the standard error falls as ``1 / sqrt(n)``).

Usage::

    nice -n 10 python benchmarks/regime_resolution.py [--epochs 3] [--fresh-rows 300000]

Prints tables and writes ``benchmarks/out/regime_resolution.json``.
"""
from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from common import print_table, write_json
from embcollapse.config import ModelConfig, load_profile
from embcollapse.data import load_dataset
from embcollapse.data.synthetic import generate_blocks, teacher_for
from embcollapse.intervals import delong_paired
from embcollapse.models import model_from_config
from embcollapse.train import auc, fit

MODELS = {"dcnv2-10": ModelConfig(name="dcnv2", embed_dim=10),
          "dcnv2-40": ModelConfig(name="dcnv2", embed_dim=40),
          "dnn-10": ModelConfig(name="dnn", embed_dim=10)}


def timed(fn, *args, **kwargs):
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="regime")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fresh-rows", type=int, default=300_000)
    parser.add_argument("--target", type=float, default=0.0002)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: as set)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    profile = load_profile(args.profile)
    data, gen_cpu, gen_wall = timed(load_dataset, profile.data)
    print(f"data: {len(data.train)} train rows; prepare {gen_cpu:.1f} CPU s, {gen_wall:.1f} s wall")

    one_epoch = profile.run_config(MODELS["dcnv2-10"], seed=0,
                                   train={"max_epochs": 1, "track_ia": False})
    result, ep_cpu, ep_wall = timed(fit, one_epoch, data, device="cpu", progress=False)
    epoch_seconds = result.record["history"][0]["seconds"]
    print(f"DCNv2 K=10, one epoch + valid/test eval: {ep_cpu:.1f} CPU s, {ep_wall:.1f} s wall "
          f"(epoch loop {epoch_seconds:.1f} s wall), torch threads {torch.get_num_threads()}")

    teacher = teacher_for(profile.data)
    ids, labels, clean = (np.concatenate(a) for a in
                          zip(*generate_blocks(teacher, args.fresh_rows, seed=987_654)))
    scores, runs = {}, []
    for name, model in MODELS.items():
        cfg = profile.run_config(model, seed=0, train={"max_epochs": args.epochs})
        res, cpu, wall = timed(fit, cfg, data, device="cpu", progress=False)
        net = model_from_config(model, data.field_dims)
        net.load_state_dict(res.state_dict)
        net.eval()
        with torch.no_grad():
            scores[name] = torch.cat([net(torch.as_tensor(ids[i:i + 65536], dtype=torch.long))
                                      for i in range(0, len(ids), 65536)]).double().numpy()
        runs.append({"model": name, "epochs": len(res.record["history"]),
                     "best_epoch": res.record["best_epoch"], "test_auc": res.record["test"]["auc"],
                     "cpu_s": cpu, "wall_s": wall})
    print_table(runs)
    pairs = []
    for a, b in itertools.combinations(MODELS, 2):
        d = delong_paired(labels, scores[a], scores[b])
        need = int(np.ceil(len(labels) * (d.se / args.target) ** 2))
        pairs.append({"a": a, "b": b, "diff": d.diff, "se": d.se, "rows": len(labels),
                      "rows_for_target": need})
    print_table(pairs)
    write_json("regime_resolution", pairs, runs=runs, profile=args.profile,
               prepare={"cpu_s": gen_cpu, "wall_s": gen_wall},
               epoch={"cpu_s": ep_cpu, "wall_s": ep_wall, "loop_wall_s": epoch_seconds,
                      "train_rows": len(data.train), "threads": torch.get_num_threads()},
               target_se=args.target, teacher_fresh_auc=auc(labels, clean))


if __name__ == "__main__":
    main()
