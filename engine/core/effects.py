"""Effects: what else happens, in the same transaction, when a case opens or moves.

The case core (engine.core.cases) writes the state, the fields and the log; it
knows nothing of deadlines, child cases or recurring reports.  The layers
above register their effects here with a plain function call, each with an
``order``; the core runs them in that order after every accepted transition
(and after every opened case), inside the caller's transaction — so an effect
that raises rolls the whole command back.

Shipped order (lower runs first)::

    10  legaltime.deadlines   close the timers this move meets
    20  actions               the transition's ``actions:`` (suspend, resume, close_children, …)
    30  legaltime.deadlines   open the new state's timers, or cancel all when the case ends
    40  procedures.fanout     spawn children; fan in to the parent
    50  procedures.pending    start deadlines that waited for this case's event

Actions are the named effects a workflow file may ask for (``actions: [name]``);
they are registered the same way and validated by ``workflows lint``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlmodel import Session

    from agreeflow.engine.core.definitions import Definition, TransitionDef
    from agreeflow.engine.core.i18n import Msg
    from agreeflow.engine.core.store import Case


@dataclass
class Moved:
    """One accepted transition, as its effects see it."""

    session: Session
    case: Case                    # already in its new state, locked by the caller
    definition: Definition
    transition: TransitionDef     # the transition the machine fired
    old_state: str
    new_state: str
    actor: str
    role: str
    note: str | Msg | None        # a person's words, or the engine's (a message of the catalogue)
    now: datetime                 # the instant of the command: every event it writes carries it
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Opened:
    """One newly opened case, as its effects see it."""

    session: Session
    case: Case
    definition: Definition
    actor: str
    now: datetime


MoveEffect = Callable[[Moved], None]
OpenEffect = Callable[[Opened], None]
Action = Callable[[Moved], None]

_MOVE: list[tuple[int, str, MoveEffect]] = []
_OPEN: list[tuple[int, str, OpenEffect]] = []
_ACTIONS: dict[str, Action] = {}


def _register(table: list[tuple[int, str, Any]], order: int, name: str, fn: Any) -> None:
    table[:] = [row for row in table if row[1] != name] + [(order, name, fn)]
    table.sort(key=lambda row: (row[0], row[1]))


def on_move(name: str, order: int, fn: MoveEffect) -> None:
    """Run ``fn`` after every accepted transition (re-registering ``name`` replaces it)."""
    _register(_MOVE, order, name, fn)


def on_open(name: str, order: int, fn: OpenEffect) -> None:
    """Run ``fn`` after every opened case."""
    _register(_OPEN, order, name, fn)


def register_action(name: str, fn: Action) -> None:
    """Make ``fn`` available to workflow files as ``actions: [name]``."""
    _ACTIONS[name] = fn


def actions() -> dict[str, Action]:
    """Every registered action by name (what ``workflows lint`` accepts)."""
    return dict(_ACTIONS)


def move_effects() -> list[str]:
    """Names of the registered transition effects, in the order they run."""
    return [name for _, name, _ in _MOVE]


def run_moved(moved: Moved) -> None:
    """Run every transition effect in order, in the caller's transaction."""
    for _, _, fn in list(_MOVE):
        fn(moved)


def run_opened(opened: Opened) -> None:
    """Run every open effect in order, in the caller's transaction."""
    for _, _, fn in list(_OPEN):
        fn(opened)


def run_actions(moved: Moved) -> None:
    """The effect that runs the transition's own ``actions:`` (registered at order 20)."""
    for name in moved.transition.actions:
        _ACTIONS[name](moved)


on_move("actions", 20, run_actions)
