"""Open deadlines reach officials' calendars as to-dos that update in place when a deadline moves."""

from __future__ import annotations

from datetime import date

from icalendar import Calendar

from tests.conftest import COORD, OFFICER_CA

NOW = "2024-06-21T09:00:00+07:00"


def open_task(af, unit: str, phrase: str) -> str:
    return af("case", "open", "task", "--title", f"Nhiệm vụ của {unit}", "--field", f"lead_unit={unit}",
              "--field", f"due_phrase={phrase}", "--field", "assigned_on=2024-06-21", now=NOW, ok=True).stdout.strip()


def todos(af, tmp_path, name: str, *args: str, now: str = NOW) -> dict[str, dict]:
    out = tmp_path / name
    res = af.json("export", "ics", *args, "-o", str(out), now=now)
    cal = Calendar.from_ical(out.read_bytes())
    found = {str(t["UID"]): {"due": t["DUE"].dt, "sequence": int(t.get("SEQUENCE", 0)), "stamp": t["DTSTAMP"].dt,
                             "summary": str(t["SUMMARY"]), "alarms": [a["TRIGGER"].dt for a in t.walk("VALARM")]}
             for t in cal.walk("VTODO")}
    assert res["todos"] == len(found)
    return found


def test_one_todo_per_open_deadline_and_a_moved_deadline_keeps_its_uid(af, tmp_path):
    july = open_task(af, "SNGV", "hoàn thành trong tháng 7/2024")
    q3 = open_task(af, "CA", "trong Quý III năm 2024")
    open_task(af, "SNGV", "Thường xuyên")  # no due date: nothing to put in a calendar
    open_deadlines = [(c, d) for c in (july, q3) for d in af.json("case", "show", c)["deadlines"] if d["status"] == "open"]
    first = todos(af, tmp_path, "first.ics")
    assert len(first) == len(open_deadlines) == 2
    assert sorted(t["due"] for t in first.values()) == [date(2024, 7, 31), date(2024, 9, 30)]
    assert all(uid.startswith("deadline-") and uid.endswith("@agreeflow") for uid in first)
    uid_july = next(u for u, t in first.items() if july in t["summary"])
    assert first[uid_july]["sequence"] == 0
    assert [a.isoformat() for a in first[uid_july]["alarms"]] == ["2024-07-24T01:00:00+00:00",
                                                                  "2024-07-31T01:00:00+00:00"]  # 08:00 local
    assert todos(af, tmp_path, "again.ics") == first  # nothing changed: the same file content

    af("case", "suspend", july, "--reason", "Chờ ý kiến Bộ Ngoại giao", now="2024-07-01T08:00:00+07:00", ok=True)
    af("case", "resume", july, now="2024-07-08T08:00:00+07:00", ok=True)  # 5 working days: 2,3,4,5,8 July
    second = todos(af, tmp_path, "second.ics")
    assert set(second) == set(first)
    assert second[uid_july]["due"] == date(2024, 8, 7)  # 31/07 + 5 working days
    assert second[uid_july]["sequence"] == 1 and second[uid_july]["stamp"] > first[uid_july]["stamp"]
    other = next(u for u in first if u != uid_july)
    assert second[other] == first[other]


def test_export_for_a_person_holds_only_their_units_deadlines(af, tmp_path):
    open_task(af, "SNGV", "hoàn thành trong tháng 7/2024")
    ca = open_task(af, "CA", "trong Quý III năm 2024")
    mine = todos(af, tmp_path, "ca.ics", "--person", OFFICER_CA)
    assert [t["summary"][1:13] for t in mine.values()] == [ca]
    assert len(todos(af, tmp_path, "unit.ics", "--unit", "SNGV")) == 1
    ics = af("export", "ics", "--lang", "en", user=COORD).stdout
    assert ics.startswith("BEGIN:VCALENDAR") and ics.count("BEGIN:VTODO") == 2 and "Task due" in ics


def test_wrong_filters_exit_2_and_write_no_file(af, tmp_path):
    for args, text in ((["--unit", "SNGVV"], "Có phải 'SNGV'?"), (["--person", "nobody@example.org"], "nobody@"),
                       (["--unit", "CA", "--person", OFFICER_CA], "not both")):
        res = af("export", "ics", *args, "-o", str(tmp_path / "x.ics"))
        assert res.exit_code == 2 and text in res.stderr
    assert not list(tmp_path.glob("x.ics*"))
