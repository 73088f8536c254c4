"""Fit and evaluate one run: Adam, early stopping on validation AUC, per-epoch history.

:func:`fit` trains the model a :class:`RunConfig` describes and returns a JSON-ready record with
its identity (:mod:`embcollapse.identity`: run id, resolved configuration, data fingerprint,
semantics version), the history, the best epoch's validation and test metrics, and the per-field
singular values and information abundance of the best checkpoint, plus the model's state dict.
A multi-embedding run's IA is that of each field's sets side by side (``field_ia_concat``, the
paper's measure); ``field_ia`` keeps every set's own.
"""
from __future__ import annotations

import copy
import math
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn
from .progress import tqdm

from . import __version__
from .analysis import model_spectra, run_field_ia
from .config import ModelConfig, RunConfig, TrainConfig
from .data import PreparedData, load_dataset
from .data.loader import BatchLoader
from .data.splits import Split, check_trainable
from .data.storage import content_fingerprint
from .devices import resolve_device
from .identity import identify
from .metrics import auc, logloss
from .models import count_parameters, model_from_config


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_run_model(model: ModelConfig, train: TrainConfig, field_dims: list[int] | tuple[int, ...]
                    ) -> nn.Module:
    """The model a run starts from (generators already seeded): built from ``model``, its
    embedding tables drawn again with the bound of ``train.embed_init_rows`` rows when set
    (every other weight keeps its first draw)."""
    built = model_from_config(model, field_dims)
    if train.embed_init_rows:
        for part in getattr(built, "members", (built,)):      # an ensemble: each member's
            part.embedding.reset_parameters(train.embed_init_rows)
    return built


DROPOUT_STREAM = 0xD40F   # mixed into a set dropout seed, so the masks' generator state is not the
                          # state the initial weights were drawn from with the same seed


def dropout_generator_seed(seed: int) -> int:
    """The torch generator seed of the dropout masks of dropout seed ``seed`` (a uint32)."""
    return int(np.random.SeedSequence([seed, DROPOUT_STREAM]).generate_state(1)[0])


def start_model(config: RunConfig, field_dims: list[int] | tuple[int, ...]) -> nn.Module:
    """The model a run starts from, with torch's generators left set for its dropout masks.

    The weights are drawn after ``seed_everything(config.source_seed("init"))``. With neither
    ``train.init_seed`` nor ``train.dropout_seed`` set, the masks continue those generators, as
    in every run stored before these settings (training bit-identical). With either set, torch's
    generators are seeded again after the draw (:func:`dropout_generator_seed` of the dropout
    seed), so the masks depend on the dropout seed alone and the weights on the init seed
    alone. So ``init_seed = dropout_seed = seed`` set explicitly draws the same weights as
    leaving them unset but other masks (and is another run id)."""
    tc = config.train
    seed_everything(config.source_seed("init"))
    model = build_run_model(config.model, tc, field_dims)
    if tc.init_seed is not None or tc.dropout_seed is not None:
        torch.manual_seed(dropout_generator_seed(config.source_seed("dropout")))
    return model


CPU_FORWARD_ROWS = 2048   # rows per evaluation forward on a CPU: a loader batch of 16,384 rows
                          # is split (same outputs, row by row; up to 2x less CPU, cache-sized)


@torch.inference_mode()
def predict(model: nn.Module, loader: BatchLoader) -> np.ndarray:
    """Click probabilities for every row of the loader, in order: (n,) float64.

    In eval mode every row's output depends on that row alone, so on a CPU each loader batch
    is run in parts of :data:`CPU_FORWARD_ROWS` rows, which give the same numbers faster."""
    model.eval()
    rows = CPU_FORWARD_ROWS if loader.device.type == "cpu" else None
    out = [torch.sigmoid(model(part)).double().cpu()
           for ids, _ in loader.epoch() for part in (ids.split(rows) if rows else (ids,))]
    return torch.cat(out).numpy()


def evaluate(model: nn.Module, loader: BatchLoader) -> dict[str, float]:
    """AUC and logloss on a split."""
    return scores_metrics(loader.labels.cpu().numpy(), predict(model, loader))


def scores_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """AUC and logloss of probabilities ``probs`` (n,) against 0/1 ``labels`` (n,)."""
    return {"auc": auc(labels, probs), "logloss": logloss(labels, probs)}


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam (paper: lr 1e-3, weight decay 1e-6), the fused implementation where the device has
    one: the same update, about a quarter faster per step here because the dense update of the
    embedding table dominates."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)


class AuthorsBCELoss(nn.Module):
    """The authors' loss: ``BCELoss`` on the sigmoid of the logit. torch clamps its logs at
    -100, so where the sigmoid rounds to exactly 0 or 1 (float32: a logit beyond about +16.6
    for label 0, below about -88 for label 1) the loss is 100 and its gradient is 0, where
    ``BCEWithLogitsLoss`` gives a gradient of about 1."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return nn.functional.binary_cross_entropy(torch.sigmoid(logits), labels)


def loss_function(name: str) -> nn.Module:
    """The training loss ``train.loss`` names (:data:`embcollapse.config.LOSSES`): mean over
    the batch of a (n,) logit against (n,) 0/1 float labels."""
    return {"bce-logits": nn.BCEWithLogitsLoss, "authors-bce": AuthorsBCELoss}[name]()


def data_loss(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor,
              loss_fn: nn.Module) -> torch.Tensor:
    """What a training step minimises before any penalty: ``loss_fn(model(ids), labels)``, or
    the model's own ``training_loss`` where it has one (an ensemble: the sum of its members'
    losses, :class:`~embcollapse.models.ensemble.Ensemble`). ids (B, N), labels (B,)."""
    if hasattr(model, "training_loss"):
        return model.training_loss(ids, labels, loss_fn)
    return loss_fn(model(ids), labels)


@dataclass
class FitResult:
    """What :func:`fit` returns: the JSON-ready record, the best model's weights and its test
    predictions (labels (n,) uint8 and click probabilities (n,) float32, in test-split order),
    which paired comparisons between runs need (:mod:`embcollapse.intervals`)."""

    record: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    test_labels: np.ndarray | None = None
    test_scores: np.ndarray | None = None


def _mean_ia(model: nn.Module) -> dict[str, float]:
    """Mean over fields of the run's IA (sets side by side), and of every set's own for ME."""
    concatenated, per_set = run_field_ia(model.embedding_tables())
    out = {"mean_ia": float(concatenated.mean())}
    if len(per_set) > 1:
        out["mean_ia_per_set"] = float(per_set.mean())
    return out


CPU_THREADS = 1   # torch threads of every CPU run, in whatever process trains it (a sweep's
                  # worker, a notebook kernel, `embcollapse train`): the threads split the float
                  # sums of matrix products, so with 2 threads a run's numbers differ from the
                  # same run's with 1. Changing it changes every CPU run: bump SEMANTICS_VERSION.


@contextmanager
def training_threads(device: torch.device) -> Iterator[None]:
    """On a CPU, run the block with :data:`CPU_THREADS` torch threads (the process's own
    setting is restored after); elsewhere leave the setting alone."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fit(config: RunConfig, data: PreparedData | None = None,
        device: str | torch.device | None = "auto", progress: bool = True) -> FitResult:
    """Train ``config``'s model with early stopping; evaluate the best epoch on the test split.

    On a CPU the whole fit runs on :data:`CPU_THREADS` threads, so a run's record does not
    depend on the process that trains it (its thread count, its cores, other runs beside it).
    """
    dev = resolve_device(device)
    with training_threads(dev):
        return _fit(config, data, dev, progress)


def _fit(config: RunConfig, data: PreparedData | None, dev: torch.device,
         progress: bool) -> FitResult:
    data = check_trainable(data if data is not None else load_dataset(config.data))
    identity = identify(config, content_fingerprint(data.meta))
    tc = config.train
    model = start_model(config, data.field_dims).to(dev)
    optimizer = make_optimizer(model, tc.lr, tc.weight_decay)
    loss_fn = loss_function(tc.loss)
    train = BatchLoader(data.train, tc.batch_size, dev, shuffle=True,
                        seed=config.source_seed("order"), reshuffle=tc.shuffle == "each-epoch")
    valid = BatchLoader(data.valid, tc.eval_batch_size, dev)
    history: list[dict[str, float]] = []
    best_auc, best_epoch, best_state, stale = -math.inf, -1, None, 0
    start = time.perf_counter()
    label = f"{config.model.name} K={config.model.embed_dim} M={config.model.num_sets}"
    epochs = tqdm(range(tc.max_epochs), desc=label, disable=not progress, leave=False)
    for epoch in epochs:
        t0 = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for ids, labels in tqdm(train.epoch(epoch), total=len(train), desc=f"epoch {epoch + 1}",
                                disable=not progress, leave=False):
            optimizer.zero_grad(set_to_none=True)
            loss = data_loss(model, ids, labels, loss_fn)
            penalty = model.regularization() if hasattr(model, "regularization") else 0.0
            (loss + penalty).backward()     # the logged train_loss stays the data loss
            optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
        metrics = evaluate(model, valid)
        entry = {"epoch": epoch + 1, "train_loss": total / count, "valid_auc": metrics["auc"],
                 "valid_logloss": metrics["logloss"], "seconds": time.perf_counter() - t0}
        if tc.track_ia:
            entry.update(_mean_ia(model))
        history.append(entry)
        epochs.set_postfix(valid_auc=f"{metrics['auc']:.4f}")
        if metrics["auc"] > best_auc:
            best_auc, best_epoch, stale = metrics["auc"], epoch + 1, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            stale += 1
            if stale >= tc.patience:
                break
    train_seconds = time.perf_counter() - start
    assert best_state is not None, "max_epochs must be >= 1"
    model.load_state_dict(best_state)
    test_loader = BatchLoader(data.test, tc.eval_batch_size, dev)
    test_labels, test_probs = test_loader.labels.cpu().numpy(), predict(model, test_loader)
    test = scores_metrics(test_labels, test_probs)
    tables = model.embedding_tables()
    spectra = model_spectra(tables)
    field_ia_concat, field_ia = run_field_ia(tables, spectra)
    record = {
        **identity.record_fields(),
        "history": history,
        "best_epoch": best_epoch,
        "valid": {"auc": best_auc, "logloss": history[best_epoch - 1]["valid_logloss"]},
        "test": test,
        "hit_epoch_cap": hit_epoch_cap(history, best_epoch, tc.max_epochs),
        "field_names": list(data.field_names),
        "field_dims": list(data.field_dims),
        "field_ia": field_ia.tolist(),
        "field_ia_concat": field_ia_concat.tolist(),
        "singular_values": [[s.tolist() for s in row] for row in spectra],
        "num_parameters": count_parameters(model),
        "train_rows": len(data.train),
        "train_seconds": train_seconds,
        "device": str(dev) if dev.type == "cpu" else f"{dev} ({torch.cuda.get_device_name(dev)})",
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads() if dev.type == "cpu" else None,
        "package_version": __version__,
    }
    teacher = data.teacher_auc("test")
    if teacher is not None:                # synthetic data only: the labelling teacher's AUC
        record["teacher_test_auc"] = teacher
    return FitResult(record=record, state_dict=best_state,
                     test_labels=test_labels.astype(np.uint8),
                     test_scores=test_probs.astype(np.float32))


def hit_epoch_cap(history: list[dict[str, Any]], best_epoch: int, max_epochs: int) -> bool:
    """Whether training stopped at the epoch cap with its best validation AUC in the last
    epoch: the AUC was still rising, so more epochs might have given a better model."""
    return len(history) == max_epochs and best_epoch == max_epochs


def at_epoch_cap(record: dict[str, Any]) -> bool:
    """Whether a stored run hit the epoch cap (:func:`hit_epoch_cap`): its record's
    ``hit_epoch_cap``, computed from its history for records stored before that key."""
    if "hit_epoch_cap" in record:
        return bool(record["hit_epoch_cap"])
    return hit_epoch_cap(record["history"], record["best_epoch"],
                         record["config"]["train"]["max_epochs"])


def base_rate_logloss(train: Split, test: Split) -> float:
    """Test logloss of the constant predictor "training click rate": the floor to beat."""
    rate = float(np.mean(train.labels))
    return logloss(test.labels, np.full(len(test), rate))
