"""A database may keep an access log: an admin switches it (logged), and from then every read a person asks
for — a case, a list, a history, a report, an export — names its reader, what and when in the security log,
which stays one append-only hash chain that audit verify checks."""

from __future__ import annotations

import json

from tests.conftest import ADMIN, AUDITOR, COORD
from tests.test_auditors__refused_every_write import open_task, security_entries

NOW = "2024-07-01T09:00"


def reads(af) -> list[tuple[str, dict]]:
    return [(actor, detail) for actor, kind, detail in security_entries(af) if kind == "read"]


def test_reads_are_not_logged_until_an_admin_switches_the_access_log_on(af, tmp_path):
    ref = open_task(af)
    before = af.snapshot()
    for args in (("case", "show", ref), ("case", "list"), ("case", "history", ref), ("report", "compliance")):
        assert af(*args, user=AUDITOR, now=NOW).exit_code == 0
    assert af.snapshot() == before  # a read writes nothing while there is no access log

    for who in (AUDITOR, COORD):
        refused = af("audit", "access-log", "on", "--lang", "en", user=who)
        assert refused.exit_code == 3
    assert [(a, k, d["action"]) for a, k, d in security_entries(af)] == [
        (AUDITOR, "refused", "audit access-log"), (COORD, "refused", "audit access-log")]
    assert af.json("whoami", user=ADMIN)["access_log"] is False

    switched = af("audit", "access-log", "on", "--lang", "en", user=ADMIN)
    assert switched.exit_code == 0
    assert switched.stdout.startswith("Access log on: from now every read of a case, list, history, report or export")
    assert security_entries(af)[-1] == (ADMIN, "setting_changed",
                                        {"setting": "access_log", "before": "off", "after": "on"})
    again = af("audit", "access-log", "on", "--lang", "en", user=ADMIN)
    assert again.stdout.strip() == "The access log is already on; nothing changed."
    assert len(security_entries(af)) == 3


def test_with_the_access_log_on_every_read_names_its_reader_what_and_when(af, tmp_path):
    ref = open_task(af)
    af("audit", "access-log", "on", user=ADMIN, ok=True)
    af("case", "show", ref, user=AUDITOR, now=NOW, ok=True)
    af("case", "list", "--workflow", "task", "--unit", "LNG", user=AUDITOR, now=NOW, ok=True)
    af("case", "history", ref, user=AUDITOR, now=NOW, ok=True)
    af("report", "compliance", "--from", "2024-01-01", user=AUDITOR, now=NOW, ok=True)
    af("report", "annual", "--year", "2024", user=AUDITOR, now=NOW, ok=True)
    af("audit", "export", "-o", str(tmp_path / "log.jsonl"), user=AUDITOR, now=NOW, ok=True)
    af("audit", "log", "--case", ref, user=AUDITOR, now=NOW, ok=True)
    af("export", "ics", "--unit", "LNG", "-o", str(tmp_path / "lng.ics"), user=COORD, now=NOW, ok=True)
    af("consultation", "summary", ref, user=COORD, now=NOW)  # not a round: exit 2, showed nothing, not logged
    assert reads(af) == [
        (AUDITOR, {"what": "case show", "case": ref}),
        (AUDITOR, {"what": "case list", "workflow": "task", "unit": "LNG"}),
        (AUDITOR, {"what": "case history", "case": ref}),
        (AUDITOR, {"what": "report compliance", "start": "2024-01-01"}),
        (AUDITOR, {"what": "report annual", "year": 2024}),
        (AUDITOR, {"what": "audit export"}),
        (AUDITOR, {"what": "audit log", "case": ref}),
        (COORD, {"what": "export ics", "unit": "LNG"}),
    ]
    shown = af.json("audit", "security-log", "--kind", "read", "--actor", COORD, user=AUDITOR)
    assert [(e["actor"], e["summary"]) for e in shown] == [(COORD, "export ics unit=LNG")]
    assert shown[0]["origin"].startswith("cli:")
    # the security log, reads included, is one chain that audit verify checks
    verified = af.json("audit", "verify", user=AUDITOR)
    assert verified["security_log"] == len(security_entries(af)) - 1  # verify's own read comes after it


def test_with_the_access_log_on_an_unnamed_reader_is_exit_2_and_nothing_is_shown_or_logged(af):
    ref = open_task(af)
    af("audit", "access-log", "on", user=ADMIN, ok=True)
    before = af.snapshot()
    result = af("case", "show", ref, "--lang", "en", user=None, now=NOW)
    assert result.exit_code == 2 and result.stdout == ""
    assert "No person '(not set)' in the directory" in result.stderr
    assert af.snapshot() == before


def test_a_write_is_not_logged_as_a_read_and_switching_off_stops_the_log(af):
    ref = open_task(af)
    af("audit", "access-log", "on", user=ADMIN, ok=True)
    af("case", "fire", ref, "start", user="chuyenvien.lng@bacgiang.example", now=NOW, ok=True)
    assert reads(af) == []  # the step's answer shows the case, but the step itself is in the case's log
    af("audit", "access-log", "off", user=ADMIN, ok=True)
    assert security_entries(af)[-1] == (ADMIN, "setting_changed",
                                        {"setting": "access_log", "before": "on", "after": "off"})
    af("case", "show", ref, user=AUDITOR, now=NOW, ok=True)
    assert reads(af) == []


def test_the_security_log_refuses_to_be_rewritten_and_an_edited_read_is_found(af):
    ref = open_task(af)
    af("audit", "access-log", "on", user=ADMIN, ok=True)
    af("case", "show", ref, user=AUDITOR, now=NOW, ok=True)
    with af.raw_connection() as con:
        try:
            con.execute("UPDATE security_log SET actor = 'someone-else@bacgiang.example' WHERE kind = 'read'")
        except Exception as exc:  # sqlite3.IntegrityError / psycopg.errors.RaiseException
            assert "append-only" in str(exc)
        else:
            raise AssertionError("the security log accepted an UPDATE")
    assert json.loads(af("audit", "verify", "--json", user=AUDITOR).stdout)["security_log"] == 2
    # someone with the database owner's rights lifts the guard and changes who read: verify names it
    with af.raw_connection() as con:
        con.execute("DROP TRIGGER security_log_no_update" if af.dialect == "sqlite" else
                    "ALTER TABLE security_log DISABLE TRIGGER security_log_no_update_delete")
        con.execute("UPDATE security_log SET actor = 'someone-else@bacgiang.example' WHERE seq = 2")
    tampered = af("audit", "verify", "--lang", "en", user=COORD)
    assert tampered.exit_code == 4
    assert "security log seq 2: hash does not match (entry edited)" in tampered.stderr
