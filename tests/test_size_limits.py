"""No file in src/ over 500 lines and no function over 80, except those ARCHITECTURE.md lists with a reason.

The exceptions are read from ARCHITECTURE.md's "Size exceptions" section, one
bullet each: `` `path` `` for a file, `` `path::function` `` for a function
(``Class.method`` for a method). A listed exception that is back within the
limit fails too, so the list stays true.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "facexray_forensics"
FILE_LINES, FUNCTION_LINES = 500, 80


def over_limit_files(package: Path, root: Path = ROOT) -> dict[str, int]:
    counts = {path: len(path.read_text().splitlines()) for path in package.rglob("*.py")}
    return {str(path.relative_to(root)): count for path, count in counts.items() if count > FILE_LINES}


def over_limit_functions(package: Path, root: Path = ROOT) -> dict[str, int]:
    found = {}
    for path in package.rglob("*.py"):
        for owner, node in _functions(ast.parse(path.read_text())):
            length = node.end_lineno - node.lineno + 1
            if length > FUNCTION_LINES:
                found[f"{path.relative_to(root)}::{owner}{node.name}"] = length
    return found


def _functions(tree: ast.AST, owner: str = ""):
    """(qualifying prefix, node) of every function, methods named after their class."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield owner, node
            yield from _functions(node, f"{owner}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{owner}{node.name}.")


def listed_exceptions(architecture: str) -> set[str]:
    section = architecture.split("## Size exceptions", 1)[1].split("\n## ", 1)[0]
    return {match.group(1) for match in re.finditer(r"^- `([^`]+)`", section, re.MULTILINE)}


def test_files_and_functions_are_within_the_limits_or_listed_with_a_reason():
    listed = listed_exceptions((ROOT / "ARCHITECTURE.md").read_text())
    over = {**over_limit_files(PACKAGE), **over_limit_functions(PACKAGE)}
    assert set(over) - listed == set(), f"over {FILE_LINES} lines a file or {FUNCTION_LINES} a function, not listed"
    assert listed - set(over) == set(), "listed in ARCHITECTURE.md but within the limits now: drop them"


def test_the_checks_see_long_files_long_methods_and_the_listed_ones(tmp_path):
    body = "\n".join(f"        x{index} = {index}" for index in range(FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"class Holder:\n    def method(self):\n{body}\n" + "\n" * FILE_LINES)
    (tmp_path / "short.py").write_text("def short():\n    return 1\n")
    assert set(over_limit_files(tmp_path, tmp_path)) == {"long.py"}
    assert set(over_limit_functions(tmp_path, tmp_path)) == {"long.py::Holder.method"}
    architecture = "## Size exceptions\n- `a.py` (600 lines): why\n- `b.py::f`: why\n## Next\n- `c.py`"
    assert listed_exceptions(architecture) == {"a.py", "b.py::f"}
