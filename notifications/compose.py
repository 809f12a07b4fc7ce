"""Who gets a reminder and what it says: recipients, the register, render contexts, outbox rows.

Recipients of a deadline's mails are the responsible unit's mailbox
(``unit.email``, written in Vietnamese) and the active people of that unit
with the role ``officer`` (in their own ``lang``).  An escalation goes to the
supervising unit's mailbox (directory ``parent``) and to the coordinators
(people with the coordinator role in the coordinating unit, both named in the
policy file).  An address gets one mail per rung: a coordinator who is also
an officer of the late unit gets the overdue mail, not a second one.

What a mail says depends on who writes to whom (``relation``: the
coordinating unit writes; templates/register.yaml holds the words), on who
reads it (a person by title and name, a unit by its name), and on the case:
the request letter that started the deadline, what silence means, which
consulted bodies have not answered, the named contact at the coordinating
unit, and a link — the reader's own reply link for a consulted body that
may still answer, the case's page for everyone else (``AGREEFLOW_BASE_URL``).
No mail names a command or a trigger.

A rung is first written ``held`` with its render context (``held_row``);
``bundle`` then folds every held rung of one recipient into one message —
the deadline kind's own mail for a single rung, a ``bundle`` listing them
otherwise — rendered once and stored whole, so a message re-sent after a
crash has the same subject, bodies and Message-ID.  ``queue`` inserts with
"ON CONFLICT (idem_key) DO NOTHING": queuing twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import authority, clock, tokens
from agreeflow.engine.core.definitions import Definition
from agreeflow.engine.core.directory import supervisor
from agreeflow.engine.core.i18n import localized, pair, show, t
from agreeflow.engine.core.kinds import OutboxStatus
from agreeflow.engine.core.store import Case, Deadline, OutboxBody, OutboxMessage, Person, Unit
from agreeflow.engine.legaltime.reminders import Policies
from agreeflow.notifications.mailer import message_id_for
from agreeflow.notifications.render import render_message, superior_kinds


@dataclass(frozen=True)
class Links:
    """Where the web answers (``AGREEFLOW_BASE_URL``) and the secret that signs reply links.

    Without it (no base URL configured) mails carry no link: they name the DOFA contact of the case,
    and never a command.
    """

    base_url: str
    secret: bytes

    def case(self, ref: str) -> str:
        """The case's page."""
        return f"{self.base_url.rstrip('/')}/cases/{ref}"

    def reply(self, ref: str, unit: str) -> str:
        """The personal reply link of ``unit`` for its consultation-reply case ``ref`` (no account needed)."""
        return f"{self.base_url.rstrip('/')}/reply/{tokens.reply_token(self.secret, ref, unit)}"


def links_for(case: Case, defn: Definition, links: Links | None, who: Recipient | None = None,
              escalation: bool = False) -> dict[str, str]:
    """The links a deadline mail of ``case`` carries: the addressee's own reply link while the case awaits
    its answer (never up the escalation ladder: it acts for the late unit), else the case's page
    ("" for each when no web is configured)."""
    if links is None:
        return {"reply_link": "", "case_link": ""}
    addressee = who is None or who.unit == case.unit
    if case.unit and addressee and not escalation and authority.may_reply(case, defn, case.unit):
        return {"reply_link": links.reply(case.ref, case.unit), "case_link": links.case(case.ref)}
    return {"reply_link": "", "case_link": links.case(case.ref)}


@dataclass(frozen=True)
class Recipient:
    address: str
    name: str
    lang: str
    unit: str | None
    title: str = ""
    """"Ông" / "Bà" for a person (directory ``title``); "" for a unit's mailbox."""
    person: bool = False

    @property
    def salutation(self) -> str:
        """How the mail addresses the reader: "Bà Nguyễn Thị Lan", or the unit's name."""
        return f"{self.title} {self.name}" if self.person and self.title else self.name


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
    return [Recipient(p.email, p.name, p.lang if p.lang in ("vi", "en") else "vi", p.unit, p.title or "", True)
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


class Book:
    """The directory as one sweep reads it: units and people looked up once per session."""

    def __init__(self, s: Session, policies: Policies) -> None:
        self.s, self.policies = s, policies
        self.sender = policies.coordinator_unit
        self._units: dict[str, Unit | None] = {}
        self._relations: dict[tuple[str | None, bool], str] = {}
        self._contacts: dict[int, dict[str, str]] = {}

    def unit(self, code: str | None) -> Unit | None:
        if not code:
            return None
        if code not in self._units:
            self._units[code] = self.s.get(Unit, code)
        return self._units[code]

    def sender_name(self, lang: str) -> str:
        return unit_name(self.unit(self.sender), self.sender, lang)

    def _chain(self, code: str | None) -> list[str]:
        """``code`` and the units above it (directory ``parent``), nearest first."""
        out: list[str] = []
        while code and code not in out:
            out.append(code)
            row = self.unit(code)
            code = row.parent if row is not None else None
        return out

    def relation(self, who: Recipient) -> str:
        """superior | peer | subordinate | internal: how the coordinating unit writes to ``who``.

        A person of the coordinating unit (or of a unit under it) is its own staff; a unit under it is
        subordinate; a unit of a central or leading kind (register.yaml ``superior_kinds``) or above it
        in the ``parent`` chain is superior; every other unit is a peer.
        """
        key = (who.unit, who.person)
        if key not in self._relations:
            self._relations[key] = self._relation(who.unit, who.person)
        return self._relations[key]

    def _relation(self, code: str | None, person: bool) -> str:
        below_sender = self.sender in self._chain(code)
        if below_sender:
            return "internal" if person else ("internal" if code == self.sender else "subordinate")
        row = self.unit(code)
        if row is not None and row.kind in superior_kinds():
            return "superior"
        if code and code in self._chain(self.sender):
            return "superior"
        return "peer"

    def contact(self, case: Case) -> dict[str, str]:
        """The case's named contact at the coordinating unit: who opened it (or its parent), if they work
        there; else its first coordinator.  ``{}`` when there is nobody to name."""
        key = case.id or 0
        if key not in self._contacts:
            self._contacts[key] = self._contact(case)
        return self._contacts[key]

    def _contact(self, case: Case) -> dict[str, str]:
        candidates = [case.created_by]
        parent = self.s.get(Case, case.parent_id) if case.parent_id else None
        if parent is not None:
            candidates.append(parent.created_by)
        for email in candidates:
            p = self.s.get(Person, email) if email else None
            if p is not None and p.active and self.sender in self._chain(p.unit):
                return _contact_of(p)
        coordinators = people(self.s, self.sender, self.policies.coordinator_role)
        first = self.s.get(Person, coordinators[0].address) if coordinators else None
        return _contact_of(first) if first is not None else {}


def _contact_of(p: Person) -> dict[str, str]:
    return {"name": f"{p.title} {p.name}" if p.title else p.name, "phone": p.phone or "", "email": p.email}


def request_letter(s: Session, case: Case, lang: str) -> str:
    """The letter that started the case's deadline, with its number and date, from the case's fields (or its
    parent's): "Văn bản 412/SNgV-HTQT ngày 08/07/2024"; "" when the case names none."""
    parent = s.get(Case, case.parent_id) if case.parent_id else None
    fields = {**(parent.fields if parent is not None else {}), **case.fields}
    number = str(fields.get("letter_no") or "").strip()
    if number:
        if number[:1].isdigit():
            number = t("letter no. {number}", lang, number=number)
        day = fields.get("sent_on") or (clock.to_local(case.opened_at).date() if case.parent_id else None)
        return t("{letter} of {day}", lang, letter=number, day=clock.fmt_day(day)) if day else number
    return str(fields.get("source_document") or "").strip()


def silence_rule(case: Case, d: Deadline, lang: str) -> str:
    """What no reply by the due day means, when the request letter made silence agreement; else ""."""
    if case.fields.get("on_silence") != "deemed_agreed" or d.due_date is None:
        return ""
    text = t("if no reply has arrived by the end of {day}, the request counts as agreed to, as the request "
             "letter says", lang, day=clock.fmt_day(d.due_date))
    wording = str(case.fields.get("silence_rule") or "").strip()
    return f"{text} («{wording}»)." if wording else f"{text}."


def waiting_for(s: Session, case: Case, book: Book, lang: str) -> list[str]:
    """The consulted bodies of ``case``'s round that have not answered (its open child cases)."""
    rows = s.exec(select(Case.unit).where(Case.parent_id == case.id, col(Case.closed_at).is_(None))
                  .order_by(col(Case.id))).all()
    return [unit_name(book.unit(u), u, lang) for u in rows if u]


def deadline_context(s: Session, case: Case, defn: Definition, d: Deadline, who: Recipient, cal: Any,
                     today: date, book: Book, links: Links | None = None, *, escalation: bool = False
                     ) -> dict[str, Any]:
    """The render context of one deadline's mail to ``who`` (see notifications/render.py for the keys)."""
    lang = who.lang
    relation = book.relation(who)
    assert d.due_date is not None
    pending = waiting_for(s, case, book, lang)
    unit = unit_name(book.unit(d.unit), d.unit, lang)
    ctx: dict[str, Any] = {
        "recipient_name": who.salutation, "relation": relation, "you": who.title if who.person else "",
        "sender_name": book.sender_name(lang), "internal": relation == "internal",
        "contact": {} if relation == "internal" else book.contact(case),
        "case_ref": case.ref, "case_title": case.title,
        "workflow_title": localized(defn.title, lang) or defn.id,
        "deadline_label": localized(pair(d.label_vi, d.label_en), lang) or d.key,
        "unit_name": unit, "due_date": d.due_date,
        "working_days_left": signed_working_days(cal, today, d.due_date),
        "phrase": _phrase(d), "citation": d.citation or "", "confirmed": bool(d.confirmed),
        "explanation": [show(step, lang) for step in d.explanation or []], "letter": request_letter(s, case, lang),
        "silence": "" if escalation else silence_rule(case, d, lang),
        "waiting_for": pending, "late": ", ".join(pending) or unit,
    }
    return ctx | links_for(case, defn, links, who, escalation)


def _phrase(d: Deadline) -> str:
    """The wording the deadline came from — a bare ISO date (copied from a letter's date) is shown as a day."""
    text = d.phrase or ""
    try:
        return clock.fmt_day(date.fromisoformat(text)) if len(text) == 10 else text
    except ValueError:
        return text


def outbox_row(idem_key: str, kind: str, context: dict[str, Any], who: Recipient, policies: Policies,
               now: datetime, *, rung: str, case_id: int | None = None, deadline_id: int | None = None,
               late_by_s: int | None = None) -> dict[str, Any]:
    """One rendered outbox row (as a dict for ``queue``, which stores its bodies apart: OutboxBody)."""
    msg = render_message(kind, who.lang, context)
    return {"idem_key": idem_key, "case_id": case_id, "deadline_id": deadline_id, "rung": rung,
            "recipient": who.address, "unit": who.unit, "lang": who.lang, "subject": msg.subject,
            "body_text": msg.text, "body_html": msg.html,
            "message_id": message_id_for(idem_key, policies.mail.message_id_domain), "status": OutboxStatus.QUEUED,
            "tries": 0, "next_try_at": now, "late_by_s": late_by_s, "created_at": now, "kind": kind,
            "context": None, "bundle_id": None, "last_error": None}


def held_row(idem_key: str, kind: str, context: dict[str, Any], who: Recipient, policies: Policies,
             now: datetime, *, rung: str, case_id: int | None, deadline_id: int | None,
             late_by_s: int | None = None, status: str = OutboxStatus.HELD, why: str | None = None
             ) -> dict[str, Any]:
    """One rung for one recipient, not rendered yet: ``held`` until ``bundle`` folds it into the recipient's
    mail (or ``skipped``, with ``why``, and never sent)."""
    return {"idem_key": idem_key, "case_id": case_id, "deadline_id": deadline_id, "rung": rung,
            "recipient": who.address, "unit": who.unit, "lang": who.lang, "subject": "",
            "message_id": message_id_for(idem_key, policies.mail.message_id_domain),
            "status": status, "tries": 0, "next_try_at": None, "late_by_s": late_by_s, "created_at": now,
            "kind": kind, "context": _to_json(context) if status == OutboxStatus.HELD else None, "bundle_id": None,
            "last_error": why}


_DATES = ("due_date", "as_of")


def _to_json(context: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if k in _DATES and isinstance(v, date) else v for k, v in context.items()}


def _from_json(context: dict[str, Any]) -> dict[str, Any]:
    return {k: date.fromisoformat(v) if k in _DATES and isinstance(v, str) else v for k, v in context.items()}


_ADDRESS = ("recipient_name", "relation", "you", "sender_name", "contact", "internal")
_URGENCY = {"reminder": 0, "due_today": 1, "overdue": 2, "escalation": 3}


@dataclass
class Bundled:
    """One recipient's message made from its held rungs (``bundle``)."""

    message_id: int
    rungs: list[int] = field(default_factory=list)


def held_recipients(s: Session) -> list[str]:
    """Addresses with rungs waiting to be folded into a message."""
    return list(s.exec(select(OutboxMessage.recipient).where(OutboxMessage.status == OutboxStatus.HELD)
                       .distinct().order_by(col(OutboxMessage.recipient))).all())


def bundle(s: Session, recipient: str, now: datetime, policies: Policies) -> Bundled | None:
    """Fold every held rung of ``recipient`` into one queued message, in the caller's transaction.

    One rung becomes that rung's own mail (the row itself, keeping its key and Message-ID); several give a
    new ``bundle`` message listing them, one line per deadline
    (the most urgent of its rungs: after a short downtime a deadline may have two, the mail names it
    once).  The rungs become ``bundled`` with the message's id.  Rows another node holds are skipped
    (``FOR UPDATE SKIP LOCKED``); the message's key is made from its first rung's id, so it is unique
    and a retry of the same fold inserts nothing.  None when there was nothing to fold.
    """
    rows = list(s.exec(select(OutboxMessage).where(OutboxMessage.recipient == recipient,
                                                   OutboxMessage.status == OutboxStatus.HELD)
                       .order_by(col(OutboxMessage.id)).with_for_update(skip_locked=True)).all())
    if not rows:
        return None
    shown: dict[Any, OutboxMessage] = {}
    for r in rows:  # one line per deadline: its most urgent rung
        key = r.deadline_id or r.id
        if key not in shown or _URGENCY.get(r.kind, 0) >= _URGENCY.get(shown[key].kind, 0):
            shown[key] = r
    picked = sorted(shown.values(), key=lambda r: (-_URGENCY.get(r.kind, 0), r.id or 0))
    first = picked[0]
    who = Recipient(recipient, "", first.lang, first.unit)
    contexts = [_from_json(r.context or {}) for r in picked]
    if len(picked) == 1:
        kind, context = first.kind, contexts[0]
        one_case, one_deadline, rung = first.case_id, first.deadline_id, first.rung
    else:
        kind = "bundle"
        context = {k: contexts[0][k] for k in _ADDRESS} | {"items": [
            {k: v for k, v in c.items() if k not in _ADDRESS} | {"kind": r.kind} for c, r in zip(contexts, picked)]}
        cases_ = {r.case_id for r in rows}
        deadlines_ = {r.deadline_id for r in rows}
        one_case = cases_.pop() if len(cases_) == 1 else None
        one_deadline = deadlines_.pop() if len(deadlines_) == 1 else None
        rung = "bundle"
    if len(rows) == 1:  # one rung: it becomes its own message, keeping its key and Message-ID
        msg = render_message(kind, first.lang, context)
        first.subject = msg.subject
        first.status, first.next_try_at, first.context = OutboxStatus.QUEUED, now, None
        assert first.id is not None  # a row read from the database
        s.add(first)
        s.add(OutboxBody(id=first.id, body_text=msg.text, body_html=msg.html))
        s.flush()
        return Bundled(first.id, [])
    late = [r.late_by_s for r in rows if r.late_by_s is not None]
    row = outbox_row(f"m{rows[0].id}:{recipient}", kind, context, who, policies, now, rung=rung,
                     case_id=one_case, deadline_id=one_deadline, late_by_s=max(late) if late else None)
    text, html = row.pop("body_text"), row.pop("body_html")
    message = OutboxMessage(**row)
    s.add(message)
    s.flush()
    assert message.id is not None
    s.add(OutboxBody(id=message.id, body_text=text, body_html=html))
    ids = [r.id for r in rows if r.id is not None]
    s.exec(sa.update(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
           .values(status=OutboxStatus.BUNDLED, bundle_id=message.id, context=None)
           .execution_options(synchronize_session=False))
    return Bundled(message.id or 0, ids)


def rung_cases(s: Session, message_ids: Iterable[int]) -> dict[int, list[tuple[int, str, str]]]:
    """For each bundle message, its rungs' (case id, rung, idempotency key): whose chains log its sending."""
    out: dict[int, list[tuple[int, str, str]]] = {}
    rows = s.exec(select(OutboxMessage.bundle_id, OutboxMessage.case_id, OutboxMessage.rung, OutboxMessage.idem_key)
                  .where(col(OutboxMessage.bundle_id).in_(list(message_ids)))
                  .order_by(col(OutboxMessage.id))).all()
    for bundle_id, case_id, rung, key in rows:
        if bundle_id is not None and case_id is not None:
            out.setdefault(bundle_id, []).append((case_id, rung, key))
    return out


def queue(s: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert outbox rows and their bodies, skipping idempotency keys already present; returns the keys
    inserted.  A row's ``body_text`` and ``body_html`` (``outbox_row``) go to ``outbox_bodies``."""
    if not rows:
        return []
    keys = [r["idem_key"] for r in rows]
    existing = set(s.exec(select(OutboxMessage.idem_key).where(col(OutboxMessage.idem_key).in_(keys))).all())
    fresh = [r for r in rows if r["idem_key"] not in existing]
    if not fresh:
        return []
    bodies = {r["idem_key"]: (r["body_text"], r["body_html"]) for r in fresh if "body_text" in r}  # held: none
    fresh = [{k: v for k, v in r.items() if k not in _BODY} for r in fresh]
    # Rows, not objects: through the connection, with the tables' own column defaults, no ORM bulk step.
    run = s.connection().execute
    dialect = s.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"]).insert
        # The UNIQUE key is the real guard: another node may insert between the check above and here.
        stmt = (insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idem_key"])
                .returning(OutboxMessage.id, OutboxMessage.idem_key))
        ids = dict((key, row_id) for row_id, key in run(stmt, fresh).all())
    else:
        run(sa.insert(OutboxMessage), fresh)
        ids = dict(run(select(OutboxMessage.idem_key, OutboxMessage.id)
                       .where(col(OutboxMessage.idem_key).in_([r["idem_key"] for r in fresh]))).all())
    texts = [{"id": row_id, "body_text": bodies[key][0], "body_html": bodies[key][1]}
             for key, row_id in ids.items() if key in bodies]
    if texts:
        run(sa.insert(OutboxBody), texts)
    return [k for k in keys if k in ids]


_BODY = ("body_text", "body_html")


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
