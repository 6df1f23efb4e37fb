"""The import graph of facexray_forensics: no cycle between modules, and no stage importing a later one.

The graph is read statically (ast over src/), function-local imports included,
so an import hidden inside a function to dodge a cycle still counts. Imports
under ``if TYPE_CHECKING:`` are left out: they never run, so they neither load
a later stage nor close a cycle. An edge runs from a module to each
facexray_forensics module it names; the parent packages Python runs on the way
are not edges (a package's ``__init__`` importing its own submodules is not a cycle).
"""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"

# The stages, each with its modules (a module belongs to the longest prefix listed) and the
# stages it builds on. A module may import its own stage and everything below it, nothing else.
# Forensic side: evidence -> (metadata, faces) -> model/scoring -> plugins -> scan -> renderers.
# Research side: it builds on the face path and the model, so training sees the crops a scan
# sees: data -> blending -> evaluation sets -> train/evaluation -> model export. The evaluation
# sets live in data/ but come after blending, because they are blended by the BI sampler.
# ops, records and custody are foundations everything may use; the CLI sits on top of both sides.
STAGES = {
    "foundations": (("facexray_forensics", "facexray_forensics._core", "facexray_forensics.ops",
                     "facexray_forensics.records", "facexray_forensics.custody"), ()),
    "evidence": (("facexray_forensics.evidence",), ("foundations",)),
    "metadata and faces": (("facexray_forensics.metadata", "facexray_forensics.faces"), ("evidence",)),
    "model and scoring": (("facexray_forensics.model", "facexray_forensics.scoring"), ("metadata and faces",)),
    "plugins": (("facexray_forensics.plugins",), ("model and scoring",)),
    "scan": (("facexray_forensics.scan",), ("plugins",)),
    "renderers": (("facexray_forensics.renderers",), ("scan",)),
    "data": (("facexray_forensics.data",), ("model and scoring",)),
    "blending": (("facexray_forensics.blending",), ("data",)),
    "evaluation sets": (("facexray_forensics.data.sets",), ("blending",)),
    "train and evaluation": (("facexray_forensics.train", "facexray_forensics.evaluation"), ("evaluation sets",)),
    "model export": (("facexray_forensics.model.export",), ("train and evaluation",)),
    "samples and benchmarks": (("facexray_forensics.samples", "facexray_forensics.bench"),
                               ("renderers", "model export")),
    "cli": (("facexray_forensics.cli",), ("samples and benchmarks",)),
}

# Edges that break the rules today, each (importer, imported module or package, why); both checks
# leave them out. Keep it short: fix one and its entry must go (test_every_exception_is_still_needed).
EXCEPTIONS = (
    ("facexray_forensics.plugins.discovery", "facexray_forensics.plugins",
     "plugins/__init__.py defines Plugin and re-exports discovery last; discovery checks classes against Plugin. "
     "Plugin in a module of its own would end the cycle"),
    ("facexray_forensics.faces.track", "facexray_forensics.scoring.tracks",
     "faces.track joins a video's faces into tracks with scoring's box-overlap assignment, a pure function "
     "that could sit with the faces"),
    ("facexray_forensics.scan.policy", "facexray_forensics.renderers",
     "the output policy maps each requested report format to its renderer; a registry the renderers "
     "join would turn the edge round"),
)


def module_names(root: Path = SOURCE) -> dict[str, Path]:
    """Dotted name -> file of every module under ``root`` (packages by their __init__, the extension by its stub)."""
    names = {}
    for path in sorted(root.rglob("*.py")) + sorted(root.rglob("*.pyi")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names.setdefault(".".join(parts), path)
    return names


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every dotted name an import statement anywhere in ``tree`` names, relative imports resolved
    (``from a import b`` gives ``a.b``, which :func:`import_graph` trims back to a module)."""
    package = module if is_package else module.rpartition(".")[0]
    typing_only = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node.test)
                   for statement in node.body for inner in ast.walk(statement)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # base.name: a submodule if one is called so, else trimmed back to the module that defines name
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph(root: Path = SOURCE, package: str = "facexray_forensics") -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports."""
    modules = module_names(root)
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(ast.parse(path.read_text()), module, path.stem == "__init__"):
            while name and name not in modules:  # `from pkg import function` names pkg
                name = name.rpartition(".")[0]
            if within(name, package) and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def stage_of(module: str, stages: dict = STAGES) -> str | None:
    """The stage whose longest listed prefix holds ``module``; None when no stage does."""
    # The bare package name stands for its __init__ only, so a new top-level module needs a stage.
    matches = [(len(prefix), stage) for stage, (prefixes, _) in stages.items() for prefix in prefixes
               if (within(module, prefix) if "." in prefix else module == prefix)]
    return max(matches)[1] if matches else None


def reachable(stage: str, stages: dict = STAGES) -> set[str]:
    """``stage`` and every stage it builds on, directly or through others."""
    seen, pending = set(), [stage]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending.extend(stages[current][1])
    return seen


def excused(graph: dict[str, set[str]], exceptions=EXCEPTIONS) -> dict[str, set[str]]:
    """``graph`` without the edges that ``exceptions`` name."""
    return {module: {target for target in targets
                     if not any(module == importer and within(target, imported) for importer, imported, _ in exceptions)}
            for module, targets in graph.items()}


def back_edges(graph: dict[str, set[str]], stages: dict = STAGES) -> list[str]:
    """Each import of a stage that the importer's stage does not build on."""
    found = []
    for module, targets in sorted(graph.items()):
        allowed = reachable(stage_of(module, stages), stages)
        for target in sorted(targets):
            if stage_of(target, stages) not in allowed:
                found.append(f"{module} ({stage_of(module, stages)}) imports {target} ({stage_of(target, stages)})")
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_every_module_has_a_stage(graph):
    assert [module for module in graph if stage_of(module) is None] == []


def test_no_import_cycle(graph):
    assert cycles(excused(graph)) == []


def test_no_module_imports_a_later_stage(graph):
    assert back_edges(excused(graph)) == []


def test_every_exception_is_still_needed(graph):
    for importer, imported, why in EXCEPTIONS:
        assert any(within(target, imported) for target in graph.get(importer, ())), f"remove the exception: {why}"


def test_train_and_evaluation_do_not_import_each_other(graph):
    for module, targets in graph.items():
        for one, other in (("train", "evaluation"), ("evaluation", "train")):
            if within(module, f"facexray_forensics.{one}"):
                assert not any(within(t, f"facexray_forensics.{other}") for t in targets), (module, targets)


# The checks themselves, on tiny graphs whose answer is known.

TOY_STAGES = {
    "low": (("pkg.low",), ()),
    "high": (("pkg.high",), ("low",)),
}


def test_a_planted_cycle_is_found():
    graph = {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.c"}, "pkg.c": {"pkg.a"}, "pkg.d": {"pkg.a"}}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": set()}) == []


def test_a_planted_back_edge_is_found_and_an_exception_excuses_it():
    graph = {"pkg.high.top": {"pkg.low.base"}, "pkg.low.base": {"pkg.high.top"}}
    assert back_edges(graph, TOY_STAGES) == ["pkg.low.base (low) imports pkg.high.top (high)"]
    assert back_edges(excused(graph, (("pkg.low.base", "pkg.high", "why"),)), TOY_STAGES) == []
    assert stage_of("pkg.elsewhere", {**TOY_STAGES, "root": (("pkg",), ())}) is None


def test_function_local_relative_and_from_imports_are_edges(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import leaf\n")
    (package / "sub" / "leaf.py").write_text("def f():\n    from ..other import g\n")
    (package / "other.py").write_text("import pkg.sub.leaf as alias\nfrom pkg import sub\n"
                                      "if TYPE_CHECKING:\n    import pkg\n")
    assert import_graph(tmp_path, "pkg") == {"pkg": set(), "pkg.sub": {"pkg.sub.leaf"}, "pkg.sub.leaf": {"pkg.other"},
                     "pkg.other": {"pkg.sub.leaf", "pkg.sub"}}

