"""The package's shape: no import cycles (module or function level), every module says
what it is for, no function outside numba kernels over 120 lines, the public API at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "chokepoint"
MAX_LINES = 120


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, tree: ast.AST) -> set[str]:
    """chokepoint modules ``module`` imports at run time (any depth; not TYPE_CHECKING)."""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                targets.add(candidate if candidate in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {t for t in targets if t in MODULES and t != module}


def _graph() -> dict[str, set[str]]:
    return {m: _imports(m, ast.parse(p.read_text(encoding="utf-8"))) for m, p in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_is_for(module: str) -> None:
    doc = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    assert doc and len(doc.split()) >= 5, f"{module} has no opening docstring"


def _numba(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in {"njit", "jit"}:
            return True
    return False


def test_no_long_functions_outside_numba_kernels() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _numba(node):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{module}.{node.name}: {lines} lines")
    assert not long, "functions over 120 lines: " + "; ".join(long)


def test_the_public_api_is_at_the_top() -> None:
    import chokepoint

    assert callable(chokepoint.simulate)
    assert callable(chokepoint.load_default)
    assert hasattr(chokepoint.Scenario, "from_yaml")
    assert chokepoint.Scenario.__module__ == "chokepoint.scenario.spec"


def test_library_errors_never_mention_command_line_flags() -> None:
    """Messages raised outside cli/ say what is wrong, not which flag to change."""
    offenders = []
    for module, path in MODULES.items():
        if module.startswith(("chokepoint.cli", "chokepoint.web")):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and node.exc is not None:
                for leaf in ast.walk(node.exc):
                    text = leaf.value if isinstance(leaf, ast.Constant) else None
                    if isinstance(text, str) and " --" in f" {text}" and "--" in text:
                        offenders.append(f"{module}:{node.lineno}: {text.strip()[:60]}")
    assert not offenders, "library errors naming CLI flags: " + "; ".join(offenders)
