"""``agreeflow tick``: one sweep of due deadlines at "now", then one dispatch of the outbox.

The deadlines table is the truth.  One indexed query — ``status = 'open' AND
next_action_at <= now`` on (status, next_action_at) — finds what is due;
pending (event-relative) deadlines are never selected.  Each deadline is then
handled in its own transaction, so one failure does not stop the others:

1. lock the case row (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: a case another
   node or a user holds is left for the next sweep), re-read the deadline and
   check it is still due;
2. for each due rung of its ladder (engine/legaltime/reminders.py ``plan``):
   skip it when catch-up or its stale words say so (a ``skipped`` outbox row
   per recipient and ``reminder_skipped`` in the chain), else write one
   ``held`` outbox row per recipient (idempotency key
   ``d<deadline>:<rung>:<recipient>``, UNIQUE) and log ``reminder_queued`` /
   ``escalated`` in the case's chain — or, for
   the missed marker, log ``deadline_missed`` once (the deadline stays
   ``open``; ``met``/``missed`` is decided when the case leaves the state) and
   let consultation replies deemed agreed settle (``engine.fanout``).  A
   recurring deadline's marker ends its period instead: missed for good, the
   next period opened (engine.procedures.recurrence); the missed period's
   later rungs (the "overdue" mail) still go out;
3. advance ``next_action_at``; commit.

A second sweep at the same instant therefore finds nothing and queues
nothing.  Then the weekly digest per unit (key ``w<ISO week>:<unit>:<recipient>``),
and the service folds each recipient's held rows into one message
(notifications/compose.py ``bundle``; docs/mail.md).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, cases, clock
from agreeflow.engine.core.i18n import localized, pair
from agreeflow.engine.core.kinds import DeadlineStatus, EventKind, OutboxStatus
from agreeflow.engine.core.store import Case, Deadline, OutboxMessage
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.legaltime.deadlines import deadline_payload
from agreeflow.engine.legaltime.reminders import Policies, Rung
from agreeflow.engine.procedures import fanout, recurrence
from agreeflow.notifications import compose

log = logging.getLogger("agreeflow.sweep")
ACTOR = "agreeflow"
ROLE = "system"


def due_ids(s: Session, now: datetime) -> list[int]:
    """Ids of the open deadlines whose next action is due at ``now``, oldest first (one indexed query)."""
    # A recurring period closed as missed keeps its later rungs: "missed" rows with a next action.
    due = select(Deadline.id).where(col(Deadline.status).in_((DeadlineStatus.OPEN, DeadlineStatus.MISSED)),
                                    col(Deadline.next_action_at) <= now)
    return [i for i in s.exec(due.order_by(col(Deadline.next_action_at), col(Deadline.id))).all() if i is not None]


def handle(s: Session, deadline_id: int, now: datetime, cal: Any, policies: Policies,
           links: compose.Links | None = None) -> Counter[str]:
    """Handle one due deadline in the caller's transaction: its due rungs, then its next action.

    Each due rung is sent, skipped (engine.legaltime.reminders.plan: stale, or overtaken after downtime)
    or, for the missed marker, logged.  A rung sent is written ``held`` for each recipient: the sweep
    folds a recipient's held rungs into one message at its end (``compose.bundle``).  ``links`` (the
    web's address and signing secret) puts the case's page — and, for a consulted body that has not
    answered yet, its personal reply link — into the mails.
    """
    counts: Counter[str] = Counter()
    d = s.get(Deadline, deadline_id)
    if d is None:
        return counts
    case = s.exec(select(Case).where(Case.id == d.case_id).with_for_update(skip_locked=True)).first()
    if case is None:
        return counts  # another node or a user holds the case: next sweep
    s.refresh(d)
    live = d.status == DeadlineStatus.OPEN or (recurrence.ladder_goes_on(d) and case.closed_at is None)
    if not live or d.next_action_at is None or d.next_action_at > now or case.suspended_at:
        return counts
    defn = cases.definition_of(s, case.workflow, case.version)
    book = compose.Book(s, policies)
    for step in reminders.plan(d, now, cal, policies):
        rung = step.rung
        if step.action == "event":
            _missed(s, case, d, rung, now, cal)
            counts["missed"] += 1
            if d.status != DeadlineStatus.OPEN and not recurrence.ladder_goes_on(d):
                return counts  # settled by the silence rule: its ladder ends here
        elif step.action == "skip":
            counts.update(_skip_rung(s, case, d, rung, step.why, now, policies))
        else:
            counts.update(_mail_rung(s, case, defn, d, rung, now, cal, policies, book, links))
        reminders.mark_done(d, rung)
    d.next_action_at = reminders.next_action(d, now, cal, policies)
    s.add(d)
    return counts


def _missed(s: Session, case: Case, d: Deadline, rung: Rung, now: datetime, cal: Any) -> None:
    if recurrence.is_recurring(d):  # the period ends: missed for good, the next one opens
        recurrence.period_missed(s, case, d, cal, ACTOR, now)
        return
    audit.append_event(s, case, EventKind.DEADLINE_MISSED, actor=ACTOR, role=ROLE, at=now,
                       payload=deadline_payload(d) | {"final": False, "rung": rung.id,
                                                      "due_at": audit.fmt_at(rung.at - timedelta(seconds=1))})
    # A reply deadline of a fanned-out child (e.g. timer:awaiting:reply): the round's letter
    # decides what silence means; apply_silence checks the rule and is idempotent.
    if d.key.startswith("reply:") or case.parent_id is not None:
        fanout.apply_silence(s, case, now)
        s.flush()
        s.refresh(d)


def _skip_rung(s: Session, case: Case, d: Deadline, rung: Rung, why: str, now: datetime,
               policies: Policies) -> Counter[str]:
    """Record a rung that will never be sent (one ``skipped`` outbox row per recipient, and the log)."""
    counts: Counter[str] = Counter()
    kind = rung.rung.mail or "reminder"
    who = compose.unit_recipients(s, d.unit)
    rows = [compose.held_row(f"d{d.id}:{rung.id}:{w.address}", kind, {}, w, policies, now, rung=rung.id,
                             case_id=case.id, deadline_id=d.id, status=OutboxStatus.SKIPPED, why=why) for w in who]
    skipped = compose.queue(s, rows)
    if skipped or not who:
        audit.append_event(s, case, EventKind.REMINDER_SKIPPED, actor=ACTOR, role=ROLE, at=now,
                           payload={"deadline": d.key, "deadline_id": d.id, "rung": rung.id, "kind": kind,
                                    "why": why, "scheduled_at": audit.fmt_at(rung.at),
                                    "due_date": d.due_date.isoformat() if d.due_date else None,
                                    "recipients": [k.split(":", 2)[2] for k in skipped]})
        counts["skipped"] += 1
    return counts


def _mail_rung(s: Session, case: Case, defn: Any, d: Deadline, rung: Rung, now: datetime, cal: Any,
               policies: Policies, book: compose.Book, links: compose.Links | None = None) -> Counter[str]:
    counts: Counter[str] = Counter()
    today = compose.local_day(now)
    late = compose.late_by(now, rung.at, policies)
    kind = rung.rung.mail or "reminder"
    own = compose.unit_recipients(s, d.unit)
    rows = [_row(f"d{d.id}:{rung.id}:{who.address}", kind,
                 compose.deadline_context(s, case, defn, d, who, cal, today, book, links), who, policies, now,
                 rung=rung.id, case_id=case.id, deadline_id=d.id, late_by_s=late) for who in own]
    queued = compose.queue(s, rows)
    base = {"deadline": d.key, "deadline_id": d.id, "rung": rung.id, "kind": kind,
            "due_date": d.due_date.isoformat() if d.due_date else None,
            "scheduled_at": audit.fmt_at(rung.at), "late_by_s": late}
    if queued:
        audit.append_event(s, case, EventKind.REMINDER_QUEUED, actor=ACTOR, role=ROLE, at=now,
                           payload=base | {"recipients": [k.split(":", 2)[2] for k in queued]})
        counts["reminders"] += 1
    counts["queued"] += len(queued)
    if rung.rung.escalate:
        addressed = {w.address.lower() for w in own}
        up = [w for w in compose.escalation_recipients(s, d.unit, policies) if w.address.lower() not in addressed]
        sent_before = reminders_to_the_late(s, case, d, rung.id)
        esc = [_row(f"d{d.id}:{rung.id}:{who.address}", "escalation",
                    compose.deadline_context(s, case, defn, d, who, cal, today, book, links, escalation=True)
                    | {"reminders_sent": sent_before}, who, policies, now,
                    rung=rung.id, case_id=case.id, deadline_id=d.id, late_by_s=late) for who in up]
        queued_up = compose.queue(s, esc)
        if queued_up:
            audit.append_event(s, case, EventKind.ESCALATED, actor=ACTOR, role=ROLE, at=now,
                               payload=base | {"kind": "escalation", "reminders_sent": sent_before,
                                               "recipients": [k.split(":", 2)[2] for k in queued_up]})
            counts["escalations"] += 1
        counts["queued"] += len(queued_up)
        queued = queued + queued_up
    if late and queued:
        counts["late"] += len(queued)
        # Past the catch-up window the rung is the one kept of several (the rest were skipped): news, not alarm.
        caught_up = cal.working_days_between(compose.local_day(rung.at), today) > policies.catch_up_wd
        log.log(logging.INFO if caught_up else logging.WARNING, "%s %s %s: %d mail(s) queued late by %s",
                case.ref, d.key, rung.id, len(queued), timedelta(seconds=late))
    return counts


NOT_SENT = (OutboxStatus.SKIPPED, OutboxStatus.CANCELLED, OutboxStatus.FAILED)
"""Rungs that never reached anybody: not counted as reminders sent."""


def reminders_to_the_late(s: Session, case: Case, d: Deadline, rung: str) -> int:
    """How many reminders the bodies an escalation names as late have had, as its text says ("… đã gửi N thư
    nhắc tới …"); 0 (the sentence is left out) when that is not one number.

    Those bodies are the responsible unit of ``d`` — or, for a deadline that follows a round (its case has
    open reply cases), the consulted bodies that have not answered: then their own reply deadlines' reminders
    count, not those of the coordinator's deadline, and only if every one of them had as many.  A reminder is
    one sweep's mail: rungs folded into one mail count once, and so does a mail that reached several mailboxes
    of one body; only mail made to be sent counts (``NOT_SENT`` aside), and not the rung being escalated.
    """
    waiting = list(s.exec(select(Case.id).where(Case.parent_id == case.id, col(Case.closed_at).is_(None))).all())
    if waiting:
        rows = s.exec(select(OutboxMessage.case_id, OutboxMessage.created_at).where(
            col(OutboxMessage.case_id).in_(waiting), col(OutboxMessage.kind) != "escalation",
            col(OutboxMessage.status).not_in(NOT_SENT), col(OutboxMessage.deadline_id).is_not(None))).all()
        per_body = Counter(case_id for case_id, _ in set(rows))
        counts = {per_body.get(c, 0) for c in waiting}
        return counts.pop() if len(counts) == 1 else 0
    return len(set(s.exec(select(OutboxMessage.created_at).where(
        OutboxMessage.deadline_id == d.id, OutboxMessage.rung != rung, col(OutboxMessage.kind) != "escalation",
        col(OutboxMessage.status).not_in(NOT_SENT))).all()))


def _row(idem_key: str, kind: str, context: dict[str, Any], who: compose.Recipient, policies: Policies,
         now: datetime, **kw: Any) -> dict[str, Any]:
    """A held rung (folded into the recipient's one mail at the end of the sweep), or — with the policy's
    ``mail: group: false`` — the rung's own message at once."""
    if policies.mail.group:
        return compose.held_row(idem_key, kind, context, who, policies, now, **kw)
    return compose.outbox_row(idem_key, kind, context, who, policies, now, **kw)


# ------------------------------------------------------------------ weekly digest
@dataclass(frozen=True)
class DigestWeek:
    """The weekly digest due at a sweep: its tag (idempotency) and the instant it is scheduled."""

    tag: str
    at: datetime


def digest_week(now: datetime, cal: Any, policies: Policies) -> DigestWeek | None:
    """This week's digest when its day and hour have come, else None."""
    today = compose.local_day(now)
    monday = today - timedelta(days=today.weekday())
    day = policies.digest_day(monday, cal)
    if day is None or now < policies.local_at(day):
        return None
    year, week, _ = monday.isocalendar()
    return DigestWeek(f"w{year}-W{week:02d}", policies.local_at(day))


def digest_items(s: Session, week: DigestWeek, cal: Any, policies: Policies
                 ) -> dict[str, list[tuple[Deadline, Case]]]:
    """Per unit that has not had this week's digest and has an overdue deadline whose ladder has ended:
    everything open for it, less what a mail told it about that same day (the digest never repeats the
    day's mail), by due date.

    The overdue deadlines are read first, and the open ones only for the units they name: a table of a
    million open deadlines, few of them overdue, costs the weekly sweep those few (bench/memory_bench.py).
    """
    done = {k.split(":")[1] for k in s.exec(select(OutboxMessage.idem_key).where(
        col(OutboxMessage.idem_key).like(f"{week.tag}:%"))).all()}
    day_start = clock.local_at(clock.to_local(week.at).date(), 0)
    told_today = set(s.exec(select(OutboxMessage.deadline_id).where(
        col(OutboxMessage.created_at) >= day_start, col(OutboxMessage.deadline_id).is_not(None),
        col(OutboxMessage.status) != OutboxStatus.SKIPPED)).all())

    def wanted(d: Deadline) -> bool:
        return bool(d.unit) and d.unit not in done and policies.get(d.policy).digest and d.id not in told_today

    def open_rows(*more: Any) -> Any:
        return (select(Deadline, Case).join(Case, col(Case.id) == col(Deadline.case_id))
                .where(Deadline.status == DeadlineStatus.OPEN, col(Deadline.due_date).is_not(None),
                       col(Case.suspended_at).is_(None), *more))

    due_units = {d.unit for d, _ in s.exec(open_rows(col(Deadline.due_at) < week.at)).all()
                 if wanted(d) and reminders.ladder_finished_before(d, week.at, cal, policies)}
    if not due_units:
        return {}
    per_unit: dict[str, list[tuple[Deadline, Case]]] = {}
    for d, case in s.exec(open_rows(col(Deadline.unit).in_(sorted(u for u in due_units if u)))
                          .order_by(col(Deadline.unit), col(Deadline.due_date), col(Deadline.id))).all():
        if wanted(d):
            per_unit.setdefault(str(d.unit), []).append((d, case))
    return per_unit


def digest(s: Session, unit: str, items: list[tuple[Deadline, Case]], week: DigestWeek, now: datetime,
           cal: Any, policies: Policies, links: compose.Links | None = None) -> Counter[str]:
    """Queue one unit's weekly digest in the caller's transaction."""
    tag, at = week.tag, week.at
    counts: Counter[str] = Counter()
    by_id = {c.id or 0: c for _, c in items}
    for case_id in sorted(by_id):  # one lock order for every multi-case transaction
        s.exec(select(Case).where(Case.id == case_id).with_for_update()).one()
    today, late = compose.local_day(now), compose.late_by(now, at, policies)
    book = compose.Book(s, policies)
    rows = []
    for who in compose.unit_recipients(s, unit):
        relation = book.relation(who)
        listed = [{"case_ref": c.ref, "case_title": c.title,
                   "deadline_label": localized(pair(d.label_vi, d.label_en), who.lang) or d.key, "due_date": d.due_date,
                   "working_days_left": compose.signed_working_days(cal, today, d.due_date or today),
                   "link": links.case(c.ref) if links is not None else ""}
                  for d, c in items]
        ctx = {"recipient_name": who.salutation, "relation": relation, "you": who.title if who.person else "",
               "sender_name": book.sender_name(who.lang), "internal": relation == "internal",
               "contact": {} if relation == "internal" else book.contact(items[0][1]),
               "unit_name": compose.unit_name(book.unit(unit), unit, who.lang), "as_of": today, "items": listed}
        rows.append(compose.outbox_row(f"{tag}:{unit}:{who.address}", "digest", ctx, who, policies, now,
                                       rung="digest", late_by_s=late))
    queued = compose.queue(s, rows)
    if queued:
        for case_id, case in sorted(by_id.items()):
            keys = [d.key for d, c in items if c.id == case_id]
            audit.append_event(s, case, EventKind.REMINDER_QUEUED, actor=ACTOR, role=ROLE, at=now,
                               payload={"rung": "digest", "kind": "digest", "week": tag[1:], "unit": unit,
                                        "deadlines": keys, "scheduled_at": audit.fmt_at(at), "late_by_s": late,
                                        "recipients": [k.split(":", 2)[2] for k in queued]})
        counts["digests"] += 1
        counts["queued"] += len(queued)
    return counts
