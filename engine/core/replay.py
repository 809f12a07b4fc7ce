"""Replay one case's log and hold it against the tables: state, fields, deadlines, suspension.

Commands and reports read the tables ``cases`` and ``deadlines``; inspectors
can verify only the log.  So every change to the columns compared here is
written with an event, in the same transaction, and replaying a case's
events gives its row back exactly:

* ``cases.state`` — the ``to`` of ``opened``, then of every ``transition``,
  whose ``from`` must be the state the case was in (as must the ``from`` of a
  ``refused``: the state the refusal saw);
* ``cases.fields`` — the ``fields`` of ``opened``; ``field_changed`` sets
  ``field`` to ``after``; ``attached`` adds ``{name, size, sha256}`` under its
  ``kind`` in ``_documents``; ``child_opened`` events after a transition form
  the new ``_round`` (the children's refs, in order); ``flagged`` adds its
  ``flag`` to ``_flags``; ``unit_transferred`` sets each of its ``fields`` to its
  ``after``.  A key whose value is null counts as absent;
* ``deadlines`` — each ``deadline_set`` starts a deadline of its key (one
  carrying ``started_by`` starts the waiting, ``pending``, one of that key
  instead); ``deadline_met`` / ``deadline_missed`` (unless ``final`` is false:
  the sweep's "it is late", the deadline stays open) / ``deadline_cancelled``
  close the open one of that key with that due date, as does ``deadline_closed``
  with its payload's ``status`` (``no_reply``, ``deemed_agreed``); a ``deadline_missed``
  carrying ``late_report`` is the late report of a period already closed and changes
  nothing; ``deadline_moved`` moves
  its due date from ``before`` to ``after``.  Rows of one key, in the order
  they were made, must match the deadlines the log started, in order, in
  ``status`` and ``due_date``;
* ``cases.suspended_at`` — the time of the last ``suspended``, cleared by
  ``resumed``.

A row that disagrees is tampering (``audit verify`` exits 4 naming the case
and the column).  This module reads no database; ``engine.core.verification``
feeds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind

DOCUMENTS = "_documents"
ROUND = "_round"
FLAGS = "_flags"
SYSTEM_WORKFLOW = "_system"   # the administrative chain (cases.SYSTEM_WORKFLOW): no state or fields to replay

PAYLOAD_KINDS = frozenset({
    EventKind.OPENED, EventKind.FIELD_CHANGED, EventKind.ATTACHED, EventKind.CHILD_OPENED, EventKind.FLAGGED,
    EventKind.DEADLINE_SET, EventKind.DEADLINE_MET, EventKind.DEADLINE_MISSED, EventKind.DEADLINE_CANCELLED,
    EventKind.DEADLINE_CLOSED, EventKind.DEADLINE_MOVED, EventKind.UNIT_TRANSFERRED})
"""Kinds whose payload the replay reads."""
STATE_KINDS = frozenset({EventKind.OPENED, EventKind.TRANSITION, EventKind.REFUSED, EventKind.SUSPENDED,
                         EventKind.RESUMED})
"""Kinds the replay reads without their payload."""
REPLAYED = PAYLOAD_KINDS | STATE_KINDS
_CLOSING: dict[str, str] = {EventKind.DEADLINE_MET: DeadlineStatus.MET.value,
                             EventKind.DEADLINE_MISSED: DeadlineStatus.MISSED.value,
                             EventKind.DEADLINE_CANCELLED: DeadlineStatus.CANCELLED.value,
                             EventKind.DEADLINE_CLOSED: ""}  # its payload's status: no_reply, deemed_agreed
LATE_REPORT = "late_report"  # legaltime.deadlines.LATE_REPORT (the layer below may not import it)
_OPEN = (DeadlineStatus.OPEN.value, DeadlineStatus.PENDING.value)
# The kinds as plain text for the comparisons of ``feed``, which runs for half the events of the log:
# reading a member off an enum class costs several times the comparison itself.
_KIND: Any = type("_Kind", (), {k.name: str(k.value) for k in EventKind})
_PENDING = str(DeadlineStatus.PENDING.value)


@dataclass
class Finding:
    """One disagreement: at an event (``seq``) or in a table column (``seq`` None)."""

    seq: int | None
    problem: Msg


@dataclass
class _Deadline:
    key: str
    status: str
    due_date: str | None
    seq: int


@dataclass
class CaseReplay:
    """What a case's events say its rows hold; feed events in seq order, then :meth:`compare`."""

    state: str | None = None
    state_seq: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    deadlines: list[_Deadline] = field(default_factory=list)
    suspended_at: str | None = None
    opened: bool = False
    findings: list[Finding] = field(default_factory=list)
    _new_round: bool = True

    def feed(self, seq: int, kind: str, from_state: str | None, to_state: str | None, at_text: str,
             payload: Any) -> None:
        """One event (``payload`` parsed, or None for the kinds of ``STATE_KINDS``)."""
        if kind == _KIND.TRANSITION:
            if from_state != self.state and self.opened:
                self._wrong_from(seq, "transition", from_state)
            self.state, self.state_seq, self._new_round = to_state, seq, True
        elif kind == _KIND.OPENED:
            self.state, self.state_seq, self.opened = to_state, seq, True
            given = payload.get("fields") if isinstance(payload, dict) else None
            self.fields = json.loads(json.dumps(given)) if isinstance(given, dict) else {}
        elif kind == _KIND.REFUSED:
            if from_state is not None and from_state != self.state and self.opened:
                self._wrong_from(seq, "refusal", from_state)
        elif kind == _KIND.SUSPENDED:
            self.suspended_at = at_text
        elif kind == _KIND.RESUMED:
            self.suspended_at = None
        elif isinstance(payload, dict):
            self._payload(seq, kind, payload)

    def _payload(self, seq: int, kind: str, p: dict[str, Any]) -> None:
        if kind == _KIND.FIELD_CHANGED:
            self.fields[str(p.get("field"))] = p.get("after")
        elif kind == _KIND.ATTACHED:
            docs = {k: list(v) for k, v in (self.fields.get(DOCUMENTS) or {}).items()}
            docs.setdefault(str(p.get("kind")), []).append({k: p.get(k) for k in ("name", "size", "sha256")})
            self.fields[DOCUMENTS] = docs
        elif kind == _KIND.CHILD_OPENED:
            children = [] if self._new_round else list(self.fields.get(ROUND) or [])
            self.fields[ROUND] = [*children, p.get("child")]
            self._new_round = False
        elif kind == _KIND.UNIT_TRANSFERRED:
            for name, change in (p.get("fields") or {}).items():
                self.fields[str(name)] = change.get("after") if isinstance(change, dict) else None
        elif kind == _KIND.FLAGGED:
            self.fields[FLAGS] = [*(self.fields.get(FLAGS) or []), p.get("flag")]
        elif kind == _KIND.DEADLINE_SET:
            self._deadline_set(seq, p)
        elif kind in _CLOSING:
            if kind == _KIND.DEADLINE_MISSED and (p.get("final") is False or p.get(LATE_REPORT)):
                # the sweep's "it is late" (the deadline stays open until the case moves), or the late report
                # of a recurring period already closed as missed (it stays missed; the row's extra says when)
                return
            d = self._open_one(p.get("deadline"), p.get("due_date"))
            if d is not None:
                d.status = str(p.get("status")) if kind == _KIND.DEADLINE_CLOSED else _CLOSING[kind]
                d.due_date = p.get("due_date")
            else:
                self.findings.append(Finding(seq, Msg(N_("closes deadline '{key}', which is not open"),
                                                      key=p.get("deadline"))))
        elif kind == _KIND.DEADLINE_MOVED:
            d = self._open_one(p.get("deadline"), p.get("before"))
            if d is not None:
                d.due_date = p.get("after")
            else:
                self.findings.append(Finding(seq, Msg(N_("moves deadline '{key}', which is not open"),
                                                      key=p.get("deadline"))))

    def _deadline_set(self, seq: int, p: dict[str, Any]) -> None:
        key = str(p.get("deadline"))
        if "started_by" in p:  # a waiting deadline whose event came (procedures.pending.start)
            waiting = next((d for d in self.deadlines if d.key == key and d.status == _PENDING), None)
            if waiting is not None:
                waiting.status, waiting.due_date = str(p.get("status")), p.get("due_date")
                return
        self.deadlines.append(_Deadline(key, str(p.get("status")), p.get("due_date"), seq))

    def _open_one(self, key: Any, due_date: Any) -> _Deadline | None:
        """The open deadline of ``key`` due on ``due_date`` — else the first open one of ``key``."""
        open_ = [d for d in self.deadlines if d.key == key and d.status in _OPEN]
        return next((d for d in open_ if d.due_date == due_date), open_[0] if open_ else None)

    def _wrong_from(self, seq: int, what: str, from_state: str | None) -> None:
        text = N_("the transition starts from '{from_state}' but the log left the case in '{state}' (seq {seq}): its "
                  "state was changed outside the log") if what == "transition" else \
            N_("the refusal starts from '{from_state}' but the log left the case in '{state}' (seq {seq}): its state "
               "was changed outside the log")
        self.findings.append(Finding(seq, Msg(text, from_state=from_state, state=self.state, seq=self.state_seq)))

    # ------------------------------------------------------------------ against the tables
    def compare(self, workflow: str, state: str, fields: dict[str, Any], suspended_at: str | None,
                rows: list[tuple[int, str, str, str | None]]) -> list[Finding]:
        """Findings so far plus every column of the case's rows that the log does not give back.

        ``rows`` are the case's deadlines as (id, key, status, due_date ISO text), by id.
        """
        out = list(self.findings)
        if workflow != SYSTEM_WORKFLOW:
            if not self.opened:
                out.append(Finding(None, Msg(N_("the log does not begin with 'opened'"))))
            elif state != self.state:
                out.append(_column("cases.state", state, self.state))
            if self.opened:
                out += _fields(fields, self.fields)
        if suspended_at != self.suspended_at:
            out.append(_column("cases.suspended_at", suspended_at, self.suspended_at))
        out += self._compare_deadlines(rows)
        return out

    def _compare_deadlines(self, rows: list[tuple[int, str, str, str | None]]) -> list[Finding]:
        try:  # the usual case: each key's rows, in order, are the log's deadlines of that key (stable sorts)
            if sorted([(d.key, d.status, d.due_date) for d in self.deadlines], key=_first) \
                    == sorted([(r[1], r[2], r[3]) for r in rows], key=_first):
                return []
        except TypeError:  # a key that is not text: compared below
            pass
        out = []
        by_key: dict[str, list[_Deadline]] = {}
        for d in self.deadlines:
            by_key.setdefault(d.key, []).append(d)
        table: dict[str, list[tuple[int, str, str, str | None]]] = {}
        for row in rows:
            table.setdefault(row[1], []).append(row)
        for key in sorted(set(by_key) | set(table)):
            logged, stored = by_key.get(key, []), table.get(key, [])
            for d, (row_id, _, status, due) in zip(logged, stored):
                if status != d.status:
                    out.append(_column(f"deadlines '{key}' (id {row_id}).status", status, d.status))
                if due != d.due_date:
                    out.append(_column(f"deadlines '{key}' (id {row_id}).due_date", due, d.due_date))
            for row_id, _, status, due in stored[len(logged):]:
                out.append(Finding(None, Msg(N_("deadlines '{key}' (id {id}, {status}, due {due}) was never set in "
                                                "the log"), key=key, id=row_id, status=status, due=due)))
            for d in logged[len(stored):]:
                out.append(Finding(None, Msg(N_("the log sets deadline '{key}' (seq {seq}, {status}, due {due}) but "
                                                "the deadlines table has no such row"), key=key, seq=d.seq,
                                             status=d.status, due=d.due_date)))
        return out


def _first(t: tuple[Any, ...]) -> Any:
    return t[0]


def _show(value: Any) -> str:
    return "NULL" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _column(column: str, stored: Any, logged: Any) -> Finding:
    return Finding(None, Msg(N_("{column} is '{stored}' but the log says '{logged}'"), column=column,
                             stored=_show(stored), logged=_show(logged)))


def _fields(stored: dict[str, Any], logged: dict[str, Any]) -> list[Finding]:
    if stored == logged and all(type(v) is type(logged[k]) for k, v in stored.items()):
        return []  # the usual case, without sorting the names
    out = []
    for name in sorted(set(stored) | set(logged), key=str):
        a, b = stored.get(name), logged.get(name)
        if a != b or type(a) is not type(b):
            out.append(_column(f"cases.fields['{name}']", a, b))
    return out
