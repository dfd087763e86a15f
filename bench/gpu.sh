#!/usr/bin/env bash
# The hub benchmark on a CUDA GPU: full-size bart-large-cnn, twitter-roberta-base and gpt2
# architectures with random weights in float16, served at concurrency 1, 8 and 32 against
# one batched generate() of the same inputs, printed as one table; then the CUDA tests.
# Run on a machine with a CUDA GPU from the repository root: bash bench/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU here")'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python -m bench.hub --size full --device cuda --levels 1 8 32 --max-rows 64 "$@"
python -m pytest -q -m gpu -p no:cacheprovider tests
