"""Graph checks of one workflow definition, one function per check.

``definitions.parse`` builds a file's states and transitions, then runs
``check_graph``.  Each check looks at the whole graph and reports every problem
it finds through ``report(line, text)`` (the parser adds the file name), so a
file's problems are listed together, each at the line of its state or
transition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from agreeflow.engine.core.errors import did_you_mean, unknown_name

if TYPE_CHECKING:
    from agreeflow.engine.core.definitions import StateDef, TransitionDef

Report = Callable[[int, str], None]
Graph = dict[str, set[str]]  # state → the known states its transitions lead to


def check_graph(states: dict[str, StateDef], transitions: list[TransitionDef], report: Report, *,
                states_line: int) -> None:
    """Run every check below; each reports all it finds, none stops the others.

    ``states_line`` is the line of the ``states:`` key (for problems of the
    file as a whole).
    """
    graph = successors(states, transitions)
    check_dead_ends(states, graph, report)
    check_reachable(states, graph, report)
    check_closes_on(states, report)
    check_has_terminal(states, states_line, report)
    check_children_done(states, transitions, report)


def successors(states: dict[str, StateDef], transitions: Iterable[TransitionDef]) -> Graph:
    """The states each state leads to, through transitions whose both ends are known states."""
    graph: Graph = {s: set() for s in states}
    for t in transitions:
        for s in t.sources:
            if s in graph and t.dest in states:
                graph[s].add(t.dest)
    return graph


def reach(graph: Graph, start: str) -> set[str]:
    """Every state a case in ``start`` can come to (``start`` included)."""
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def check_dead_ends(states: dict[str, StateDef], graph: Graph, report: Report) -> None:
    """A state that is not terminal and that no transition leaves."""
    for name, st in states.items():
        if not st.terminal and not graph[name]:
            report(st.line, f"state '{name}' is a dead end: not terminal and no transition leaves it")


def check_reachable(states: dict[str, StateDef], graph: Graph, report: Report) -> None:
    """A state no case can come to from the initial state (skipped unless there is exactly one initial state)."""
    initial = [name for name, st in states.items() if st.initial]
    if len(initial) != 1:
        return  # the parser reports the count
    seen = reach(graph, initial[0])
    for name, st in states.items():
        if name not in seen:
            report(st.line, f"state '{name}' cannot be reached from the initial state '{initial[0]}'")


def check_closes_on(states: dict[str, StateDef], report: Report) -> None:
    """A timer's ``closes_on`` names a state that does not exist."""
    for name, st in states.items():
        for timer in st.timers:
            for target in timer.closes_on:
                if target not in states:
                    report(st.line, f"timer '{timer.id}' in state '{name}': "
                                    f"closes_on {unknown_name('state', target, states)}")


def check_has_terminal(states: dict[str, StateDef], states_line: int, report: Report) -> None:
    """The file has no terminal state at all."""
    if not any(st.terminal for st in states.values()):
        report(states_line, "no terminal state: every case must be able to end")


def check_children_done(states: dict[str, StateDef], transitions: list[TransitionDef], report: Report) -> None:
    """``on_children_done`` names a trigger that does not leave its state (the engine fires it on fan-in)."""
    for name, st in states.items():
        if not st.on_children_done:
            continue
        here = {t.trigger for t in transitions if name in t.sources}
        if st.on_children_done not in here:
            guess = did_you_mean(st.on_children_done, here)
            report(st.line, f"state '{name}': on_children_done names '{st.on_children_done}', which is not a "
                            f"trigger from this state" + (f" — did you mean '{guess}'?" if guess else ""))
