"""The registry of named guards that workflow files may use.

A guard is a plain function ``guard(ctx: GuardContext) -> Reason | None``:
``None`` lets the transition pass; a ``Reason`` — a message of the catalogue
with its values (``i18n.Msg``) — refuses it and reaches the user in their
language.  Guards are registered with a plain
function call, ``register_guard(name, fn)``; the workflow guards live in
``workflows/guards.py``, imported by the service layer (the core imports
nothing above it).

Two transitions on one trigger from one state are told apart by their guards
alone, and the machine fires the first candidate whose guards pass.  So that
``workflows lint`` can tell a deliberate choice from an accident without
running any guard, guards that never both pass are declared exclusive next to
them: ``register_exclusive("has_disagreement", "no_disagreement")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agreeflow.engine.core.i18n import Msg

Reason = Msg
"""Why a guard refused: ``Reason(N_("the case has no … {x}"), x=…)``, rendered where it is read."""


@dataclass
class GuardContext:
    """What a guard may look at; guards must not write."""

    case: Any                     # engine.store.Case (fields already merged with the new values)
    definition: Any               # engine.definitions.Definition
    trigger: str
    fields: dict[str, Any]        # the case's fields after this command's values
    actor: Any                    # engine.store.Person
    now: datetime
    session: Any                  # sqlmodel Session (read only)
    refusals: list[Reason] = field(default_factory=list)
    permitted: Any = None         # the candidate transitions the actor may take (None: all, e.g. the planner)
    fired: Any = None             # set by the machine: the TransitionDef that fired


Guard = Callable[[GuardContext], Reason | None]
_GUARDS: dict[str, Guard] = {}
_EXCLUSIVE: set[frozenset[str]] = set()


def register_guard(name: str, fn: Guard) -> None:
    """Make ``fn`` available to workflow files under ``name``."""
    _GUARDS[name] = fn


def registered_guards() -> dict[str, Guard]:
    """Every registered guard (the service layer imports ``agreeflow.workflows.guards``, which registers them)."""
    return dict(_GUARDS)


def register_exclusive(first: str, second: str) -> None:
    """Declare that guards ``first`` and ``second`` never both pass on one case at one moment.

    A promise about the two functions, which lint takes on trust (it runs no
    guard), so declare a pair only when their conditions are complementary or
    disjoint.  Raises ValueError for a name not registered yet (register the
    guards first) or a guard paired with itself — a misspelt declaration would
    otherwise silently declare nothing.
    """
    unknown = [name for name in (first, second) if name not in _GUARDS]
    if unknown or first == second:
        raise ValueError(f"register_exclusive({first!r}, {second!r}): " + (
            f"not registered guard(s): {', '.join(unknown)}" if unknown else "a guard cannot exclude itself"))
    _EXCLUSIVE.add(frozenset((first, second)))


def exclusive_pairs() -> set[frozenset[str]]:
    """Every declared pair of mutually exclusive guards (what ``workflows lint`` trusts)."""
    return set(_EXCLUSIVE)


def run_guard(name: str, ctx: GuardContext) -> bool:
    """Run one guard; a refusal's reason is appended to ``ctx.refusals``."""
    reason = registered_guards()[name](ctx)
    if reason is not None:
        ctx.refusals.append(reason)
        return False
    return True
