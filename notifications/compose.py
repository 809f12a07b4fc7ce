"""Who gets a reminder and what it says: recipients, render contexts, outbox rows.

Recipients of a deadline's mails are the responsible unit's mailbox
(``unit.email``, written in Vietnamese) and the active people of that unit
with the role ``officer`` (in their own ``lang``).  An escalation goes to the
supervising unit's mailbox (directory ``parent``) and to the coordinators
(people with the coordinator role in the coordinating unit, both named in the
policy file).  An address gets one mail per rung: a coordinator who is also
an officer of the late unit gets the overdue mail, not a second one.

Rows are rendered when queued and stored whole, so a message re-sent after a
crash has the same subject, bodies and Message-ID.  ``queue`` inserts with
"ON CONFLICT (idem_key) DO NOTHING": queuing twice is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import authority, clock, tokens
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.directory import supervisor
from agreeflow.engine.core.i18n import localized, pair, render, t
from agreeflow.engine.core.store import Case, Deadline, OutboxMessage, Person, Unit
from agreeflow.engine.legaltime.reminders import Policies
from agreeflow.notifications.mailer import message_id_for
from agreeflow.notifications.render import render_message


@dataclass(frozen=True)
class Links:
    """Where the web answers (``AGREEFLOW_BASE_URL``) and the secret that signs reply links.

    Without it (no base URL configured) mails name the command that settles
    a deadline, as before the web existed.
    """

    base_url: str
    secret: bytes

    def case(self, ref: str) -> str:
        """The case's page."""
        return f"{self.base_url.rstrip('/')}/cases/{ref}"

    def reply(self, ref: str, unit: str) -> str:
        """The personal reply link of ``unit`` for its consultation-reply case ``ref`` (no account needed)."""
        return f"{self.base_url.rstrip('/')}/reply/{tokens.reply_token(self.secret, ref, unit)}"


def links_for(case: Case, defn: Definition, links: Links | None) -> dict[str, str]:
    """The links a deadline mail of ``case`` carries: a reply link when the case awaits its addressee's
    answer, else the case page ("" for each when no web is configured)."""
    if links is None:
        return {"reply_link": "", "case_link": ""}
    if case.unit and authority.may_reply(case, defn, case.unit):
        return {"reply_link": links.reply(case.ref, case.unit), "case_link": links.case(case.ref)}
    return {"reply_link": "", "case_link": links.case(case.ref)}


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str
    lang: str
    unit: str | None


def unit_name(unit: Unit | None, code: str | None, lang: str) -> str:
    if unit is None:
        return code or ""
    return localized(pair(unit.name_vi, unit.name_en), lang) or unit.code


def mailbox(unit: Unit | None) -> list[Recipient]:
    """The unit's own address (Vietnamese), if it has one."""
    if unit is None or not unit.email:
        return []
    return [Recipient(unit.email, unit.name_vi, "vi", unit.code)]


def people(s: Session, unit: str | None, role: str) -> list[Recipient]:
    """Active people of ``unit`` holding ``role``, by address."""
    if not unit:
        return []
    rows = s.exec(select(Person).where(Person.unit == unit, col(Person.active).is_(True))
                  .order_by(col(Person.email))).all()
    return [Recipient(p.email, p.name, p.lang if p.lang in ("vi", "en") else "vi", p.unit)
            for p in rows if role in (p.roles or [])]


def unit_recipients(s: Session, code: str | None) -> list[Recipient]:
    """The responsible unit's mailbox and its officers."""
    return _unique(mailbox(s.get(Unit, code) if code else None) + people(s, code, "officer"))


def escalation_recipients(s: Session, code: str | None, policies: Policies) -> list[Recipient]:
    """The supervising unit's mailbox and the coordinators."""
    return _unique(mailbox(supervisor(s, code)) +
                   people(s, policies.coordinator_unit, policies.coordinator_role))


def _unique(items: list[Recipient]) -> list[Recipient]:
    seen: set[str] = set()
    out = []
    for r in items:
        if r.address.lower() not in seen:
            seen.add(r.address.lower())
            out.append(r)
    return out


def signed_working_days(cal: Any, today: date, due: date) -> int:
    """Working days left until ``due`` (negative: working days overdue)."""
    return int(cal.working_days_between(today, due) if today <= due else -cal.working_days_between(due, today))


def action_command(case: Case, defn: Definition, d: Deadline, lang: str) -> str:
    """The command that settles the deadline, as a hint in the mail.

    A timer that names the states meeting it (``closes_on``) points at the
    transition into one of them; otherwise the first transition from the
    current state that asks for fields or documents; otherwise ``case show``
    (which lists every next step).
    """
    timer = None
    if d.key.startswith("timer:"):
        _, state, tid = d.key.split(":", 2)
        timer = next((t for t in defn.states[state].timers if t.id == tid), None) if state in defn.states else None
    moves = defn.from_state(case.state)
    pick = None
    if timer is not None and timer.closes_on:
        pick = next((t for t in moves if t.dest in timer.closes_on), None)
    pick = pick or next((t for t in moves if t.requires or t.documents), None)
    if pick is None:
        return f"agreeflow case show {case.ref}"
    file_word = t("FILE", lang)
    parts = [f"agreeflow case fire {case.ref} {pick.trigger}"]
    parts += [f"--field {f}=…" for f in pick.requires]
    parts += [f"--attach {doc}={file_word}" for doc in pick.documents]
    return " ".join(parts)


def deadline_context(s: Session, case: Case, defn: Definition, d: Deadline, who: Recipient,
                     cal: Any, today: date, links: Links | None = None) -> dict[str, Any]:
    """The render context of a reminder, due_today or overdue mail (see notifications/render.py)."""
    lang = who.lang
    unit = s.get(Unit, d.unit) if d.unit else None
    assert d.due_date is not None
    return {
        "recipient_name": who.name, "case_ref": case.ref, "case_title": case.title,
        "workflow_title": defn.title.get(lang) or defn.title.get("vi") or defn.id,
        "deadline_label": localized(pair(d.label_vi, d.label_en), lang) or d.key,
        "unit_name": unit_name(unit, d.unit, lang), "due_date": d.due_date,
        "working_days_left": signed_working_days(cal, today, d.due_date),
        "phrase": d.phrase or "", "citation": d.citation or "", "confirmed": bool(d.confirmed),
        "explanation": [render(step, lang) for step in d.explanation or []],
        "action_command": action_command(case, defn, d, lang),
    } | links_for(case, defn, links)


def outbox_row(idem_key: str, kind: str, context: dict[str, Any], who: Recipient, policies: Policies,
               now: datetime, *, rung: str, case_id: int | None = None, deadline_id: int | None = None,
               late_by_s: int | None = None) -> dict[str, Any]:
    """One rendered outbox row (as a dict for a bulk insert)."""
    msg = render_message(kind, who.lang, context)
    return {"idem_key": idem_key, "case_id": case_id, "deadline_id": deadline_id, "rung": rung,
            "recipient": who.address, "unit": who.unit, "lang": who.lang, "subject": msg.subject,
            "body_text": msg.text, "body_html": msg.html,
            "message_id": message_id_for(idem_key, policies.mail.message_id_domain), "status": "queued",
            "tries": 0, "next_try_at": now, "late_by_s": late_by_s, "created_at": now}


def queue(s: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert outbox rows, skipping idempotency keys already present; returns the keys inserted."""
    if not rows:
        return []
    keys = [r["idem_key"] for r in rows]
    existing = set(s.exec(select(OutboxMessage.idem_key).where(col(OutboxMessage.idem_key).in_(keys))).all())
    fresh = [r for r in rows if r["idem_key"] not in existing]
    if not fresh:
        return []
    dialect = s.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        s.execute(sa.insert(OutboxMessage), fresh)
        return [r["idem_key"] for r in fresh]
    insert = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"]).insert
    # The UNIQUE key is the real guard: another node may insert between the check above and here.
    stmt = (insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idem_key"])
            .returning(OutboxMessage.idem_key))
    inserted = set(s.execute(stmt, fresh).scalars().all())
    return [k for k in keys if k in inserted]


INSPECTORATE_NAME = "Thanh tra tỉnh"


def checkpoint_rows(cp: dict[str, Any], text: str, file_name: str, addresses: list[str], policies: Policies,
                    now: datetime) -> list[dict[str, Any]]:
    """One outbox row per address carrying a checkpoint inline (``queue`` them).

    Keyed by what the checkpoint pins — its root and the security log's head —
    so a sweep that pinned nothing new queues nothing, and queuing twice is a
    no-op like every other outbox row.
    """
    pin = cp.get("security_log") or {}
    signature = cp.get("signature") or {}
    context = {"recipient_name": INSPECTORATE_NAME, "taken_at": clock.fmt_local(_instant(cp["taken_at"])),
               "database": str(cp.get("database") or ""), "cases": cp["cases"], "events": cp["events"],
               "root": cp["root"], "signed": bool(signature), "key_id": str(signature.get("key_id") or ""),
               "file_name": file_name, "checkpoint_text": text}
    rows = []
    for address in addresses:
        who = Recipient(address, INSPECTORATE_NAME, "vi", None)
        rows.append(outbox_row(f"checkpoint:{cp['root']}:{pin.get('seq', 0)}:{address}", "checkpoint", context, who,
                               policies, now, rung="checkpoint"))
    return rows


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def late_by(now: datetime, scheduled: datetime, policies: Policies) -> int | None:
    """Seconds late when a mail is queued later than the policy tolerates, else None."""
    late = now - scheduled
    return int(late.total_seconds()) if late > policies.late_after else None


def local_day(now: datetime) -> date:
    return clock.to_local(now).date()
