"""The structure a maintainer relies on (issue 13), read from the source: no import cycles between
modules, imports only downwards (models → services → views; no domain imports the web assembly),
each domain's permission rules in its own package, and modules of a readable size."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
# The web assembly and the shared command line sit on top: only they may import views.
TOP = {"app", "app.web", "app.wsgi", "app.cli", "app.gunicorn_conf"}
MAX_LINES = 420


def modules() -> dict[str, Path]:
    out = {}
    for path in APP.rglob("*.py"):
        if "migrations" in path.relative_to(APP).parts:  # Alembic scripts, loaded by Alembic alone
            continue
        rel = path.relative_to(APP.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out[name] = path
    return out


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The app modules a module imports (at any depth in the file: a function-level import counts)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from app import audit` imports the module app.audit; `from app.x import name` imports app.x.
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name.startswith("app"):
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, known) - {name} for name, path in mods.items()}


def test_no_import_cycles_between_modules() -> None:
    g = graph()
    # Package __init__ modules are namespaces here: "app.revisions" importing "app.revisions.x"
    # is not a cycle, so a module's edge to its own package is dropped.
    for name, deps in g.items():
        g[name] = {d for d in deps if not name.startswith(d + ".")}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert cycles == [], f"import cycles: {cycles}"


def layer(name: str) -> str:
    leaf = name.rpartition(".")[2]
    if name in TOP:
        return "top"
    if leaf in ("views", "commands", "dashboard"):
        return "views"
    if leaf == "models":
        return "models"
    return "services"


def test_imports_only_go_downwards() -> None:
    problems = []
    for name, deps in graph().items():
        for dep in deps:
            if dep in TOP and name not in TOP:
                problems.append(f"{name} imports {dep} (the web assembly / shared commands are on top)")
            elif layer(dep) == "views" and layer(name) != "top":
                problems.append(f"{name} imports {dep} (views are only registered by app.web)")
            elif layer(name) == "models" and layer(dep) == "services" and dep not in (
                    "app.extensions", "app.wareki", "app.errors"):
                problems.append(f"{name} imports {dep} (models import models and the shared kernel only)")
    assert problems == []


def test_modules_stay_readable() -> None:
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: {long}"
