"""How big a run is before anyone spends GPU hours on it: parameters and peak GPU memory.

The estimate of a run's peak GPU memory during training, in float32:

* weights, 4 bytes per parameter;
* gradients, 4 bytes per parameter (the embedding tables get dense gradients);
* Adam's two moments, 8 bytes per parameter;
* activations: the bytes autograd saves for the backward pass of one batch of the run's batch
  size, measured by running forward and backward on PyTorch's ``meta`` device (shapes only, no
  memory), plus the batch's ids and labels.

The CUDA context and the allocator's slack (typically a few hundred MiB) come on top.
``embcollapse.capacity`` (``make check-paper``) also builds each distinct model of the paper
profiles for real on field sizes of Criteo's and Avazu's shape and takes one training step on a
small CPU batch, when its weights, gradients and Adam states fit ``--budget-gb``.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import torch
from torch import nn

# Avazu's 22 fields after min count 4, approximated: the paper's Table 4 gives 2.02M features,
# the largest field 1.61M (device_ip) and the smallest 5; the other fields follow the public
# counts of the Kaggle data (hour, C1, banner_pos, site_*, app_*, device_*, C14-C21).
AVAZU_CARDINALITIES: tuple[int, ...] = (
    240, 7, 7, 4000, 5000, 25, 6000, 400, 30, 385000, 1610000, 6000, 5, 5,
    2500, 8, 9, 430, 5, 66, 170, 60,
)

BYTES = 4   # float32


@dataclass(frozen=True)
class Estimate:
    """Parameters and estimated peak training memory (bytes) of one model at one batch size."""

    parameters: int
    activation_bytes: int
    batch_size: int

    @property
    def state_bytes(self) -> int:
        """Weights, gradients and Adam's two moments."""
        return 4 * BYTES * self.parameters

    @property
    def peak_bytes(self) -> int:
        return self.state_bytes + self.activation_bytes

    def describe(self) -> str:
        return (f"{self.parameters / 1e6:,.1f}M params, ~{gib(self.peak_bytes):.2f} GiB peak "
                f"GPU memory at batch {self.batch_size}")


def gib(n: float) -> float:
    return n / 2**30


def reference_field_dims(data: Any) -> tuple[int, ...]:
    """Field sizes of a data configuration without preparing it: a prepared dataset's own,
    a synthetic preset's, else Criteo's or Avazu's shape (:data:`AVAZU_CARDINALITIES`)."""
    from .data.synthetic import CRITEO_CARDINALITIES, preset_cardinalities

    if data.name == "synthetic":
        return tuple(preset_cardinalities(data.preset))
    dims = _prepared_field_dims(data)
    if dims:
        return dims
    shapes = {"criteo": CRITEO_CARDINALITIES, "avazu": AVAZU_CARDINALITIES}
    if data.name not in shapes:
        raise ValueError(f"no reference field sizes for dataset {data.name!r}")
    return shapes[data.name]


def _prepared_field_dims(data: Any) -> tuple[int, ...] | None:
    """The field sizes of the data's preparation when it exists (no preparing here)."""
    from .data.dataset import read_meta
    from .data.prepare import locate_raw, options_for, prepared_dir

    try:
        raw = locate_raw(data)
        meta = read_meta(prepared_dir(data.name, raw, options_for(data))) if raw else None
    except Exception:   # any trouble finding it: the reference shape stands in
        return None
    return tuple(meta["field_dims"]) if meta else None


def _loss(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    from .train import data_loss

    loss = data_loss(model, ids, labels, nn.BCEWithLogitsLoss())
    penalty = model.regularization() if hasattr(model, "regularization") else 0.0
    return loss + penalty


def estimate(config: Any, field_dims: Sequence[int]) -> Estimate:
    """Parameters and peak-memory estimate of a RunConfig's model (on the meta device)."""
    from .models import model_from_config

    with torch.device("meta"):
        model = model_from_config(config.model, field_dims)
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        batch = config.train.batch_size
        ids = torch.zeros(batch, len(field_dims), dtype=torch.long)
        labels = torch.zeros(batch)
        saved: dict[int, int] = {}

        def keep(t: torch.Tensor) -> torch.Tensor:
            if not isinstance(t, nn.Parameter) and not isinstance(t._base, nn.Parameter):
                # (parameters and their views are counted as weights)
                saved[id(t)] = t.numel() * t.element_size()
            return t

        model.train()
        with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
            loss = _loss(model, ids, labels)
        loss.backward()
    batch_bytes = ids.numel() * ids.element_size() + labels.numel() * labels.element_size()
    return Estimate(params, sum(saved.values()) + batch_bytes, batch)


def one_step(config: Any, field_dims: Sequence[int], batch_size: int = 256,
             steps: int = 1) -> dict[str, Any]:
    """Build the model on the CPU and take ``steps`` Adam steps on random ids.

    Returns:
        ``loss`` of the first step, ``seconds`` of the first step and ``step_seconds``, the
        median of the later steps (of the first when ``steps`` is 1).
    """
    from .models import model_from_config
    from .train import make_optimizer, seed_everything

    seed_everything(0)
    model = model_from_config(config.model, field_dims)
    optimizer = make_optimizer(model, config.train.lr, config.train.weight_decay)
    generator = torch.Generator().manual_seed(0)
    ids = torch.stack([torch.randint(0, d, (batch_size,), generator=generator)
                       for d in field_dims], dim=1)
    labels = torch.randint(0, 2, (batch_size,), generator=generator).float()
    model.train()
    losses, seconds = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = _loss(model, ids, labels)
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - t0)
        losses.append(float(loss.detach()))
    del model, optimizer
    gc.collect()
    if not torch.isfinite(torch.tensor(losses[0])):
        raise RuntimeError(f"{config.model.name}: the first step's loss is {losses[0]}")
    later = sorted(seconds[1:] or seconds)
    return {"loss": losses[0], "seconds": seconds[0], "step_seconds": later[len(later) // 2]}


def cpu_run_seconds(config: Any, field_dims: Sequence[int], train_rows: int,
                    max_state_gib: float = 1.0) -> float | None:
    """An upper bound on a CPU run's training time: one timed step (after a
    warm-up) at the run's batch size, times its steps per epoch and ``max_epochs`` (early
    stopping ends most runs sooner; evaluation adds a little). None for a model whose states
    exceed ``max_state_gib`` (not built for an estimate)."""
    if gib(estimate(config, field_dims).state_bytes) > max_state_gib:
        return None
    batch = config.train.batch_size
    step = one_step(config, field_dims, batch, steps=2)["step_seconds"]
    return step * -(-train_rows // batch) * config.train.max_epochs


def distinct_models(configs: Iterable[Any]) -> list[Any]:
    """One RunConfig per distinct model (name, K, M, hyper), in plan order."""
    seen: dict[str, Any] = {}
    for config in configs:
        model = config.model
        key = (f"{model.name}|{model.embed_dim}|{model.num_sets}|{model.ensemble}|"
               f"{sorted(dict(model.hyper).items())}")
        seen.setdefault(key, config)
    return list(seen.values())


def model_label(config: Any) -> str:
    model = config.model
    hyper = ",".join(f"{k}={v}" for k, v in sorted(dict(model.hyper).items()))
    members = f" ensemble of {model.ensemble}" if model.ensemble > 1 else ""
    return (f"{model.name} K={model.embed_dim} M={model.num_sets}{members}"
            + (f" {hyper}" if hyper else ""))


def check_profile(name: str, budget_gb: float = 2.0, step_batch: int = 256,
                  out: Any = sys.stdout) -> list[dict[str, Any]]:
    """Every distinct model of profile ``name``: parameters, estimated peak GPU memory, and one
    CPU training step for those whose weights, gradients and Adam states fit ``budget_gb``."""
    from .config import load_profile
    from .grids import profile_configs

    profile = load_profile(name)
    dims = reference_field_dims(profile.data)
    rows = []
    print(f"# profile {profile.name}: {profile.data.name}, {len(dims)} fields, "
          f"{sum(dims):,} features, batch {profile.train.batch_size}", file=out, flush=True)
    print(f"{'model':<42} {'params':>10} {'state GiB':>9} {'act. GiB':>8} {'peak GiB':>8}  "
          f"one CPU step", file=out, flush=True)
    for config in distinct_models(profile_configs(profile)):
        est = estimate(config, dims)
        row: dict[str, Any] = {"profile": profile.name, "model": model_label(config),
                               "parameters": est.parameters,
                               "state_gib": gib(est.state_bytes),
                               "activation_gib": gib(est.activation_bytes),
                               "peak_gib": gib(est.peak_bytes)}
        if gib(est.state_bytes) <= budget_gb:
            row.update(one_step(config, dims, step_batch))
            step = f"loss {row['loss']:.4f} in {row['seconds']:.2f} s (batch {step_batch})"
        else:
            step = f"not built: {gib(est.state_bytes):.1f} GiB of states > {budget_gb} GiB budget"
        rows.append(row)
        print(f"{row['model']:<42} {est.parameters / 1e6:>9.1f}M {row['state_gib']:>9.2f} "
              f"{row['activation_gib']:>8.2f} {row['peak_gib']:>8.2f}  {step}", file=out,
              flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embcollapse.capacity",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("profiles", nargs="*", default=["paper", "paper-avazu"])
    parser.add_argument("--budget-gb", type=float, default=2.0,
                        help="build and step a model only when its weights, gradients and Adam "
                             "states fit this many GiB (default 2)")
    parser.add_argument("--step-batch", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    for name in args.profiles:
        check_profile(name, args.budget_gb, args.step_batch)
        print()
    print("Peak GPU memory = 16 bytes per parameter (float32 weights, dense gradients, Adam's "
          "two moments) + the tensors autograd saves for one batch of the profile's batch size "
          "(measured on the meta device) + the batch; CUDA context and allocator slack come on "
          "top.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
