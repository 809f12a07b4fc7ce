"""Statuses and event kinds are written as the enums of engine.core.kinds, never as bare strings (issue 12, point 4).

A ``d.status == "open"`` still works, but a typo in it (``"opne"``) would silently match nothing; this test reads
the code and names, file:line, every status or kind compared with, assigned or defaulted to a string literal.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from agreeflow.engine.core.kinds import DeadlineStatus, EventKind, OutboxStatus
from tests.conftest import ROOT

VOCABULARIES = (DeadlineStatus, EventKind, OutboxStatus)
"""The closed vocabularies whose values must be written through their enum."""
VALUES = frozenset(str(member) for vocabulary in VOCABULARIES for member in vocabulary)
# Only these values are looked for: ``kind`` and ``status`` name other vocabularies too (a calendar day's
# ``kind == "off"``, a unit's ``kind == "division"``, a mail's ``kind == "bundle"``), which are not the enums'.

SUBJECT = re.compile(r"(?:\w*_)?(?:status|kind)(?:es|s)?")
"""A name that holds a status or kind: ``status``, ``kind``, ``keep_kinds``, ``change_kind``, ``statuses``."""

CODE = ("engine", "notifications", "web")
SKIPPED_DIRS = {"migrations"}  # a migration is history: it keeps the values of its day, not today's enum

NOT_YET: set[str] = set()
"""Files allowed to keep literals while they are converted (none left)."""


def _is_subject(node: ast.AST) -> bool:
    """``status``, ``x.status``, ``x["status"]``, ``x.get("status")``, ``col(X.status)`` (and the same for kinds)."""
    if isinstance(node, ast.Name):
        return SUBJECT.fullmatch(node.id) is not None
    if isinstance(node, ast.Attribute):
        return SUBJECT.fullmatch(node.attr) is not None
    if isinstance(node, ast.Subscript):
        return _is_key(node.slice)
    if isinstance(node, ast.Call) and node.args:
        if isinstance(node.func, ast.Name) and node.func.id in ("col", "str"):
            return _is_subject(node.args[0])
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            return _is_key(node.args[0])
    return False


def _is_key(node: ast.AST) -> bool:
    """A string constant naming a status or kind (a dict key, a subscript)."""
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and SUBJECT.fullmatch(node.value) is not None


def _literals(node: ast.AST | None) -> list[str]:
    """The vocabulary values written as string literals in ``node``: a constant, or a tuple / list / set of them."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [x.value for x in items if isinstance(x, ast.Constant) and isinstance(x.value, str) and x.value in VALUES]


def _pairs(node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST | None]]:
    """(status or kind side, other side) of each comparison, assignment, default and keyword in ``node``."""
    if isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        for a, b in zip(sides, sides[1:], strict=False):
            yield a, b
            yield b, a
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            yield target, node.value
    elif isinstance(node, ast.AnnAssign):
        yield node.target, node.value
        if isinstance(node.value, ast.Call):  # status: str = Field(default="open")
            yield from ((node.target, k.value) for k in node.value.keywords if k.arg == "default")
    elif isinstance(node, ast.Call):
        yield from ((ast.Name(k.arg), k.value) for k in node.keywords if k.arg)  # Row(status=...), .values(kind=...)
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in", "notin_") and node.args:
            yield node.func.value, node.args[0]  # col(X.status).in_(("open", "missed"))
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        yield from ((ast.Name(a.arg), d) for a, d in zip(positional[len(positional) - len(args.defaults):],
                                                           args.defaults, strict=True))
        yield from ((ast.Name(a.arg), d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True))
    elif isinstance(node, ast.Dict):
        yield from ((k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None)


def offenders(source: str, where: str) -> list[str]:
    """``where:line: code`` for each status or kind written as a string literal in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(source, where)):
        for side, other in _pairs(node):
            if (_is_subject(side) or (isinstance(node, ast.Dict) and _is_key(side))) and _literals(other):
                found.add((getattr(other, "lineno", getattr(node, "lineno", 0)), ast.unparse(node).split("\n")[0]))
    return [f"{where}:{line}: {code[:120]}" for line, code in sorted(found)]


def _code_files() -> list[Path]:
    files = [p for part in CODE for p in sorted((ROOT / part).rglob("*.py"))
             if not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)]
    return [*files, ROOT / "cli.py"]


def test_no_status_or_kind_is_a_string_literal() -> None:
    found = {str(p.relative_to(ROOT)): offenders(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
             for p in _code_files()}
    wrong = [line for path, lines in found.items() if path not in NOT_YET for line in lines]
    assert not wrong, ("statuses and event kinds are the enums of engine.core.kinds (DeadlineStatus, OutboxStatus, "
                       "EventKind), not string literals:\n  " + "\n  ".join(wrong))


def test_not_yet_names_files_that_exist() -> None:
    assert not [p for p in NOT_YET if not (ROOT / p).is_file()]


def test_the_check_finds_each_form() -> None:
    source = '''
d.status = "pending"
if d.status != "open" or kind == "deadline_moved": pass
if kind in ("suspended", "resumed"): pass
select(Deadline).where(col(Deadline.status) == "open", Event.kind != "refused")
col(Event.kind).in_(("opened", "transition"))
row = {"status": "queued"}
status: str = Field(default="open", max_length=16)
OutboxMessage(status="sent")
def f(status="missed"): pass
keep_kinds = ("opened", "flagged")
if d["status"] in ("open", "pending"): pass
if p.get("kind") == "deemed_agreed": pass
'''
    lines = {int(x.split(":")[1]) for x in offenders(source, "x.py")}
    assert lines == set(range(2, 14))


def test_other_vocabularies_and_enums_pass() -> None:
    source = '''
if kind == "off" or unit.kind != "division" or col(OutboxMessage.kind) == "bundle": pass
if d.status == DeadlineStatus.OPEN and Event.kind == EventKind.REFUSED: pass
d.status = DeadlineStatus.PENDING
payload = {"state": "open", "kind": "link"}
message_id = "open"
'''
    assert offenders(source, "x.py") == []
