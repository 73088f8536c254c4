"""Typed, frozen configuration: data, model, training, run; profiles from YAML.

Every mapping read from a file or given as overrides goes through :func:`from_dict`, which
rejects unknown keys with the dotted path of the key and the keys it knows. A run is named by
:func:`embcollapse.identity.run_id` (its resolved configuration, its data's fingerprint and the
semantics version), so the same experiment always maps to the same record in the results store.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

from . import paths
from .chapters import check_chapters  # chapters know their own parameters
from .errors import ConfigError
from .schema import SEEDS_RULE, check_seeds, from_dict  # noqa: F401 (callers import them here)
from .schema import require as _require

T = TypeVar("T")

def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class TeacherConfig:
    """The hidden teacher that labels synthetic rows (see ``embcollapse.data.synthetic``)."""

    rank: int = 16                # dimension of the teacher's value vectors
    spectrum_decay: float = 0.5   # coordinate d of a teacher vector has scale d ** -decay
    interaction: str = "fm"       # pairwise part: "fm" <t_i, t_j> S_ij, or "projected"
                                  # t_i' U_i' diag(s_ij) U_j t_j (a matrix per field pair)
    pair_density: float = 0.3     # share of field pairs that interact
    bias_scale: float = 0.6       # std of the per-value bias part of the logit
    pair_scale: float = 1.0       # std of the pairwise-interaction part
    higher_scale: float = 0.5     # std of the non-linear higher-order part
    noise_scale: float = 0.3      # std of Gaussian logit noise
    positive_rate: float = 0.25   # the intercept is solved to hit this click rate

    def __post_init__(self) -> None:
        _require(isinstance(self.rank, int) and self.rank >= 1, "rank", "an integer >= 1",
                 self.rank)
        _require(_finite(self.pair_density) and 0 <= self.pair_density <= 1, "pair_density",
                 "in [0, 1]", self.pair_density)
        for key in ("bias_scale", "pair_scale", "higher_scale", "noise_scale"):
            value = getattr(self, key)
            _require(_finite(value) and value >= 0, key, "a number >= 0", value)
        _require(_finite(self.positive_rate) and 0 < self.positive_rate < 1, "positive_rate",
                 "in (0, 1)", self.positive_rate)


@dataclass(frozen=True)
class DataConfig:
    """Which data a run trains on and which part of it."""

    name: str = "synthetic"        # synthetic | criteo | avazu | movielens-100k | csv |
                                   # a prepared name (`data prepare` prints it) or folder
    path: str = ""                 # raw file/folder ("" -> $EMBCOLLAPSE_DATA, then defaults)
    label: str = ""                # csv: the 0/1 label column ("" -> label, click, ...)
    min_count: int = 0             # rarer values -> one OOV id per field; 0 = dataset default
    vocab_fit: str = "all"         # fit vocabularies on "all" rows (authors' code) or "train"
    max_bad_rows: float = 0.01     # share of malformed raw rows above which preparation stops
    preset: str = "criteo-small"   # synthetic: field-cardinality preset
    rows: int = 500_000            # synthetic: number of rows generated
    zipf: float = 1.1              # synthetic: exponent of value frequencies
    seed: int = 0                  # synthetic: seed of teacher and rows
    test_rows: int = 0             # synthetic: 0 = the split's tenth of `rows`; n > 0 = n fresh
                                   # rows of the same teacher replace it (paired AUC resolution)
    # synthetic: 0 = the split's tenth of `rows`; n > 0 = n fresh rows of the same teacher
    # replace it (the checkpoint chosen on more rows, issue 25). Left out of every dict at 0.
    valid_rows: int = field(default=0, metadata={"omit_at_default": True})
    split_seed: int = 0            # seed of the 8/1/1 random split
    # The authors' split (their main.py: random_split(..., manual_seed(seed))): the 8/1/1 split
    # follows each run's seed, so split_seed is set to the run's seed (RunConfig does it) and
    # the seed spread holds the split's. Synthetic data: the teacher and rows (data.seed) stay;
    # which rows train, validate and test follow the run's seed (with test_rows > 0 the fresh
    # test rows stay and only train/valid follow). Runs of one seed share a split, so paired
    # differences by seed still compare the same test rows; with vocab_fit "train" each seed
    # prepares its own vocabulary. Left out of every dict at its default, so earlier runs keep
    # their ids.
    split_per_run: bool = field(default=False, metadata={"omit_at_default": True})
    fraction: float = 1.0          # share of the training split used (nested subsets)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)

    def __post_init__(self) -> None:
        _require(isinstance(self.name, str) and self.name != "", "name", "a dataset name or "
                 "the path of a prepared folder", self.name)
        for key, low in (("min_count", 0), ("rows", 10), ("seed", 0), ("split_seed", 0),
                         ("test_rows", 0), ("valid_rows", 0)):
            value = getattr(self, key)
            _require(isinstance(value, int) and not isinstance(value, bool) and value >= low,
                     key, f"an integer >= {low}", value)
        _require(self.vocab_fit in ("all", "train"), "vocab_fit", "'all' or 'train'",
                 self.vocab_fit)
        _require(isinstance(self.split_per_run, bool), "split_per_run", "true or false",
                 self.split_per_run)
        _require(_finite(self.max_bad_rows) and 0 <= self.max_bad_rows < 1, "max_bad_rows",
                 "in [0, 1)", self.max_bad_rows)
        _require(_finite(self.zipf) and self.zipf >= 0, "zipf", "a number >= 0", self.zipf)
        _require(_finite(self.fraction) and 0 < self.fraction <= 1, "fraction", "in (0, 1]",
                 self.fraction)

    @property
    def is_synthetic(self) -> bool:
        return self.name == "synthetic"

    def applicable_keys(self) -> tuple[str, ...]:
        """The fields that apply to this dataset: synthetic-only settings (:data:`SYNTHETIC_ONLY`)
        only for ``synthetic``, ``label`` only for ``csv``. The others are left out of every
        dict of this configuration (:func:`to_dict`: profiles shown, run records)."""
        skip = set(CSV_ONLY) if self.name != "csv" else set()
        if not self.is_synthetic:
            skip |= set(SYNTHETIC_ONLY)
        return tuple(f.name for f in dataclasses.fields(self) if f.name not in skip)


SYNTHETIC_ONLY = ("preset", "rows", "test_rows", "valid_rows", "zipf", "seed", "teacher")  # synthetic data only
CSV_ONLY = ("label",)                                           # DataConfig: data.name csv only


@dataclass(frozen=True)
class ModelConfig:
    """An architecture, its embedding size K and number of embedding sets M."""

    name: str = "dcnv2"
    embed_dim: int = 10
    num_sets: int = 1
    hyper: Mapping[str, Any] = field(default_factory=dict)  # checked by the model registry
    # > 1: an ensemble of this many independent models of this configuration (the control of
    # "is multi-embedding more than an ensemble?", embcollapse.models.ensemble), trained side
    # by side, predicting the mean of their click probabilities. Left out of every dict at its
    # default, so earlier runs keep their ids.
    ensemble: int = field(default=1, metadata={"omit_at_default": True})

    def __post_init__(self) -> None:
        for key in ("embed_dim", "num_sets", "ensemble"):
            value = getattr(self, key)
            _require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                     key, "an integer >= 1", value)


SHUFFLES = {"each-epoch": "a new permutation of the training rows every epoch, the default",
            "fixed-order": "one permutation for every epoch, as the authors' code (its "
                           "DataLoader over the random_split subset has no shuffle=True)"}

LOSSES = {"bce-logits": "BCEWithLogitsLoss on the logit, the default",
          "authors-bce": "BCELoss on the sigmoid output, as the authors' code"}


SEED_SOURCES = ("init", "order", "dropout")   # TrainConfig.<source>_seed: training randomness


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and early stopping (paper, Appendix C.2)."""

    lr: float = 1e-3
    weight_decay: float = 1e-6
    batch_size: int = 2048
    max_epochs: int = 30
    patience: int = 3             # epochs without a better validation AUC before stopping
    eval_batch_size: int = 16384
    track_ia: bool = True         # mean information abundance after every epoch
    # Xavier bound of every embedding table as if the whole vocabulary had this many rows,
    # sqrt(6 / (embed_init_rows + K)); 0 = the table's own vocabulary (the authors' init).
    # A synthetic regime sets Criteo's (issue 19: a head row's travel, `embcollapse.regime`).
    # Left out of every dict at its default, so earlier runs keep their ids.
    embed_init_rows: int = field(default=0, metadata={"omit_at_default": True})
    # the training loss, LOSSES: "bce-logits" (BCEWithLogitsLoss) or "authors-bce" (BCELoss on
    # the sigmoid output, as the authors' code; its gradient vanishes at saturated logits).
    # Left out of every dict at its default, so runs stored before it existed keep their ids.
    loss: str = field(default="bce-logits", metadata={"omit_at_default": True})
    # the order of the training rows, SHUFFLES: "each-epoch" (reshuffled every epoch) or
    # "fixed-order" (the authors' one permutation). Left out of every dict at its default.
    shuffle: str = field(default="each-epoch", metadata={"omit_at_default": True})
    # One source of training randomness each (issue 25: which makes the seed-to-seed spread);
    # None = the run's `seed` (RunConfig.source_seed). Left out of every dict when None, so
    # earlier runs keep their ids; with all three None training is exactly as before they
    # existed. init: the model's initial weights (the embed_init_rows redraw included);
    # order: the training batches' order; dropout: the generator of the dropout masks. Set to
    # the run's seed explicitly they give its weights and batches but other masks (the dropout
    # generator is seeded again after the init: train.start_model).
    init_seed: int | None = field(default=None, metadata={"omit_at_default": True})
    order_seed: int | None = field(default=None, metadata={"omit_at_default": True})
    dropout_seed: int | None = field(default=None, metadata={"omit_at_default": True})

    def __post_init__(self) -> None:
        _require(self.shuffle in SHUFFLES, "shuffle", " or ".join(
            f"{k!r} ({v})" for k, v in SHUFFLES.items()), self.shuffle)
        for key in SEED_SOURCES:
            value = getattr(self, f"{key}_seed")
            _require(value is None or (isinstance(value, int) and not isinstance(value, bool)
                                       and value >= 0), f"{key}_seed",
                     "an integer >= 0 or null (null: the run's seed)", value)
        _require(self.loss in LOSSES, "loss", " or ".join(f"{k!r} ({v})" for k, v in
                                                          LOSSES.items()), self.loss)
        for key in ("batch_size", "max_epochs", "patience", "eval_batch_size"):
            value = getattr(self, key)
            _require(isinstance(value, int) and not isinstance(value, bool) and value >= 1,
                     key, "an integer >= 1", value)
        _require(isinstance(self.embed_init_rows, int) and not isinstance(self.embed_init_rows,
                 bool) and self.embed_init_rows >= 0, "embed_init_rows",
                 "an integer >= 0 (0: the table's own vocabulary)", self.embed_init_rows)
        _require(_finite(self.lr) and self.lr > 0, "lr", "a number > 0", self.lr)
        _require(_finite(self.weight_decay) and self.weight_decay >= 0, "weight_decay",
                 "a number >= 0", self.weight_decay)


@dataclass(frozen=True)
class RunConfig:
    """One training run: everything that determines its result except the device."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0                  # model initialisation, batch order and dropout masks,
                                   # each unless its train.<source>_seed is set

    def source_seed(self, source: str) -> int:
        """The seed of one source of training randomness (:data:`SEED_SOURCES`): its
        ``train.<source>_seed`` when set, else the run's ``seed``."""
        if source not in SEED_SOURCES:
            raise ValueError(f"unknown randomness source {source!r}; known: {SEED_SOURCES}")
        own = getattr(self.train, f"{source}_seed")
        return self.seed if own is None else own

    def __post_init__(self) -> None:
        # data.split_per_run: the split follows the run's seed (the authors' protocol)
        if self.data.split_per_run and self.data.split_seed != self.seed:
            object.__setattr__(self, "data", dataclasses.replace(self.data,
                                                                 split_seed=self.seed))


def to_dict(config: Any) -> dict[str, Any]:
    """A plain, JSON-ready dict of a config dataclass. A :class:`DataConfig` keeps only the
    keys that apply to its dataset (:meth:`DataConfig.applicable_keys`)."""
    return json.loads(json.dumps(_plain(config), default=dict))


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` that leaves out a data configuration's inapplicable keys and
    fields marked ``omit_at_default`` that hold their default (a setting added later: the
    dicts, and so the run ids, of configurations that leave it alone stay what they were)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        keys = (value.applicable_keys() if isinstance(value, DataConfig)
                else [f.name for f in dataclasses.fields(value)])
        fields = value.__dataclass_fields__
        return {k: _plain(getattr(value, k)) for k in keys
                if not (fields[k].metadata.get("omit_at_default")
                        and getattr(value, k) == fields[k].default)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def replace(config: T, overrides: Mapping[str, Any], where: str = "config") -> T:
    """A copy of ``config`` with ``overrides`` merged in (nested mappings merge deeply)."""
    merged = _deep_merge(to_dict(config), overrides)
    return from_dict(type(config), merged, where)


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        # model.hyper is replaced whole: a model's hyper-parameters are one unit
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and key != "hyper":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------- profiles

@dataclass(frozen=True)
class Profile:
    """A named scale for the whole book: data, training settings and each chapter's grid.

    ``chapters`` maps a chapter name to its parameters (checked by ``embcollapse.chapters``).
    With ``train_missing`` false (the paper profiles) a notebook only reads the results store
    and says which runs are missing; ``embcollapse sweep`` trains them.
    """

    name: str
    description: str = ""
    device: str = "auto"                     # auto | cpu | cuda | cuda:N
    seeds: tuple[int, ...] = (0,)
    train_missing: bool = True               # notebooks train missing runs (else: sweep first)
    cpu_workers: int = 1                     # on a CPU: runs trained side by side (every CPU
                                             # run on one torch thread: train.CPU_THREADS)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    chapters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .devices import check_device_name
        check_device_name(self.device, "device")
        _require(isinstance(self.cpu_workers, int) and self.cpu_workers >= 1, "cpu_workers",
                 "an integer >= 1", self.cpu_workers)
        check_seeds(self.seeds)

    def run_config(self, model: ModelConfig | Mapping[str, Any], seed: int,
                   data: Mapping[str, Any] | None = None,
                   train: Mapping[str, Any] | None = None) -> RunConfig:
        """The run of ``model`` under this profile, with optional data/train overrides."""
        if not isinstance(model, ModelConfig):
            model = from_dict(ModelConfig, model, "model")
        return RunConfig(data=replace(self.data, data or {}, "data"), model=model,
                         train=replace(self.train, train or {}, "train"), seed=seed)


def list_profiles() -> list[str]:
    """Names of the profiles in the profiles folder."""
    return sorted(p.stem for p in paths.profiles_dir().glob("*.yaml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a profile by name (``configs/profiles/<name>.yaml``) or from a YAML path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = paths.profiles_dir() / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ConfigError(f"unknown profile {str(name_or_path)!r}; known profiles: "
                              f"{', '.join(list_profiles())}")
    elif not path.is_file():
        raise ConfigError(f"profile file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(values, Mapping):
        raise ConfigError(f"{path}: a profile must be a mapping of keys to values")
    values = {"name": path.stem, **values}
    profile = from_dict(Profile, values, where=str(path))
    check_chapters(profile.chapters, where=f"{path}: chapters")
    return profile
