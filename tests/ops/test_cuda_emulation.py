"""The CUDA kernels of cpp/cuda, run on the CPU and compared with the CPU ops.

There is no GPU here or in CI, so the kernels' index arithmetic, shared-memory tiling,
reductions, barriers and batch chunking would otherwise go untested until a GPU session.
The kernel sources are compiled unchanged with g++ against a CPU stand-in for the CUDA
runtime (tests/ops/cuda_emulation: each CUDA thread an std::thread, __syncthreads a
barrier), after two textual rewrites g++ needs (the <<<...>>> launch syntax and extern
__shared__ arrays). The driver checks every launcher against its CPU op at 1e-4.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "cuda_emulation"


def rewrite(source: str) -> str:
    """CUDA-only syntax -> calls of the stand-in runtime."""
    source = re.sub(
        r"extern __shared__ (\w+) (\w+)\[\];",
        r"\1* \2 = reinterpret_cast<\1*>(fxr_dynamic_shared_memory.data());",
        source,
    )
    return re.sub(r"(\w+)<<<(.*?)>>>\(", r"fxr_launch(\1, \2, ", source, flags=re.DOTALL)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("needs g++ to compile the kernels for the CPU")
    build = tmp_path_factory.mktemp("cuda_emulation")
    kernels = build / "cuda"
    kernels.mkdir()
    for header in (ROOT / "cpp" / "cuda").glob("*.cuh"):
        shutil.copy(header, kernels / header.name)
    sources = []
    for kernel in sorted((ROOT / "cpp" / "cuda").glob("*.cu")):
        target = kernels / f"{kernel.stem}.cpp"
        target.write_text(rewrite(kernel.read_text()))
        sources.append(target)
    cpu_ops = [path for path in sorted((ROOT / "cpp").glob("*.cpp")) if path.name != "bindings.cpp"]
    sources += cpu_ops + [HERE / "driver.cpp"]
    program = build / "driver"
    command = [compiler, "-std=c++20", "-O1", "-pthread", f"-I{HERE}", f"-I{build}",
               f"-I{ROOT / 'cpp'}", *map(str, sources), "-o", str(program)]
    compiled = subprocess.run(command, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr[-4000:]
    return program


def test_every_cuda_kernel_matches_its_cpu_op_when_emulated(driver):
    run = subprocess.run([str(driver)], capture_output=True, text=True, timeout=600)
    results = dict(line.split() for line in run.stdout.splitlines())
    expected = {"warp_per_sample", "warp_shared_points", "blur_3", "blur_7x5", "blur_31_sigma4",
                "blur_65x1", "blur_large_67x9", "blur_per_sample", "colour_c3_std0_per_sample0",
                "colour_c3_std1_per_sample0", "colour_c6_std1_per_sample0",
                "colour_c3_std0_per_sample1", "blend", "face_xray", "blend_with_xray_image",
                "blend_with_xray_xray", "blend_with_xray_softened"}
    assert set(results) == expected, run.stderr
    worst = {name: float(value) for name, value in results.items()}
    assert all(value <= 1e-4 for value in worst.values()), worst
    assert run.returncode == 0
