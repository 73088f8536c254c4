"""Criteria a synthetic regime must meet before any model is compared, and their computation.

The paper's claims are about what extra embedding capacity buys. A synthetic regime can only
test them if, fixed before any SE/ME comparison is looked at:

1. **Headroom** -- the teacher holds more than the largest model of the grid: its rank is at
   least :data:`RANK_FACTOR` times the largest embedding size, and capacity pays: the teacher
   cut to rank ``K`` (the best frequency-weighted rank-``K`` least-squares fit of each field's
   vectors, i.e. a ``K``-dimensional model that learned the teacher as well as ``K`` dimensions
   allow) ranks test rows better at the largest ``K`` than at half of it, a paired DeLong
   interval excluding zero (:func:`capacity_ceilings`).
2. **Data per embedding parameter** -- embedding lookups per embedding parameter at ``K = 10``,
   ``train rows * fields / (features * K)``, within a factor :data:`DATA_FACTOR` of Criteo's
   (:func:`lookups_per_parameter`, :func:`criteo_lookups_per_parameter`).
3. **Heavy tails** -- the Zipf exponent of value frequencies within :data:`ZIPF_TOLERANCE` of
   the median over Criteo's categorical fields measured on the shared sample
   (:func:`zipf_exponent`, :func:`criteo_zipf_exponents`).
4. **Interaction** -- not only FM-shaped: a stated choice (``TeacherConfig.interaction``).
5. **Dynamics** -- how far the optimiser can move a head row from where it starts, in the
   training the profile gives it, within :data:`TRAVEL_FACTOR` of Criteo's first epoch at the
   paper's settings (:func:`head_row_travel`, :func:`criteo_head_row_travel`). Adam moves a
   parameter by at most about the learning rate per step in which it gets a gradient; a head
   value is in every batch, so one epoch moves its row by at most ``batches * lr``, against an
   initial Xavier bound that shrinks with the whole vocabulary. Criteria 2-4 compare data
   volume, not optimiser dynamics: a regime can meet them while its tables stay mostly their
   initialisation (issue 19). The travel actually achieved is measured on a stored run
   (:func:`drift_probe`, in both regime profiles' plans): :func:`head_row_drift`, the mean relative
   change of rows seen :data:`HEAD_SEEN` or more times, at least :data:`HEAD_DRIFT_MIN`.

   :data:`TRAVEL_FACTOR` is a chosen tolerance, not derived from anything: the travel is an
   upper bound (Adam's step is at most about ``lr``), so the criterion only rules out regimes
   whose rows *cannot* move far, and what a given bound achieves is the measured drift's job.
   What another factor would have required of the batch size and the initial bound follows
   from the travel formula (:func:`travel_requirements`).
"""
from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .config import DataConfig, ModelConfig, Profile, RunConfig, TrainConfig, load_profile
from .data.synthetic import Teacher, generate_blocks, preset_cardinalities, teacher_for
from .intervals import Difference, delong_paired
from .metrics import auc

RANK_FACTOR = 2          # teacher rank >= RANK_FACTOR * largest K of the grid
DATA_FACTOR = 2.0        # lookups per embedding parameter within this factor of Criteo's
ZIPF_TOLERANCE = 0.15    # |our exponent - Criteo's median| at most this
ZIPF_MIN_COUNT = 5       # the head used to fit an exponent: values seen at least this often
ZIPF_MIN_POINTS = 8      # fields with fewer head values get no exponent
CRITEO_TRAIN_SHARE = 0.8  # the paper's 8/1/1 split
TRAVEL_FACTOR = 100.0    # a head row's largest travel per epoch at least Criteo's / this: a
                         # chosen tolerance (module docstring, travel_requirements)
HEAD_SEEN = 100          # "head rows": seen at least this often in training
HEAD_DRIFT_MIN = 2.0     # their mean ||trained - initial|| / ||initial|| at least this (an
                         # unrelated draw of the same scale gives about 1.4): the learned part
                         # outweighs the start


def zipf_exponent(counts: Sequence[int] | np.ndarray, min_count: int = ZIPF_MIN_COUNT,
                  min_points: int = ZIPF_MIN_POINTS) -> float:
    """Exponent ``s`` of ``count ~ rank ** -s`` by least squares on log count vs log rank.

    ``counts`` (D,): how often each value of a field was seen (any order). Only the head is
    fitted -- values seen at least ``min_count`` times -- because in a sample the tail is cut by
    the sample size (most rare values are seen once or never). NaN with fewer than
    ``min_points`` head values.
    """
    c = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    head = c[c >= min_count]
    if len(head) < min_points:
        return float("nan")
    ranks = np.arange(1, len(head) + 1, dtype=np.float64)
    slope = np.polyfit(np.log(ranks), np.log(head), 1)[0]
    return float(-slope)


def read_criteo_txt(path: str | Path) -> pd.DataFrame:
    """A Criteo ``train.txt``-format file (label, I1..I13, C1..C26, tab-separated, no header)
    as strings, missing values as ``""``."""
    path = Path(path)
    frame = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False)
    if frame.shape[1] != 40:
        raise ValueError(f"{path}: expected 40 tab-separated columns (Criteo train.txt), "
                         f"found {frame.shape[1]}")
    frame.columns = ["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    return frame


def criteo_zipf_exponents(path: str | Path) -> pd.DataFrame:
    """Per categorical field of a Criteo sample: distinct values, head values, Zipf exponent.

    Missing values are left out. Integer fields are not fitted (the paper log-buckets them, so
    their frequencies are not a value-popularity law).
    """
    frame = read_criteo_txt(path)
    rows = []
    for name in [f"C{i}" for i in range(1, 27)]:
        values = frame[name][frame[name] != ""]
        counts = values.value_counts().to_numpy()
        rows.append({"field": name, "distinct": len(counts),
                     "head_values": int((counts >= ZIPF_MIN_COUNT).sum()),
                     "exponent": zipf_exponent(counts)})
    return pd.DataFrame(rows)


def median_exponent(table: pd.DataFrame) -> float:
    """Median of the fitted exponents (fields without one left out)."""
    return float(table["exponent"].dropna().median())


def lookups_per_parameter(train_rows: float, num_fields: int, num_features: float,
                          embed_dim: int = 10) -> float:
    """Embedding lookups per embedding parameter: ``train_rows * fields / (features * K)``."""
    return float(train_rows) * num_fields / (float(num_features) * embed_dim)


def _millions(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([MK]?)\s*", str(text))
    if match is None:
        raise ValueError(f"cannot read a count from {text!r}")
    return float(match.group(1)) * {"M": 1e6, "K": 1e3, "": 1.0}[match.group(2)]


def criteo_lookups_per_parameter(table4_csv: str | Path, embed_dim: int = 10) -> float:
    """Criteo's lookups per embedding parameter, from the paper's Table 4 (instances, fields,
    total features; the training split is 80% of the instances)."""
    train_rows, fields, features = criteo_shape(table4_csv)
    return lookups_per_parameter(train_rows, fields, features, embed_dim)


def criteo_shape(table4_csv: str | Path) -> tuple[float, int, float]:
    """Criteo's training rows (80% of Table 4's instances), fields and total features."""
    row = pd.read_csv(table4_csv, comment="#").set_index("dataset").loc["criteo"]
    return (CRITEO_TRAIN_SHARE * _millions(row["instances"]), int(row["fields"]),
            _millions(row["total_features"]))


def synthetic_shape(config: DataConfig) -> tuple[float, list[int]]:
    """A synthetic configuration's training rows and field cardinalities."""
    return CRITEO_TRAIN_SHARE * config.rows * config.fraction, preset_cardinalities(config.preset)


def regime_lookups_per_parameter(config: DataConfig, embed_dim: int = 10) -> float:
    """Lookups per embedding parameter of a synthetic configuration's training split."""
    train_rows, card = synthetic_shape(config)
    return lookups_per_parameter(train_rows, len(card), sum(card), embed_dim)


def xavier_bound(rows: float, embed_dim: int) -> float:
    """Xavier-uniform bound of a (rows, K) table: sqrt(6 / (rows + K))."""
    return math.sqrt(6.0 / (float(rows) + embed_dim))


def head_row_travel(train_rows: float, batch_size: int, lr: float, init_rows: float,
                    embed_dim: int = 10) -> float:
    """The largest distance Adam can move a head row's coordinate in one epoch, in units of its
    initial bound: ``ceil(train_rows / batch_size) * lr / xavier_bound(init_rows, K)``.

    A head value is in every batch, so it gets one update per batch; Adam's step is at most
    about ``lr`` per coordinate. ``init_rows``: the vocabulary whose bound draws the tables.
    """
    updates = math.ceil(float(train_rows) / batch_size)
    return updates * lr / xavier_bound(init_rows, embed_dim)


def criteo_head_row_travel(table4_csv: str | Path, train: TrainConfig | None = None,
                           embed_dim: int = 10) -> float:
    """Criteo's :func:`head_row_travel` in its first epoch: 80% of Table 4's instances as
    training rows, its total features as the vocabulary, the batch size and learning rate of
    ``train`` (default: the ``paper`` profile's, the authors' protocol)."""
    if train is None:

        train = load_profile("paper").train
    train_rows, _, features = criteo_shape(table4_csv)
    return head_row_travel(train_rows, train.batch_size, train.lr, features, embed_dim)


def regime_head_row_travel(config: DataConfig, train: TrainConfig, embed_dim: int = 10) -> float:
    """:func:`head_row_travel` of a synthetic configuration under ``train`` (its
    ``embed_init_rows`` when set, else the preset's own vocabulary)."""
    train_rows, card = synthetic_shape(config)
    return head_row_travel(train_rows, train.batch_size, train.lr,
                           train.embed_init_rows or sum(card), embed_dim)


def travel_ratio(config: DataConfig, train: TrainConfig, table4_csv: str | Path,
                 embed_dim: int = 10) -> float:
    """:func:`regime_head_row_travel` over :func:`criteo_head_row_travel` (criterion 5's
    measured value)."""
    return (regime_head_row_travel(config, train, embed_dim)
            / criteo_head_row_travel(table4_csv, embed_dim=embed_dim))


def largest_batch_meeting(config: DataConfig, train: TrainConfig, table4_csv: str | Path,
                          factor: float, embed_dim: int = 10, largest: int = 2 ** 16
                          ) -> int | None:
    """The largest power-of-two batch size (1 to ``largest``) at which ``config`` under
    ``train`` (its other settings) travels at least Criteo's / ``factor``; None when even
    batches of one row fall short."""
    meets = [b for b in (2 ** e for e in range(int(math.log2(largest)) + 1))
             if travel_ratio(config, dataclasses.replace(train, batch_size=b), table4_csv,
                             embed_dim) >= 1 / factor]
    return max(meets) if meets else None


def travel_requirements(config: DataConfig, train: TrainConfig, table4_csv: str | Path,
                        factors: Sequence[float] = (10, 30, 100, 300, 1000),
                        init_rows: int | None = None, embed_dim: int = 10) -> pd.DataFrame:
    """What criterion 5 would have required at other factors: per factor, the largest
    power-of-two batch that meets it with the tables' own-vocabulary init and with
    ``init_rows``'s bound (None: Criteo's total features, Table 4), the rest of ``train`` as
    given. Shows what the chosen :data:`TRAVEL_FACTOR` decides ("none": no batch meets it)."""
    if init_rows is None:
        init_rows = int(criteo_shape(table4_csv)[2])
    rows = []
    for f in factors:
        own = largest_batch_meeting(config, dataclasses.replace(train, embed_init_rows=0),
                                    table4_csv, f, embed_dim)
        wide = largest_batch_meeting(config, dataclasses.replace(train, embed_init_rows=init_rows),
                                     table4_csv, f, embed_dim)
        rows.append({"factor": f"1/{f:g}" + (" (chosen)" if f == TRAVEL_FACTOR else ""),
                     "largest batch, own-vocabulary init": own if own else "none",
                     f"largest batch, init as {init_rows:,} rows": wide if wide else "none"})
    return pd.DataFrame(rows)


def drift_probe(profile: Profile) -> RunConfig:
    """The run whose achieved drift the criteria table reports: DCNv2 at the largest K of the
    profile's grid, seed 0."""

    return profile.run_config(ModelConfig(name="dcnv2", embed_dim=grid_max_embed_dim(
        profile.chapters)), seed=0)


def measured_drift(profile: Profile, store: Any) -> tuple[float, str] | None:
    """(:func:`head_row_drift`, a label naming the run) of ``profile``'s :func:`drift_probe`
    when ``store`` holds it, else None: the ``measured_drift`` of :func:`regime_criteria`."""
    probe = drift_probe(profile)
    if not store.has(probe):
        return None
    record = store.load(probe)
    return (head_row_drift(record, store), f"DCNv2 K={probe.model.embed_dim}, seed 0, run "
                                           f"{record['run_id']}")


def head_row_drift(record: Mapping[str, Any], store: Any) -> float:
    """Measured on a stored run: the mean relative change ||trained - initial|| / ||initial||
    of its first set's rows seen at least :data:`HEAD_SEEN` times in training (the initial
    tables rebuilt from the run's seed)."""
    from .analysis.drift import row_drift_by_count, train_counts
    from .results import initial_model

    rows = row_drift_by_count(initial_model(dict(record)).embedding_tables()[0],
                              store.load_model(dict(record)).embedding_tables()[0],
                              train_counts(record), edges=(0, HEAD_SEEN))
    return float(rows["relative change"].iloc[-1])


def truncated_teacher(teacher: Teacher, rank: int) -> Teacher:
    """The teacher with each field's vectors replaced by their best rank-``rank`` fit,
    least squares weighted by the values' frequencies (what rows teach a model most)."""
    vectors = teacher.vectors.copy()
    for i, cdf in enumerate(teacher.value_cdfs):
        start, size = int(teacher.offsets[i]), teacher.cardinalities[i]
        freq = np.empty(size)
        freq[teacher.value_perms[i]] = np.diff(np.r_[0.0, cdf])   # id -> its probability
        weight = np.sqrt(freq)[:, None]
        block = vectors[start:start + size]
        u, s, vt = np.linalg.svd(block * weight, full_matrices=False)
        keep = min(rank, len(s))
        vectors[start:start + size] = (u[:, :keep] * s[:keep]) @ vt[:keep] / weight
    return dataclasses.replace(teacher, vectors=vectors)


@dataclasses.dataclass(frozen=True)
class Ceilings:
    """Test AUC of the teacher cut to each rank, and paired differences of successive ranks."""

    ranks: tuple[int, ...]
    aucs: tuple[float, ...]          # AUC against drawn labels of the rank-K teacher's logit
    full_auc: float                  # the whole teacher's (the ceiling of any model)
    gains: tuple[Difference, ...]    # AUC(rank k+1) - AUC(rank k), DeLong, one per step


def capacity_ceilings(config: DataConfig, ranks: Sequence[int], rows: int = 200_000,
                      seed: int = 12345) -> Ceilings:
    """AUC ceilings of rank-``K`` teachers on ``rows`` fresh rows (stream ``seed``)."""
    teacher = teacher_for(config)
    ids, labels, clean = (np.concatenate(a) for a in zip(*generate_blocks(teacher, rows, seed)))
    scores = [truncated_teacher(teacher, k).logit(ids) for k in ranks]
    gains = tuple(delong_paired(labels, scores[j + 1], scores[j]) for j in range(len(ranks) - 1))
    return Ceilings(ranks=tuple(int(k) for k in ranks),
                    aucs=tuple(auc(labels, s) for s in scores),
                    full_auc=auc(labels, clean), gains=gains)


def teacher_field_ia(config: DataConfig) -> np.ndarray:
    """Information abundance of each field's teacher vectors (N,): what a model that learned
    the teacher exactly would show."""
    from .analysis import information_abundance

    teacher = teacher_for(config)
    return np.array([information_abundance(
        teacher.vectors[int(teacher.offsets[i]):int(teacher.offsets[i]) + d])
        for i, d in enumerate(teacher.cardinalities)])


def grid_max_embed_dim(chapters: Mapping[str, Mapping[str, Any]]) -> int:
    """The largest embedding size ``K`` named in a profile's chapters (``embed_dims`` lists and
    ``*_embed_dim`` keys); 10 when none is named."""
    sizes: list[int] = []
    for params in chapters.values():
        for key, value in params.items():
            if key == "embed_dims":
                sizes.extend(int(k) for k in value)
            elif key.endswith("embed_dim") and isinstance(value, int):
                sizes.append(int(value))
    return max(sizes, default=10)


def regime_criteria(config: DataConfig, max_embed_dim: int, criteo_sample: str | Path | None,
                    table4_csv: str | Path, ceiling_rows: int = 200_000,
                    train: TrainConfig | None = None,
                    measured_drift: tuple[float, str] | None = None) -> pd.DataFrame:
    """Each criterion of this module's docstring for a synthetic configuration: what it
    requires, the measured value and whether it is met. ``criteo_sample`` (a Criteo
    ``train.txt``-format file) may be None: the tail criterion is then "not measured".
    ``train``: the profile's training settings (default: :class:`TrainConfig`'s).
    ``measured_drift``: (:func:`head_row_drift` of a stored run, a label naming the run), the
    achieved travel of the last row; None: that row says it is not measured and is not met."""
    teacher = config.teacher
    half = max(1, max_embed_dim // 2)
    ceilings = capacity_ceilings(config, [half, max_embed_dim], rows=ceiling_rows)
    gain = ceilings.gains[0]
    ours = regime_lookups_per_parameter(config)
    criteo = criteo_lookups_per_parameter(table4_csv)
    ratio = ours / criteo
    rows = [
        {"criterion": "teacher rank >= "
                      f"{RANK_FACTOR} x largest K of the grid ({max_embed_dim})",
         "required": f">= {RANK_FACTOR * max_embed_dim}", "measured": f"{teacher.rank}",
         "met": teacher.rank >= RANK_FACTOR * max_embed_dim},
        {"criterion": f"capacity pays: AUC of the teacher cut to rank {max_embed_dim} minus "
                      f"rank {half} ({ceiling_rows:,} fresh rows, paired DeLong 95%)",
         "required": "interval above 0",
         "measured": f"{gain.diff:+.4f} [{gain.low:+.4f}, {gain.high:+.4f}]",
         "met": gain.low > 0},
        {"criterion": "embedding lookups per embedding parameter at K=10, ours / Criteo's",
         "required": f"within x{DATA_FACTOR:g}",
         "measured": f"{ours:.0f} / {criteo:.0f} = {ratio:.2f}",
         "met": 1 / DATA_FACTOR <= ratio <= DATA_FACTOR},
    ]
    if criteo_sample is not None:
        measured = median_exponent(criteo_zipf_exponents(criteo_sample))
        rows.append({"criterion": "Zipf exponent of value frequencies vs Criteo's median "
                                  "(categorical fields, head fit)",
                     "required": f"within {ZIPF_TOLERANCE:g} of {measured:.2f}",
                     "measured": f"{config.zipf:g}",
                     "met": abs(config.zipf - measured) <= ZIPF_TOLERANCE})
    else:
        rows.append({"criterion": "Zipf exponent vs Criteo's", "required": "Criteo sample",
                     "measured": "not measured (no sample)", "met": False})
    rows.append({"criterion": "interaction not only FM-shaped (a stated choice)",
                 "required": "projected", "measured": teacher.interaction,
                 "met": teacher.interaction != "fm"})
    rows.append(dynamics_criterion(config, train if train is not None else TrainConfig(),
                                   table4_csv))
    achieved = (f"achieved: mean relative change of rows seen {HEAD_SEEN}+ times in "
                "training")
    if measured_drift is not None:
        drift, label = measured_drift
        rows.append({"criterion": f"{achieved}, {label}", "required": f">= {HEAD_DRIFT_MIN:g}",
                     "measured": f"{drift:.2f}", "met": drift >= HEAD_DRIFT_MIN})
    else:
        rows.append({"criterion": f"{achieved} (DCNv2 at the grid's largest K, seed 0)",
                     "required": f">= {HEAD_DRIFT_MIN:g}",
                     "measured": "not measured (the run is not stored)", "met": False})
    return pd.DataFrame(rows)


def dynamics_criterion(config: DataConfig, train: TrainConfig, table4_csv: str | Path,
                       embed_dim: int = 10) -> dict[str, Any]:
    """Criterion 5 as a row of :func:`regime_criteria`: a head row's largest travel per epoch,
    ours / Criteo's (first epoch, paper's protocol), at least 1 / :data:`TRAVEL_FACTOR`."""
    ours = regime_head_row_travel(config, train, embed_dim)
    criteo = criteo_head_row_travel(table4_csv, embed_dim=embed_dim)
    ratio = travel_ratio(config, train, table4_csv, embed_dim)
    init = (f"init as {train.embed_init_rows:,} rows" if train.embed_init_rows
            else "own-vocabulary init")
    return {"criterion": f"a head row's largest travel per epoch (updates x lr / init bound, "
                         f"K={embed_dim}), ours / Criteo's first epoch",
            "required": f">= 1/{TRAVEL_FACTOR:g}",
            "measured": f"{ours:.1f} / {criteo:.0f} = 1/{1 / ratio:.0f} (batch "
                        f"{train.batch_size}, {init})",
            "met": ratio >= 1 / TRAVEL_FACTOR}


def introducing_commit(profile_file: str | Path = "configs/profiles/regime.yaml",
                       text: str | None = None) -> str | None:
    """Short hash of the commit that added ``profile_file`` (relative to the checkout) or, with
    ``text``, the first commit that put ``text`` in it; None outside a git checkout: the commit
    that fixed the regime (or, for ``default``, switched it to the regime's shape)."""
    import subprocess

    from . import paths

    root = paths.checkout_root()
    if root is None:
        return None
    try:
        which = ["--diff-filter=A"] if text is None else [f"-S{text}"]
        out = subprocess.run(["git", "log", *which, "--format=%h", "--", str(profile_file)],
                             cwd=root, capture_output=True, text=True, timeout=10,
                             check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return out[-1] if out else None
