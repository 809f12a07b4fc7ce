"""State machines built from definitions — the only module that imports ``transitions``.

One ``Machine`` per definition version, built once and reused across cases: a
case is attached as a model for the duration of one trigger and detached
again.  ``auto_transitions=False`` because ``to_<state>()`` would skip guards
and legal steps; guards are resolved callables (conditions) that record their
refusal reasons in the GuardContext.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from transitions import Machine, MachineError

from agreeflow.engine.core.definitions import Definition, TransitionDef
from agreeflow.engine.core.guards import GuardContext, run_guard


class _CaseModel:
    """The transient model a case wears while one trigger runs."""

    def __init__(self, state: str) -> None:
        self.state = state


def _condition(name: str) -> Any:
    def check(event: Any) -> bool:
        ctx: GuardContext = event.kwargs["ctx"]
        return run_guard(name, ctx)
    check.__name__ = f"guard_{name}"
    return check


def _permitted(tdef: TransitionDef) -> Any:
    """First condition of every transition: the acting person may take this one (decided by the caller)."""
    def check(event: Any) -> bool:
        ctx: GuardContext = event.kwargs["ctx"]
        return ctx.permitted is None or tdef in ctx.permitted
    return check


def _record(tdef: TransitionDef) -> Any:
    """Remember which transition fired: two candidates may share a destination."""
    def record(event: Any) -> None:
        event.kwargs["ctx"].fired = tdef
    return record


@cache
def machine_for(defn: Definition) -> Machine:
    """The shared machine of one definition version."""
    transitions = [
        {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest,
         "conditions": [_permitted(t)] + [_condition(g) for g in t.guards], "before": [_record(t)]}
        for t in defn.transitions
    ]
    return Machine(model=None, states=list(defn.states), transitions=transitions,
                   initial=defn.initial, auto_transitions=False, send_event=True,
                   ignore_invalid_triggers=False)


def advance(defn: Definition, state: str, trigger: str, ctx: GuardContext) -> TransitionDef | None:
    """Run ``trigger`` from ``state``; the transition that fired, or None when every candidate was refused.

    Guards of the candidates the caller did not permit (``ctx.permitted``) are
    not run.  Raises KeyError when the trigger is not possible from ``state``.
    """
    model = _model_for(machine_for(defn))
    model.state = state
    ctx.fired = None
    try:
        ok = model.trigger(trigger, ctx=ctx)  # type: ignore[attr-defined]
    except (MachineError, AttributeError) as exc:
        raise KeyError(trigger) from exc
    return ctx.fired if ok else None


_MODELS = threading.local()


def _model_for(machine: Machine) -> _CaseModel:
    """This thread's model on ``machine``, attached once (attaching one per trigger cost more than the trigger).

    One per thread: a model holds the state of the case being moved only while
    ``advance`` runs, and two threads must not share that.
    """
    models: dict[int, _CaseModel] = _MODELS.__dict__.setdefault("models", {})
    model = models.get(id(machine))
    if model is None:
        model = models[id(machine)] = _CaseModel(str(machine.initial))
        machine.add_model(model, initial=machine.initial)
    return model


def mermaid(defn: Definition, lang: str = "vi", current: str | None = None) -> str:
    """A Mermaid stateDiagram of the definition, ``current`` highlighted."""
    def sid(name: str) -> str:
        return name.replace("-", "_")

    lines = ["stateDiagram-v2", f"    %% {defn.id} v{defn.version}: {defn.title.get(lang, defn.id)}"]
    for name in defn.states:
        lines.append(f'    state "{defn.label(name, lang)}" as {sid(name)}')
    lines.append(f"    [*] --> {sid(defn.initial)}")
    for t in defn.transitions:
        label = t.label.get(lang) or t.trigger
        for s in t.sources:
            lines.append(f"    {sid(s)} --> {sid(t.dest)}: {t.trigger} ({label})")
    for name, st in defn.states.items():
        if st.terminal:
            lines.append(f"    {sid(name)} --> [*]")
    if current:
        lines.append("    classDef current fill:#f96,stroke:#333,stroke-width:3px")
        lines.append(f"    class {sid(current)} current")
    return "\n".join(lines)
