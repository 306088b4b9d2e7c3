"""The layout's rules, checked by reading evctl/ with `ast` (nothing is imported):

1. core is pure: evctl/core never imports evctl.cli, evctl.output, evctl.render, typer or rich — anywhere in the
   file, inside functions and TYPE_CHECKING blocks included.
2. CLI command modules are siblings that do not know each other: a command module (evctl/cli/*.py other than the
   shared helper modules) never imports another command module.
3. core has no import cycle between its modules. The graph has an edge for every `evctl.core` import (top level,
   TYPE_CHECKING or inside a function); `from pkg import name` imports pkg/__init__ and pkg/name when that is a
   module, and importing a.b.c runs the __init__ of each package on the way (except the importer's own packages).
4. core's imports of evctl are at the top of the file: no `from evctl...` (or relative) import inside a function.

Each failure names the file, the line and the rule. The self-tests at the end feed each rule a small tree that
breaks it, so none of the checks can pass by looking at nothing.
"""

from __future__ import annotations

import ast
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE_FORBIDDEN = ("evctl.cli", "evctl.output", "evctl.render", "typer", "rich")
CLI_HELPERS = {"__init__", "main", "context", "options", "moving", "stopping", "common"}


@dataclass(frozen=True)
class Import:
    """One imported module, as Python would load it, with where the import statement is."""

    source: str  # the importing module's dotted name
    path: str  # its file, relative to the root
    target: str  # a dotted module name (an evctl module, or a third-party top-level name)
    line: int
    in_function: bool
    statement: str  # the import as written, for messages


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def modules(root: Path, package: str = "evctl") -> dict[str, Path]:
    """Every module and package of `package` under root, by dotted name (not to be changed by callers)."""
    return {module_name(root, path): path for path in sorted((root / package).rglob("*.py"))}


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


class _ImportCollector(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[ast.Import | ast.ImportFrom, bool]] = []
        self._depth = 0

    def _function(self, node: ast.AST) -> None:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        self.found.append((node, self._depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.found.append((node, self._depth > 0))


@functools.cache
def imports(root: Path, name: str) -> tuple[Import, ...]:
    """The modules `name` imports, resolved: relative imports made absolute, `from pkg import mod` → pkg and
    pkg.mod, `import a.b.c` → a.b.c."""
    return tuple(_imports(root, modules(root), name))


def _imports(root: Path, known: dict[str, Path], name: str) -> Iterator[Import]:
    path = known[name]
    rel = str(path.relative_to(root))
    package = name if _is_package(path) else name.rpartition(".")[0]
    collector = _ImportCollector()
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
    for node, in_function in collector.found:
        written = ast.unparse(node)
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [base]
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    targets.append(f"{base}.{alias.name}")
        for target in targets:
            yield Import(name, rel, target, node.lineno, in_function, written)


def _within(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


# --- the rules: each returns its violations as "file:line: rule — detail" lines ---------------------------------


def _in_order(found: list[str]) -> list[str]:
    """Without duplicates, by file, then line number."""

    def key(violation: str) -> tuple[str, int]:
        path, line, _ = violation.split(":", 2)
        return path, int(line)

    return sorted(set(found), key=key)


def core_purity_violations(root: Path) -> list[str]:
    known = modules(root)
    found = []
    for name in known:
        if not _within(name, "evctl.core"):
            continue
        for imp in imports(root, name):
            for forbidden in CORE_FORBIDDEN:
                if _within(imp.target, forbidden):
                    found.append(
                        f"{imp.path}:{imp.line}: core imports {forbidden} (`{imp.statement}`) — rule: core never "
                        "imports evctl.cli, evctl.output, evctl.render, typer or rich; return data, render in the CLI"
                    )
    return _in_order(found)


def cli_sibling_violations(root: Path) -> list[str]:
    commands = {
        f"evctl.cli.{path.stem}" for path in (root / "evctl" / "cli").glob("*.py") if path.stem not in CLI_HELPERS
    }
    found = []
    for name in sorted(commands):
        for imp in imports(root, name):
            other = next((c for c in commands if c != name and _within(imp.target, c)), None)
            if other:
                found.append(
                    f"{imp.path}:{imp.line}: command module {name} imports command module {other} "
                    f"(`{imp.statement}`) — rule: no CLI command module imports another; shared CLI code lives in "
                    f"evctl/cli/{{{', '.join(sorted(CLI_HELPERS - {'__init__', 'main'}))}}}.py"
                )
    return _in_order(found)


def core_graph(root: Path) -> dict[str, dict[str, Import]]:
    """module → {imported core module → the first import that loads it}."""
    known = modules(root)
    graph: dict[str, dict[str, Import]] = {}
    for name in known:
        if not _within(name, "evctl.core"):
            continue
        edges = graph.setdefault(name, {})
        own = set(_ancestors(name)) | ({name} if _is_package(known[name]) else set())
        for imp in imports(root, name):
            if not _within(imp.target, "evctl.core"):
                continue
            # Loading a.b.c runs a/__init__ and a/b/__init__ first; the importer's own packages are already loading.
            for loaded in [*_ancestors(imp.target), imp.target]:
                if _within(loaded, "evctl.core") and loaded in known and loaded not in own and loaded != name:
                    edges.setdefault(loaded, imp)
    return graph


def _cycles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """One cycle (as a closed path of modules) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan; the core graph is small enough for recursion
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)

    cycles = []
    for component in sorted(components):
        members = set(component)
        start = component[0]
        # shortest path back to start inside the component (breadth first)
        previous: dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            following = []
            for node in frontier:
                for nxt in sorted(graph.get(node, {})):
                    if nxt not in members:
                        continue
                    if nxt == start:
                        found = node
                        break
                    if nxt not in previous:
                        previous[nxt] = node
                        following.append(nxt)
                if found is not None:
                    break
            frontier = following
        assert found is not None
        path = [found]
        while path[-1] != start:
            path.append(previous[path[-1]])
        cycles.append([*reversed(path), start])
    return cycles


def core_cycle_violations(root: Path) -> list[str]:
    graph = core_graph(root)
    found = []
    for cycle in _cycles(graph):
        steps = []
        for here, there in itertools.pairwise(cycle):
            imp = graph[here][there]
            steps.append(f"{imp.path}:{imp.line} `{imp.statement}` (loads {there})")
        found.append(
            f"{steps[0].split(' ', 1)[0]}: import cycle in core: {' → '.join(cycle)} — rule: core has no import "
            "cycles; move the shared part into a leaf module. Edges: " + "; ".join(steps)
        )
    return found


def core_function_import_violations(root: Path) -> list[str]:
    known = modules(root)
    found = []
    for name in known:
        if not _within(name, "evctl.core"):
            continue
        for imp in imports(root, name):
            if imp.in_function and _within(imp.target, "evctl"):
                found.append(
                    f"{imp.path}:{imp.line}: `{imp.statement}` inside a function — rule: core imports evctl at the "
                    "top of the file (only heavy third-party modules such as boto3, botocore, moto and "
                    "jmespath may be imported lazily)"
                )
    return _in_order(found)


# --- the tests on evctl/ ------------------------------------------------------------------------------------------

RULES = {
    "core-purity": core_purity_violations,
    "cli-siblings": cli_sibling_violations,
    "core-cycles": core_cycle_violations,
    "core-function-imports": core_function_import_violations,
}


def test_the_checks_see_the_whole_tree() -> None:
    known = modules(ROOT)
    assert len([m for m in known if _within(m, "evctl.core")]) >= 20
    assert len([m for m in known if _within(m, "evctl.cli")]) >= 8
    graph = core_graph(ROOT)
    assert sum(len(edges) for edges in graph.values()) >= 20  # core modules do import each other


@pytest.mark.parametrize("rule", RULES)
def test_architecture_rule(rule: str) -> None:
    violations = RULES[rule](ROOT)
    assert not violations, f"{len(violations)} violation(s) of {rule}:\n" + "\n".join(violations)


# --- self-tests: each rule catches a tree that breaks it --------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rel in ["evctl/__init__.py", "evctl/core/__init__.py", "evctl/cli/__init__.py"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    return tmp_path


def test_core_purity_catches_imports_anywhere(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "evctl/core/a.py": "import typer\n",
            "evctl/core/b.py": "def f():\n    from rich.console import Console\n",
            "evctl/core/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from evctl import output\n",
            "evctl/core/d.py": "from ..render import tables\n",
            "evctl/core/ok.py": "import json\nfrom evctl.core import a\n",
            "evctl/output.py": "",
            "evctl/render/__init__.py": "",
            "evctl/render/tables.py": "",
        },
    )
    found = core_purity_violations(root)
    assert [v.split(": ", 1)[0] for v in found] == [
        "evctl/core/a.py:1",
        "evctl/core/b.py:2",
        "evctl/core/c.py:3",
        "evctl/core/d.py:1",
    ]
    assert "core imports typer" in found[0] and "rule: core never imports" in found[0]


def test_cli_siblings_catches_a_command_importing_a_command(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "evctl/cli/publish.py": "from evctl.cli.rules import helper\n",
            "evctl/cli/demo.py": "def f():\n    from . import sandbox\n",
            "evctl/cli/rules.py": "from evctl.cli import moving, options\n",
            "evctl/cli/sandbox.py": "",
            "evctl/cli/moving.py": "",
            "evctl/cli/options.py": "",
            "evctl/cli/main.py": "from evctl.cli import demo, publish, rules, sandbox\n",
        },
    )
    found = cli_sibling_violations(root)
    assert [v.split(": ", 1)[0] for v in found] == ["evctl/cli/demo.py:2", "evctl/cli/publish.py:1"]
    assert "command module evctl.cli.publish imports command module evctl.cli.rules" in found[1]


def test_core_cycles_catches_cycles_through_functions_and_packages(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            # messages ↔ queues, one side hidden in a function
            "evctl/core/queues/__init__.py": "",
            "evctl/core/queues/messages.py": "from evctl.core.queues.ref import QueueRef\n",
            "evctl/core/queues/ref.py": "def f():\n    from evctl.core.queues import messages\n",
            # through a package __init__: logs.tail → events (its __init__ imports events.publish) → logs
            "evctl/core/logs/__init__.py": "",
            "evctl/core/logs/tail.py": "from evctl.core.events.kinds import Kind\n",
            "evctl/core/events/__init__.py": "from .publish import publish\n",
            "evctl/core/events/kinds.py": "",
            "evctl/core/events/publish.py": "from ..logs import tail\n",
            # a package that imports its own modules, which import each other: no cycle
            "evctl/core/common/__init__.py": "from .time import iso\nfrom .files import write\n",
            "evctl/core/common/time.py": "",
            "evctl/core/common/files.py": "from evctl.core.common.time import iso\n",
        },
    )
    found = core_cycle_violations(root)
    assert len(found) == 2, found
    assert "evctl.core.queues.messages → evctl.core.queues.ref → evctl.core.queues.messages" in found[1]
    assert "evctl/core/queues/ref.py:2 `from evctl.core.queues import messages`" in found[1]
    assert "evctl.core.events" in found[0] and "evctl.core.logs.tail" in found[0]


def test_core_function_imports_are_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "evctl/core/a.py": (
                "import json\nfrom evctl.core import b\n"
                "def f():\n    import boto3\n    from evctl.core.b import g\n"
                "class C:\n    def m(self):\n        from . import b\n"
            ),
            "evctl/core/b.py": "",
        },
    )
    found = core_function_import_violations(root)
    assert [v.split(": ", 1)[0] for v in found] == ["evctl/core/a.py:5", "evctl/core/a.py:8"]
