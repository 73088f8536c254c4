"""Command line: ``embcollapse train|book|profiles|data``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import ConfigError, ModelConfig, from_dict, list_profiles, load_profile, to_dict


def _parse_override(text: str) -> tuple[str, object]:
    """``key=value`` with a YAML-typed value (``K=10``, ``seeds=[0,1]``)."""
    import yaml

    if "=" not in text:
        raise ConfigError(f"-p {text!r}: expected key=value")
    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def cmd_train(args: argparse.Namespace) -> int:
    from .results import ResultsStore

    profile = load_profile(args.profile)
    model = from_dict(ModelConfig, {"name": args.model, "embed_dim": args.embed_dim,
                                    "num_sets": args.num_sets,
                                    "hyper": dict(_parse_override(h) for h in args.hyper)},
                      "model")
    store = ResultsStore(args.results)
    for seed in args.seeds or profile.seeds:
        config = profile.run_config(model, seed=seed, data=dict(
            _parse_override(d) for d in args.data))
        record = store.load_or_run(config, device=args.device or profile.device)
        print(json.dumps({"run_id": record["run_id"], "seed": seed, "best_epoch":
                          record["best_epoch"], "test": record["test"],
                          "mean_ia": float(sum(map(sum, record["field_ia"]))
                                           / sum(map(len, record["field_ia"]))),
                          "device": record["device"]}))
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from . import book

    params = dict(_parse_override(p) for p in args.param)
    if args.action == "run":
        for path in book.run_chapters(args.profile, args.chapter or None, params):
            print(path)
    else:
        if params or args.chapter:
            raise ConfigError("book build runs every chapter with its profile values; use "
                              "`book run --chapter ... -p ...` for overrides")
        index = book.build_book(args.profile, execute=not args.no_execute)
        print(f"\nThe book is at {index}")
    return 0


def cmd_profiles(args: argparse.Namespace) -> int:
    if args.name:
        print(json.dumps(to_dict(load_profile(args.name)), indent=2))
    else:
        for name in list_profiles():
            print(f"{name}: {load_profile(name).description}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .config import DataConfig
    from .data import synthetic

    config = from_dict(DataConfig, {"preset": args.preset, "rows": args.rows,
                                    "seed": args.seed}, "data")
    path = synthetic.write_criteo_txt(config, args.out)
    print(path)
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from .config import DataConfig
    from .data import prepare, stats

    if args.dataset == "csv":
        if not args.path or not args.label or not args.fields:
            raise ConfigError("data prepare csv needs PATH, --label COLUMN and --fields A,B,...")
        directory = prepare.prepare_csv(
            args.path, args.label, _names(args.fields), _names(args.int_fields),
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
    return 0


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from .data import movielens

    print(movielens.fetch(args.dest))
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from .data import stats

    print(stats.describe(args.directory))
    return 0


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
    p.add_argument("--data", action="append", default=[], metavar="KEY=VALUE",
                   help="data override, e.g. rows=100000")
    p.add_argument("--results", type=Path, default=None, help="results store folder")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("book", help="execute chapters (run) or execute and build the book (build)")
    p.add_argument("action", choices=["run", "build"])
    p.add_argument("--profile", default="default")
    p.add_argument("--chapter", action="append", default=[], help="(run) part of a file name")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="(run) notebook parameter override")
    p.add_argument("--no-execute", action="store_true",
                   help="(build) reuse the executed notebooks in build/executed/PROFILE")
    p.set_defaults(func=cmd_book)

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
    q.add_argument("--fields", help="(csv) categorical fields, comma-separated")
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
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"embcollapse: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
