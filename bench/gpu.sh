#!/usr/bin/env bash
# The hub benchmark on a CUDA GPU: full-size bart-large-cnn, twitter-roberta-base and gpt2
# architectures with random weights in float16, served at concurrency 1, 8 and 32 against
# one batched generate() of the same inputs, printed as one table; then the CUDA tests.
# Needs the project installed with a CUDA build of torch (the Docker image has one; `make
# install` pins the CPU wheel). Run from anywhere: bash bench/gpu.sh [extra bench.hub flags]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU here")'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PYTHON" -m bench.hub --size full --device cuda --levels 1 8 32 --max-rows 64 "$@"
"$PYTHON" -m pytest -q -m gpu -p no:cacheprovider tests
