"""Which source of training randomness makes the seed-to-seed spread of test AUC (issue 25).

For one SE configuration (DCNv2 K=40) and one ME configuration (DCNv2, 4 sets of K=10) under a
profile, ``S`` replicates ``s = 0 .. S-1`` are trained under each condition:

* ``all``: seed ``s`` drives init, batch order and dropout: the profile's own runs (the
  book's stored runs are reused by run id);
* ``init`` / ``order`` / ``dropout``: only that source varies (``train.<source>_seed = s``),
  the other two are fixed at seed 0;
* ``valid``: all vary, and the checkpoint is chosen on ``--valid-rows`` fresh validation rows
  of the teacher (``data.valid_rows``; synthetic data only).

Per condition and configuration it prints the sd of test AUC over the replicates with a 95%
chi-square interval on the sd, the mean best epoch and the mean DeLong SE of each replicate's
test AUC; per condition the sd of the paired per-replicate ME - SE difference (same ``s``) with
its interval, and the mean per-replicate DeLong SE of that paired difference (the test rows'
part of the noise). Runs are trained through the results store with the profile's local worker
pool (``cpu_workers``), so they are stored and reused. It writes
``out/variance_<profile>.json`` (the rows, and every run's id, test AUC and best epoch).

Usage::

    python benchmarks/variance.py                      # the study on the default profile
    python benchmarks/variance.py --conditions all,init --replicates 6
    python benchmarks/variance.py --dry                # smoke profile, seconds (the test)
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import Any, Sequence

import embcollapse  # noqa: F401  (first: sets OMP_WAIT_POLICY before torch loads OpenMP)
import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT_DIR, print_table, write_json  # noqa: E402

from embcollapse import sweep  # noqa: E402
from embcollapse.config import Profile, RunConfig, load_profile  # noqa: E402
from embcollapse.identity import resolved_key  # noqa: E402
from embcollapse.intervals import delong_paired, delong_se  # noqa: E402
from embcollapse.progress import RunReporter  # noqa: E402
from embcollapse.results import ResultsStore  # noqa: E402

ARMS = {"SE": {"name": "dcnv2", "embed_dim": 40},
        "ME": {"name": "dcnv2", "embed_dim": 10, "num_sets": 4}}
CONDITIONS = {"all": "seed s drives init, order and dropout (the profile's runs)",
              "init": "init_seed s; order and dropout seed 0",
              "order": "order_seed s; init and dropout seed 0",
              "dropout": "dropout_seed s; init and order seed 0",
              "valid": "all vary; checkpoint chosen on fresh validation rows"}
VALID_ROWS, DRY_VALID_ROWS = 100_000, 4_000
TYPICAL_EPOCHS = 4.5      # the default's runs stop at best epoch 2-5, plus patience 1 (issue 25)
LEVEL = 0.95


def condition_run(profile: Profile, model: dict[str, Any], condition: str, s: int,
                  valid_rows: int) -> RunConfig:
    """Replicate ``s`` of ``model`` under ``condition`` (see the module docstring)."""
    if condition == "all":
        return profile.run_config(model, seed=s)
    if condition == "valid":
        return profile.run_config(model, seed=s, data={"valid_rows": valid_rows})
    fixed = {"init_seed": 0, "order_seed": 0, "dropout_seed": 0}
    return profile.run_config(model, seed=s, train={**fixed, f"{condition}_seed": s})


def study_plan(profile: Profile, conditions: Sequence[str], replicates: int, valid_rows: int
               ) -> list[tuple[str, str, int, RunConfig]]:
    """Every run of the study: (condition, arm, replicate, configuration)."""
    return [(c, arm, s, condition_run(profile, model, c, s, valid_rows))
            for c in conditions for arm, model in ARMS.items() for s in range(replicates)]


def sd_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float, float]:
    """Sample sd (ddof 1) of ``values`` and its chi-square interval, assuming normal values:
    ``sd * sqrt((n-1) / chi2_{1-a/2}(n-1))`` to ``sd * sqrt((n-1) / chi2_{a/2}(n-1))``."""
    n = len(values)
    if n < 2:
        return math.nan, math.nan, math.nan
    sd = float(np.std(values, ddof=1))
    alpha = 1 - level
    low = sd * math.sqrt((n - 1) / stats.chi2.ppf(1 - alpha / 2, n - 1))
    high = sd * math.sqrt((n - 1) / stats.chi2.ppf(alpha / 2, n - 1))
    return sd, low, high


def estimate(profile: Profile, todo: Sequence[RunConfig], valid_rows: int) -> dict[str, Any]:
    """CPU minutes of the runs still to train, from timed steps and evaluation of each arm
    (``book_estimate.step_and_eval_cpu``, one torch thread): per run ``epochs x (steps x step
    + validation pass) + test pass``, for ``patience + 1``, :data:`TYPICAL_EPOCHS` and
    ``max_epochs`` epochs. A ``valid`` run's validation pass is scaled to its rows."""
    import torch
    from book_estimate import step_and_eval_cpu

    from embcollapse.data import load_dataset
    from embcollapse.train import training_threads

    if not todo:
        return {"runs": 0, "cpu_min": {"fewest": 0.0, "typical": 0.0, "most": 0.0}}
    data = load_dataset(profile.data)
    costs: dict[str, tuple[float, float]] = {}
    totals = {"fewest": 0.0, "typical": 0.0, "most": 0.0}
    tc = profile.train
    epochs = {"fewest": tc.patience + 1, "typical": min(TYPICAL_EPOCHS, tc.max_epochs),
              "most": tc.max_epochs}
    with training_threads(torch.device("cpu")):
        for config in todo:
            key = repr(config.model)
            if key not in costs:
                costs[key] = step_and_eval_cpu(config, data, steps=3)
            step, evaluation = costs[key]
            per_row = evaluation / len(data.valid)
            valid = per_row * (config.data.valid_rows or len(data.valid))
            per_epoch = math.ceil(len(data.train) / tc.batch_size) * step + valid
            for name, n in epochs.items():
                totals[name] += n * per_epoch + per_row * len(data.test)
    return {"runs": len(todo), "cpu_min": {k: v / 60 for k, v in totals.items()},
            "epochs": epochs}


def summarize(store: ResultsStore, plan: Sequence[tuple[str, str, int, RunConfig]]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The table rows (per condition: each arm, then ME - SE) and every stored run's line."""
    records: dict[tuple[str, str, int], dict[str, Any]] = {}
    runs = []
    for condition, arm, s, config in plan:
        if store.has(config):
            rec = records[condition, arm, s] = store.load(config)
            runs.append({"condition": condition, "arm": arm, "replicate": s,
                         "run_id": rec["run_id"], "test_auc": rec["test"]["auc"],
                         "best_epoch": rec["best_epoch"]})
    rows = []
    for condition in dict.fromkeys(c for c, *_ in plan):
        reps = sorted({s for c, _, s, _ in plan if c == condition})
        scored: dict[str, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
        for arm in ARMS:
            have = [s for s in reps if (condition, arm, s) in records]
            scored[arm] = {s: store.load_test_predictions(records[condition, arm, s])
                           for s in have}
            aucs = [records[condition, arm, s]["test"]["auc"] for s in have]
            sd, low, high = sd_interval(aucs)
            rows.append({"condition": condition, "what": arm, "replicates": len(have),
                         "mean": statistics.fmean(aucs) if aucs else math.nan,
                         "sd": sd, "sd_low": low, "sd_high": high,
                         "mean_best_epoch": (statistics.fmean(
                             records[condition, arm, s]["best_epoch"] for s in have)
                             if have else math.nan),
                         "mean_delong_se": (statistics.fmean(
                             delong_se(*scored[arm][s])[1] for s in have)
                             if have else math.nan)})
        paired = [s for s in reps if s in scored["ME"] and s in scored["SE"]]
        diffs = [delong_paired(scored["ME"][s][0], scored["ME"][s][1], scored["SE"][s][1])
                 for s in paired]
        sd, low, high = sd_interval([d.diff for d in diffs])
        rows.append({"condition": condition, "what": "ME - SE", "replicates": len(diffs),
                     "mean": statistics.fmean(d.diff for d in diffs) if diffs else math.nan,
                     "sd": sd, "sd_low": low, "sd_high": high,
                     "mean_best_epoch": None,      # not one run's: see the arms' rows
                     "mean_delong_se": (statistics.fmean(d.se for d in diffs)
                                        if diffs else math.nan)})
    return rows, runs


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--conditions", default=",".join(CONDITIONS),
                        help=f"comma-separated, of {', '.join(CONDITIONS)}")
    parser.add_argument("--replicates", type=int, default=4, help="S, at least 2")
    parser.add_argument("--valid-rows", type=int, default=None,
                        help=f"fresh validation rows of the valid condition (default "
                             f"{VALID_ROWS:,}; --dry: {DRY_VALID_ROWS:,})")
    parser.add_argument("--dry", action="store_true",
                        help="the smoke profile (tiny data, seconds): checks the script")
    parser.add_argument("--out", default=None, help=f"folder of the JSON (default {OUT_DIR})")
    args = parser.parse_args(argv)
    args.conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in args.conditions if c not in CONDITIONS]
    if unknown or not args.conditions:
        parser.error(f"--conditions: unknown {', '.join(unknown) or '(none given)'}; "
                     f"known: {', '.join(CONDITIONS)}")
    if args.replicates < 2:
        parser.error(f"--replicates must be at least 2 (an sd needs two), got {args.replicates}")
    if args.dry:
        args.profile = "smoke"
    if args.valid_rows is None:
        args.valid_rows = DRY_VALID_ROWS if args.dry else VALID_ROWS
    if args.valid_rows < 1:
        parser.error(f"--valid-rows must be at least 1, got {args.valid_rows}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    profile = load_profile(args.profile)
    if "valid" in args.conditions and not profile.data.is_synthetic:
        raise SystemExit(f"variance.py: the valid condition needs synthetic data; profile "
                         f"{profile.name!r} reads {profile.data.name!r}")
    plan = study_plan(profile, args.conditions, args.replicates, args.valid_rows)
    store = ResultsStore()
    for line in sweep.prepare_data([c for *_, c in plan]):
        print(f"[variance] data ready: {line}", flush=True)
    state = sweep.state(list({resolved_key(c): c for *_, c in plan}.values()), store)
    todo = state.to_run()          # each distinct run once (init, order, dropout share s = 0)
    cost = estimate(profile, todo, args.valid_rows)
    devices = sweep.local_devices(profile.device, profile.cpu_workers)
    cpu = cost["cpu_min"]
    print(f"[variance] profile {profile.name}: {len(plan)} runs ({len(args.conditions)} "
          f"conditions x {len(ARMS)} configurations x {args.replicates} replicates), "
          f"{state.total} distinct, {len(state.stored)} stored, {len(todo)} to train: about {cpu['typical']:.0f} CPU "
          f"minutes ({cpu['fewest']:.0f} to {cpu['most']:.0f}: patience + 1 to max_epochs "
          f"epochs), {cpu['typical'] / len(devices):.0f} min wall on {len(devices)} "
          f"worker(s) of one thread", flush=True)
    labels = {resolved_key(c): f"{cond}/{arm}" for cond, arm, _, c in plan}
    reporter = RunReporter([(labels[resolved_key(c)], c) for c in todo], prefix="[variance]",
                           workers=len(devices))
    result = sweep.run_local(todo, store, devices, progress=True, on_done=reporter.finished)
    if result.failed:
        print(f"[variance] {result.summary()}", flush=True)
    rows, runs = summarize(store, plan)
    print_table(rows)
    write_json(f"variance_{profile.name}", rows, out_dir=Path(args.out) if args.out else None,
               profile=profile.name, conditions={c: CONDITIONS[c] for c in args.conditions},
               arms=ARMS, replicates=args.replicates, valid_rows=args.valid_rows,
               level=LEVEL, estimate=cost, runs=runs)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
