"""The house stands: no import cycles, no torch in the judge, a quiz on its own, a catalog lookup that stands on
the standard library, the exercises named once.

These read the source (ast) or import modules in a fresh interpreter; they grade nothing and run in seconds.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from paths import ROOT

PACKAGES = ("catalog", "vqa", "grader", "quiz")
# what the grep below looks for (not itself a literal list)
EXERCISE_NAMES = "dataset lora train predict".split()
MANIFEST = ROOT / "vqa" / "course.toml"


def module_files() -> dict[str, Path]:
    """{dotted module name: file} for every module of the project's packages (not the checks' test files)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = module_files()


def _target(name: str) -> str | None:
    """The project module an import of ``name`` loads (the longest known prefix), or None for a library."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports(module: str, *, top_level_only: bool) -> set[str]:
    """Project modules ``module`` imports: at module level (also under if/try), or anywhere."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if top_level_only:
        nodes, stack = [], list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            nodes.append(node)
            for field in ("body", "orelse", "finalbody", "handlers"):
                stack.extend(getattr(node, field, []) or [])
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(_target(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(module, path).split(".")
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            for alias in node.names:
                found.add(_target(f"{base}.{alias.name}") or _target(base))
    found.discard(None)
    found.discard(module)
    return found


def test_the_graph_covers_the_packages():
    assert {
        "vqa.course",
        "grader.judge.grade",
        "grader.worker.handle",
        "grader.probes.registry",
        "grader.batch.scheduler",
        "grader.reports.class_report",
        "grader.bundles.build",
        "quiz.cli",
    } <= set(MODULES)


def test_no_import_cycles_at_module_level():
    graph = {m: imports(m, top_level_only=True) for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_probe_registry_imports_no_probe():
    assert not {
        m
        for m in imports("grader.probes.registry", top_level_only=False)
        if m.startswith("grader.probes")
    }


def test_the_worker_side_never_imports_the_judge():
    """The probes and the worker's modules run (or are read) in the worker: what they share with the judge is the
    contract (grader.worker.contract), never the judge's own code; the zygote reaches the probes only inside its
    functions."""
    for module in (m for m in MODULES if m.startswith(("grader.probes", "grader.worker"))):
        wrong = {
            m
            for m in imports(module, top_level_only=False)
            if m.startswith(("grader.judge", "grader.checks"))
        }
        assert not wrong, f"{module} imports {sorted(wrong)}"
        if module.startswith("grader.worker"):
            early = {
                m for m in imports(module, top_level_only=True) if m.startswith("grader.probes")
            }
            assert not early, f"{module} imports {sorted(early)} at module level"


def test_the_contract_stands_on_its_own():
    """Both sides import the contract: it imports nothing of the grader but the protocol's error."""
    assert imports("grader.worker.contract", top_level_only=False) == {"grader.worker.protocol"}


def test_the_quiz_imports_nothing_from_the_kit_or_the_grader():
    for module in (m for m in MODULES if m.split(".")[0] == "quiz"):
        wrong = {
            m for m in imports(module, top_level_only=False) if m.split(".")[0] in ("vqa", "grader")
        }
        assert not wrong, f"{module} imports {sorted(wrong)}"


def test_the_catalog_lookup_imports_nothing_of_the_project():
    """The kit, the grader and the quiz all read their texts through it (catalog/__init__.py)."""
    for module in (m for m in MODULES if m.split(".")[0] == "catalog"):
        assert not imports(module, top_level_only=False), module


def test_the_judge_imports_neither_the_probes_nor_the_quiz():
    for module in (m for m in MODULES if m.startswith("grader.judge")):
        wrong = {
            m
            for m in imports(module, top_level_only=False)
            if m.startswith(("grader.probes", "quiz"))
        }
        assert not wrong, f"{module} imports {sorted(wrong)}"


# every module that runs in the judge, a batch slot or the instructor's commands: none may bring in torch
TORCH_FREE = sorted(
    m
    for m in MODULES
    if m.startswith(
        (
            "grader.judge",
            "grader.worker",
            "grader.batch",
            "grader.reports",
            "grader.bundles",
            "grader.checks",
            "grader.notebook",
            "grader.service",
        )
    )
    or m
    in (
        "catalog",
        "grader",
        "grader.cli",
        "grader.instructor",
        "grader.options",
        "vqa.archive",
        "vqa.course",
        "vqa.files",
        "vqa.impl",
        "vqa.release",
    )
)


@pytest.mark.parametrize("module", TORCH_FREE)
def test_the_judge_side_does_not_import_torch(module):
    code = (
        f"import sys, {module}; "
        "heavy = [m for m in ('torch', 'transformers', 'peft') if m in sys.modules]; "
        "assert not heavy, f'imports {heavy}'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _names_the_exercises(node: ast.AST) -> bool:
    """A tuple, list or set of the four exercise names in order, or a dict keyed by them."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = node.elts
    elif isinstance(node, ast.Dict):
        values = node.keys
    else:
        return False
    names = [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return names == EXERCISE_NAMES


def test_the_exercises_are_listed_in_the_manifest_only():
    assert all(
        f'name = "{name}"' in MANIFEST.read_text(encoding="utf-8") for name in EXERCISE_NAMES
    )
    where = []
    for folder in ("vqa", "grader", "quiz", "tests", "bench", "solutions", "exercises"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" in path.parts or "rewrites" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where += [
                f"{path.relative_to(ROOT)}:{n.lineno}"
                for n in ast.walk(tree)
                if _names_the_exercises(n)
            ]
    assert not where, "the exercise list is written outside vqa/course.toml: " + ", ".join(where)


def test_the_checks_points_add_up_to_the_manifest():
    import importlib

    from vqa import course

    for exercise in course.EXERCISES:
        module = importlib.import_module(f"grader.checks.test_{exercise}")
        total = sum(
            getattr(fn, "points", 0)
            for name, fn in vars(module).items()
            if name.startswith("test_") and not getattr(fn, "cuda", False)
        )
        assert total == course.POINTS[exercise], exercise
