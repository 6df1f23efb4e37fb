#!/usr/bin/env bash
# One short device run for the model/training code (about 4-6 minutes on an H100/H200):
# the timm key-layout test, the training throughput in four settings, and a resumed loop.
# Writes JSON under ${OUT:-benchmarks/results}. Usage: bash training/device_check.sh
set -uo pipefail
out=${OUT:-benchmarks/results}
mkdir -p "$out"
python=${PYTHON:-.venv/bin/python}
fxr=${FXR:-.venv/bin/fxr-forensic}
name=$($python -c "import torch; print(torch.cuda.get_device_name(0).replace(' ', '_'))")

# timm's hrnet_w18/w48 state dicts against ours (skips if timm is missing).
$python -m pytest tests/model/test_hrnet.py -q -k timm -rs 2>&1 | tail -3

bench() {  # $1: label, rest: options
    local label=$1; shift
    timeout 240 $fxr bench train --config training/configs/paper_w18.toml --no-anchor --steps 30 --warmup 5 --json "$@" \
        > "$out/train_${name}_${label}.json" && cat "$out/train_${name}_${label}.json" \
        || echo "bench $label failed or timed out"
}
bench eager_fp32 --no-bf16 --no-channels-last
bench eager_bf16_channels_last
bench compile_bf16 --compile
bench compile_cudagraphs_bf16 --compile --compile-mode reduce-overhead

# The loop itself: two chunks, the second resuming the first.
rm -rf runs/smoke_gpu
$fxr model train training/configs/smoke_gpu.toml --max-steps 30 --quiet
$fxr model train training/configs/smoke_gpu.toml --max-steps 30 --quiet
