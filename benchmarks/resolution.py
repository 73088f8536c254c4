"""How finely a profile's stored runs resolve the AUC differences its verdicts rest on.

For each verdict-bearing comparison of the profile (SE AUC change from the smallest to the
largest K per model, ME - SE at the largest size per model) it reads the stored runs' test
predictions and prints, per comparison: the paired DeLong standard error of each seed (the
test rows' part of the noise), the standard deviation of the per-seed differences (training
randomness), and the combined standard error the findings use
(:func:`embcollapse.intervals.combine_seeds`). Then the test rows a per-seed SE of 0.0002 would
need (SE scales as 1/sqrt(rows)). Nothing is trained: run it after ``make book`` or a sweep.

Usage::

    python benchmarks/resolution.py --profile default
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from embcollapse import grids  # noqa: E402
from embcollapse.chapters import chapter_params  # noqa: E402
from embcollapse.config import load_profile  # noqa: E402
from embcollapse.intervals import combine_seeds, delong_paired  # noqa: E402
from embcollapse.models.sizes import size_preset  # noqa: E402
from embcollapse.results import ResultsStore  # noqa: E402

TARGET_SE = 0.0002


def comparisons(profile) -> list[tuple[str, list, dict, dict]]:
    """(label, the chapter's runs, model settings of a, of b) of the profile's verdict-bearing AUC differences (a - b)."""
    out = []
    collapse = chapter_params(profile, "collapse")
    lo, hi = min(collapse.embed_dims), max(collapse.embed_dims)
    for model in collapse.models:
        out.append((f"{model} K={hi} - K={lo}", grids.collapse(collapse),
                    {"name": model, "embed_dim": hi}, {"name": model, "embed_dim": lo}))
    reg = chapter_params(profile, "regularized")
    lo, hi = min(reg.embed_dims), max(reg.embed_dims)
    out.append((f"dcnv2-reg K={hi} - K={lo}", grids.regularized(reg),
                {"name": "dcnv2-reg", "embed_dim": hi}, {"name": "dcnv2-reg", "embed_dim": lo}))
    me = chapter_params(profile, "multi_embedding")
    top = max(me.scales)
    for model in me.models:
        k_me, m_me = size_preset(model, top, "ME")
        k_se, _ = size_preset(model, top, "SE")
        out.append((f"{model} ME - SE at {top}x", grids.multi_embedding(me),
                    {"name": model, "embed_dim": k_me, "num_sets": m_me},
                    {"name": model, "embed_dim": k_se, "num_sets": 1}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="default")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    store = ResultsStore()
    rows = []
    for label, runs, a, b in comparisons(profile):
        configs = grids.run_configs(profile, runs)

        def stored(want):
            return [store.load(c) for c in configs if store.has(c)
                    and all(getattr(c.model, k) == v for k, v in want.items())
                    and c.data.fraction == 1.0]
        by_seed = {r["config"]["seed"]: r for r in stored(b)}
        diffs, ses, n = [], [], 0
        for ra in stored(a):
            rb = by_seed.get(ra["config"]["seed"])
            if rb is None:
                continue
            labels, sa = store.load_test_predictions(ra)
            _, sb = store.load_test_predictions(rb)
            d = delong_paired(labels, sa, sb)
            diffs.append(d.diff)
            ses.append(d.se)
            n = len(labels)
        if not diffs:
            continue
        per_seed = statistics.fmean(ses)
        spread = statistics.stdev(diffs) if len(diffs) > 1 else float("nan")
        rows.append({"comparison": label, "seeds": len(diffs), "test_rows": n,
                     "mean_diff": statistics.fmean(diffs), "per_seed_se": per_seed,
                     "between_seed_sd": spread, "combined_se": combine_seeds(diffs, ses).se,
                     "rows_for_se_0.0002": int(n * (per_seed / TARGET_SE) ** 2)})
    print_table(rows)
    write_json(f"resolution_{profile.name}", rows, profile=profile.name)


if __name__ == "__main__":
    main()
