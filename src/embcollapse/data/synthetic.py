"""Criteo-like synthetic click data labelled by a hidden *teacher*.

Rows are ``N`` categorical fields. Field ``i`` has ``D_i`` values whose frequencies follow a
Zipf law, ``p(v) ~ (v + 1) ** -zipf``: a few values are common and most are rare, as in Criteo.

The teacher gives every value of every field a bias ``b_i[v]`` and a vector ``t_i[v]`` of
dimension ``rank`` whose coordinate ``d = 1..rank`` has scale ``d ** -spectrum_decay``, so the
information is spread over many directions but not evenly. A row's logit is

    logit = c + bias_scale   * z( sum_i b_i[x_i] )
              + pair_scale   * z( sum_{i<j} pair_ij(t_i[x_i], t_j[x_j]) )     (pairwise)
              + higher_scale * z( w . tanh( sum_i C_i t_i[x_i] ) )             (higher order)
              + noise_scale  * eps,    eps ~ N(0, 1)

where the pairwise form is ``interaction``:

- ``"fm"``: ``pair_ij(a, b) = S_ij <a, b>``, a scalar strength per field pair -- exactly the
  shape of a (field-weighted) factorization machine;
- ``"projected"``: ``pair_ij(a, b) = (U_i a)' diag(s_ij) (U_j b)``, a bilinear form per field
  pair (field projections ``U_i`` (rank, rank), strengths ``s_ij`` (rank,) per pair), which no
  shared-space inner product represents.

A share ``pair_density`` of the field pairs interact (the others have zero strength), ``z`` scales a part to unit standard deviation (measured on a pilot sample), and
the intercept ``c`` is solved so that the click rate is ``positive_rate``. The label is
``Bernoulli(sigmoid(logit))``. The noise-free logit is kept with the data: its AUC on the test
split is the ceiling any model can reach.

Generation is vectorised and runs in blocks of ``BLOCK`` rows, each from its own random stream
(seed, block index), so the rows are the same however they are streamed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..atomic import temp_file
from ..config import ConfigError, DataConfig, TeacherConfig

BLOCK = 1 << 16
INTERACTIONS = ("fm", "projected")

# Field cardinalities of Criteo after the paper's preprocessing (13 integer fields as
# log-bucketed tokens, 26 categorical fields with values seen fewer than 10 times merged),
# approximately: about 1.08M features, largest field 0.19M, smallest 3 (paper Table 4: 1.08M,
# 0.19M, 4). The per-field values are our estimate, not a published list.
CRITEO_CARDINALITIES: tuple[int, ...] = (
    46, 98, 79, 41, 221, 104, 78, 51, 99, 9, 33, 47, 64,
    1445, 553, 190000, 140000, 305, 19, 11930, 629, 3, 50000, 5128, 172000, 3175,
    26, 11042, 165000, 10, 4559, 2002, 4, 185000, 17, 15, 80000, 104, 55000,
)

PRESETS: dict[str, tuple[int, ...]] = {
    # the full Criteo shape: 39 fields, ~1.08M features (benchmarks, GPU runs)
    "criteo": CRITEO_CARDINALITIES,
    # 20 fields from 3 to 20k values, ~46k features: the default CPU scale
    "criteo-small": (3, 4, 10, 15, 17, 19, 26, 40, 60, 100, 104, 305, 553, 629, 1445, 2002,
                     3175, 5128, 11930, 20000),
    # 10 fields, 3 to 800 values, ~2.7k features: the "regime" profile -- few, heavily used
    # features, so that 300k training rows give Criteo's lookups per embedding parameter
    # (see embcollapse.regime for the criteria)
    "criteo-regime": (3, 10, 30, 80, 150, 250, 350, 450, 600, 800),
    # the same shape at half the features (~1.4k), for half the rows at the same lookups per
    # parameter: the default CPU profile
    "criteo-regime-half": (3, 5, 15, 40, 75, 125, 175, 225, 300, 400),
    # 8 fields, ~4.4k features: tests and the smoke profile
    "tiny": (3, 5, 10, 30, 100, 300, 1000, 3000),
}


def preset_cardinalities(preset: str) -> tuple[int, ...]:
    """The field cardinalities of a named preset."""
    if preset not in PRESETS:
        raise ConfigError(f"data.preset: unknown synthetic preset {preset!r}; "
                          f"known: {', '.join(PRESETS)}")
    return PRESETS[preset]


@dataclass(frozen=True)
class Teacher:
    """The hidden labelling function. Arrays are indexed [field][value]."""

    cardinalities: tuple[int, ...]
    value_cdfs: tuple[np.ndarray, ...]   # per field (D_i,) cumulative Zipf probabilities
    value_perms: tuple[np.ndarray, ...]  # per field (D_i,) which id gets the k-th frequency
    biases: np.ndarray                   # (total,) per-value bias, fields concatenated
    vectors: np.ndarray                  # (total, rank) per-value teacher vectors
    offsets: np.ndarray                  # (N,) start of each field in the concatenation
    pair_strength: np.ndarray            # (N, N) or, projected, (N, N, rank); symmetric in i, j,
                                         # zero on the diagonal
    higher_in: np.ndarray                # (N, rank, H) projection into the hidden layer
    higher_out: np.ndarray               # (H,)
    part_std: np.ndarray                 # (3,) std of bias, pair, higher parts on a pilot
    weights: np.ndarray                  # (3,) bias_scale, pair_scale, higher_scale
    noise_scale: float
    intercept: float
    field_proj: np.ndarray | None = None  # projected: (N, rank, rank) U_i, else None

    PARTS_CHUNK = 8192                   # rows per step of :meth:`parts` (bounds its memory)

    @property
    def num_fields(self) -> int:
        return len(self.cardinalities)

    @property
    def rank(self) -> int:
        return int(self.vectors.shape[1])

    def parts(self, ids: np.ndarray) -> np.ndarray:
        """Raw logit parts of rows ``ids`` (n, N) -> (n, 3): bias, pairwise, higher order."""
        return np.concatenate([self._parts(ids[start:start + self.PARTS_CHUNK])
                               for start in range(0, len(ids), self.PARTS_CHUNK)]
                              or [np.zeros((0, 3))])

    def _parts(self, ids: np.ndarray) -> np.ndarray:
        flat = ids + self.offsets[None, :]
        bias = self.biases[flat].sum(axis=1)
        vec = self.vectors[flat]                                   # (n, N, rank)
        if self.field_proj is None:
            mixed = np.matmul(self.pair_strength[None], vec)      # (n, N, rank): sum_j S_ij t_j
            pair = 0.5 * (mixed * vec).sum(axis=(1, 2))
        else:
            proj = np.matmul(vec.transpose(1, 0, 2),                     # U_i t_i: (n, N, rank)
                             self.field_proj.transpose(0, 2, 1)).transpose(1, 0, 2)
            mixed = np.einsum("ijd,njd->nid", self.pair_strength, proj)  # sum_j s_ij * U_j t_j
            pair = 0.5 * (mixed * proj).sum(axis=(1, 2))
        hidden = np.tanh(vec.reshape(len(vec), -1)
                         @ self.higher_in.reshape(-1, self.higher_in.shape[-1]))
        return np.stack([bias, pair, hidden @ self.higher_out], axis=1)

    def logit(self, ids: np.ndarray) -> np.ndarray:
        """Noise-free logit of rows ``ids`` (n, N) -> (n,) float64."""
        return self.intercept + (self.parts(ids) / self.part_std) @ self.weights

    def sample_ids(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` rows of value ids (n, N) int32 from the Zipf value frequencies."""
        out = np.empty((n, self.num_fields), dtype=np.int32)
        for i, (cdf, perm) in enumerate(zip(self.value_cdfs, self.value_perms)):
            rank = np.searchsorted(cdf, rng.random(n), side="right")
            out[:, i] = perm[np.minimum(rank, len(cdf) - 1)]
        return out


def make_teacher(cardinalities: Sequence[int], teacher: TeacherConfig, zipf: float,
                 seed: int) -> Teacher:
    """Draw the teacher's parameters and calibrate its scales and intercept."""
    card = tuple(int(d) for d in cardinalities)
    if not card or min(card) < 2:
        raise ConfigError(f"synthetic data needs at least one field and >= 2 values per field, "
                          f"got cardinalities {card}")
    if teacher.rank < 1:
        raise ConfigError(f"data.teacher.rank must be >= 1, got {teacher.rank}")
    if teacher.interaction not in INTERACTIONS:
        raise ConfigError(f"data.teacher.interaction must be one of {', '.join(INTERACTIONS)}, "
                          f"got {teacher.interaction!r}")
    if teacher.spectrum_decay < 0:
        raise ConfigError(f"data.teacher.spectrum_decay must be >= 0, "
                          f"got {teacher.spectrum_decay}")
    if not 0.0 < teacher.positive_rate < 1.0:
        raise ConfigError(f"data.teacher.positive_rate must be in (0, 1), "
                          f"got {teacher.positive_rate}")
    rng = np.random.default_rng([seed, 0x7EAC4E])
    n_fields, rank, hidden = len(card), teacher.rank, 8
    cdfs, perms = [], []
    for d in card:
        p = (np.arange(1, d + 1, dtype=np.float64)) ** -zipf
        cdfs.append(np.cumsum(p / p.sum()))
        perms.append(rng.permutation(d).astype(np.int32))
    offsets = np.concatenate([[0], np.cumsum(card)[:-1]]).astype(np.int64)
    total = int(sum(card))
    dim_scale = spectrum_scales(rank, teacher.spectrum_decay)
    vectors = rng.standard_normal((total, rank)) * dim_scale
    strength = rng.standard_normal((n_fields, n_fields))
    strength *= rng.random((n_fields, n_fields)) < teacher.pair_density
    strength = np.triu(strength, 1)
    strength = strength + strength.T
    biases = rng.standard_normal(total)
    higher_in = rng.standard_normal((n_fields, rank, hidden)) / math.sqrt(n_fields)
    higher_out = rng.standard_normal(hidden)
    field_proj = None
    if teacher.interaction == "projected":       # drawn last: "fm" teachers are unchanged
        field_proj = rng.standard_normal((n_fields, rank, rank)) / math.sqrt(rank)
        per_dim = rng.standard_normal((n_fields, n_fields, rank))
        per_dim = np.triu(np.moveaxis(per_dim, 2, 0), 1)           # (rank, N, N), i < j
        per_dim = per_dim + np.swapaxes(per_dim, 1, 2)
        strength = np.moveaxis(per_dim, 0, 2) * (strength != 0)[:, :, None]
    tch = Teacher(
        cardinalities=card, value_cdfs=tuple(cdfs), value_perms=tuple(perms),
        biases=biases, vectors=vectors, offsets=offsets, pair_strength=strength,
        higher_in=higher_in, higher_out=higher_out,
        part_std=np.ones(3), weights=np.array([teacher.bias_scale, teacher.pair_scale,
                                               teacher.higher_scale]),
        noise_scale=teacher.noise_scale, intercept=0.0, field_proj=field_proj)
    pilot_ids = tch.sample_ids(rng, 50_000)
    parts = tch.parts(pilot_ids)
    std = parts.std(axis=0)
    std[std == 0] = 1.0
    centred = ((parts - parts.mean(axis=0)) / std) @ tch.weights
    noisy = centred + teacher.noise_scale * rng.standard_normal(len(centred))
    intercept = _solve_intercept(noisy, teacher.positive_rate) - (parts.mean(axis=0) / std) @ tch.weights
    return Teacher(**{**tch.__dict__, "part_std": std, "intercept": float(intercept)})


def spectrum_scales(rank: int, decay: float) -> np.ndarray:
    """Scale of each teacher coordinate, ``d ** -decay`` for ``d = 1..rank``: (rank,)."""
    return np.arange(1, rank + 1, dtype=np.float64) ** -float(decay)


def _solve_intercept(logits: np.ndarray, rate: float) -> float:
    """The shift c with mean(sigmoid(logits + c)) == rate (bisection)."""
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.mean(_sigmoid(logits + mid)) < rate:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def teacher_for(config: DataConfig) -> Teacher:
    """The teacher of a synthetic data configuration."""
    return make_teacher(preset_cardinalities(config.preset), config.teacher, config.zipf,
                        config.seed)


def generate_blocks(teacher: Teacher, rows: int, seed: int, start_block: int = 0
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield blocks of ``(ids (n, N) int32, labels (n,) float32, teacher_logit (n,) float32)``.

    Block ``b`` always holds rows ``b*BLOCK .. (b+1)*BLOCK`` drawn from stream ``(seed, b)``;
    the last block is a full block cut short, so a row never depends on ``rows``.
    """
    n_blocks = -(-rows // BLOCK)
    for block in range(start_block, n_blocks):
        n = min(BLOCK, rows - block * BLOCK)
        rng = np.random.default_rng([seed, 0xB10C, block])
        ids = teacher.sample_ids(rng, BLOCK)
        noise = rng.standard_normal(BLOCK)
        coins = rng.random(BLOCK)
        ids, noise, coins = ids[:n], noise[:n], coins[:n]
        clean = teacher.logit(ids)
        labels = (coins < _sigmoid(clean + teacher.noise_scale * noise)).astype(np.float32)
        yield ids, labels, clean.astype(np.float32)


def generate(config: DataConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All rows of a synthetic configuration: ids (n, N) int32, labels (n,), teacher logit (n,).

    ``n = rows + valid_rows + test_rows``: the ``rows`` rows to split 8/1/1, then
    ``valid_rows`` fresh rows for the validation split, then ``test_rows`` fresh rows for the
    test split. Fresh rows come from blocks after the last one of ``rows`` (so they never
    overlap them), the test rows' first, then the validation rows' (so the test rows are the
    same with or without fresh validation rows).
    """
    if config.rows < 10:
        raise ConfigError(f"data.rows must be at least 10, got {config.rows}")
    teacher = teacher_for(config)
    parts = list(generate_blocks(teacher, config.rows, config.seed))
    test_first = -(-config.rows // BLOCK)
    valid_first = test_first + -(-config.test_rows // BLOCK)
    if config.valid_rows:
        parts += generate_blocks(teacher, valid_first * BLOCK + config.valid_rows, config.seed,
                                 valid_first)
    if config.test_rows:
        parts += generate_blocks(teacher, test_first * BLOCK + config.test_rows, config.seed,
                                 test_first)
    return tuple(np.concatenate(arrays) for arrays in zip(*parts))  # type: ignore[return-value]


def write_criteo_txt(config: DataConfig, path: str | Path, rows: int | None = None) -> Path:
    """Write synthetic rows in Criteo's raw ``train.txt`` format (tab-separated, no header).

    Needs a 39-field preset: the first 13 fields become integer columns I1..I13 (value 0 of a
    field is written empty, value v as the integer v - 1), the other 26 become 8-hex-digit
    categorical columns C1..C26 (value 0 empty). The file is written to a temporary name and
    renamed when complete.
    """
    import pandas as pd

    teacher = teacher_for(config)
    if teacher.num_fields != 39:
        raise ConfigError(f"Criteo format needs 39 fields; preset {config.preset!r} has "
                          f"{teacher.num_fields} (use preset 'criteo')")
    path = Path(path)
    tmp = temp_file(path)
    vocab = []
    for i, d in enumerate(teacher.cardinalities):
        values = np.arange(1, d, dtype=np.uint64)
        if i < 13:
            words = np.char.mod("%d", values.astype(np.int64) - 1)
        else:
            hashed = (values * np.uint64(2654435761) + np.uint64(i * 97 + 13)) & np.uint64(0xFFFFFFFF)
            words = np.char.mod("%08x", hashed)
        vocab.append(np.concatenate([[""], words.astype(object)]))
    rows = config.rows if rows is None else rows
    try:
        with open(tmp, "w", newline="\n") as fh:
            for ids, labels, _ in generate_blocks(teacher, rows, config.seed):
                columns = {"label": labels.astype(np.int8)}
                for i in range(39):
                    columns[i] = vocab[i][ids[:, i]]
                pd.DataFrame(columns).to_csv(fh, sep="\t", header=False, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
