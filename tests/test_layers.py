"""The layers hold: import contracts, no use of another module's private names, thin entry points.

The import contracts themselves (layers, no cycles between siblings) live in
pyproject.toml and are checked by import-linter (``lint-imports``), which
.ci/run also runs on its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for top in ("engine", "notifications", "workflows", "web") for p in (ROOT / top).rglob("*.py")
           if "migrations" not in p.parts] + [ROOT / "cli.py"]


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["agreeflow", *parts])


def private_uses(path: Path) -> list[str]:
    """``from x import _name`` and ``alias._name`` where x / alias is another agreeflow module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_of(path)
    imported: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agreeflow"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__") and node.module != here:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {node.module} import {alias.name}")
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("agreeflow"):
                    imported[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name) and node.value.id in imported):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    assert [use for path in SOURCES for use in private_uses(path)] == []


def test_the_private_name_check_catches_both_forms() -> None:
    probe = ROOT / "engine" / "service" / "zz_probe_private.py"
    probe.write_text("from agreeflow.engine.core import cases\n"
                     "from agreeflow.engine.core.cases import _SNAPSHOTS\n"
                     "x = cases._SNAPSHOTS\n", encoding="utf-8")
    try:
        found = private_uses(probe)
    finally:
        probe.unlink()
    assert [f.split(": ", 1)[1] for f in found] == ["from agreeflow.engine.core.cases import _SNAPSHOTS",
                                                    "cases._SNAPSHOTS"]


def agreeflow_imports(path: Path, allowed: set[str]) -> set[str]:
    """The agreeflow modules ``path`` imports (``from a.b import c`` counts as ``a.b.c`` when that is allowed)."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("agreeflow"):
            used |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in allowed else node.module
                     for a in node.names}
        elif isinstance(node, ast.Import):
            used |= {a.name for a in node.names if a.name.startswith("agreeflow")}
    return used


def test_cli_imports_only_the_service_api_and_the_worker() -> None:
    allowed = {"agreeflow.engine", "agreeflow.engine.service", "agreeflow.engine.service.worker",
               "agreeflow.engine.service.demo",
               "agreeflow.web.app", "agreeflow.web.config"}  # `agreeflow web` and `demo --web` start the server
    assert agreeflow_imports(ROOT / "cli.py", allowed) - allowed == set()


def test_the_web_imports_only_the_service_api_and_the_worker() -> None:
    """Like the command line: the engine's error types, the service, the worker — and its own modules."""
    allowed = {"agreeflow.engine", "agreeflow.engine.service", "agreeflow.engine.service.worker"}
    files = sorted((ROOT / "web").rglob("*.py"))
    assert len(files) >= 5
    used = {m for path in files for m in agreeflow_imports(path, allowed) if not m.startswith("agreeflow.web")}
    assert used - allowed == set()


def test_the_web_opens_no_transaction_and_runs_no_query() -> None:
    """No rule in the web: it neither opens a session nor builds SQL (the service does both)."""
    offenders = []
    for path in sorted((ROOT / "web").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {word}" for word in ("sqlmodel", "sqlalchemy", "select(", "reading(",
                                                           "writing(") if word in text]
    assert offenders == []


def test_only_the_service_layer_opens_transactions() -> None:
    opened = []
    for path in SOURCES:
        mod = module_of(path)
        if mod.startswith("agreeflow.engine.service") or mod == "agreeflow.engine.core.db":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("write", "read")
                    and isinstance(node.value, ast.Name) and node.value.id == "db"):
                opened.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert opened == []


def test_the_case_core_reads_no_clock() -> None:
    """Core, legal time, procedures and reports take ``now``; only the service reads the clock."""
    readers = []
    for path in SOURCES:
        mod = module_of(path)
        if not mod.startswith(("agreeflow.engine.core", "agreeflow.engine.legaltime", "agreeflow.engine.procedures",
                               "agreeflow.engine.reports")) or mod == "agreeflow.engine.core.clock":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("now", "local_today") and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "clock"):
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:]


def test_the_service_api_lists_agree() -> None:
    """engine/service/__init__.py names its API three times — the TYPE_CHECKING imports and the literal
    ``__all__`` (for ruff and mypy, which read them statically) and ``_WHERE`` (what the lazy import
    resolves): a name added to one and not the others fails here, and every name resolves."""
    from agreeflow.engine import service

    where = service._WHERE  # noqa: SLF001  (this test checks the module's own table)
    assert set(service.__all__) == set(where) | set(service._MODULES) | {"with_session"}  # noqa: SLF001
    for name in service.__all__:
        assert getattr(service, name) is not None, name
