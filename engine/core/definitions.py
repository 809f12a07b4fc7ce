"""Workflow definitions: ``workflows/*.yaml`` → validated, immutable models.

Pipeline: read YAML (engine.yamlio, line numbers kept) → check keys and
types → build dataclasses → graph checks (engine.core.lint) → cache per
(id, version).  Every problem in a file is collected and reported at once,
each with file:line and a "did you mean" where a name is misspelt
(DefinitionError, exit 2).

Versions: every file is one (id, version).  Bumping ``version`` in a copy of a
file (e.g. ``task.v2.yaml``) keeps the old version loadable, so running cases
stay on the version they were opened with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from agreeflow.engine.core.effects import actions as registered_actions
from agreeflow.engine.core.errors import DefinitionError, UnknownWorkflowError, dash_hint, did_you_mean, unknown_name
from agreeflow.engine.core.guards import exclusive_pairs, registered_guards
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import DeadlineStatus, Position
from agreeflow.engine.core.lint import check_graph
from agreeflow.engine.core.paths import WORKFLOWS_DIR
from agreeflow.engine.core.yamlio import LineDict, YamlSyntaxError, load_checked, load_file, load_text

WORKFLOWS_DIR = WORKFLOWS_DIR

FIELD_TYPES = ("text", "date", "unit", "units", "int", "bool", "choice", "case-ref", "person")
ROLES = ("coordinator", "officer", "approver", "auditor", "admin")
TIMER_UNITS = ("wd", "d")
ON_SILENCE = ("deemed_agreed", "overdue")

TOP_KEYS = {"id", "version", "ref_prefix", "effective_from", "title", "legal_basis",
            "description", "fields", "states", "transitions", "reminder_policy",
            "unit_field", "fanout", "proposer_kinds"}
FIELD_KEYS = {"type", "required", "label", "choices", "help", "default", "min", "max", "must_include",
              "not_future", "not_before", "after", "rule_citation"}
INT_BOUND = 10**9
"""Whole numbers beyond this are refused unless a field says otherwise (``min:``/``max:``)."""
STATE_KEYS = {"label", "initial", "terminal", "timers", "description", "on_children_done", "plan"}
# ``plan`` (engine/planner.py): how long a case may legally wait in a state.
# ``wait: <timer id>`` takes the limit of that timer (its citation, its confirmed
# flag); or ``max`` + ``unit`` (+ ``confirmed``, ``note``) state it directly;
# ``min`` is the optimistic stay in working days (default 0); ``goal: true``
# marks the state the planner aims for.  A state without ``plan`` costs nothing:
# it waits only for the province's own action, which the law does not time.
PLAN_KEYS = {"wait", "min", "max", "unit", "confirmed", "note", "goal"}
TIMER_KEYS = {"outcomes", "id", "label", "limit", "unit", "start", "phrase_field", "ref_field",
              "citation", "confirmed", "responsible", "policy", "note", "closes_on"}
TRANSITION_KEYS = {"trigger", "from", "to", "roles", "guards", "requires", "documents",
                   "citation", "confirmed", "label", "actions", "note", "spawn", "who"}
SPAWN_KEYS = {"workflow", "for_each", "fields", "title"}
FANOUT_KEYS = {"on_silence", "reply_trigger"}


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    required: bool = False
    label: dict[str, str] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    default: Any = None
    minimum: int | None = None
    """``int``: the smallest value accepted (``min:``)."""
    maximum: int | None = None
    """``int``: the largest value accepted (``max:``)."""
    must_include: tuple[str, ...] = ()
    """``units``: at least one of these unit codes must be among the values (e.g. MOFA, Law 70/2020 art. 19(1))."""
    not_future: bool = False
    """``date``: a fact that has happened — never later than the day the step takes effect."""
    not_before: tuple[str, ...] = ()
    """``date``: on or after each of these: ``field:<date field>`` or ``transition:<trigger>`` (its day)."""
    after: tuple[str, ...] = ()
    """``date``: strictly after each of these (same forms)."""
    rule_citation: str = ""
    """The legal basis of the rules above, named in the refusal."""


@dataclass(frozen=True)
class TimerDef:
    id: str
    label: dict[str, str]
    limit: int | None = None
    unit: str = "wd"
    start: str = "entered"          # "entered" or "field:<date field>"
    phrase_field: str | None = None  # due phrase read from a case field instead of limit
    ref_field: str | None = None     # date field the phrase is relative to
    citation: str = ""
    confirmed: bool = True
    responsible: str = "case"        # "case", "field:<unit field>" or a unit code
    policy: str = "default"
    note: str = ""
    closes_on: tuple[str, ...] = ()  # states that meet the deadline; empty = leaving its own state does
    outcomes: dict[str, str] = field(default_factory=dict)
    """Destination state → how the deadline ends there when that is not met/missed (no_reply, deemed_agreed,
    cancelled): a body that never answered is "no reply", never "late"."""


@dataclass(frozen=True)
class StateDef:
    name: str
    label: dict[str, str]
    initial: bool = False
    terminal: bool = False
    timers: tuple[TimerDef, ...] = ()
    on_children_done: str | None = None
    plan: dict[str, Any] = field(default_factory=dict)
    line: int = field(default=0, compare=False)  # in its file, for lint messages


@dataclass(frozen=True)
class SpawnDef:
    workflow: str
    for_each: str
    fields: dict[str, str] = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class WhoDef:
    """One kind of person who may take a step: a position in a unit, or its recorded delegate.

    ``unit`` is a unit code, ``field:<unit field>`` (e.g. the director of the
    proposing unit) or ``case`` (the case's own unit).  ``delegated`` accepts
    a person holding ``delegate_position`` (default: any) to whom the holder of
    ``position`` delegated the step under a recorded delegation of authority.
    """

    position: str
    unit: str
    delegated: bool = False
    delegate_position: str | None = None


@dataclass(frozen=True, eq=False)  # identity: the machine reports which of two alike transitions fired
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()
    citation: str = ""
    confirmed: bool = True
    label: dict[str, str] = field(default_factory=dict)
    actions: tuple[str, ...] = ()
    spawn: SpawnDef | None = None
    line: int = 0  # in its file, for lint messages
    who: tuple[WhoDef, ...] = ()
    """Besides a role: the positions that may take it (empty: the role is enough)."""


@dataclass(frozen=True, eq=False)  # identity hash: one cached machine per loaded version
class Definition:
    id: str
    version: int
    ref_prefix: str
    title: dict[str, str]
    legal_basis: tuple[str, ...]
    fields: dict[str, FieldDef]
    states: dict[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    path: str
    effective_from: date | None = None
    unit_field: str | None = None
    reminder_policy: str = "default"
    fanout: dict[str, str] = field(default_factory=dict)
    proposer_kinds: tuple[str, ...] = ()   # directory unit kinds allowed to propose (guard proposer_kind_allowed)

    @property
    def initial(self) -> str:
        return next(s.name for s in self.states.values() if s.initial)

    @property
    def triggers(self) -> list[str]:
        return sorted({t.trigger for t in self.transitions})

    def from_state(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def label(self, state: str, lang: str) -> str:
        st = self.states.get(state)
        return (st.label.get(lang) or st.label.get("vi") or state) if st else state

    def field_label(self, name: str) -> dict[str, str] | None:
        """A field's label ``{vi, en}``; None for a field the workflow does not declare (notes.Labels)."""
        f = self.fields.get(name)
        return dict(f.label) if f is not None else None

    def unconfirmed(self) -> list[str]:
        """Human-readable list of the items marked ``confirmed: false``."""
        out = [f"{s.name}/{t.id}: {t.citation}" for s in self.states.values()
               for t in s.timers if not t.confirmed]
        out += [f"{t.trigger}: {t.citation}" for t in self.transitions if not t.confirmed]
        out += [f"{s.name}/plan: {s.plan.get('note', '')}" for s in self.states.values()
                if s.plan and "wait" not in s.plan and "max" in s.plan and not s.plan.get("confirmed", False)]
        return out


# ------------------------------------------------------------------ parsing
class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Msg] = []

    def add(self, line: int, text: Msg | str) -> None:
        self.items.append(Msg("{path}:{line}: {problem}", path=self.path, line=line, problem=text))


def _label(raw: Any, default: str) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, str):
        return {"vi": raw, "en": raw}
    return {"vi": default, "en": default}


def _as_list(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, list) else [raw]


def _check_keys(node: LineDict, allowed: set[str], where: Msg | str, p: _Problems) -> None:
    for key in node:
        if key not in allowed:
            p.add(node.line_of(str(key)), Msg(N_("{where}: unknown key '{key}'{hint} (allowed: {allowed})"),
                                              where=where, key=key, hint=dash_hint(did_you_mean(str(key), allowed)),
                                              allowed=sorted(allowed)))


def parse(raw: Any, path: str, guards: set[str] | None = None, actions: set[str] | None = None,
          exclusive: set[frozenset[str]] | None = None) -> Definition:
    """Validate one parsed YAML document; raise DefinitionError listing every problem.

    ``guards``, ``actions`` and ``exclusive`` (pairs of guards that never both
    pass) default to what is registered (engine.core.guards, engine.core.effects).
    """
    p = _Problems(path)
    if not isinstance(raw, LineDict):
        raise DefinitionError([Msg("{path}:{line}: {problem}", path=path, line=1, problem=Msg(
            N_("a workflow file must be a mapping with id, version, states, transitions")))])
    if guards is None:
        guards = set(registered_guards())
    if actions is None:
        actions = set(registered_actions())
    if exclusive is None:
        exclusive = exclusive_pairs()
    _check_keys(raw, TOP_KEYS, Msg(N_("workflow")), p)
    for key in ("id", "version", "states", "transitions"):
        if key not in raw:
            p.add(raw.line, Msg(N_("missing required key '{key}'"), key=key))
    wid = str(raw.get("id", "?"))
    version = raw.get("version", 0)
    if "version" in raw and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        p.add(raw.line_of("version"), Msg(N_("version must be a whole number ≥ 1")))
        version = 0
    fields = _parse_fields(raw.get("fields") or LineDict(), p)
    states = _parse_states(raw.get("states"), fields, p)
    transitions = _parse_transitions(raw.get("transitions"), raw, states, fields, guards, actions, p)
    unit_field = raw.get("unit_field")
    if unit_field is not None and fields.get(unit_field, FieldDef("", "")).type != "unit":
        p.add(raw.line_of("unit_field"), Msg(N_("unit_field '{field}' must name a field of type unit"),
                                             field=unit_field))
    fanout = raw.get("fanout") or {}
    if isinstance(fanout, LineDict):
        _check_keys(fanout, FANOUT_KEYS, "fanout", p)
        if fanout.get("on_silence", "overdue") not in ON_SILENCE:
            p.add(fanout.line_of("on_silence"), Msg(N_("fanout.on_silence must be one of {allowed}"),
                                                    allowed=list(ON_SILENCE)))
    known_triggers = {tr.trigger for tr in transitions or []}
    for f in fields.values():
        for ref in f.not_before + f.after:
            if ref.startswith("transition:") and transitions is not None and ref[11:] not in known_triggers:
                where_line = raw["fields"].line_of(f.name) if isinstance(raw.get("fields"), LineDict) else 0
                p.add(where_line, Msg(N_("field '{field}': {ref}: {problem}"), field=f.name, ref=ref,
                                      problem=unknown_name("trigger", ref[11:], known_triggers)))
    if states and transitions is not None:
        check_graph(states, transitions, p.add, states_line=raw.line_of("states"), exclusive=exclusive)
    eff = raw.get("effective_from")
    if eff is not None and not isinstance(eff, date):
        p.add(raw.line_of("effective_from"), Msg(N_("effective_from must be a date YYYY-MM-DD")))
        eff = None
    if p.items:
        raise DefinitionError(p.items)
    return Definition(
        id=wid, version=int(version), ref_prefix=str(raw.get("ref_prefix") or wid[:4].upper()),
        title=_label(raw.get("title"), wid), legal_basis=tuple(_as_list(raw.get("legal_basis"))),
        fields=fields, states=states, transitions=tuple(transitions or ()), path=path,
        effective_from=eff, unit_field=unit_field,
        reminder_policy=str(raw.get("reminder_policy") or "default"),
        fanout={str(k): str(v) for k, v in fanout.items()} if isinstance(fanout, dict) else {},
        proposer_kinds=tuple(str(k) for k in _as_list(raw.get("proposer_kinds"))),
    )


def _parse_fields(raw: Any, p: _Problems) -> dict[str, FieldDef]:
    out: dict[str, FieldDef] = {}
    if not isinstance(raw, LineDict):
        p.add(getattr(raw, "line", 0), Msg(N_("fields must be a mapping of field name → {{type, required, label}}")))
        return out
    for name, spec in raw.items():
        line = raw.line_of(name)
        if isinstance(spec, str):
            spec_d: dict[str, Any] = {"type": spec}
        elif isinstance(spec, LineDict):
            _check_keys(spec, FIELD_KEYS, Msg(N_("field '{field}'"), field=name), p)
            spec_d = spec
        else:
            p.add(line, Msg(N_("field '{field}' must be a type name or a mapping"), field=name))
            continue
        ftype = spec_d.get("type", "text")
        if ftype not in FIELD_TYPES:
            p.add(line, Msg(N_("field '{field}': {problem} (types: {types})"), field=name,
                            problem=unknown_name("type", str(ftype), FIELD_TYPES), types=list(FIELD_TYPES)))
            continue
        choices = tuple(str(c) for c in _as_list(spec_d.get("choices")))
        if ftype == "choice" and not choices:
            p.add(line, Msg(N_("field '{field}' of type choice needs 'choices'"), field=name))
        bounds = {}
        for key in ("min", "max"):
            value = spec_d.get(key)
            if value is not None and (ftype != "int" or not isinstance(value, int) or isinstance(value, bool)):
                p.add(line, Msg(N_("field '{field}': {key} is a whole number, for fields of type int"), field=name,
                                key=key))
                value = None
            bounds[key] = value
        rules = {key: [str(x) for x in _as_list(spec_d.get(key))] for key in ("must_include", "not_before", "after")}
        if rules["must_include"] and ftype != "units":
            p.add(line, Msg(N_("field '{field}': must_include is for fields of type units"), field=name))
        for key in ("not_before", "after"):
            for ref in rules[key]:
                if ftype != "date" or not (ref.startswith("field:") or ref.startswith("transition:")):
                    p.add(line, Msg(N_("field '{field}': {key} takes field:<date field> or transition:<trigger> "
                                       "(fields of type date)"), field=name, key=key))
        if spec_d.get("not_future") is not None and (ftype != "date" or not isinstance(spec_d["not_future"], bool)):
            p.add(line, Msg(N_("field '{field}': not_future is true or false, for fields of type date"), field=name))
        out[str(name)] = FieldDef(str(name), ftype, bool(spec_d.get("required", False)),
                                  _label(spec_d.get("label"), str(name)), choices, spec_d.get("default"),
                                  bounds["min"], bounds["max"], tuple(rules["must_include"]),
                                  bool(spec_d.get("not_future", False)), tuple(rules["not_before"]),
                                  tuple(rules["after"]), str(spec_d.get("rule_citation", "")))
    for f in out.values():  # references between fields, now that every field is known
        for ref in f.not_before + f.after:
            if ref.startswith("field:") and out.get(ref[6:], FieldDef("", "")).type != "date":
                p.add(raw.line_of(f.name), Msg(N_("field '{field}': {ref} must name a field of type date"),
                                               field=f.name, ref=ref))
    return out


def _parse_states(raw: Any, fields: dict[str, FieldDef], p: _Problems) -> dict[str, StateDef]:
    out: dict[str, StateDef] = {}
    if not isinstance(raw, LineDict) or not raw:
        if raw is not None:
            p.add(getattr(raw, "line", 0),
                  Msg(N_("states must be a non-empty mapping of state name → {{label, initial, terminal, timers}}")))
        return out
    for name, spec in raw.items():
        line = raw.line_of(str(name))
        spec = spec if isinstance(spec, LineDict) else LineDict()
        _check_keys(spec, STATE_KEYS, Msg(N_("state '{state}'"), state=name), p)
        for flag in ("initial", "terminal"):
            if not isinstance(spec.get(flag, False), bool):
                p.add(spec.line_of(flag), Msg(N_("state '{state}': {key} must be true or false, not '{value}'"),
                                                     state=name, key=flag, value=str(spec.get(flag))))
        timers = []
        for t in _as_list(spec.get("timers")):
            timer = _parse_timer(t, str(name), fields, p, line)
            if timer:
                timers.append(timer)
        out[str(name)] = StateDef(str(name), _label(spec.get("label"), str(name)),
                                  bool(spec.get("initial", False)), bool(spec.get("terminal", False)),
                                  tuple(timers), spec.get("on_children_done"),
                                  _parse_plan(spec.get("plan"), str(name), timers, p), line)
    initials = [s for s in out.values() if s.initial]
    if len(initials) != 1:
        p.add(raw.line, Msg(N_("exactly one state must have 'initial: true' (found {n})"), n=len(initials)))
    return out


def _parse_plan(raw: Any, state: str, timers: list[TimerDef], p: _Problems) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        p.add(0, Msg(N_("state '{state}': plan must be a mapping {{wait | max, unit, min, confirmed, note, goal}}"),
                     state=state))
        return {}
    _check_keys(raw, PLAN_KEYS, Msg(N_("plan of state '{state}'"), state=state), p)
    wait = raw.get("wait")
    if wait is not None and not any(t.id == wait and t.limit is not None and t.start == "entered" for t in timers):
        known = [t.id for t in timers]
        p.add(raw.line_of("wait"), Msg(N_("state '{state}': plan.wait must name a timer of this state with a limit "
                                          "counted from entering it ({problem})"), state=state,
                                       problem=unknown_name("timer", str(wait), known)))
    for key in ("min", "max"):
        if raw.get(key) is not None and (not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] < 0):
            p.add(raw.line_of(key), Msg(N_("state '{state}': plan.{key} must be a whole number of days ≥ 0"),
                                        state=state, key=key))
    if str(raw.get("unit", "wd")) not in TIMER_UNITS:
        p.add(raw.line_of("unit"), Msg(N_("state '{state}': plan.unit must be 'wd' or 'd'"), state=state))
    return dict(raw)


def _parse_timer(t: Any, state: str, fields: dict[str, FieldDef], p: _Problems, line: int) -> TimerDef | None:
    if not isinstance(t, LineDict):
        p.add(line, Msg(N_("state '{state}': each timer must be a mapping"), state=state))
        return None
    _check_keys(t, TIMER_KEYS, Msg(N_("timer in state '{state}'"), state=state), p)
    tid = str(t.get("id") or "")
    if not tid:
        p.add(t.line, Msg(N_("state '{state}': timer needs an 'id'"), state=state))
    limit, phrase_field = t.get("limit"), t.get("phrase_field")
    if (limit is None) == (phrase_field is None):
        p.add(t.line, Msg(N_("timer '{timer}' in state '{state}': give either 'limit' (with 'unit') or 'phrase_field'"),
                          timer=tid, state=state))
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        p.add(t.line_of("limit"), Msg(N_("timer '{timer}': limit must be a whole number of days"), timer=tid))
    unit = str(t.get("unit", "wd"))
    if unit not in TIMER_UNITS:
        p.add(t.line_of("unit"), Msg(N_("timer '{timer}': unit must be 'wd' (working days) or 'd' (calendar days)"),
                                     timer=tid))
    start = str(t.get("start", "entered"))
    for key, value in (("start", start), ("responsible", str(t.get("responsible", "case")))):
        if value.startswith("field:") and value[6:] not in fields:
            p.add(t.line_of(key), Msg(N_("timer '{timer}': {key}: {problem}"), timer=tid, key=key,
                                      problem=unknown_name("field", value[6:], fields)))
    for key in ("phrase_field", "ref_field"):
        if t.get(key) is not None and t[key] not in fields:
            p.add(t.line_of(key), Msg(N_("timer '{timer}': {key}: {problem}"), timer=tid, key=key,
                                      problem=unknown_name("field", str(t[key]), fields)))
    if start != "entered" and not start.startswith("field:"):
        p.add(t.line_of("start"), Msg(N_("timer '{timer}': start must be 'entered' or 'field:<date field>'"),
                                      timer=tid))
    confirmed = t.get("confirmed", True)
    if not isinstance(confirmed, bool):
        p.add(t.line_of("confirmed"), Msg(N_("timer '{timer}': confirmed must be true or false"), timer=tid))
    return TimerDef(tid, _label(t.get("label"), tid), limit if isinstance(limit, int) else None, unit,
                    start, phrase_field, t.get("ref_field"), str(t.get("citation", "")),
                    bool(confirmed), str(t.get("responsible", "case")), str(t.get("policy", "default")),
                    str(t.get("note", "")), tuple(str(x) for x in _as_list(t.get("closes_on"))),
                    _parse_outcomes(t, tid, p))


TIMER_OUTCOMES = (DeadlineStatus.NO_REPLY, DeadlineStatus.DEEMED_AGREED, DeadlineStatus.CANCELLED)


def _parse_outcomes(t: LineDict, tid: str, p: _Problems) -> dict[str, str]:
    raw = t.get("outcomes")
    if raw is None:
        return {}
    if not isinstance(raw, LineDict):
        p.add(t.line_of("outcomes"), Msg(N_("timer '{timer}': outcomes maps a state to one of {outcomes}"),
                                         timer=tid, outcomes=list(TIMER_OUTCOMES)))
        return {}
    out = {}
    for state, outcome in raw.items():
        if str(outcome) not in TIMER_OUTCOMES:
            p.add(raw.line_of(str(state)),
                  Msg(N_("timer '{timer}': {problem}"), timer=tid,
                      problem=unknown_name("outcome", str(outcome), TIMER_OUTCOMES)))
        out[str(state)] = str(outcome)
    return out


def _parse_transitions(raw: Any, top: LineDict, states: dict[str, StateDef], fields: dict[str, FieldDef],
                       guards: set[str], known_actions: set[str], p: _Problems) -> list[TransitionDef] | None:
    if not isinstance(raw, list):
        if raw is not None:
            p.add(top.line_of("transitions"), Msg(N_("transitions must be a list")))
        return None
    out = []
    seen: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for tr in raw:
        if not isinstance(tr, LineDict):
            p.add(top.line_of("transitions"), Msg(N_("each transition must be a mapping")))
            continue
        _check_keys(tr, TRANSITION_KEYS, Msg(N_("transition '{trigger}'"), trigger=tr.get("trigger", "?")), p)
        trig = str(tr.get("trigger") or "")
        where = Msg(N_("transition '{trigger}'"), trigger=trig)
        if not trig:
            p.add(tr.line, Msg(N_("transition without 'trigger'")))
        sources = [str(s) for s in _as_list(tr.get("from"))]
        if sources == ["*"]:
            sources = [s for s, d in states.items() if not d.terminal]
        if not sources:
            p.add(tr.line, Msg(N_("{where}: needs 'from'"), where=where))
        dest = str(tr.get("to") or "")
        for s in sources + ([dest] if dest else []):
            if states and s not in states:
                p.add(tr.line_of("to" if s == dest else "from"), Msg("{where}: {problem}", where=where,
                                                                     problem=unknown_name("state", s, states)))
        if not dest:
            p.add(tr.line, Msg(N_("{where}: needs 'to'"), where=where))
        roles = [str(r) for r in _as_list(tr.get("roles"))]
        if not roles:
            p.add(tr.line, Msg(N_("{where}: no roles — every transition must say who may fire it (roles: {roles})"),
                               where=where, roles=list(ROLES)))
        for r in roles:
            if r not in ROLES:
                p.add(tr.line_of("roles"), Msg("{where}: {problem}", where=where, problem=unknown_name("role", r,
                                               ROLES)))
        if "auditor" in roles:
            p.add(tr.line_of("roles"), Msg(N_("{where}: auditors read only and cannot fire transitions"), where=where))
        tguards = [str(g) for g in _as_list(tr.get("guards"))]
        for g in tguards:
            if g not in guards:
                p.add(tr.line_of("guards"), Msg("{where}: {problem}", where=where,
                                                problem=unknown_name("guard", g, guards)))
        requires = [str(f) for f in _as_list(tr.get("requires"))]
        for f in requires:
            if f not in fields:
                p.add(tr.line_of("requires"), Msg(N_("{where}: requires {problem}"), where=where,
                                                  problem=unknown_name("field", f, fields)))
        actions = [str(a) for a in _as_list(tr.get("actions"))]
        for a in actions:
            if a not in known_actions:
                p.add(tr.line_of("actions"), Msg("{where}: {problem}", where=where,
                                                 problem=unknown_name("action", a, known_actions)))
        confirmed = tr.get("confirmed", True)
        if not isinstance(confirmed, bool):
            p.add(tr.line_of("confirmed"), Msg(N_("{where}: confirmed must be true or false"), where=where))
        for s in sources:
            if s in states and states[s].terminal:
                p.add(tr.line_of("from"), Msg(N_("{where}: leaves terminal state '{state}' (terminal states have no "
                                                 "way out)"), where=where, state=s))
            key = (trig, s, tuple(tguards))
            if key in seen:
                p.add(tr.line, Msg(N_("{where}: duplicates the transition at line {line} from '{state}'"), where=where,
                                   line=seen[key], state=s))
            seen[key] = tr.line
        spawn = _parse_spawn(tr.get("spawn"), where, fields, p)
        who = _parse_who(tr.get("who"), where, fields, p, tr)
        out.append(TransitionDef(trig, tuple(sources), dest, tuple(roles), tuple(tguards), tuple(requires),
                                 tuple(str(d) for d in _as_list(tr.get("documents"))),
                                 str(tr.get("citation", "")), bool(confirmed),
                                 _label(tr.get("label"), trig), tuple(actions), spawn, tr.line, who))
    return out


WHO_KEYS = {"position", "unit", "delegated", "delegate_position"}
POSITIONS = tuple(Position)


def _parse_who(raw: Any, where: Msg, fields: dict[str, FieldDef], p: _Problems, tr: LineDict) -> tuple[WhoDef, ...]:
    out = []
    for entry in _as_list(raw):
        if not isinstance(entry, LineDict):
            p.add(tr.line_of("who"), Msg(N_("{where}: each 'who' entry is a mapping {{position, unit, delegated}}"),
                                         where=where))
            continue
        _check_keys(entry, WHO_KEYS, Msg(N_("{where} who"), where=where), p)
        position, unit = str(entry.get("position", "")), str(entry.get("unit", ""))
        for key, value in (("position", position), ("delegate_position", entry.get("delegate_position"))):
            if value is not None and str(value) not in POSITIONS:
                p.add(entry.line_of(key), Msg(N_("{where}: who: {problem} (positions: {positions})"), where=where,
                                              problem=unknown_name("position", str(value), POSITIONS),
                                              positions=list(POSITIONS)))
        if not unit:
            p.add(entry.line, Msg(N_("{where}: who needs 'unit' (a unit code, field:<unit field> or case)"),
                                  where=where))
        elif unit.startswith("field:") and fields.get(unit[6:], FieldDef("", "")).type != "unit":
            p.add(entry.line_of("unit"), Msg(N_("{where}: who: unit {unit} must name a field of type unit"),
                                             where=where,
                                             unit=unit))
        delegated = entry.get("delegated", False)
        if not isinstance(delegated, bool):
            p.add(entry.line_of("delegated"), Msg(N_("{where}: who: delegated must be true or false"), where=where))
        dpos = entry.get("delegate_position")
        out.append(WhoDef(position, unit, bool(delegated), str(dpos) if dpos is not None else None))
    return tuple(out)


def _parse_spawn(raw: Any, where: Msg, fields: dict[str, FieldDef], p: _Problems) -> SpawnDef | None:
    if raw is None:
        return None
    if not isinstance(raw, LineDict):
        p.add(0, Msg(N_("{where}: spawn must be a mapping {{workflow, for_each, fields}}"), where=where))
        return None
    _check_keys(raw, SPAWN_KEYS, Msg(N_("{where} spawn"), where=where), p)
    for_each = str(raw.get("for_each", ""))
    if fields.get(for_each, FieldDef("", "")).type != "units":
        p.add(raw.line_of("for_each"), Msg(N_("{where}: spawn.for_each must name a field of type units"), where=where))
    if not raw.get("workflow"):
        p.add(raw.line, Msg(N_("{where}: spawn needs 'workflow'"), where=where))
    given = raw.get("fields") or {}
    for name, value in (given.items() if isinstance(given, dict) else []):
        ref = str(value)
        if ref.startswith(("field:", "given:")) and ref[6:] not in fields:
            p.add(given.line_of(name) if isinstance(given, LineDict) else raw.line,
                  Msg(N_("{where}: spawn field {name}: {ref} names no field of this workflow"), where=where, name=name,
                      ref=ref))
    return SpawnDef(str(raw.get("workflow", "")), for_each,
                    {str(k): str(v) for k, v in (raw.get("fields") or {}).items()}, str(raw.get("title", "")))


# ------------------------------------------------------------------ loading
def read(path: Path) -> Definition:
    """Read and validate one file; DefinitionError lists all problems.

    The YAML parse is kept in the cache folder, keyed by the file's bytes (``yamlio.load_file``): a command
    that reads cases imports no YAML parser while no workflow file changed.  The checks below run every time.
    """
    return parse(load_checked(path, DefinitionError, cached=True), str(path))


def lint(paths: list[Path]) -> tuple[list[Definition], list[Msg | str]]:
    """Validate files; returns the good definitions and every problem of every file (messages of the catalogue)."""
    good: list[Definition] = []
    problems: list[Msg | str] = []
    files = [f for p in paths for f in (sorted(p.glob("*.yaml")) if p.is_dir() else [p])]
    for f in files:
        try:
            good.append(read(f))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    ids: dict[tuple[str, int], str] = {}
    for d in good:
        if (d.id, d.version) in ids:
            problems.append(Msg(N_("{path}: {workflow} version {version} is also defined in {other}"), path=d.path,
                                workflow=d.id, version=d.version, other=ids[(d.id, d.version)]))
        ids[(d.id, d.version)] = d.path
    known = {d.id for d in good}
    beside: dict[Path, set[str]] = {}  # one read of a folder per lint, not one per spawn
    for d in good:  # a spawn names another file's workflow: look among the linted files and the file's folder
        for t in d.transitions:
            if t.spawn and t.spawn.workflow not in known and t.spawn.workflow not in beside.setdefault(
                    Path(d.path).parent, _ids_beside(Path(d.path))):
                problems.append(Msg(N_("{path}: transition '{trigger}': spawn.workflow {problem}"), path=d.path,
                                    trigger=t.trigger, problem=unknown_name("workflow", t.spawn.workflow, known)))
    return good, problems


def _ids_beside(path: Path) -> set[str]:
    ids = set()
    for f in path.parent.glob("*.yaml"):
        try:
            raw = load_file(f, cached=True)
        except (YamlSyntaxError, OSError):
            continue
        if isinstance(raw, dict) and raw.get("id"):
            ids.add(str(raw["id"]))
    return ids


def folder() -> str:
    """The workflows folder: ``AGREEFLOW_WORKFLOWS`` or the shipped ``workflows/``."""
    return os.environ.get("AGREEFLOW_WORKFLOWS") or str(WORKFLOWS_DIR)


def from_source(text: str, path: str) -> Definition:
    """A definition from stored YAML text (a snapshot kept in the database)."""
    try:
        return parse(load_text(text, path), path)
    except YamlSyntaxError as exc:
        raise DefinitionError([exc.located]) from None


def registry(path: str | None = None) -> dict[tuple[str, int], Definition]:
    """Every definition version in the workflows folder, keyed by (id, version); cached."""
    return _registry(path or folder())


@cache
def _registry(path: str) -> dict[tuple[str, int], Definition]:
    good, problems = lint([Path(path)])
    if problems:
        raise DefinitionError(problems)
    return {(d.id, d.version): d for d in good}


def get(workflow: str, version: int | None = None) -> Definition:
    """One definition: the given version, or the newest."""
    reg = registry()
    if version is not None and (workflow, version) in reg:
        return reg[(workflow, version)]
    versions = sorted(v for (w, v) in reg if w == workflow)
    if not versions or version is not None:
        raise UnknownWorkflowError(workflow, {w for w, _ in reg})
    return reg[(workflow, versions[-1])]


def title_of(workflow: str | None, lang: str) -> str:
    """A workflow by its title in ``lang`` (the newest definition's), for a reader who sees only its id in a row
    (a report's step); a workflow the files no longer define is shown by its id."""
    if not workflow:
        return ""
    try:
        defn = get(workflow)
    except UnknownWorkflowError:
        return workflow
    return defn.title.get(lang) or defn.title.get("vi") or workflow


def versions(workflow: str) -> list[Definition]:
    reg = registry()
    found = [d for (w, _), d in sorted(reg.items()) if w == workflow]
    if not found:
        raise UnknownWorkflowError(workflow, {w for w, _ in reg})
    return found


def newest() -> list[Definition]:
    """The newest version of each workflow, sorted by id."""
    reg = registry()
    best: dict[str, Definition] = {}
    for (w, v), d in reg.items():
        if w not in best or v > best[w].version:
            best[w] = d
    return [best[w] for w in sorted(best)]
