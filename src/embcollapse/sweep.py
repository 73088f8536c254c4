"""Sweeps: every run a profile's chapters need, trained by a backend into the results store.

``plan`` expands the chapters' grids (:mod:`embcollapse.grids`), so a sweep trains exactly what
the notebooks read. Runs are independent and keyed by their id (:mod:`embcollapse.identity`:
resolved configuration, data fingerprint, semantics version; finding it prepares the data), so
a sweep resumes: stored runs are skipped, runs that failed before are tried again (or skipped
on request), and every failure is noted in the store with its error
(``ResultsStore.failures``).

Backends:

* ``local``: in this process one run after another, or one worker process per device
  (``devices=["cuda:0", "cuda:1"]``, each worker takes the next run when it is free);
* ``slurm``: one submitit array job, one task per run, each task writing its record into the
  shared store. ``cluster="local"`` runs the same array with submitit's local executor (tests).
"""
from __future__ import annotations

import json
import os
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from .config import ConfigError, Profile, RunConfig, from_dict, replace, to_dict
from .grids import profile_configs
from .identity import resolved_key, run_id
from .progress import RunReporter, tqdm
from .results import ResultsStore

# called as each run finishes: (index in the runs, train_one's summary or None, seconds, error)
OnDone = Callable[[int, Optional[dict], float, Optional[str]], None]

BACKENDS = ("local", "slurm")


@dataclass
class SweepState:
    """Where a sweep stands: stored runs, runs that failed (with their error), missing runs."""

    stored: list[RunConfig] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)        # run id -> error
    missing: list[RunConfig] = field(default_factory=list)      # neither stored nor failed
    failed_configs: list[RunConfig] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)            # run ids with a damaged record

    @property
    def total(self) -> int:
        return len(self.stored) + len(self.failed_configs) + len(self.missing)

    def to_run(self, retry_failed: bool = True) -> list[RunConfig]:
        """The runs still to train: missing ones, and failed ones unless told not to."""
        return self.missing + (self.failed_configs if retry_failed else [])

    def summary(self) -> str:
        damaged = (f" ({len(self.damaged)} of them with a damaged record, set aside when "
                   f"trained)" if self.damaged else "")
        lines = [f"{self.total} runs: {len(self.stored)} stored, {len(self.failed)} failed, "
                 f"{len(self.missing)} not yet run{damaged}"]
        for key, error in self.failed.items():
            lines.append(f"  failed {key}: {error}")
        return "\n".join(lines)


def plan(profile: Profile, chapters: Iterable[str] | None = None,
         seeds: Sequence[int] | None = None) -> list[RunConfig]:
    """Every run the chapters of ``profile`` need, each once."""
    return profile_configs(profile, chapters, seeds)


def labelled_plan(profile: Profile, parts: Mapping[str, Sequence[str]],
                  seeds: Sequence[int] | None = None) -> list[tuple[str, RunConfig]]:
    """Every run of ``parts`` (a label, e.g. a book page, -> the chapter grids it reads), each
    once, labelled with the first part that needs it (no data is read)."""
    out: dict[str, tuple[str, RunConfig]] = {}
    for label, grids in parts.items():
        for config in profile_configs(profile, grids, seeds) if grids else []:
            out.setdefault(resolved_key(config), (label, config))
    return list(out.values())


def train_reported(todo: Sequence[tuple[str, RunConfig]], store: ResultsStore,
                   devices: Sequence[str], stored: int = 0, prepare: bool = True,
                   prefix: str = "[train]") -> SweepResult:
    """Train labelled runs locally with console progress: the plan (runs, estimated time from
    comparable stored runs), then one line per run as it finishes (label, k of n, model, size,
    seed, best epoch, validation AUC, seconds, time left)."""

    if todo and prepare:
        for line in prepare_data([c for _, c in todo]):
            print(f"{prefix} data ready: {line}", flush=True)
    cpu = all(d == "cpu" or (d == "auto" and not _cuda()) for d in devices)
    reporter = RunReporter(todo, history=list(store.records()) if todo else [], prefix=prefix,
                           fallback=_timed_estimate() if cpu and prepare else None,
                           workers=len(devices))
    reporter.plan(stored)
    if not todo:
        return SweepResult()
    return run_local([c for _, c in todo], store, devices, progress=False,
                     on_done=reporter.finished)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _timed_estimate(budget_s: float = 15.0) -> Callable[[RunConfig], float | None]:
    """Expected CPU seconds of a run with nothing comparable stored: timed training steps of
    its model (:func:`embcollapse.capacity.cpu_run_seconds`), once per model, for at most
    ``budget_s`` seconds in all (runs left untimed count at the mean of the others)."""
    from .capacity import cpu_run_seconds, model_label
    from .data import load_dataset

    rows: dict[str, tuple[tuple[int, ...], int]] = {}    # data -> (field sizes, train rows)
    per_row: dict[str, float | None] = {}                 # model and training -> s per row
    deadline = time.perf_counter() + budget_s

    def seconds(config: RunConfig) -> float | None:
        if time.perf_counter() > deadline:
            return None
        data_key = repr(to_dict(config.data))
        if data_key not in rows:
            data = load_dataset(config.data)
            rows[data_key] = (tuple(data.field_dims), len(data.train))
        dims, train_rows = rows[data_key]
        key = f"{model_label(config)}|{dims}|{to_dict(config.train)}"
        if key not in per_row:
            total = cpu_run_seconds(config, dims, train_rows)
            per_row[key] = None if total is None else total / train_rows
        return None if per_row[key] is None else per_row[key] * train_rows

    return seconds


def state(configs: Iterable[RunConfig], store: ResultsStore) -> SweepState:
    """Split ``configs`` into stored, failed and missing runs (their data is prepared first when
    it is missing or stale: a run is identified by its data)."""
    out, failures = SweepState(), store.failures()
    for config in configs:
        key = run_id(config)
        status = store.status(key)
        if status == "stored":
            out.stored.append(config)
        elif key in failures:
            out.failed[key] = failure_text(failures[key])
            out.failed_configs.append(config)
        else:
            out.missing.append(config)
        if status == "damaged":
            out.damaged.append(key)
    return out


def failure_text(note: Mapping[str, Any]) -> str:
    """A failure note's error, with the Slurm task's job id and log when it ran in one."""
    slurm = note.get("slurm")
    where = (f" [Slurm job {slurm.get('job_id')}, log {slurm.get('log')}]"
             if isinstance(slurm, Mapping) else "")
    return f"{note['error']}{where}"


def to_run(configs: Iterable[RunConfig], store: ResultsStore,
           retry_failed: bool = True) -> list[RunConfig]:
    """The runs a sweep still has to train: missing ones, and failed ones unless told not to."""
    return state(configs, store).to_run(retry_failed)


def prepare_data(configs: Iterable[RunConfig]) -> list[str]:
    """Prepare every dataset the runs read, once, before the runs are dispatched (workers and
    array tasks would otherwise each prepare a missing dataset at the same time). A dataset that
    cannot be prepared raises here, naming its file, before anything is submitted.

    Returns:
        One line per dataset: its name and rows.
    """
    from .data import load_dataset

    seen: dict[str, Any] = {}
    for config in configs:
        whole = replace(config.data, {"fraction": 1.0}, "data")   # fractions share one dataset
        seen.setdefault(repr(to_dict(whole)), whole)
    lines = []
    for data in seen.values():
        prepared = load_dataset(data)
        lines.append(f"{prepared.name}: {len(prepared.train) + len(prepared.valid) + len(prepared.test):,} rows")
    return lines


def local_devices(device: str, cpu_workers: int = 1) -> list[str]:
    """The devices of a local sweep for a profile's ``device``: ``cpu_workers`` CPU workers
    when it trains on the CPU (``cpu``, or ``auto`` without a GPU), else that device alone."""
    on_cpu = device == "cpu" or (device == "auto" and not _cuda())
    return ["cpu"] * cpu_workers if on_cpu and cpu_workers > 1 else [device]


def threads_per_worker(devices: Sequence[str]) -> int:
    """Torch threads for each of ``devices``' workers: the cores shared out among the CPU
    workers (at least one each). Training itself runs on ``train.CPU_THREADS`` threads
    whatever this gives, so a run's numbers do not depend on the worker."""
    cpu = sum(d == "cpu" for d in devices)
    return max(1, (os.cpu_count() or 1) // max(cpu, 1))


def train_one(config: dict[str, Any], store_root: str, device: str) -> dict[str, Any]:
    """Train one run (a RunConfig as a mapping) into the store at ``store_root``.

    The unit of work of every backend: importable, picklable arguments, no shared state. A run
    that is already stored is not trained again; an error is noted in the store and re-raised.
    """
    from .train import at_epoch_cap

    store = ResultsStore(store_root)
    run = from_dict(RunConfig, config, "run")
    try:
        record = store.load_or_run(run, device=device, progress=False)
    except Exception:
        task = _this_slurm_task()
        if task:                     # the note says which task and log to read
            store.annotate_failure(run_id(run), slurm=task)
        raise
    return {"run_id": record["run_id"], "test_auc": record["test"]["auc"],
            "device": record["device"], "train_seconds": record["train_seconds"],
            "best_epoch": record["best_epoch"], "valid": record["valid"],
            "hit_epoch_cap": at_epoch_cap(record)}


def _this_slurm_task() -> dict[str, str] | None:
    """Inside a submitit Slurm task: its job id (``<array job>_<task>``) and stderr log."""
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm":
        return None
    try:
        import submitit

        env = submitit.JobEnvironment()
        return {"job_id": str(env.job_id), "log": str(env.paths.stderr)}
    except Exception:            # not a submitit task after all: nothing to add
        return None


@dataclass
class SweepResult:
    trained: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"trained {len(self.trained)}, failed {len(self.failed)}"]
        lines += [f"  failed {key}: {error}" for key, error in self.failed.items()]
        return "\n".join(lines)


def run_local(configs: Sequence[RunConfig], store: ResultsStore,
              devices: Sequence[str] = ("auto",), progress: bool = True,
              on_done: OnDone | None = None) -> SweepResult:
    """Train ``configs``: in this process for one device, else one worker process per device.
    ``on_done`` hears of each run as it finishes (a :class:`~embcollapse.progress.RunReporter`
    prints its line)."""
    result = SweepResult()
    if not configs:
        return result
    if len(devices) == 1:
        for index, config in enumerate(tqdm(configs, desc="sweep", disable=not progress)):
            t0 = time.perf_counter()
            summary = _collect(result, config, lambda c=config: train_one(
                to_dict(c), str(store.root), devices[0]), store)
            _tell(on_done, result, index, summary, time.perf_counter() - t0)
        return result
    context = mp.get_context("spawn")
    queue = context.Queue()
    for device in devices:
        queue.put(device)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(len(devices), mp_context=context, initializer=_take_device,
                             initargs=(queue, threads_per_worker(devices))) as pool:
        futures = {pool.submit(_train_on_worker_device, to_dict(c), str(store.root)): i
                   for i, c in enumerate(configs)}
        for future in tqdm(as_completed(futures), total=len(futures), desc="sweep",
                           disable=not progress):
            index = futures[future]
            summary = _collect(result, configs[index], future.result, store)
            seconds = summary["train_seconds"] if summary else time.perf_counter() - t0
            _tell(on_done, result, index, summary, seconds)
    return result


def _tell(on_done: OnDone | None, result: SweepResult, index: int, summary: dict | None,
          seconds: float) -> None:
    """Tell ``on_done`` of run ``index``: its summary, or the error just noted for it."""
    if on_done is not None:
        error = None if summary is not None else list(result.failed.values())[-1]
        on_done(index, summary, seconds, error)


_WORKER_DEVICE = "auto"


def _take_device(queue: Any, cpu_threads: int) -> None:
    global _WORKER_DEVICE
    _WORKER_DEVICE = queue.get()
    if _WORKER_DEVICE == "cpu":
        import torch

        torch.set_num_threads(cpu_threads)


def _train_on_worker_device(config: dict[str, Any], store_root: str) -> dict[str, Any]:
    return train_one(config, store_root, _WORKER_DEVICE)


def _collect(result: SweepResult, config: RunConfig, call: Any, store: ResultsStore
             ) -> dict | None:
    """Run ``call`` (one run), noting success or failure in ``result``; its value or None."""
    try:
        summary = call()
    except Exception as error:  # train_one noted it in the store; reported, the sweep goes on
        try:
            key = run_id(config)
        except ConfigError as unidentified:  # its data cannot be found or prepared: no id
            result.failed[_label(config)] = str(unidentified)
            return None
        note = store.failure_path(key)
        if not note.exists():  # a task killed before it could note its error (time, memory)
            store.record_failure(config, error)
        result.failed[key] = json.loads(note.read_text())["error"]
        return None
    result.trained.append(summary["run_id"])
    return summary


def _label(config: RunConfig) -> str:
    m = config.model
    members = f" ensemble={m.ensemble}" if m.ensemble > 1 else ""
    return (f"{m.name} K={m.embed_dim} M={m.num_sets}{members} seed={config.seed} "
            f"({config.data.name})")


@dataclass(frozen=True)
class SlurmOptions:
    """What the array job asks for. ``cluster``: None (Slurm where submitit finds ``srun``,
    else submitit's local executor), ``slurm``, or ``local``/``debug`` (submitit's local
    executors, for tests). ``gpus_per_task`` or ``mem_gb`` 0: not asked for."""

    folder: Path
    cluster: str | None = None
    partition: str | None = None
    timeout_min: int = 24 * 60
    gpus_per_task: int = 1
    cpus_per_task: int = 8
    mem_gb: int = 64
    array_parallelism: int = 16
    device: str = "cuda"


def submit_slurm(configs: Sequence[RunConfig], store: ResultsStore,
                 options: SlurmOptions, task: Callable[..., dict] | None = None) -> list[Any]:
    """Submit one array job with a task per run; returns submitit jobs (``.job_id``,
    ``.result()``). Every task writes into ``store``, which must be on a shared file system.
    ``task`` (default :func:`train_one`, same arguments) is what each array task calls."""
    import submitit

    if not configs:
        return []
    executor = submitit.AutoExecutor(folder=str(options.folder), cluster=options.cluster)
    params: dict[str, Any] = {"timeout_min": options.timeout_min,
                              "cpus_per_task": options.cpus_per_task,
                              "slurm_array_parallelism": options.array_parallelism,
                              "name": "embcollapse-sweep"}
    if options.gpus_per_task:            # --gpus-per-node=0 is refused where GPUs are GRES
        params["gpus_per_node"] = options.gpus_per_task
    if options.mem_gb:
        params["mem_gb"] = options.mem_gb
    if options.partition:
        params["slurm_partition"] = options.partition
    executor.update_parameters(**params)
    n = len(configs)
    return executor.map_array(task or train_one, [to_dict(c) for c in configs],
                              [str(store.root.resolve())] * n, [options.device] * n)


class SlurmTaskEnded(RuntimeError):
    """An array task that ended without a result (cancelled, out of time or memory, node
    failure): its process could not note a failure itself."""


def slurm_task_info(job: Any) -> dict[str, str]:
    """A submitted task's Slurm job id (``<array job>_<task>``) and the path of its stderr log."""
    return {"job_id": str(job.job_id), "log": str(job.paths.stderr)}


def _squeue_live(array_ids: Iterable[str]) -> set[str] | None:
    """Task ids (``<job>_<task>``) of ``array_ids`` that Slurm still has pending or running,
    or None when ``squeue`` cannot say (then submitit's own state is used)."""
    import subprocess

    ids = sorted(set(array_ids))
    try:
        done = subprocess.run(["squeue", "-h", "-r", "-o", "%i", "-j", ",".join(ids)],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        # a job Slurm has forgotten (older than MinJobAge) is an error: nothing of it is live
        return set() if "Invalid job id" in done.stderr else None
    return set(done.stdout.split())


def slurm_state(job_id: str) -> str:
    """The state Slurm reports for one task (``sacct``, else ``scontrol show job``, which keeps
    finished jobs for ``MinJobAge`` seconds), e.g. ``CANCELLED``; ``UNKNOWN`` if neither can
    say (``sacct`` needs accounting, which small clusters may lack)."""
    import subprocess

    for argv, parse in (
            (["sacct", "-n", "-X", "-P", "-o", "State", "-j", job_id],
             lambda out: out.split()[0] if out.split() else None),
            (["scontrol", "show", "job", "-o", job_id],
             lambda out: next((w.split("=", 1)[1] for w in out.split()
                               if w.startswith("JobState=")), None))):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        state = parse(done.stdout) if done.returncode == 0 else None
        if state:
            return state
    return "UNKNOWN"


def wait_slurm(jobs: Sequence[Any], configs: Sequence[RunConfig], store: ResultsStore,
               progress: bool = True, poll_s: float = 2.0, grace_s: float = 30.0,
               on_done: OnDone | None = None) -> SweepResult:
    """Wait for submitted tasks and collect what each did. A task is done when its result file
    is there, or when Slurm no longer has it pending or running (``squeue``) and no result
    came within ``grace_s`` seconds (a shared disk can show files late): it ended without a
    result (cancelled, killed for time or memory) and is noted as failed with its Slurm state.
    Every failure names the task's Slurm job id and log file, here and in its failure note.
    ``sacct`` is not needed (submitit's own wait would poll it forever where accounting is
    off); with a local executor, submitit's state is used instead of ``squeue``."""
    result = SweepResult()
    pending = dict(enumerate(zip(jobs, configs)))
    ended_at: dict[int, float] = {}
    slurm = bool(jobs) and type(jobs[0]).__name__.startswith("Slurm")
    bar = tqdm(total=len(pending), desc="sweep (slurm)", disable=not progress)
    t0 = time.perf_counter()
    while pending:
        live = (_squeue_live(str(j.job_id).split("_")[0] for j, _ in pending.values())
                if slurm else None)
        for index, (job, config) in list(pending.items()):
            if job.paths.result_pickle.exists():
                call = job.result
            else:
                gone = (str(job.job_id) not in live) if live is not None else job.done()
                if not gone:
                    ended_at.pop(index, None)
                    continue
                first = ended_at.setdefault(index, time.monotonic())
                if slurm and time.monotonic() - first < grace_s:
                    continue
                call = _ended_without_result(job)
            summary = _collect(result, config, call, store)
            if summary is None:
                _note_slurm_task(store, result, config, job)
            del pending[index]
            bar.update(1)
            _tell(on_done, result, index, summary,
                  summary["train_seconds"] if summary else time.perf_counter() - t0)
        if pending:
            time.sleep(poll_s)
    bar.close()
    return result


def _ended_without_result(job: Any) -> Callable[[], dict]:
    def call() -> dict:
        raise SlurmTaskEnded(f"Slurm task {job.job_id} ended {slurm_state(str(job.job_id))} "
                             f"without a result (cancelled, or killed for time or memory)")
    return call


def _note_slurm_task(store: ResultsStore, result: SweepResult, config: RunConfig,
                     job: Any) -> None:
    """Add the task's Slurm job id and log to its failure: in ``result`` and in its note."""
    info = slurm_task_info(job)
    try:
        key = run_id(config)
    except ConfigError:
        key = _label(config)
    if key in result.failed:
        result.failed[key] += f" [Slurm job {info['job_id']}, log {info['log']}]"
    if store.failure_path(key).exists():
        store.annotate_failure(key, slurm=info)


def check_backend(name: str) -> str:
    if name not in BACKENDS:
        raise ConfigError(f"--backend: unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return name
