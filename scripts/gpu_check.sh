#!/usr/bin/env bash
# The GPU checks of the CUDA ops and the GPU sampler, in one call on a CUDA machine.
#
#   scripts/gpu_check.sh prepare   here (needs dlib): writes local/gpu_index, 96 astronaut faces
#   scripts/gpu_check.sh           on the GPU machine, with local/gpu_index carried: builds the
#                                  extension with nvcc, runs the CUDA op and GPU sampler tests,
#                                  the benchmarks, then compute-sanitizer memcheck on the op tests
#
# Results go to $OUT (default ./gpu-check-out): build.log, tests.log, bench.json (also named
# after the device, for benchmarks/results/), bench_bi.json, memcheck.log, summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
INDEX=local/gpu_index

if [ "${1:-}" = prepare ]; then
    PYTHON=${PYTHON:-.venv/bin/python}
    exec "$PYTHON" - "$INDEX" <<'PY'
import sys
sys.path.insert(0, "tests/blending")
from conftest import astronaut_variants
from facexray_forensics.data.index import write_index
crops, landmarks = astronaut_variants(96)
write_index(sys.argv[1], crops, landmarks, [f"s{i // 3}" for i in range(len(crops))])
print(f"wrote {sys.argv[1]}: {len(crops)} faces")
PY
fi

OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PYTHON=${PYTHON:-python3}
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
[ -f "$INDEX/manifest.json" ] || { summary "missing $INDEX: run 'scripts/gpu_check.sh prepare' here and carry it"; exit 2; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$OUT/summary.txt"
summary "$(nvcc --version | tail -1); $($PYTHON -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__)')"
$PYTHON -c 'import torchvision; print("torchvision", torchvision.__version__)' 2>&1 | tee -a "$OUT/summary.txt"

# 1. Build: no network there, so no dependency resolution and no build isolation.
started=$SECONDS
CMAKE_BUILD_PARALLEL_LEVEL=16 $PYTHON -m pip install --no-deps --no-build-isolation -v \
    --config-settings=build-dir=build/gpu-check . > "$OUT/build.log" 2>&1
status=$?
summary "build: exit $status in $((SECONDS - started)) s"
[ $status = 0 ] || { tail -40 "$OUT/build.log"; exit 1; }
$PYTHON -c 'from facexray_forensics import _core; from facexray_forensics.ops import cuda; assert _core.built_with_cuda and cuda.cuda_available(), "no CUDA"' \
    || { summary "the extension has no CUDA ops or torch sees no GPU"; exit 1; }

# 2. A bigger pool for the benchmark (the 96 faces tinted into 2048), so gathers leave L2.
$PYTHON - "$INDEX" local/gpu_bench_index <<'PY'
import sys
import numpy as np
from facexray_forensics.data.index import FaceIndex, write_index
index = FaceIndex(sys.argv[1])
rng = np.random.default_rng(0)
copies = 2048 // len(index)
crops = np.concatenate([np.clip(index.crops * rng.uniform(0.8, 1.2, 3), 0, 255).astype(np.uint8)
                        for _ in range(copies)])
names = [index.source_names[s] for s in index.sources]
write_index(sys.argv[2], crops, np.tile(index.landmarks, (copies, 1, 1)),
            [f"{name}-{copy}" for copy in range(copies) for name in names])
PY

# 3. Tests: every CUDA op against its CPU op; the GPU sampler on CPU and CUDA.
FXR_TEST_INDEX=$INDEX timeout 240 $PYTHON -m pytest -q -rs -p no:cacheprovider \
    tests/ops/test_cuda_ops.py tests/blending/test_gpu_sampler.py > "$OUT/tests.log" 2>&1
summary "tests: exit $? ($(tail -1 "$OUT/tests.log"))"

# 4. Benchmarks (device-named JSON for benchmarks/results/), and the DCT JPEG model for comparison.
CLI=("$PYTHON" -c 'import sys; from facexray_forensics.cli import main; sys.exit(main())')
timeout 180 "${CLI[@]}" bench gpu --index local/gpu_bench_index --batch 1024 --json --write "$OUT" \
    > "$OUT/bench.json" 2> "$OUT/bench.err"
summary "bench gpu: exit $? $(grep -E '"(ops|sampler|sampler_dct)_samples_per_s"|"sampler_jpeg"' "$OUT/bench.json" | tr -d ' \n')"
timeout 90 "${CLI[@]}" bench bi --index local/gpu_bench_index --device cuda --batch 1024 --samples 4096 \
    --json > "$OUT/bench_bi.json" 2>> "$OUT/bench.err"
summary "bench bi --device cuda: exit $? $(grep '"samples_per_s"' "$OUT/bench_bi.json" | tr -d ' \n')"

# 5. memcheck on the op tests; torch's caching allocator off so that out-of-bounds accesses
#    into torch-allocated tensors are seen.
PYTORCH_NO_CUDA_MEMORY_CACHING=1 timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 \
    --print-limit 20 $PYTHON -m pytest -q -x -p no:cacheprovider tests/ops/test_cuda_ops.py \
    > "$OUT/memcheck.log" 2>&1
summary "memcheck: exit $? ($(grep -E 'ERROR SUMMARY|passed|failed' "$OUT/memcheck.log" | tr '\n' ' '))"
cat "$OUT/summary.txt"
