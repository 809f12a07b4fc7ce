"""Seed 004 (notice of 21/06/2024): four tasks, the clock stepped day by day to 15/10/2024.

The expected mail is computed here from the policy file, the directory file and
the working-day calendar — by walking days, not with engine.reminders — and
must equal the outbox exactly: the right rungs on working days at 08:00, the
escalations to the supervising unit (UBND) and the coordinators for the three
tasks not done by their due date, weekly digests, and nothing more for the
task DOFA closed on time.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from agreeflow.engine.core import clock, db
from agreeflow.engine.legaltime import calendar
from tests.conftest import APPROVER, OFFICER_SNGV

DATA = Path(__file__).resolve().parent.parent / "engine" / "data"
OPENED, UNTIL = date(2024, 6, 21), date(2024, 10, 15)
TASKS = {"SNGV": "hoàn thành trong tháng 7/2024", "CA": "hoàn thành trong tháng 7/2024",
         "TPBG": "ban hành kế hoạch trong Quý III năm 2024", "LNG": "ban hành kế hoạch trong Quý III năm 2024"}
DUE = {"SNGV": date(2024, 7, 31), "CA": date(2024, 7, 31), "TPBG": date(2024, 9, 30), "LNG": date(2024, 9, 30)}
CLOSED = {"SNGV": date(2024, 7, 25)}           # reported and accepted that day, 10:00
SUBPROCESS_DAYS = {date(2024, 7, 31), date(2024, 8, 1)}


# ------------------------------------------------------------------ the plan, computed independently
def walk(cal: Any, day: date, n: int) -> date:
    """The day n working days after (n > 0) or before (n < 0) ``day``, counting one day at a time."""
    step = 1 if n > 0 else -1
    while n:
        day += timedelta(days=step)
        if cal.is_working(day):
            n -= step
    return day


def on_working_day(cal: Any, day: date) -> date:
    while not cal.is_working(day):
        day += timedelta(days=1)
    return day


def directory() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    raw = yaml.safe_load((DATA / "directory-bac-giang-2024.yaml").read_text(encoding="utf-8"))
    return {u["code"]: u for u in raw["units"]}, raw["people"]


def expected_mail(cal: Any) -> set[tuple[str, str, str, date]]:
    """{(unit, rung, recipient, day)} for the whole run."""
    policy_file = yaml.safe_load((DATA / "reminder-policies.yaml").read_text(encoding="utf-8"))
    rungs = policy_file["policies"]["task"]["rungs"]
    units, people = directory()
    coord = policy_file["coordinators"]

    def officers(code: str) -> list[str]:
        return [p["email"] for p in people if p["unit"] == code and "officer" in p["roles"]]

    coordinators = [p["email"] for p in people if p["unit"] == coord["unit"] and coord["role"] in p["roles"]]
    plan: set[tuple[str, str, str, date]] = set()
    for unit, due in DUE.items():
        own = [units[unit]["email"], *officers(unit)]
        for r in (r for r in rungs if "mail" in r):
            day = due + timedelta(days=r["offset"]) if r["unit"] == "d" else walk(cal, due, r["offset"]) \
                if r["offset"] else due
            day = on_working_day(cal, day)
            if not (OPENED < day <= UNTIL) or unit in CLOSED and day > CLOSED[unit]:
                continue
            plan |= {(unit, r["id"], who, day) for who in own}
            if r.get("escalate"):
                up = [units[units[unit]["parent"]]["email"], *coordinators]
                plan |= {(unit, r["id"], who, day) for who in up if who not in own}
        escalated = on_working_day(cal, walk(cal, due, 1))
        if unit in CLOSED:
            continue
        monday = OPENED - timedelta(days=OPENED.weekday())
        while monday <= UNTIL:
            day = on_working_day(cal, monday + timedelta(days=policy_file["digest_weekday"]))
            if escalated < day < monday + timedelta(days=7) and day <= UNTIL:
                plan |= {(unit, "digest", who, day) for who in own}
            monday += timedelta(days=7)
    return plan


# ------------------------------------------------------------------ the run
def outbox(af: Any) -> list[Any]:
    with db.get_engine(af.url).connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT c.unit AS case_unit, o.unit, o.rung, o.recipient, o.created_at, o.status, o.idem_key "
            "FROM outbox o LEFT JOIN cases c ON c.id = o.case_id ORDER BY o.id")))


def local(value: Any) -> datetime:
    """A stored UTC time (a string on SQLite, a naive datetime on PostgreSQL) in Vietnam."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return clock.to_local(dt.replace(tzinfo=clock.UTC))


def at8(day: date) -> str:
    return f"{day.isoformat()}T08:00:00+07:00"


def test_seed_004_tasks_get_exactly_the_planned_reminders_escalations_and_digests(af: Any, tmp_path: Path) -> None:
    refs = {unit: af("case", "open", "task", "--title", f"Nhiệm vụ theo Thông báo kết luận 21/6/2024 — {unit}",
                     "--field", f"lead_unit={unit}", "--field", f"due_phrase={phrase}",
                     "--field", "assigned_on=2024-06-21", now="2024-06-21T10:00:00+07:00", ok=True).stdout.strip()
            for unit, phrase in TASKS.items()}
    doc = tmp_path / "huong-dan-15-HD-SNgV.pdf"
    doc.write_bytes(b"%PDF-1.4 huong dan")
    day, counts = OPENED, []
    while day <= UNTIL:
        if day in SUBPROCESS_DAYS:
            done = af.run("tick", "--json", now=at8(day))
            assert done.returncode == 0, done.stderr
        else:
            counts.append(af.json("tick", now=at8(day)))
        if day == CLOSED["SNGV"]:
            af("case", "fire", refs["SNGV"], "report", "--field", "result_document=Hướng dẫn 15/HD-SNgV",
               "--attach", f"result={doc}", user=OFFICER_SNGV, now="2024-07-25T10:00:00+07:00", ok=True)
            af("case", "fire", refs["SNGV"], "accept", user=APPROVER, now="2024-07-25T10:30:00+07:00", ok=True)
        day += timedelta(days=1)

    cal = calendar.load()
    rows = outbox(af)
    for r in rows:
        assert cal.is_working(local(r.created_at).date()), r.idem_key
        assert (local(r.created_at).hour, local(r.created_at).minute) == (8, 0), r.idem_key
    rungs = [r for r in rows if r.rung != "bundle"]  # a bundle is the one mail of several rungs to one reader
    actual = {(r.case_unit or r.idem_key.split(":")[1], r.rung, r.recipient, local(r.created_at).date())
              for r in rungs}
    plan = expected_mail(cal)
    assert actual == plan, (sorted(actual - plan), sorted(plan - actual))
    assert len(rungs) == len(plan) and {r.status for r in rungs} <= {"sent", "bundled"}
    assert {r.status for r in rows if r.rung == "bundle"} <= {"sent"}
    mails = Counter((r.recipient, local(r.created_at).date()) for r in rows if r.status == "sent")
    assert set(mails.values()) == {1}  # one mail per reader per sweep
    assert sum(c["errors"] for c in counts) == 0

    for unit, ref in refs.items():
        kinds = [e["kind"] for e in af.json("case", "history", ref)]
        assert kinds.count("escalated") == (0 if unit in CLOSED else 1), unit
        assert kinds.count("deadline_missed") == (0 if unit in CLOSED else 1), unit
    sngv = {r.rung for r in rows if r.case_unit == "SNGV"}
    assert sngv == {"before_7d"}  # closed on 25/07: the rest of its ladder never ran
    escalated_to = {r.recipient for r in rows if r.rung == "overdue_1wd" and r.case_unit == "LNG"}
    assert "ubnd@bacgiang.example" in escalated_to and "dieuphoi@bacgiang.example" in escalated_to
    assert af.json("tick", now=at8(UNTIL))["queued"] == 0
    assert af("audit", "verify", ok=True).exit_code == 0
