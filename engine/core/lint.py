"""Graph checks of one workflow definition, one function per check.

``definitions.parse`` builds a file's states and transitions, then runs
``check_graph``.  Each check looks at the whole graph and reports every problem
it finds through ``report(line, text)`` (the parser adds the file name), so a
file's problems are listed together, each at the line of its state or
transition.  No check runs a guard: whether two guards can both pass is read
from the pairs declared with ``guards.register_exclusive``.

A transition to an unknown state is the parser's to report; here it counts as
a way out to somewhere unknown, so that one misspelt ``to:`` does not also
report every state before it as a trap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from itertools import combinations
from typing import TYPE_CHECKING

from agreeflow.engine.core.errors import dash_hint, did_you_mean, unknown_name
from agreeflow.engine.core.i18n import N_, Msg

if TYPE_CHECKING:
    from agreeflow.engine.core.definitions import StateDef, TransitionDef

Report = Callable[[int, Msg], None]
Graph = dict[str, set[str]]  # state → the known states its transitions lead to


def check_graph(states: dict[str, StateDef], transitions: list[TransitionDef], report: Report, *,
                states_line: int, exclusive: Collection[frozenset[str]]) -> None:
    """Run every check below; each reports all it finds, none stops the others.

    ``states_line`` is the line of the ``states:`` key (for problems of the
    file as a whole); ``exclusive`` the declared pairs of exclusive guards.
    """
    graph = successors(states, transitions)
    check_dead_ends(states, graph, report)
    check_reachable(states, graph, report)
    check_closes_on(states, report)
    check_has_terminal(states, states_line, report)
    check_children_done(states, transitions, report)
    check_traps(states, transitions, graph, report)
    check_overlaps(transitions, exclusive, report)


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
            report(st.line, Msg(N_("state '{state}' is a dead end: not terminal and no transition leaves it"),
                                state=name))


def check_reachable(states: dict[str, StateDef], graph: Graph, report: Report) -> None:
    """A state no case can come to from the initial state (skipped unless there is exactly one initial state)."""
    initial = [name for name, st in states.items() if st.initial]
    if len(initial) != 1:
        return  # the parser reports the count
    seen = reach(graph, initial[0])
    for name, st in states.items():
        if name not in seen:
            report(st.line, Msg(N_("state '{state}' cannot be reached from the initial state '{initial}'"),
                                state=name, initial=initial[0]))


def check_closes_on(states: dict[str, StateDef], report: Report) -> None:
    """A timer's ``closes_on`` names a state that does not exist."""
    for name, st in states.items():
        for timer in st.timers:
            for target in timer.closes_on:
                if target not in states:
                    report(st.line, Msg(N_("timer '{timer}' in state '{state}': closes_on {problem}"),
                                        timer=timer.id, state=name, problem=unknown_name("state", target, states)))


def check_has_terminal(states: dict[str, StateDef], states_line: int, report: Report) -> None:
    """The file has no terminal state at all."""
    if not any(st.terminal for st in states.values()):
        report(states_line, Msg(N_("no terminal state: every case must be able to end")))


def check_children_done(states: dict[str, StateDef], transitions: list[TransitionDef], report: Report) -> None:
    """``on_children_done`` names a trigger that does not leave its state (the engine fires it on fan-in)."""
    for name, st in states.items():
        if not st.on_children_done:
            continue
        here = {t.trigger for t in transitions if name in t.sources}
        if st.on_children_done not in here:
            report(st.line, Msg(N_("state '{state}': on_children_done names '{trigger}', which is not a trigger "
                                   "from this state{hint}"), state=name, trigger=st.on_children_done,
                                hint=dash_hint(did_you_mean(st.on_children_done, here))))


def check_traps(states: dict[str, StateDef], transitions: list[TransitionDef], graph: Graph,
                report: Report) -> None:
    """A state from which no terminal state can be reached: a case that enters it can never end.

    One problem per such state, e.g. both states of a pair that only lead to
    each other.  Dead ends are trapped too but check_dead_ends already names
    them; without any terminal state check_has_terminal has said it all.
    """
    terminals = [name for name, st in states.items() if st.terminal]
    if not terminals:
        return
    can_end = set(terminals) | {s for t in transitions if t.dest not in states for s in t.sources if s in states}
    before: Graph = {s: set() for s in states}
    for source, dests in graph.items():
        for dest in dests:
            before[dest].add(source)
    todo = list(can_end)
    while todo:
        for prev in before[todo.pop()]:
            if prev not in can_end:
                can_end.add(prev)
                todo.append(prev)
    for name, st in states.items():
        if name in can_end or not graph[name]:
            continue
        reached = reach(graph, name) - {name}
        ahead = [s for s in states if s in reached]
        goes = Msg(N_("it only leads to {states}"), states=_names(ahead)) if ahead else \
            Msg(N_("it only leads back to itself"))
        report(st.line, Msg(N_("state '{state}' is a trap: no terminal state can be reached from it ({goes}) — add "
                               "a transition from it, or from a state it leads to, towards a terminal state "
                               "({terminals})"), state=name, goes=goes, terminals=_names(terminals)))


def check_overlaps(transitions: list[TransitionDef], exclusive: Collection[frozenset[str]],
                   report: Report) -> None:
    """Two transitions on one trigger from one state whose guards may both pass.

    The machine fires the first candidate, in file order, whose guards pass,
    so such a pair is decided by the order of the file, not by the case.  Two
    candidates are apart only when a guard of one is declared exclusive with
    a guard of the other.  Reported at the later transition, naming the line
    of the earlier one.  Identical guards are the parser's duplicate check.
    """
    for first, second in combinations(transitions, 2):
        if not first.trigger or first.trigger != second.trigger or first.guards == second.guards:
            continue
        shared = [s for s in first.sources if s in second.sources]
        if not shared or any(frozenset((a, b)) in exclusive for a in first.guards for b in second.guards):
            continue
        report(second.line, Msg(N_("transition '{trigger}': from {states} it overlaps the transition at line "
                                   "{line} — guards {first} and {second} are not declared exclusive, so whichever "
                                   "comes first in the file fires when both pass; if they never both pass, declare "
                                   "them with register_exclusive() in workflows/guards.py{hint}"),
                                trigger=second.trigger, states=_names(shared), line=first.line,
                                first=_guards(first), second=_guards(second),
                                hint=_exclusive_hint(first, second, exclusive)))


def _exclusive_hint(first: TransitionDef, second: TransitionDef,
                    exclusive: Collection[frozenset[str]]) -> Msg | str:
    """"did you mean" a guard declared exclusive with one the other transition already has."""
    for have, where in ((first, Msg(N_("this transition"))),
                        (second, Msg(N_("the one at line {line}"), line=first.line))):
        for guard in have.guards:
            partners = sorted(p for pair in exclusive if guard in pair for p in pair if p != guard)
            if partners:
                return Msg(N_(" — did you mean to guard {where} with '{partner}' (exclusive with '{guard}')?"),
                           where=where, partner=partners[0], guard=guard)
    return ""


def _guards(t: TransitionDef) -> Msg | str:
    return f"[{', '.join(t.guards)}]" if t.guards else Msg(N_("(none)"))


def _names(names: list[str], most: int = 5) -> Msg | str:
    shown = ", ".join(f"'{n}'" for n in names[:most])
    if len(names) > most:
        return Msg(N_("{names} and {n} more"), names=shown, n=len(names) - most)
    return shown
