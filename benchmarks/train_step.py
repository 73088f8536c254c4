"""Training-step throughput of the model zoo on Criteo-shaped input.

One step = forward, BCE loss, backward, Adam (lr 1e-3, weight decay 1e-6, as ``train.fit``) on a
batch of 2048 random ids over the 39 Criteo fields (~1.08M features,
``embcollapse.data.synthetic.CRITEO_CARDINALITIES``). Cases:

* ``plain-se-1x``   a pytorch-fm-style DCNv2 written here (nn.Embedding, nn.Linear cross layers,
                    MLP), K = 10: the yardstick for the batched single-embedding code;
* ``dcnv2-se-1x``   the package's DCNv2, K = 10, M = 1;
* ``dnn-se-1x``     the package's DNN, K = 10;
* ``dcnv2-me-10x``  the package's DCNv2, K = 10, M = 10, sets batched;
* ``loop-me-10x``   the same model as ``LoopReference`` (one module per set, Python loop);
* ``dcnv2-se-10x``  the package's DCNv2, K = 100 (cross weights 3900 x 3900: slow on a CPU);
* ``plain-se-10x``  the plain DCNv2 at K = 100 (only with ``--cases`` naming it or ``all``).

Usage::

    python benchmarks/train_step.py                      # CPU, and CUDA when available
    python benchmarks/train_step.py --device cpu --steps 5 --cases dcnv2-me-10x loop-me-10x

Cases of a comparison group (1x; ME 10x; SE 10x) are timed in turns, step by step, so that the
load of a shared machine falls on them alike. Each row gives the median step time split into
forward+backward and the optimizer step: with ~1M features the dense Adam update of the tables
is a large part of a step (``train.fit`` uses PyTorch's fused Adam kernel, as here by default; ``--plain-adam`` shows
the unfused update),
and zeroing a fresh dense embedding gradient each step is another (``THP_MEM_ALLOC_ENABLE=1``
lets PyTorch back large CPU tensors with huge pages, which makes that cheaper).

Prints a table and writes ``benchmarks/out/train_step.json`` (``common.write_json``: a temporary
file, then rename).
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import print_table, write_json  # noqa: E402

from embcollapse.data.synthetic import CRITEO_CARDINALITIES  # noqa: E402
from embcollapse.models import LoopReference, build_model, count_parameters  # noqa: E402


class PlainDCNv2(nn.Module):
    """DCNv2 as pytorch-fm writes models: one embedding, ``nn.Linear`` cross layers, an MLP.

    forward: x (B, N) ids -> (B,) logits.
    """

    def __init__(self, field_dims: Sequence[int], embed_dim: int, cross_layers: int = 4,
                 mlp_dims: Sequence[int] = (400, 400), dropout: float = 0.2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(sum(field_dims), embed_dim)
        nn.init.xavier_uniform_(self.embedding.weight)
        starts = torch.tensor([0, *field_dims[:-1]]).cumsum(0)
        self.register_buffer("starts", starts, persistent=False)
        dim = len(field_dims) * embed_dim
        self.cross = nn.ModuleList(nn.Linear(dim, dim) for _ in range(cross_layers))
        layers: list[nn.Module] = []
        for width in mlp_dims:
            layers += [nn.Linear(dim, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)]
            dim = width
        self.mlp = nn.Sequential(*layers, nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x (B, N) ids. Returns: (B,) logits."""
        x0 = self.embedding(x + self.starts).flatten(1)
        h = x0
        for layer in self.cross:
            h = x0 * layer(h) + h
        return self.mlp(h).squeeze(1)


@dataclass(frozen=True)
class Case:
    """One benchmarked model: how to build it, its comparison group, its default timed steps.

    Cases of one group are timed in turns, step by step, so that the load of a shared machine
    falls on all of them alike.
    """

    name: str
    group: str
    embed_dim: int
    num_sets: int
    build: Callable[[Sequence[int]], nn.Module]
    default_steps: int


def _loop(dims: Sequence[int]) -> nn.Module:
    return LoopReference(build_model("dcnv2", dims, embed_dim=10, num_sets=10))


CASES: dict[str, Case] = {c.name: c for c in (
    Case("plain-se-1x", "1x", 10, 1, lambda d: PlainDCNv2(d, 10), 5),
    Case("dcnv2-se-1x", "1x", 10, 1, lambda d: build_model("dcnv2", d, embed_dim=10), 5),
    Case("dnn-se-1x", "1x", 10, 1, lambda d: build_model("dnn", d, embed_dim=10), 5),
    Case("dcnv2-me-10x", "me-10x", 10, 10,
         lambda d: build_model("dcnv2", d, embed_dim=10, num_sets=10), 2),
    Case("loop-me-10x", "me-10x", 10, 10, _loop, 2),
    Case("dcnv2-se-10x", "se-10x", 100, 1, lambda d: build_model("dcnv2", d, embed_dim=100), 2),
    Case("plain-se-10x", "se-10x", 100, 1, lambda d: PlainDCNv2(d, 100), 2),
)}
DEFAULT_CASES = [name for name in CASES if name != "plain-se-10x"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Runner:
    """A built case: model, Adam, two fixed random batches; :meth:`step` times one step."""

    def __init__(self, case: Case, device: torch.device, batch_size: int, fused: bool,
                 seed: int = 0) -> None:
        torch.manual_seed(seed)
        dims = CRITEO_CARDINALITIES
        self.case, self.device, self.batch_size = case, device, batch_size
        self.model = case.build(dims).to(device).train()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3, weight_decay=1e-6,
                                          fused=fused)
        self.loss_fn = nn.BCEWithLogitsLoss()
        gen = torch.Generator().manual_seed(seed)
        self.batches = [
            (torch.stack([torch.randint(0, d, (batch_size,), generator=gen) for d in dims],
                         dim=1).to(device),
             torch.randint(0, 2, (batch_size,), generator=gen).float().to(device))
            for _ in range(2)]
        self.times: list[tuple[float, float]] = []        # (forward+backward, optimizer)
        self.count = 0

    def step(self, timed: bool) -> None:
        x, y = self.batches[self.count % len(self.batches)]
        self.count += 1
        _sync(self.device)
        t0 = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss_fn(self.model(x), y).backward()
        _sync(self.device)
        t1 = time.perf_counter()
        self.optimizer.step()
        _sync(self.device)
        if timed:
            self.times.append((t1 - t0, time.perf_counter() - t1))

    def row(self) -> dict:
        total = [a + b for a, b in self.times]
        return {"case": self.case.name, "device": str(self.device),
                "embed_dim": self.case.embed_dim, "num_sets": self.case.num_sets,
                "parameters": count_parameters(self.model), "steps": len(self.times),
                "step_seconds_median": statistics.median(total), "step_seconds_min": min(total),
                "forward_backward_seconds": statistics.median(a for a, _ in self.times),
                "optimizer_seconds": statistics.median(b for _, b in self.times),
                "samples_per_second": self.batch_size / statistics.median(total)}


def time_group(cases: Sequence[Case], device: torch.device, batch_size: int, warmup: int,
               steps: int | None, fused: bool) -> list[dict]:
    """Build the cases of one group, then run their steps in turns; one row per case."""
    runners = [Runner(case, device, batch_size, fused) for case in cases]
    if steps is None:
        steps = 20 if device.type == "cuda" else max(c.default_steps for c in cases)
    for step in range(warmup + steps):
        for runner in runners:
            runner.step(timed=step >= warmup)
    rows = [runner.row() for runner in runners]
    for row in rows:
        print(f"  {row['device']} {row['case']}: {row['step_seconds_median']:.3f} s/step",
              flush=True)
    del runners
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return rows


def comparisons(rows: list[dict]) -> list[dict]:
    """Speed ratios the targets are about, per device (> 1: the first is faster)."""
    out = []
    pairs = [("dcnv2-me-10x", "loop-me-10x", "batched ME 10x vs loop reference (target >= 2)"),
             ("dcnv2-se-1x", "plain-se-1x", "package SE 1x vs plain pytorch-fm style (>= 1)"),
             ("dcnv2-se-10x", "plain-se-10x", "package SE 10x vs plain pytorch-fm style (>= 1)")]
    for device in sorted({r["device"] for r in rows}):
        by_case = {r["case"]: r for r in rows if r["device"] == device}
        for fast, slow, what in pairs:
            if fast in by_case and slow in by_case:
                ratio = by_case[slow]["step_seconds_median"] / by_case[fast]["step_seconds_median"]
                compute = (by_case[slow]["forward_backward_seconds"]
                           / by_case[fast]["forward_backward_seconds"])
                out.append({"device": device, "comparison": what, "speedup": ratio,
                            "forward_backward_speedup": compute})
    return out


def environment() -> dict:
    """What besides the machine moves these timings: threads, huge pages, load."""
    info = {"torch_threads": torch.get_num_threads(),
            "THP_MEM_ALLOC_ENABLE": os.environ.get("THP_MEM_ALLOC_ENABLE")}
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
    return info


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="all", help="cpu, cuda, cuda:N, or all (default: "
                        "cpu, plus cuda when available)")
    parser.add_argument("--cases", nargs="+", default=DEFAULT_CASES,
                        help=f"cases to run, or 'all' (known: {', '.join(CASES)})")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per case (default on CPU: 5 at 1x, 2 at 10x; CUDA: 20)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--plain-adam", dest="fused_adam", action="store_false",
                        help="use the unfused Adam (train.fit uses the fused one where it exists)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="folder of train_step.json (default benchmarks/out)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = list(CASES) if args.cases == ["all"] else args.cases
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    if args.device == "all":
        devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available()
                                           else [])
    else:
        devices = [torch.device(args.device)]
    env = environment()
    groups: dict[str, list[Case]] = {}
    for name in cases:
        groups.setdefault(CASES[name].group, []).append(CASES[name])
    rows = []
    for device in devices:
        for group in groups.values():
            rows += time_group(group, device, args.batch_size, args.warmup, args.steps,
                               args.fused_adam)
    ratios = comparisons(rows)
    columns = ("device", "case", "embed_dim", "num_sets", "parameters", "steps",
               "step_seconds_median", "forward_backward_seconds", "optimizer_seconds",
               "samples_per_second")
    print_table([{k: r[k] for k in columns} for r in rows])
    for c in ratios:
        print(f"{c['device']}: {c['comparison']}: step {c['speedup']:.2f}x, "
              f"forward+backward {c['forward_backward_speedup']:.2f}x")
    write_json("train_step", rows, out_dir=args.out_dir, comparisons=ratios, environment=env,
               batch_size=args.batch_size, warmup=args.warmup, fused_adam=args.fused_adam)


if __name__ == "__main__":
    main()
