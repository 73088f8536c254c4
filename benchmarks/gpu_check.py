"""The GPU check: what a session lent a GPU runs once, in under 8 minutes, to record figures.

Parts, in order, each written to ``<out>/gpu_check.json`` as soon as it ends (a part that
would not fit the time left is skipped and says so):

1. ``environment``: torch, CUDA, the card, its memory.
2. ``batched_vs_loop``: every registered model (``models.MODELS``) with 3 embedding sets in
   float64 on the device against its per-set loop reference (``models.reference``) on the same
   device, outputs and gradients, and against the same model on the CPU; then DCNv2 ME 10x at
   the paper's widths on Criteo's field sizes in float32 (TF32 off), batched against the loop.
3. ``paper_steps``: one training step (Adam as ``train.fit``, BCE on logits, batch 2048) of every
   architecture of the ``paper`` profile at its largest size, single and multi-embedding, on
   Criteo's field sizes: step seconds (median of 3 after a warm-up), peak GPU memory against
   ``capacity.estimate``.
4. ``train_step``: ``benchmarks/train_step.py --device cuda`` (its JSON beside this one); the
   batched ME 10x / loop ratio decides the ">= 5x on GPU" target.
5. ``table1_profile``: every distinct model of the ``table1-gpu`` profile (Table 1 at Criteo's
   row count, README) on batches of that profile's data (ids drawn with its value frequencies,
   labels at random: a timing): step and evaluation seconds, projected to an epoch of its
   36.7M training rows and to the whole profile's GPU-hours at an assumed number of epochs.
6. ``criteo_epoch``: one epoch of DCNv2 K=10 over 36.7M synthetic rows of Criteo's field
   sizes (the 8/10 training split of its 45.8M rows; ids drawn on the device, skewed toward
   small ids, labels at random), batch 2048, shuffled as ``BatchLoader`` does, then a
   validation pass over 4.6M rows; stopped early and projected when the time left is short.

``--dry`` runs every part on the CPU at tiny sizes (field sizes divided by 10,000, small
widths, the smallest size of each architecture, 20k epoch rows, ``train_step.py`` with one
case and one step, ``table1-gpu``'s 1x models only): the test of this script. Its figures
mean nothing.

Usage::

    benchmarks/gpu_check.sh OUT_DIR                  # the same, with a hard time limit
    python benchmarks/gpu_check.py --out OUT_DIR [--budget-s 420] [--device cuda:0]
    python benchmarks/gpu_check.py --dry --out /tmp/gpu-dry
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

import embcollapse  # noqa: F401  (first: sets OpenMP settings before torch loads them)
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import machine  # noqa: E402

from embcollapse.data.synthetic import CRITEO_CARDINALITIES  # noqa: E402
from embcollapse.models import MODELS, LoopReference, build_model, hyper_parameters  # noqa: E402

CRITEO_ROWS = 45_840_617
TABLE1_EPOCHS = 5         # table1_profile's projection: best epoch 2 + patience 3 (a hypothesis)
SMALL = {"dnn": {"mlp_dims": (16, 8)}, "ipnn": {"mlp_dims": (16, 8)},
         "nfwfm": {"mlp_dims": (16, 8)}, "xdeepfm": {"mlp_dims": (16, 8), "cin_layers": (4, 4)},
         "dcnv2": {"mlp_dims": (16, 8), "cross_layers": 2}, "finalmlp": {"mlp_dims": (16, 8)},
         "finalmlp-gated": {"mlp_dims": (16, 8), "feature_selection_hidden": 6},
         "autoint": {"attention_layers": 2, "heads": 2, "head_dim": 3, "mlp_dims": (8,)},
         "fm": {}, "fwfm": {}, "ffm": {}}


class Check:
    """Runs the parts against one deadline and writes the JSON after each."""

    def __init__(self, out: Path, device: torch.device, dry: bool, budget_s: float) -> None:
        self.out, self.device, self.dry = out, device, dry
        self.start = time.perf_counter()
        self.deadline = self.start + budget_s
        self.report: dict[str, Any] = {"dry": dry, "device": str(device), "budget_s": budget_s,
                                       "parts": {}}
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def part(self, name: str, needs_s: float, fn: Callable[[], dict]) -> None:
        t0 = time.perf_counter()
        if self.left() < needs_s:
            entry = {"status": "skipped", "why": f"{self.left():.0f} s left, needs ~{needs_s:.0f}"}
        else:
            try:
                entry = {"status": "done", **fn()}
            except Exception as err:          # a part that fails is recorded; the others run
                entry = {"status": "error", "error": f"{type(err).__name__}: {err}",
                         "traceback": traceback.format_exc()}
        entry["seconds"] = round(time.perf_counter() - t0, 2)
        self.report["parts"][name] = entry
        ok = entry["status"] == "done" and entry.get("ok", True)
        print(f"[gpu-check] {name}: {entry['status']}{'' if ok else ' (NOT OK)'} "
              f"in {entry['seconds']:.1f} s; {self.left():.0f} s left", flush=True)
        self.write()
        self.free()

    def free(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def write(self) -> Path:
        self.report["elapsed_s"] = round(time.perf_counter() - self.start, 2)
        path = self.out / "gpu_check.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.report, indent=1, default=str))
        tmp.replace(path)
        return path

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    # ------------------------------------------------------------------ parts
    def environment(self) -> dict:
        info = {"machine": machine(), "torch": torch.__version__,
                "cuda_available": torch.cuda.is_available(), "cuda": torch.version.cuda}
        if self.device.type == "cuda":
            props = torch.cuda.get_device_properties(self.device)
            info.update(card=props.name, memory_gib=round(props.total_memory / 2**30, 1),
                        capability=f"{props.major}.{props.minor}",
                        multiprocessors=props.multi_processor_count)
        return info

    def batched_vs_loop(self) -> dict:
        dims = (3, 5, 7, 11)
        rows, ok = [], True
        for name in MODELS:
            torch.manual_seed(0)
            hyper = dict(SMALL.get(name, SMALL.get(name.split("-")[0], {})))
            if "dropout" in hyper_parameters(name):
                hyper["dropout"] = 0.0
            model = build_model(name, dims, embed_dim=4, num_sets=3, **hyper).double()
            cpu_model = build_model(name, dims, embed_dim=4, num_sets=3, **hyper).double()
            cpu_model.load_state_dict(model.state_dict())
            model = model.to(self.device)
            reference = LoopReference(model)
            gen = torch.Generator().manual_seed(1)
            x = torch.stack([torch.randint(0, d, (48,), generator=gen) for d in dims], 1)
            weight = torch.randn(48, generator=gen, dtype=torch.float64)
            out, ref = model(x.to(self.device)), reference(x.to(self.device))
            (out * weight.to(self.device)).sum().backward()
            (ref * weight.to(self.device)).sum().backward()
            grad_diff = max(float((p.grad - g).abs().max())
                            for p, g in reference.batched_gradients())
            cpu_out = cpu_model(x)
            out, ref = out.detach(), ref.detach()
            row = {"model": name, "output_vs_loop": float((out - ref).abs().max()),
                   "gradient_vs_loop": grad_diff,
                   "output_vs_cpu": float((out.detach().cpu() - cpu_out.detach()).abs().max())}
            row["ok"] = all(v < 1e-9 for k, v in row.items() if k != "model")
            ok &= row["ok"]
            rows.append(row)
            del model, reference, cpu_model
        paper = self.paper_width_me()
        return {"ok": ok and paper["ok"], "tolerance_float64": 1e-9, "models": rows,
                "dcnv2_me_10x_float32": paper}

    def paper_width_me(self) -> dict:
        """DCNv2 ME 10x (K=10, M=10, 4 cross layers, MLP 400) batched vs loop in float32."""
        dims = self.field_dims()
        matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            torch.manual_seed(0)
            model = build_model("dcnv2", dims, embed_dim=10, num_sets=10, dropout=0.0,
                                **({"mlp_dims": (16, 8)} if self.dry else {})).to(self.device)
            reference = LoopReference(model)
            gen = torch.Generator().manual_seed(2)
            x = torch.stack([torch.randint(0, d, (2048,), generator=gen) for d in dims],
                            1).to(self.device)
            with torch.no_grad():
                out, ref = model(x), reference(x)
            scale = float(ref.abs().max())
            diff = float((out - ref).abs().max())
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
        return {"max_abs_diff": diff, "max_abs_output": scale,
                "ok": diff <= 1e-4 * max(1.0, scale)}

    def paper_steps(self) -> dict:
        from embcollapse.capacity import distinct_models, estimate, model_label
        from embcollapse.config import load_profile
        from embcollapse.models import model_from_config
        from embcollapse.sweep import plan
        from embcollapse.train import loss_function, make_optimizer

        configs = distinct_models(plan(load_profile("paper")))
        groups: dict[tuple, list] = {}
        for c in configs:
            key = (c.model.name, c.model.num_sets > 1, sorted(dict(c.model.hyper)))
            groups.setdefault(str(key), []).append(c)
        size = (lambda c: c.model.embed_dim * c.model.num_sets)
        chosen = [(min if self.dry else max)(g, key=size) for g in groups.values()]
        dims = self.field_dims()
        batch = 64 if self.dry else 2048
        rows, ok = [], True
        for config in chosen:
            if self.left() < (5 if self.dry else 20):
                rows.append({"model": model_label(config), "status": "skipped: time"})
                continue
            t_build = time.perf_counter()
            row: dict[str, Any] = {"model": model_label(config)}
            try:
                if self.device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(self.device)
                model = model_from_config(config.model, dims).to(self.device)
                optimizer = make_optimizer(model, config.train.lr, config.train.weight_decay)
                loss_fn = loss_function(config.train.loss)
                gen = torch.Generator().manual_seed(0)
                x = torch.stack([torch.randint(0, d, (batch,), generator=gen) for d in dims],
                                1).to(self.device)
                y = torch.randint(0, 2, (batch,), generator=gen).float().to(self.device)
                row["build_seconds"] = round(time.perf_counter() - t_build, 2)
                times, losses = [], []
                for step in range(4):
                    self.sync()
                    t0 = time.perf_counter()
                    optimizer.zero_grad(set_to_none=True)
                    loss = loss_fn(model(x), y)
                    penalty = model.regularization() if hasattr(model, "regularization") else 0
                    (loss + penalty).backward()
                    optimizer.step()
                    self.sync()
                    times.append(time.perf_counter() - t0)
                    losses.append(float(loss.detach()))
                est = estimate(config, dims)
                row.update(parameters=est.parameters, first_loss=losses[0],
                           step_seconds=statistics.median(times[1:]),
                           samples_per_second=batch / statistics.median(times[1:]),
                           estimated_peak_gib=round(est.peak_bytes / 2**30, 3))
                if self.device.type == "cuda":
                    row["peak_gib"] = round(torch.cuda.max_memory_allocated(self.device)
                                            / 2**30, 3)
                row["ok"] = all(map(lambda v: v == v and abs(v) < 1e6, losses))
            except Exception as err:
                row.update(ok=False, error=f"{type(err).__name__}: {err}")
            ok &= row.get("ok", False)
            rows.append(row)
            model = optimizer = None
            self.free()
        return {"ok": ok, "batch_size": batch, "field_dims": "criteo" if not self.dry else
                "criteo / 10000", "models": rows}

    def train_step(self) -> dict:
        argv = [sys.executable, str(HERE / "train_step.py"), "--out-dir", str(self.out)]
        if self.dry:
            argv += ["--device", "cpu", "--cases", "dnn-se-1x", "--steps", "1", "--warmup", "0",
                     "--batch-size", "256", "--threads", "1"]
        else:
            argv += ["--device", str(self.device)]
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=max(30, self.left() - 5))
        if done.returncode != 0:
            raise RuntimeError(f"train_step.py exited {done.returncode}: {done.stderr[-2000:]}")
        result = json.loads((self.out / "train_step.json").read_text())
        ratio = next((c["speedup"] for c in result.get("comparisons", [])
                      if c["comparison"].startswith("batched ME 10x")
                      and c["device"].startswith("cuda")), None)
        return {"rows": result["rows"], "comparisons": result.get("comparisons", []),
                "batched_me_10x_vs_loop_on_gpu": ratio,
                "target_5x": (None if ratio is None else "met" if ratio >= 5 else "missed"),
                "stdout_tail": done.stdout[-1500:]}

    def criteo_epoch(self) -> dict:
        from embcollapse.metrics import auc
        from embcollapse.train import loss_function, make_optimizer

        dims = self.field_dims()
        train_rows = 20_000 if self.dry else CRITEO_ROWS * 8 // 10
        valid_rows = 2_000 if self.dry else CRITEO_ROWS // 10
        batch, eval_batch = (512, 4096) if self.dry else (2048, 16384)
        torch.manual_seed(0)
        t0 = time.perf_counter()
        gen = torch.Generator(device=self.device).manual_seed(0)

        def rows(n: int) -> torch.Tensor:
            cols = [(torch.rand(n, generator=gen, device=self.device) ** 3 * d).long()
                    .clamp_(max=d - 1).to(torch.int32) for d in dims]   # skewed to small ids
            return torch.stack(cols, 1)

        x_train, x_valid = rows(train_rows), rows(valid_rows)
        y_train = (torch.rand(train_rows, generator=gen, device=self.device) < 0.25).float()
        y_valid = (torch.rand(valid_rows, generator=gen, device=self.device) < 0.25).float()
        self.sync()
        data_seconds = time.perf_counter() - t0
        model = build_model("dcnv2", dims, embed_dim=10,
                            **({"mlp_dims": (16, 8)} if self.dry else {})).to(self.device)
        optimizer = make_optimizer(model, 1e-3, 1e-6)
        loss_fn = loss_function("bce-logits")
        order = torch.randperm(train_rows, device=self.device)
        steps = -(-train_rows // batch)
        stop_at = self.deadline - (10 if self.dry else 40)     # room for validation and JSON
        model.train()
        t0 = time.perf_counter()
        done = 0
        for step in range(steps):
            index = order[step * batch:(step + 1) * batch]
            ids, labels = x_train.index_select(0, index).long(), y_train.index_select(0, index)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(ids), labels).backward()
            optimizer.step()
            done += 1
            if step % 500 == 499 and time.perf_counter() > stop_at:
                break
        self.sync()
        train_seconds = time.perf_counter() - t0
        model.eval()
        t0 = time.perf_counter()
        with torch.inference_mode():
            probs = torch.cat([torch.sigmoid(model(x_valid[i:i + eval_batch].long()))
                               for i in range(0, valid_rows, eval_batch)])
        self.sync()
        eval_seconds = time.perf_counter() - t0
        valid_auc = auc(y_valid.cpu().numpy(), probs.double().cpu().numpy())
        full = done == steps
        return {"train_rows": train_rows, "valid_rows": valid_rows, "batch_size": batch,
                "steps_done": done, "steps_per_epoch": steps, "complete": full,
                "data_seconds": round(data_seconds, 2), "train_seconds": round(train_seconds, 2),
                "epoch_seconds_projected": round(train_seconds * steps / max(done, 1), 1),
                "samples_per_second": round(done * batch / max(train_seconds, 1e-9)),
                "valid_seconds": round(eval_seconds, 2), "valid_auc_random_labels": valid_auc,
                "ok": bool(valid_auc == valid_auc)}

    def table1_profile(self) -> dict:
        """Time ``table1-gpu``'s models on its data and project the profile's GPU-hours."""
        import dataclasses

        import numpy as np

        from embcollapse.capacity import distinct_models, model_label
        from embcollapse.config import load_profile
        from embcollapse.data.splits import SPLIT_FRACTIONS
        from embcollapse.data.synthetic import make_teacher
        from embcollapse.models.sizes import size_preset
        from embcollapse.sweep import plan
        from embcollapse.train import build_run_model, loss_function, make_optimizer

        profile = load_profile("table1-gpu")
        runs = plan(profile, ["multi_embedding"])
        models = [c for c in distinct_models(runs) if not self.dry or
                  (c.model.embed_dim, c.model.num_sets) == size_preset(c.model.name, 1)]
        dims = self.field_dims()
        data, tc = profile.data, profile.train
        teacher = make_teacher(dims, dataclasses.replace(data.teacher, rank=1), data.zipf,
                               data.seed)      # ids only: the value frequencies need no rank
        n = 8_192 if self.dry else 262_144
        ids = torch.from_numpy(teacher.sample_ids(np.random.default_rng(0), n)).to(self.device)
        labels = (torch.rand(n, device=self.device) < 0.25).float()
        batch = 256 if self.dry else tc.batch_size
        train_rows = int(round(data.rows * SPLIT_FRACTIONS[0]))         # as split_indices
        valid_rows = data.valid_rows or int(round(data.rows * SPLIT_FRACTIONS[1]))
        epochs = TABLE1_EPOCHS
        rows, cost = [], {}
        for config in models:
            if self.left() < (5 if self.dry else 90):   # room for criteo_epoch after it
                rows.append({"model": model_label(config), "status": "skipped: time"})
                continue
            torch.manual_seed(0)
            model = build_run_model(config.model, tc, dims).to(self.device)
            optimizer = make_optimizer(model, tc.lr, tc.weight_decay)
            loss_fn = loss_function(tc.loss)
            model.train()
            times = []
            for step in range(3 if self.dry else 12):
                index = torch.randint(0, n, (batch,), device=self.device)
                self.sync()
                t0 = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                loss_fn(model(ids[index].long()), labels[index]).backward()
                optimizer.step()
                self.sync()
                times.append(time.perf_counter() - t0)
            model.eval()
            self.sync()
            t0 = time.perf_counter()
            with torch.inference_mode():
                for i in range(0, n, tc.eval_batch_size):
                    model(ids[i:i + tc.eval_batch_size].long())
            self.sync()
            eval_per_row = (time.perf_counter() - t0) / n
            step = statistics.median(times[2:])
            epoch = -(-train_rows // tc.batch_size) * step + valid_rows * eval_per_row
            run = epochs * epoch + data.test_rows * eval_per_row
            cost[model_label(config)] = run
            rows.append({"model": model_label(config), "step_seconds": step,
                         "eval_rows_per_second": round(1 / eval_per_row),
                         "epoch_seconds_projected": round(epoch, 1),
                         "run_hours_projected": round(run / 3600, 3)})
            model = optimizer = None
            self.free()
            print(f"[gpu-check] table1-gpu {rows[-1]['model']}: {step * 1e3:.1f} ms/step, "
                  f"epoch ~{epoch:.0f} s", flush=True)
        timed = [model_label(c) for c in runs if model_label(c) in cost]
        hours = sum(cost[m] for m in timed) / 3600
        print(f"[gpu-check] table1-gpu: {len(timed)} of {len(runs)} runs timed, "
              f"{hours:.1f} GPU-hours at {epochs} epochs each", flush=True)
        return {"profile": "table1-gpu", "runs": len(runs), "runs_timed": len(timed),
                "epochs_assumed": epochs, "train_rows": train_rows, "valid_rows": valid_rows,
                "test_rows": data.test_rows, "batch_size": batch, "models": rows,
                "gpu_hours_projected": round(hours, 2), "ok": bool(cost)}

    def field_dims(self) -> tuple[int, ...]:
        if self.dry:
            return tuple(max(2, d // 10_000) for d in CRITEO_CARDINALITIES)
        return tuple(CRITEO_CARDINALITIES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of the JSON results")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dry", action="store_true", help="CPU, tiny sizes (the test)")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="seconds for all parts (default 420: 7 minutes)")
    args = parser.parse_args(argv)
    device = torch.device("cpu" if args.dry else args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("[gpu-check] no CUDA device here; --dry runs the check on the CPU at tiny sizes",
              file=sys.stderr)
        return 2
    if args.dry:
        torch.set_num_threads(1)
    check = Check(args.out, device, args.dry, args.budget_s)
    check.part("environment", 0, check.environment)
    check.part("batched_vs_loop", 10 if args.dry else 30, check.batched_vs_loop)
    check.part("paper_steps", 10 if args.dry else 60, check.paper_steps)
    check.part("train_step", 10 if args.dry else 90, check.train_step)
    check.part("table1_profile", 10 if args.dry else 60, check.table1_profile)
    check.part("criteo_epoch", 10 if args.dry else 60, check.criteo_epoch)
    path = check.write()
    parts = check.report["parts"]
    bad = [n for n, p in parts.items() if p["status"] == "error" or not p.get("ok", True)]
    target = parts.get("train_step", {}).get("target_5x")
    print(f"[gpu-check] wrote {path} in {check.report['elapsed_s']:.0f} s; "
          f"batched ME 10x >= 5x the loop on GPU: {target or 'not measured'}"
          + (f"; NOT OK: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
