"""The reminder ladder: which rungs a deadline has, when each falls, which are due.

Policies are data (``engine/data/reminder-policies.yaml``, see its header): a
named ladder of rungs relative to the due date, the local hour mails go out,
the coordinators who receive escalations and the dispatcher's settings.  A
deadline row names its policy; an unknown name falls back to ``default``.

Progress lives on the deadline row, not in a scheduler: ``next_action_at`` is
when the sweep must look again and ``extra["rungs_done"]`` the rung ids
already handled.  Rungs before the deadline's ``start_at`` are never sent (a
task assigned two days before its due date gets no "7 days before" mail),
except the overdue rungs of a recurring period opened while catching up (``_floor``).
Rungs are chosen by "due and not done", not by a time window, so neither
downtime nor a calendar edit that moves a rung earlier can lose one: it goes
out late, once.  ``next_action`` (called where no session is at hand) places
rungs on the shipped calendar; the sweep re-places them on the calendar with
the operator's overrides each time it looks.  All functions here are pure
except ``mark_done``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from agreeflow.engine.core import clock
from agreeflow.engine.core.errors import InputFileError, listed
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.core.store import Deadline
from agreeflow.engine.core.yamlio import LineDict, YamlSyntaxError, load_file
from agreeflow.engine.legaltime import calendar

POLICY_FILE = DATA_DIR / "reminder-policies.yaml"
MAIL_KINDS = ("reminder", "due_today", "overdue")
MISSED_EVENT = EventKind.DEADLINE_MISSED
_TOP = {"send_at", "timezone", "late_after_minutes", "digest_weekday", "coordinators", "mail", "policies",
        "catch_up_after_working_days"}
_MAIL = {"sender", "message_id_domain", "max_tries", "lease_seconds", "batch", "group", "connections"}
MAX_CONNECTIONS = 8
"""Most SMTP sessions a dispatcher may open at once: relays limit connections per client, and each session holds
a database connection of the pool (SQLAlchemy's default: 5, and 10 more when needed) for its delivered marks."""
_RUNG = {"id", "offset", "unit", "mail", "escalate", "at", "event"}


@dataclass(frozen=True)
class RungDef:
    """One rung of a ladder as written in the policy file."""

    id: str
    mail: str | None = None
    """reminder | due_today | overdue; None for the missed marker."""
    offset: int = 0
    unit: str = "d"
    escalate: bool = False
    event: str | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    rungs: tuple[RungDef, ...]
    digest: bool


@dataclass(frozen=True)
class MailSettings:
    sender: str
    message_id_domain: str
    max_tries: int = 8
    """Failed attempts before a message is marked ``failed``."""
    lease_seconds: int = 300
    """How long a claim protects a message being sent."""
    batch: int = 200
    """Messages claimed per round, shared among ``connections`` SMTP sessions and recorded in one transaction."""
    group: bool = True
    """One message per recipient per sweep listing all its rungs (False: one message per rung)."""
    connections: int = 4
    """SMTP sessions a dispatcher keeps open at once; a batch is shared among them (1: one after another)."""


@dataclass(frozen=True)
class Policies:
    """The whole policy file, validated."""

    send_at: time
    tz: ZoneInfo
    late_after: timedelta
    digest_weekday: int
    coordinator_unit: str
    coordinator_role: str
    mail: MailSettings
    policies: dict[str, Policy] = field(default_factory=dict)
    catch_up_wd: int = 2
    """A deadline whose oldest due rung is more than this many working days late sends only its latest rung."""

    def get(self, name: str | None) -> Policy:
        return self.policies.get(name or "default") or self.policies["default"]

    def local_at(self, day: date) -> datetime:
        """``day`` at the sending hour, local, as aware UTC."""
        return datetime.combine(day, self.send_at, tzinfo=self.tz).astimezone(clock.UTC)

    def digest_day(self, monday: date, cal: Any) -> date | None:
        """The working day the digest of the week starting ``monday`` goes out (None: no working day)."""
        day = cal.next_working(monday + timedelta(days=self.digest_weekday))
        return day if day < monday + timedelta(days=7) else None


@dataclass(frozen=True)
class Rung:
    """A rung placed on the time line of one deadline."""

    rung: RungDef
    at: datetime

    @property
    def id(self) -> str:
        return self.rung.id


# ------------------------------------------------------------------ loading
def load(path: Path | None = None) -> Policies:
    """The validated policy file (cached until the file changes); InputFileError lists every problem."""
    p = Path(path or POLICY_FILE)
    return _load(p, p.stat().st_mtime_ns if p.exists() else 0)


@lru_cache(maxsize=8)
def _load(path: Path, mtime: int) -> Policies:
    try:
        raw = load_file(path)
    except YamlSyntaxError as exc:
        raise InputFileError(path=str(path), problem=exc.located) from None
    except OSError as exc:
        raise InputFileError(path=str(path), problem=str(exc)) from None
    problems: list[Msg] = []
    if not isinstance(raw, LineDict):
        raise InputFileError(path=str(path), problem=Msg(N_("expected a mapping with 'policies'")))
    _unknown(raw, _TOP, "", problems)
    mail_raw = raw.get("mail") or {}
    if not isinstance(mail_raw, dict):
        problems.append(Msg(N_("mail: expected a mapping (sender, message_id_domain, …)")))
        mail_raw = {}
    _unknown(mail_raw, _MAIL, "mail: ", problems)
    policies = {}
    for name, body in (raw.get("policies") or {}).items():
        policies[str(name)] = _policy(str(name), body, problems)
    if "default" not in policies:
        problems.append(Msg(N_("policies: a 'default' policy is required")))
    try:
        hour, minute = (int(x) for x in str(raw.get("send_at", "08:00")).split(":"))
        send_at = time(hour, minute)
        tz = ZoneInfo(str(raw.get("timezone", "Asia/Ho_Chi_Minh")))
    except (ValueError, KeyError) as exc:
        problems.append(Msg(N_("send_at/timezone: {error} (write send_at: \"08:00\", timezone: Asia/Ho_Chi_Minh)"),
                            error=str(exc)))
        send_at, tz = time(8), clock.VN
    weekday = raw.get("digest_weekday", 0)
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        problems.append(Msg(N_("digest_weekday: a number 0 (Monday) … 6 (Sunday)")))
        weekday = 0
    catch_up = raw.get("catch_up_after_working_days", 2)
    if not isinstance(catch_up, int) or isinstance(catch_up, bool) or catch_up < 0:
        problems.append(Msg(N_("catch_up_after_working_days: a whole number of working days, 0 or more")))
        catch_up = 2
    connections = mail_raw.get("connections", 4)
    if not isinstance(connections, int) or isinstance(connections, bool) or not 1 <= connections <= MAX_CONNECTIONS:
        problems.append(Msg(N_("mail: connections: a whole number from 1 to {most} (SMTP sessions at once)"),
                            most=MAX_CONNECTIONS))
        connections = 1
    for where, node, key, default in (("mail: ", mail_raw, "max_tries", 8), ("mail: ", mail_raw, "lease_seconds", 300),
                                      ("mail: ", mail_raw, "batch", 200)):
        value = node.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(Msg(N_("{where}{key}: a whole number, 1 or more"), where=where, key=key))
    late = raw.get("late_after_minutes", 10)
    if not isinstance(late, int) or isinstance(late, bool) or late < 0:
        problems.append(Msg(N_("late_after_minutes: a whole number of minutes, 0 or more")))
    if not isinstance(mail_raw.get("group", True), bool):
        problems.append(Msg(N_("mail: group: true (one message per recipient per sweep) or false")))
    coord = raw.get("coordinators") or {}
    if not coord.get("unit"):
        problems.append(Msg(N_("coordinators: needs 'unit' (the coordinating unit's code) and 'role'")))
    if not mail_raw.get("sender") or not mail_raw.get("message_id_domain"):
        problems.append(Msg(N_("mail: needs 'sender' and 'message_id_domain'")))
    if problems:
        raise InputFileError(path=str(path), problem=listed(problems))
    mail = MailSettings(str(mail_raw["sender"]), str(mail_raw["message_id_domain"]),
                        int(mail_raw.get("max_tries", 8)), int(mail_raw.get("lease_seconds", 300)),
                        int(mail_raw.get("batch", 200)), mail_raw.get("group", True) is not False, connections)
    return Policies(send_at, tz, timedelta(minutes=int(raw.get("late_after_minutes", 10))), weekday,
                    str(coord["unit"]), str(coord.get("role", "coordinator")), mail, policies, catch_up)


def _unknown(node: Any, allowed: set[str], where: str, problems: list[Msg]) -> None:
    for key in node if isinstance(node, dict) else ():
        if key not in allowed:
            problems.append(Msg(N_("{where}unknown key '{key}' (allowed: {allowed})"), where=where, key=key,
                                allowed=sorted(allowed)))


def _policy(name: str, body: Any, problems: list[Msg]) -> Policy:
    where = f"policies.{name}"
    if not isinstance(body, dict):
        problems.append(Msg(N_("{where}: expected 'rungs' and 'digest'"), where=where))
        return Policy(name, (), False)
    _unknown(body, {"rungs", "digest"}, f"{where}: ", problems)
    rungs: list[RungDef] = []
    for raw in body.get("rungs") or []:
        _unknown(raw, _RUNG, f"{where}: rung: ", problems)
        rid = str(raw.get("id") or "")
        if not rid or ":" in rid or len(rid) > 32 or rid in {r.id for r in rungs}:
            problems.append(Msg(N_("{where}: rung id '{rung}' must be unique, ≤ 32 characters, without ':'"),
                                where=where, rung=rid))
        if raw.get("event") is not None:
            if raw.get("event") != MISSED_EVENT or raw.get("at") != "due_end" or raw.get("mail"):
                problems.append(Msg(N_("{where}: rung '{rung}': an event rung is {{at: due_end, event: {event}}}"),
                                    where=where, rung=rid, event=MISSED_EVENT))
            rungs.append(RungDef(rid, event=MISSED_EVENT))
            continue
        mail, unit, offset = raw.get("mail"), raw.get("unit", "d"), raw.get("offset")
        if mail not in MAIL_KINDS or unit not in ("d", "wd") or not isinstance(offset, int):
            problems.append(Msg(N_("{where}: rung '{rung}': needs offset (whole number), unit d|wd and mail {kinds}"),
                                where=where, rung=rid, kinds="|".join(MAIL_KINDS)))
            continue
        rungs.append(RungDef(rid, str(mail), offset, str(unit), raw.get("escalate") is True))
    if sum(1 for r in rungs if r.event) != 1:
        problems.append(Msg(N_("{where}: needs exactly one rung {{at: due_end, event: {event}}}"), where=where,
                            event=MISSED_EVENT))
    return Policy(name, tuple(rungs), body.get("digest") is True)


# ------------------------------------------------------------------ the ladder of one deadline
class Timed(Protocol):
    """What the ladder reads of a deadline: a ``Deadline`` row, or one about to be inserted."""

    due_date: date | None
    due_at: datetime | None
    start_at: datetime | None
    policy: str
    extra: dict[str, Any]


@lru_cache(maxsize=1)
def _shipped_calendar() -> Any:
    return calendar.load()


def ladder(d: Timed, cal: Any = None, policies: Policies | None = None) -> list[Rung]:
    """Every rung of ``d``'s policy placed in time, in order.

    A mail rung that falls on or after a later-declared (more urgent) mail rung
    is dropped — e.g. "7 days before" pushed past "3 working days before" by
    Tết — so a unit never gets two mails about one deadline on one morning.
    """
    if d.due_date is None:
        return []
    policies = policies or load()
    pol = policies.get(d.policy)
    cal = cal or _shipped_calendar()
    placed = [Rung(r, _when(d, r, cal, policies)) for r in pol.rungs]
    kept = [x for i, x in enumerate(placed)
            if not (x.rung.mail and any(y.rung.mail and y.at <= x.at for y in placed[i + 1:]))]
    return sorted(kept, key=lambda x: x.at)


def _when(d: Timed, r: RungDef, cal: Any, pol: Policies) -> datetime:
    assert d.due_date is not None
    if r.event:
        end = d.due_at or clock.end_of_local_day(d.due_date)
        return end + timedelta(seconds=1)  # the first instant the deadline is missed
    if r.unit == "wd" and r.offset:
        day = cal.add_date(d.due_date, r.offset, "wd")
    else:
        day = d.due_date + timedelta(days=r.offset)
    return pol.local_at(cal.next_working(day))


CAUGHT_UP = "caught_up"
"""``extra`` mark of a recurring period opened already over, while the sweep caught up on missed ones
(engine.procedures.recurrence): it keeps the rungs after its end."""


def _floor(d: Timed) -> datetime | None:
    """Rungs before this instant are skipped: the deadline did not exist yet (None: none skipped).

    A recurring period marked ``CAUGHT_UP`` keeps the rungs after its end: "overdue" is still true, and the
    catch-up rule of :func:`plan` sends the latest of them (in the unit's one mail of that sweep).  Any other
    deadline that began after its end — a task given with a due date already past — gets none: nobody was
    reminded before, and an overdue mail with escalations on its first day would be news to everybody.
    """
    if d.start_at is None or d.due_date is None or not (d.extra or {}).get(CAUGHT_UP):
        return d.start_at
    end = d.due_at or clock.end_of_local_day(d.due_date)
    return min(end, d.start_at)


def _pending(d: Timed, cal: Any, policies: Policies | None) -> list[Rung]:
    floor, done = _floor(d), set((d.extra or {}).get("rungs_done") or [])
    return [r for r in ladder(d, cal, policies) if r.id not in done and (floor is None or r.at >= floor)]


def next_action(d: Timed, after: datetime, cal: Any = None, policies: Policies | None = None) -> datetime | None:
    """When the sweep must next look at ``d``, handled at ``after`` (None: the ladder is finished).

    That is the first rung not done yet.  Normally it falls after ``after``;
    one that does not (downtime, a sweep stopped half-way, a resumed case) is
    returned as it is — overdue for sending, not forgotten.
    """
    rest = _pending(d, cal, policies)
    return rest[0].at if rest else None


def due_rungs(d: Deadline, now: datetime, cal: Any = None, policies: Policies | None = None) -> list[Rung]:
    """The rungs of ``d`` to handle at ``now``, oldest first."""
    return [r for r in _pending(d, cal, policies) if r.at <= now]


@dataclass(frozen=True)
class Step:
    """What a sweep does with one due rung: ``send`` its mail, ``skip`` it (``why``), or run its event."""

    rung: Rung
    action: str
    """``event`` | ``send`` | ``skip``."""
    why: str = ""
    """For ``skip``: ``stale`` (its words no longer fit the day) or ``overtaken`` (a later rung replaces it)."""


def fits_day(kind: str, today: date, due: date) -> bool:
    """Whether a mail of ``kind`` still says something true on ``today``: a reminder before the due day,
    "today is the last day" on (or before) it, "overdue" after it."""
    if kind == "reminder":
        return today < due
    if kind == "due_today":
        return today <= due
    return today > due


def plan(d: Deadline, now: datetime, cal: Any = None, policies: Policies | None = None) -> list[Step]:
    """The due rungs of ``d`` at ``now``, oldest first, each with what to do.

    Catch-up after downtime: when the oldest due mail rung is more than
    ``catch_up_after_working_days`` working days late, only the latest due
    mail rung is sent and the earlier ones are skipped (``overtaken``); a
    shorter delay sends each.  Whatever the delay, a mail whose words no
    longer fit the day is skipped (``stale``): never "today is the last day"
    for a past day, never "N days left" once the due day has passed.
    """
    pol = policies or load()
    cal = cal or _shipped_calendar()
    rungs = due_rungs(d, now, cal, pol)
    mails = [r for r in rungs if not r.rung.event]
    today = clock.to_local(now).date()
    late_wd = cal.working_days_between(clock.to_local(mails[0].at).date(), today) if mails else 0
    latest = mails[-1] if mails else None
    steps = []
    for r in rungs:
        if r.rung.event:
            steps.append(Step(r, "event"))
        elif late_wd > pol.catch_up_wd and r is not latest:
            steps.append(Step(r, "skip", "overtaken"))
        elif d.due_date is not None and not fits_day(r.rung.mail or "reminder", today, d.due_date):
            steps.append(Step(r, "skip", "stale"))
        else:
            steps.append(Step(r, "send"))
    return steps


def mark_done(d: Deadline, rung: Rung) -> None:
    """Record that ``rung`` was handled (the caller saves ``d`` in the same transaction)."""
    done = set((d.extra or {}).get("rungs_done") or []) | {rung.id}
    d.extra, d.rung = {**(d.extra or {}), "rungs_done": sorted(done)}, len(done)


def ladder_finished_before(d: Deadline, instant: datetime, cal: Any, policies: Policies) -> bool:
    """True when every rung of ``d`` falls before ``instant`` (used to fill the weekly digest)."""
    rungs = ladder(d, cal, policies)
    return bool(rungs) and rungs[-1].at < instant
