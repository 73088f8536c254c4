"""Command line: ``embcollapse train|book|profiles|data``."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from .config import (ConfigError, DataConfig, ModelConfig, Profile, check_seeds, from_dict,
                     list_profiles, load_profile, replace, to_dict)
from .devices import check_device_name, resolve_device


def _parse_override(text: str, option: str = "-p") -> tuple[str, object]:
    """``key=value`` of command-line ``option`` with a YAML-typed value (``K=10``,
    ``seeds=[0,1]``); a value YAML cannot read is kept as the text given."""
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"{option} {text!r} must be KEY=VALUE (e.g. {option} "
                          f"{key.strip() or 'KEY'}=VALUE)")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        return key.strip(), value


def _overrides(texts: list[str], option: str) -> dict[str, object]:
    """``KEY=VALUE`` options as a mapping; a key given twice is an error."""
    pairs = [_parse_override(t, option) for t in texts]
    keys = [k for k, _ in pairs]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ConfigError(f"{option} {', '.join(twice)} given more than once")
    return dict(pairs)


def _seeds(seeds: list[int] | None) -> list[int] | None:
    """``--seeds``, checked by the one rule for seeds (None: the profile's)."""
    if not seeds:                       # absent, or `--seeds` with no value
        return None
    return list(check_seeds(seeds, "--seeds"))


def cmd_train(args: argparse.Namespace) -> int:
    from .report import per_set_ia, run_ia
    from .train import at_epoch_cap
    from .results import ResultsStore

    profile = profile_with_data(args.profile, args.data)
    from .models.registry import check_model

    model = from_dict(ModelConfig, {"name": args.model, "embed_dim": args.embed_dim,
                                    "num_sets": args.num_sets,
                                    "hyper": _overrides(args.hyper, "--hyper")},
                      "model")
    check_model(model)                  # before any data is prepared or loaded
    seeds = _seeds(args.seeds) or profile.seeds
    store = ResultsStore(args.results)
    configs = [profile.run_config(model, seed=seed) for seed in seeds]
    device = args.device or profile.device
    resolve_device(device, "--device" if args.device else f"{profile.name}: device")
    for seed, config in zip(seeds, configs):
        record = store.load_or_run(config, device=device)
        ia = {"mean_ia": run_ia(record)}           # ME: the sets' tables side by side
        if config.model.num_sets > 1:
            ia["mean_ia_per_set"] = per_set_ia(record)
        print(json.dumps({"run_id": record["run_id"], "seed": seed, "best_epoch":
                          record["best_epoch"], "hit_epoch_cap": at_epoch_cap(record),
                          "test": record["test"], **ia,
                          "device": record["device"]}))
    return 0


def profile_with_data(name: str, data: list[str]) -> Profile:
    """The profile ``name`` with ``--data KEY=VALUE`` overrides applied to its data section
    (checked before anything runs: a wrong setting is an error, never a failed run)."""

    profile = load_profile(name)
    if not data:
        return profile
    overrides = _overrides(data, "--data")
    merged = replace(profile.data, overrides, "--data")
    wrong = sorted(set(overrides) - set(merged.applicable_keys()))
    if wrong:
        raise ConfigError(f"--data {', '.join(wrong)}: not a setting of dataset "
                          f"{merged.name!r} (synthetic data only: preset, rows, zipf, seed, "
                          f"teacher; csv only: label)")
    chapters, train = dict(profile.chapters), profile.train
    if profile.data.is_synthetic and not merged.is_synthetic:     # the synthetic-data page
        chapters.setdefault("synthetic_data", {"shown_profile": name})  # shows the original's
        train = dataclasses.replace(train, embed_init_rows=0)   # real data: the authors' init
    return dataclasses.replace(profile, data=merged, chapters=chapters, train=train)


def book_profile(args: argparse.Namespace) -> str:
    """``--profile``, or with ``--data`` overrides a profile file written under ``<out>/profiles``
    (:func:`embcollapse.book.derived_profile`), so the notebooks read the same settings."""
    if not args.data:
        return args.profile
    from . import book

    return str(book.derived_profile(profile_with_data(args.profile, args.data), args.out))


def cmd_book(args: argparse.Namespace) -> int:
    from . import book

    params = _overrides(args.param, "-p")
    if (args.action == "render") != bool(args.notebook):
        raise ConfigError("book render takes the executed notebook to render (PATH.ipynb); "
                          "run and build take none")
    try:
        if args.action == "render":
            page = book.render_notebook(args.notebook, args.out)
            print(f"\nThe page is at {page}")
        elif args.action == "run":
            profile = book_profile(args)
            out_dir = book.executed_dir(profile, args.out)
            for path in book.run_chapters(profile, args.chapter or None, params, out_dir):
                print(path)
        else:
            if params or args.chapter:
                raise ConfigError("book build runs every chapter with its profile values; use "
                                  "`book run --chapter ... -p ...` for overrides")
            index = book.build_book(book_profile(args), execute=not args.no_execute,
                                    out=args.out)
            print(f"\nThe book is at {index}")
    except book.ChaptersFailed as err:
        print(f"embcollapse: {err}; `embcollapse sweep --profile {book_profile(args)} --status` "
              f"says which runs are missing", file=sys.stderr)
        if args.action == "build" and err.executed:
            print(f"The book (with the failed chapters' partial pages) is at {err.executed[0]}")
        return 1
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from . import sweep
    from .grids import GRIDS
    from .identity import resolved_key
    from .progress import RunReporter
    from .results import ResultsStore

    sweep.check_backend(args.backend)
    profile = profile_with_data(args.profile, args.data)
    if args.backend == "local" and not (args.status or args.dry_run):
        devices = (_sweep_devices(args.devices) if args.devices else
                   sweep.local_devices(_sweep_devices(profile.device)[0], profile.cpu_workers))
    elif args.devices and args.devices != "all-gpus":
        for device in args.devices.split(","):
            check_device_name(device.strip(), "--devices")
    store = ResultsStore(args.results)
    configs = sweep.plan(profile, args.chapter or None, _seeds(args.seeds))
    try:
        before = sweep.state(configs, store)
    except ConfigError as missing:      # runs are identified by their data
        if not args.dry_run:
            raise
        print(f"[sweep] {missing}\n[sweep] without the data no run can be looked up; "
              f"--dry-run lists all {len(configs)}, sized on the dataset's shape")
        before = sweep.SweepState(missing=list(configs))
    print(f"[sweep] profile {profile.name}, store {store.root}\n[sweep] {before.summary()}")
    todo = before.to_run(retry_failed=not args.skip_failed)
    labels = {resolved_key(c): where for where, c in sweep.labelled_plan(
        profile, {c: [c] for c in args.chapter or GRIDS}, _seeds(args.seeds))}
    labelled = [(labels[resolved_key(c)], c) for c in todo]
    if args.status or args.dry_run:
        if args.dry_run:
            RunReporter(labelled, list(store.records()), prefix="[sweep]").plan(
                len(before.stored))
            for line in _dry_run_lines(profile, labelled):
                print(line)
        return 0
    if args.backend == "local":
        print(f"[sweep] training {len(todo)} runs locally on {', '.join(devices)}")
        result = sweep.train_reported(labelled, store, devices, len(before.stored),
                                      prepare=not args.no_prepare, prefix="[sweep]")
    else:
        if todo and not args.no_prepare:
            for line in sweep.prepare_data(todo):
                print(f"[sweep] data ready: {line}")
        options = sweep.SlurmOptions(
            folder=args.slurm_folder or store.root / "slurm", cluster=args.slurm_cluster,
            partition=args.slurm_partition, timeout_min=args.slurm_time,
            gpus_per_task=args.slurm_gpus, cpus_per_task=args.slurm_cpus,
            mem_gb=args.slurm_mem, array_parallelism=args.slurm_parallelism,
            device=args.devices or ("cuda" if args.slurm_gpus else "cpu"))
        jobs = sweep.submit_slurm(todo, store, options)
        if jobs:
            print(f"[sweep] submitted {len(jobs)} tasks as job {jobs[0].job_id.split('_')[0]}; "
                  f"logs in {options.folder}")
        if not args.wait:
            print("[sweep] run the same command with --status to see progress")
            return 0
        reporter = RunReporter(labelled, list(store.records()), prefix="[sweep]",
                               workers=min(len(todo), args.slurm_parallelism) or 1)
        reporter.plan(len(before.stored))
        result = sweep.wait_slurm(jobs, todo, store, progress=False, on_done=reporter.finished)
    print(f"[sweep] {result.summary()}\n[sweep] now: {sweep.state(configs, store).summary()}")
    return 1 if result.failed else 0


def _dry_run_lines(profile: object, labelled: list) -> list[str]:
    """``would train`` lines with each run's parameters and estimated peak GPU memory
    (:mod:`embcollapse.capacity`; the same estimate as ``make check-paper``)."""
    from . import capacity
    from .progress import run_label

    try:
        dims = capacity.reference_field_dims(profile.data)
    except ValueError:
        dims = None
    lines, peak, known = [], 0, {}
    for where, config in labelled:
        size = ""
        if dims is not None:
            key = capacity.model_label(config)      # seeds and data shares share an estimate
            est = known[key] = known.get(key) or capacity.estimate(config, dims)
            peak = max(peak, est.peak_bytes)
            size = f": {est.describe()}"
        lines.append(f"  would train {run_label(config)} [{where}]{size}")
    if dims is not None and labelled:
        lines.append(f"[sweep] the largest run needs ~{capacity.gib(peak):.2f} GiB of GPU memory "
                     f"(weights, gradients, Adam states and one batch's activations, on "
                     f"{len(dims)} fields with {sum(dims):,} features)")
    return lines


def _sweep_devices(text: str) -> list[str]:
    """``auto``/``cpu``/``cuda:0,cuda:1``, or ``all-gpus`` for one worker per visible GPU;
    each checked against this machine before any run starts."""
    if text == "all-gpus":
        import torch

        count = torch.cuda.device_count()
        if not count:
            raise ConfigError("--devices all-gpus: no GPU is visible")
        return [f"cuda:{i}" for i in range(count)]
    devices = [d.strip() for d in text.split(",") if d.strip()]
    if not devices:
        raise ConfigError(f"--devices: no device in {text!r}")
    for device in devices:
        resolve_device(device, "--devices")
    return devices


def cmd_profiles(args: argparse.Namespace) -> int:
    if args.name:
        print(json.dumps(to_dict(load_profile(args.name)), indent=2))
    else:
        for name in list_profiles():
            print(f"{name}: {load_profile(name).description}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .data import synthetic

    config = from_dict(DataConfig, {"preset": args.preset, "rows": args.rows,
                                    "seed": args.seed}, "data")
    if args.out.is_dir() or (args.out.exists() and not args.force):
        raise ConfigError(f"{args.out} already exists; name a new file"
                          + ("" if args.out.is_dir() else " (or add --force to overwrite it)"))
    path = synthetic.write_criteo_txt(config, args.out)
    print(path)
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from .data import names, prepare, stats

    if args.dataset == "csv":
        if not args.path:
            raise ConfigError("data prepare csv needs PATH (--label COLUMN defaults to the one "
                              "column named label, click, ...; --fields A,B,... to every other "
                              "column)")
        directory = prepare.prepare_csv(
            args.path, args.label or "", _names(args.fields), _names(args.int_fields),
            delimiter=args.delimiter, min_count=args.min_count or 1, vocab_fit=args.vocab_fit,
            split_seed=args.split_seed, max_bad_rows=args.max_bad_rows, out=args.out,
            force=args.force)
    else:
        if args.label or args.fields or args.int_fields or args.delimiter or args.out:
            raise ConfigError(f"--label/--fields/--int-fields/--delimiter/--out are for "
                              f"`data prepare csv`; {args.dataset} has a fixed layout")
        config = from_dict(DataConfig, {
            "name": args.dataset, "path": str(Path(args.path).resolve()) if args.path else "",
            "min_count": args.min_count, "vocab_fit": args.vocab_fit,
            "split_seed": args.split_seed, "max_bad_rows": args.max_bad_rows}, "data")
        directory = prepare.ensure_prepared(config, force=args.force)
    print(stats.describe(directory))
    print(names.next_steps(directory))
    return 0


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from .data import movielens

    folder = movielens.fetch(args.dest)
    print(f"{folder}\nNext: embcollapse data prepare movielens-100k"
          + ("" if args.dest is None else f" {folder}"))
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from .data import stats

    print(stats.describe(args.directory))
    return 0


DATA_HELP = ("data setting over the profile's (repeatable): name=NAME as `data prepare` "
             "printed it, or name=csv path=FILE [label=COLUMN] to prepare a CSV on first use; "
             "also path=, min_count=, fraction=, rows= (synthetic)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="embcollapse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train (or load) one model under a profile, print metrics")
    p.add_argument("--profile", default="default")
    p.add_argument("--model", default="dcnv2")
    p.add_argument("--embed-dim", type=int, default=10)
    p.add_argument("--num-sets", type=int, default=1)
    p.add_argument("--seeds", type=int, nargs="*")
    p.add_argument("--device", default=None, help="auto, cpu, cuda (default: the profile's)")
    p.add_argument("--hyper", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help=DATA_HELP)
    p.add_argument("--results", type=Path, default=None, help="results store folder")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("book", help="execute chapters (run), execute and build the book "
                       "(build), or render one executed notebook as HTML (render PATH.ipynb)")
    p.add_argument("action", choices=["run", "build", "render"])
    p.add_argument("notebook", nargs="?", type=Path, help="(render) an executed .ipynb")
    p.add_argument("--out", type=Path, default=None,
                   help="run/build: folder for executed/PROFILE and book/PROFILE (default the "
                        "checkout's build/); render: the HTML folder (default PATH_html/)")
    p.add_argument("--profile", default="default")
    p.add_argument("--chapter", action="append", default=[], help="(run) part of a file name")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="(run) notebook parameter override")
    p.add_argument("--no-execute", action="store_true",
                   help="(build) reuse the executed notebooks in <out>/executed/PROFILE")
    p.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help=DATA_HELP)
    p.set_defaults(func=cmd_book)

    p = sub.add_parser("sweep", help="train every run a profile's chapters need (resumable)")
    p.add_argument("--profile", default="default")
    p.add_argument("--chapter", action="append", default=[],
                   help="only this chapter's runs (repeatable); chapters: see `profiles NAME`")
    p.add_argument("--seeds", type=int, nargs="*")
    p.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help=DATA_HELP)
    p.add_argument("--backend", default="local", help="local (default) or slurm (submitit)")
    p.add_argument("--devices", default=None,
                   help="local: auto, cpu, cuda:0,cuda:1 (one worker each) or all-gpus; "
                        "slurm: the device inside each task (default cuda)")
    p.add_argument("--status", action="store_true", help="only say what is stored/failed/missing")
    p.add_argument("--dry-run", action="store_true", help="list the runs that would be trained")
    p.add_argument("--skip-failed", action="store_true",
                   help="do not retry runs that failed before")
    p.add_argument("--results", type=Path, default=None, help="results store folder")
    p.add_argument("--no-prepare", action="store_true",
                   help="do not prepare the datasets here first (each run prepares its own)")
    p.add_argument("--wait", action="store_true", help="(slurm) wait for the tasks and report")
    p.add_argument("--slurm-folder", type=Path, default=None,
                   help="submitit logs (default <results>/slurm); must be on a shared disk")
    p.add_argument("--slurm-cluster", default=None,
                   help="submitit cluster: default Slurm; 'local' runs the array here (tests)")
    p.add_argument("--slurm-partition", default=None)
    p.add_argument("--slurm-time", type=int, default=24 * 60, help="minutes per task")
    p.add_argument("--slurm-gpus", type=int, default=1, help="GPUs per task")
    p.add_argument("--slurm-cpus", type=int, default=8, help="CPUs per task")
    p.add_argument("--slurm-mem", type=int, default=64, help="GB of memory per task")
    p.add_argument("--slurm-parallelism", type=int, default=16,
                   help="at most this many tasks at once")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("profiles", help="list profiles, or show one resolved")
    p.add_argument("name", nargs="?")
    p.set_defaults(func=cmd_profiles)

    p = sub.add_parser("data", help="data tools")
    dsub = p.add_subparsers(dest="data_command", required=True)
    q = dsub.add_parser("synthetic-criteo",
                        help="write synthetic rows in Criteo's raw train.txt format")
    q.add_argument("out", type=Path)
    q.add_argument("--rows", type=int, default=100_000)
    q.add_argument("--preset", default="criteo")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    q.set_defaults(func=cmd_data)
    q = dsub.add_parser("prepare", help="prepare a raw dataset once into <home>/data "
                        "(ids.npy, labels.npy, meta.json); reused until the raw file changes")
    q.add_argument("dataset", choices=["criteo", "avazu", "movielens-100k", "csv"])
    q.add_argument("path", nargs="?", default="",
                   help="raw file (a folder for movielens-100k); default: found under "
                        "$EMBCOLLAPSE_DATA or <home>/raw")
    q.add_argument("--min-count", type=int, default=0,
                   help="rarer values share the OOV id (default: criteo 10, avazu 4, else 1)")
    q.add_argument("--vocab-fit", choices=["all", "train"], default="all",
                   help="count values on all rows (authors' code) or the training split only")
    q.add_argument("--split-seed", type=int, default=0)
    q.add_argument("--max-bad-rows", type=float, default=0.01,
                   help="stop when more than this share of rows is malformed (default 0.01)")
    q.add_argument("--label", help="(csv) the 0/1 label column")
    q.add_argument("--fields", help="(csv) categorical fields, comma-separated "
                   "(default: every column but the label)")
    q.add_argument("--int-fields", help="(csv) integer fields (Criteo bucketing), comma-separated")
    q.add_argument("--delimiter", help="(csv) default: tab if the header has one, else comma")
    q.add_argument("--out", type=Path, help="(csv) prepared directory (default under <home>/data)")
    q.add_argument("--force", action="store_true", help="rebuild even if up to date")
    q.set_defaults(func=cmd_data_prepare)
    q = dsub.add_parser("fetch", help="download MovieLens-100K (the recbole wheel from PyPI, "
                        "not installed) into <home>/raw/ml-100k")
    q.add_argument("dataset", choices=["movielens-100k"])
    q.add_argument("--dest", type=Path, default=None)
    q.set_defaults(func=cmd_data_fetch)
    q = dsub.add_parser("info", help="describe a prepared directory")
    q.add_argument("directory", type=Path)
    q.set_defaults(func=cmd_data_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; wrong settings or inputs exit 2 with one line naming the option, file or
    line; a file system error exits 1 with its message; Ctrl-C exits 130; a closed pipe
    (``| head``) ends quietly."""
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()          # a closed pipe shows here, not at interpreter exit
        return code
    except ConfigError as err:
        print(f"embcollapse: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except KeyboardInterrupt:
        print("embcollapse: interrupted; finished runs and prepared data are kept, nothing "
              "half-written is", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"embcollapse: error: {err}", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """After the reader of stdout went away: send what is left to /dev/null, so Python's
    final flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
