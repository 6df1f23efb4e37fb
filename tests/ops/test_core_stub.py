"""_core.pyi describes the compiled module: the same public names, the same parameters.

A CPU-only build lacks the CUDA entry points; which names those are is read from the
bindings that define them (cpp/cuda/bindings.cpp), so the stub is checked whole either way.
"""

import ast
import re
from pathlib import Path

from facexray_forensics import _core

ROOT = Path(__file__).resolve().parents[2]
STUB = ROOT / "src" / "facexray_forensics" / "_core.pyi"
CUDA_BINDINGS = ROOT / "cpp" / "cuda" / "bindings.cpp"


def stub_definitions() -> dict[str, list[str] | None]:
    """Each top-level name of the stub: a function's parameter names, None for a variable."""
    names = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            names[node.name] = [argument.arg for argument in node.args.args]
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = None
    return names


def cuda_only_names() -> set[str]:
    return set(re.findall(r'module\.(?:def|attr)\("(\w+)"', CUDA_BINDINGS.read_text()))


def bound_parameters(function) -> list[str]:
    """The parameter names of pybind11's signature line, e.g. 'blend(foreground: numpy.ndarray, ...)'."""
    signature = function.__doc__.splitlines()[0]
    definition = ast.parse(f"def {signature}: ...").body[0]
    return [argument.arg for argument in definition.args.args]


def test_the_cuda_names_are_read_from_the_bindings():
    assert {"cuda_blend", "cuda_warp_piecewise_affine", "cuda_max_triangles"} <= cuda_only_names()


def test_the_stub_names_every_public_name_of_the_module_and_no_other():
    module = {name for name in dir(_core) if not name.startswith("_")}
    if not _core.built_with_cuda:
        assert not module & cuda_only_names()
        module |= cuda_only_names()
    assert set(stub_definitions()) == module


def test_the_stub_parameters_are_the_bound_ones():
    for name, parameters in stub_definitions().items():
        if hasattr(_core, name):
            bound = getattr(_core, name)
            expected = None if parameters is None else bound_parameters(bound)
            assert callable(bound) == (parameters is not None), name
            assert parameters == expected, name
