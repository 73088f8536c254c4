#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py) with a hard limit of 8 minutes: results as JSON in
# OUT_DIR (gpu_check.json, train_step.json). Runs from any checkout with no install: the
# package is read from src/. Python: $PYTHON, else .venv/bin/python, else python3 (on the lent
# H200 machines the image's python3 holds torch and every package this check imports).
#   benchmarks/gpu_check.sh OUT_DIR [extra gpu_check.py options, e.g. --dry]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: benchmarks/gpu_check.sh OUT_DIR [gpu_check.py options]}"
shift
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
exec timeout --kill-after=10 480 "$py" benchmarks/gpu_check.py --out "$out" --budget-s 420 "$@"
