"""Progress a person can follow: bars on a terminal only, and one line per finished run.

* :func:`tqdm` is the package's only progress bar. It draws on a terminal and nowhere else: in
  a notebook kernel (where ``tqdm.auto`` would warn that IProgress is missing and every update
  would become a separate output), in a log file or a pipe it is silent. Notebooks show their
  runs as tables instead.
* :class:`RunReporter` prints the plan of a sweep (runs to train, an estimate of the time) and
  then one line per run as it finishes: where it belongs, k of n, model, size, seed, best
  epoch, validation AUC, seconds and the time left.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TextIO

from tqdm.std import tqdm as _std_tqdm


def tqdm(iterable: Iterable[Any] | None = None, *, disable: bool = False, **kwargs: Any
         ) -> _std_tqdm:
    """``tqdm.tqdm`` that draws only when stderr is a terminal (``disable=True`` never)."""
    return _std_tqdm(iterable, disable=True if disable else None, **kwargs)


def duration(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``1.2 h`` (``?`` when unknown)."""
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def run_label(config: Any) -> str:
    """``dcnv2 K=10 M=1 seed 0``, plus hyper-parameters the run sets (``cross_layers=8``) and
    the training share when it is not all of it."""
    model = config.model
    hyper = "".join(f" {k}={v}" for k, v in sorted(dict(model.hyper).items()))
    share = "" if config.data.fraction == 1.0 else f" {config.data.fraction:.0%} data"
    members = f" ensemble of {model.ensemble}" if model.ensemble > 1 else ""
    order = " fixed-order" if config.train.shuffle != "each-epoch" else ""
    return (f"{model.name} K={model.embed_dim} M={model.num_sets}{members}{hyper}{share}{order} "
            f"seed {config.seed}")


def estimate_seconds(config: Any, history: Sequence[Mapping[str, Any]]) -> float | None:
    """Expected training seconds of ``config`` from stored records ``history``.

    The mean time of stored runs with the same data, training settings and model name (any
    size or seed); else of every stored run on the same data and settings; None when nothing
    comparable is stored.
    """
    from .config import to_dict

    data, train = to_dict(config.data), to_dict(config.train)
    same = [r for r in history if r["config"]["data"] == data and r["config"]["train"] == train]
    model = [r for r in same if r["config"]["model"]["name"] == config.model.name]
    for group in (model, same):
        if group:
            return sum(float(r["train_seconds"]) for r in group) / len(group)
    return None


@dataclass
class RunReporter:
    """Console lines for runs ``todo`` (pairs of where a run belongs and its RunConfig).

    A run's expected time comes from comparable stored runs (``history``), else from
    ``fallback`` (e.g. timed training steps), else it is unknown.
    """

    todo: Sequence[tuple[str, Any]]
    history: Sequence[Mapping[str, Any]] = ()
    fallback: Callable[[Any], float | None] | None = None
    stream: TextIO | None = None
    prefix: str = "[train]"
    done: int = 0
    workers: int = 1                    # runs trained side by side (the plan's time divides)

    def __post_init__(self) -> None:
        self.estimates, self.basis = [], {"stored": 0, "timed": 0}
        for _, config in self.todo:
            seconds = estimate_seconds(config, self.history)
            if seconds is not None:
                self.basis["stored"] += 1
            elif self.fallback is not None:
                seconds = self.fallback(config)
                self.basis["timed"] += seconds is not None
            self.estimates.append(seconds)
        self.finished_runs: set[int] = set()
        self.start = time.perf_counter()        # after the estimates: they are not training

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def plan(self, stored: int = 0) -> str:
        """Print and return the plan: how many runs, per part, and the estimated time."""
        parts: dict[str, int] = {}
        for where, _ in self.todo:
            parts[where] = parts.get(where, 0) + 1
        known = [e for e in self.estimates if e is not None]
        if not self.todo:
            when = "nothing to train"
        elif known:
            total = sum(known) / len(known) * len(self.estimates) / max(1, self.workers)
            basis = [f"{n} from comparable stored runs" if key == "stored" else
                     f"{n} from timed training steps x max epochs, an upper bound"
                     for key, n in self.basis.items() if n]
            unknown = len(self.estimates) - len(known)
            side = f" on {self.workers} workers" if self.workers > 1 else ""
            when = (f"estimated {duration(total)}{side} ({'; '.join(basis)}"
                    + (f"; {unknown} counted at the mean" if unknown else "") + ")")
        else:
            when = "no estimate yet (nothing comparable is stored); time left follows each run"
        by_part = ", ".join(f"{where} {n}" for where, n in parts.items())
        text = (f"{self.prefix} plan: {len(self.todo)} runs to train, {stored} already stored; "
                f"{when}" + (f"\n{self.prefix}   per chapter: {by_part}" if by_part else ""))
        self._print(text)
        return text

    def finished(self, index: int, record: Mapping[str, Any] | None, seconds: float,
                 error: str | None = None) -> str:
        """Print and return the line of run ``index`` of ``todo`` (``record`` None: failed)."""
        self.done += 1
        self.finished_runs.add(index)
        where, config = self.todo[index]
        left = self.time_left()
        head = f"{self.prefix} {where} {self.done}/{len(self.todo)} {run_label(config)}:"
        if record is None:
            text = f"{head} FAILED after {duration(seconds)} ({error}); {duration(left)} left"
        else:
            cap = " (the epoch cap: AUC still rising)" if record.get("hit_epoch_cap") else ""
            text = (f"{head} best epoch {record['best_epoch']}{cap}, valid AUC "
                    f"{record['valid']['auc']:.4f}, {duration(seconds)}, "
                    f"{duration(left)} left")
        self._print(text)
        return text

    def time_left(self) -> float | None:
        """The remaining runs' estimates scaled by how the finished runs compared with theirs
        (when every run has one), else the mean time per finished run so far; 0 when done."""
        remaining = len(self.todo) - self.done
        if remaining <= 0:
            return 0.0
        if self.done == 0:
            return None
        elapsed = time.perf_counter() - self.start
        if all(e is not None for e in self.estimates):
            done = sum(self.estimates[i] for i in self.finished_runs)
            rest = sum(e for i, e in enumerate(self.estimates) if i not in self.finished_runs)
            if done > 0:
                return rest * elapsed / done
        return elapsed / self.done * remaining
