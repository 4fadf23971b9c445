#!/usr/bin/env bash
# The GPU check, one script under 8 minutes: benchmarks/throughput.py at real size on CUDA (R18sR18 at width
# 64, 8 frames of 112 px, 2 s of 16 kHz audio; fp32 and bf16; torch.compile off and on; channels_last off and
# on) and every test marked gpu. Figures go to benchmarks/RESULTS.md with the machine.
#
# Usage: benchmarks/gpu_check.sh [--dry-run] [OUT]      (OUT default: gpu-check; PYTHON default: .venv/bin/python,
#        else python3; the package is taken from src/)
#   --dry-run: the part a CPU can check, as the suite does: the benchmark at tiny size on the CPU, and the gpu
#              tests collected (they skip, saying why, without CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
DRY=0
if [ "${1:-}" = "--dry-run" ]; then DRY=1; shift; fi
OUT=${1:-gpu-check}
PY=${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
mkdir -p "$OUT"
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
if [ "$DRY" = 1 ]; then
  "$PY" benchmarks/throughput.py --quick --device cpu --precisions fp32,bf16 --json "$OUT/throughput.json"
  "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py
  exit 0
fi
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here: run with --dry-run')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
timeout 200 "$PY" benchmarks/throughput.py --device cuda --batch 16 --repeats 5 --precisions fp32,bf16 \
  --compile off,on --channels-last off --workers 4 --json "$OUT/throughput.json"
timeout 100 "$PY" benchmarks/throughput.py --device cuda --batch 16 --repeats 5 --precisions fp32,bf16 \
  --compile off --channels-last on --workers 4 --json "$OUT/throughput-channels-last.json"
AVROBUST_DEVICE= timeout 150 "$PY" -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py
