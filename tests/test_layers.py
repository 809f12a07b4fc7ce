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


OPENS_A_TRANSACTION = ("raw_connection", "commit", "rollback", "begin", "connect")
"""Methods that open, end or take a connection for a transaction of one's own (``db.read``/``db.write`` aside)."""


def test_only_the_service_layer_opens_transactions() -> None:
    """``db.read``/``db.write``, a new ``Session(…)``, a raw or pooled connection, BEGIN/COMMIT/ROLLBACK: only
    in engine.service (and engine.core.db, which makes them). Everything below takes the caller's session."""
    opened = []
    for path in SOURCES:
        mod = module_of(path)
        if mod.startswith("agreeflow.engine.service") or mod == "agreeflow.engine.core.db":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr in ("write", "read")
                    and isinstance(node.value, ast.Name) and node.value.id == "db"):
                opened.append(f"{path.relative_to(ROOT)}:{node.lineno} db.{node.attr}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in OPENS_A_TRANSACTION:
                opened.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Session":
                opened.append(f"{path.relative_to(ROOT)}:{node.lineno} Session()")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.split(" ")[0] in ("BEGIN", "COMMIT", "ROLLBACK"):
                opened.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
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


def test_one_atomic_write() -> None:
    """A file appears whole or not at all because one function writes them all (engine.core.atomic); a second
    temporary-file-and-rename elsewhere is a second place to get fsync, devices and clean-up wrong."""
    found = []
    for path in SOURCES:
        if module_of(path) == "agreeflow.engine.core.atomic":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("replace", "rename", "mkstemp", "NamedTemporaryFile",
                                                                "open", "fdopen", "link") \
                    and isinstance(node.value, ast.Name) and node.value.id in ("os", "tempfile"):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
            elif isinstance(node, ast.Call) and _writes(node):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} open for writing")
    assert found == []


def _writes(call: ast.Call) -> bool:
    """``open(p, "w")``, ``path.open("wb")``, ``p.write_text(…)``, ``p.write_bytes(…)``: a file written in place."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name in ("write_text", "write_bytes") and isinstance(func, ast.Attribute):
        return not (isinstance(func.value, ast.Name) and func.value.id == "atomic")  # atomic.write_bytes is the one
    if name != "open":
        return False
    modes = [a for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    modes += [k.value for k in call.keywords if k.arg == "mode" and isinstance(k.value, ast.Constant)]
    return any(isinstance(m, ast.Constant) and set(str(m.value)) & set("wax+") for m in modes)
