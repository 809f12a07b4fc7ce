"""Auditors read everything and change nothing: every command that writes or sends — tick, serve, outbox
retry, case flags, opening, firing, the legal clock, rounds, imports, the directory, the calendar, the
access log — is exit 3 for an auditor, logged (on the case, else in the security log), and nothing else is
written.  One rule decides it (authority.check_writer, reached through engine.service.base) for every
command; the worker's identity is decided once (base.worker)."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from agreeflow import cli
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.service import identity
from tests.conftest import ADMIN, AUDITOR, COORD, OFFICER_CA, ROOT, Agreeflow

DUE = "2024-09-23T08:00"  # seven days before the task's Q3 deadline: a reminder falls due


def open_task(af) -> str:
    return af("case", "open", "task", "--title", "Ban hành kế hoạch", "--field", "lead_unit=LNG",
              "--field", "due_phrase=trong Quý III năm 2024", "--field", "assigned_on=2024-06-21",
              now="2024-06-21T09:00", ok=True).stdout.strip()


def security_entries(af) -> list[tuple[str, str, dict]]:
    with af.raw_connection() as con:
        rows = con.execute("SELECT actor, kind, detail FROM security_log ORDER BY seq").fetchall()
    return [(a, k, d if isinstance(d, dict) else json.loads(d)) for a, k, d in rows]


def refused_events(af) -> list[tuple[str, str, str]]:
    with af.raw_connection() as con:
        rows = con.execute("SELECT c.ref, e.actor, e.trigger FROM events e JOIN cases c ON c.id = e.case_id "
                           "WHERE e.kind = 'refused' ORDER BY e.id").fetchall()
    return [tuple(r) for r in rows]


def directory_file(tmp_path):
    path = tmp_path / "directory.yaml"
    path.write_text((ROOT / "engine" / "data" / "directory-bac-giang-2024.yaml").read_text(encoding="utf-8")
                    .replace("Lâm Quản Trị", "Lâm Quản Trị Viên"), encoding="utf-8")
    return path


def plan_file(tmp_path):
    path = tmp_path / "plan.csv"
    path.write_text("STT,Nhiệm vụ,Đơn vị chủ trì,Đơn vị phối hợp,Thời gian thực hiện,Ngày giao\n"
                    "1,Ban hành hướng dẫn,SNGV,,trong tháng 7/2024,2024-06-21\n", encoding="utf-8")
    return path


# (command, where the refusal is logged: "security" or the case it concerns — "CASE" is the task, "HE-THONG"
# the system chain that holds directory and calendar changes)
COMMANDS = [
    (("tick",), "security", "tick"),
    (("tick", "--no-dispatch"), "security", "tick"),
    (("serve", "--interval", "0.2", "--dispatch-interval", "0.2"), "security", "serve"),
    (("outbox", "retry", "1"), "security", "outbox retry"),
    (("case", "flags"), "security", "case flags"),
    (("case", "open", "task", "--title", "X", "--field", "lead_unit=SNGV", "--field", "due_phrase=Năm 2024"),
     "security", "open task"),
    (("tasks", "import", "{plan}"), "security", "open task"),
    (("audit", "access-log", "on"), "security", "audit access-log"),
    (("case", "fire", "{case}", "start"), "CASE", "start"),
    (("case", "suspend", "{case}", "--reason", "Thiếu hồ sơ"), "CASE", "suspend"),
    (("case", "resume", "{case}"), "CASE", "resume"),
    (("consultation", "close-round", "{case}"), "CASE", "close-round"),
    (("consultation", "follow-up", "{case}", "--reply-by", "trong vòng 5 ngày làm việc"), "CASE", "follow-up"),
    (("directory", "load", "{directory}"), "HE-THONG", "directory load"),
    (("init", "--directory", "{directory}"), "HE-THONG", "directory load"),
    (("directory", "transfer", "LNG", "UBND", "--from", "2025-07-01"), "HE-THONG", "directory transfer"),
    (("calendar", "set-off", "2024-12-30", "--reason", "Nghỉ bù", "--source", "CV 1/UBND"), "HE-THONG",
     "calendar set-off"),
]


@pytest.mark.parametrize("command, logged_on, action", COMMANDS,
                         ids=[" ".join(a for a in c[0][:3] if not a.startswith(("{", "-")) or a == "--no-dispatch")
                              for c in COMMANDS])
def test_an_auditor_is_refused_exit_3_logged_and_nothing_else_is_written(af, tmp_path, command, logged_on, action):
    ref = open_task(af)
    args = [a.format(case=ref, plan=plan_file(tmp_path), directory=directory_file(tmp_path)) for a in command]
    security_before, refused_before = security_entries(af), refused_events(af)
    before = af.snapshot(but=("events", "security_log"))
    result = af(*args, "--lang", "en", user=AUDITOR, now=DUE)
    assert result.exit_code == 3, result.output
    assert "auditor" in result.stderr
    assert af.snapshot(but=("events", "security_log")) == before
    new_security = security_entries(af)[len(security_before):]
    new_refused = refused_events(af)[len(refused_before):]
    if logged_on == "security":
        assert [(a, k, d["action"]) for a, k, d in new_security] == [(AUDITOR, "refused", action)]
        assert new_refused == []
    else:
        assert new_refused == [(ref if logged_on == "CASE" else logged_on, AUDITOR, action)]
        assert new_security == []
    assert not (af.home / "checkpoints").exists() or not list((af.home / "checkpoints").iterdir())
    assert not (af.home / "mail").exists() or not list((af.home / "mail").rglob("*.eml"))


def test_after_the_auditors_refused_tick_the_coordinator_sweeps_and_sends_what_was_due(af):
    open_task(af)
    assert af("tick", user=AUDITOR, now=DUE).exit_code == 3
    counts = af.json("tick", user=COORD, now=DUE)
    assert (counts["due"], counts["queued"], counts["sent"]) == (1, 2, 2)


def test_on_a_simulation_database_the_scheduler_starts_as_itself_when_nobody_is_named(af):
    open_task(af)
    counts = af.json("tick", user=None, now=DUE)
    assert (counts["due"], counts["queued"], counts["sent"]) == (1, 2, 2)
    history = af.json("case", "history", "NV-2024-0001")
    assert {e["actor"] for e in history if e["kind"].startswith("reminder")} == {"agreeflow"}


# ------------------------------------------------------------------ a real database: the worker signs in
@pytest.fixture(params=["sqlite", "postgresql"])
def real(request, tmp_path, monkeypatch):
    """A database made without --simulation (identity from sign-in, no --now), on SQLite and PostgreSQL."""
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AGREEFLOW_CONFIG", str(tmp_path / "config"))
    home = tmp_path / "home"
    home.mkdir()
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'agreeflow.db'}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        name = f"real_{uuid.uuid4().hex[:12]}"
        cluster.create_empty_database(name)
        url = cluster.url(name)
    runner = Agreeflow(home=home, url=url)
    runner("init", user=None, ok=True)
    yield runner
    if name is not None:
        request.getfixturevalue("pg_cluster").drop_database(name)


PASSWORD = "mat-khau-du-dai-1"


def cli_with_stdin(af, args: list[str], stdin: str, token: str = ""):
    env = af.base_env(None, None, None) | {"AGREEFLOW_USER": "", "AGREEFLOW_NOW": "", "AGREEFLOW_TOKEN": token}
    return CliRunner().invoke(cli.main, args, input=stdin + "\n", env=env, catch_exceptions=False)


def accounts(af, *emails: str) -> dict[str, str]:
    """The admin sets a password for each of ``emails`` (the first admin password is the bootstrap), and each
    signs in with ``agreeflow login``; their tokens."""
    assert cli_with_stdin(af, ["user", "set-password", ADMIN, "--password-stdin"], PASSWORD).exit_code == 0
    tokens = {}
    for email in (ADMIN, *emails):
        if email != ADMIN:
            assert cli_with_stdin(af, ["user", "set-password", email, "--password-stdin"], PASSWORD,
                                  tokens[ADMIN]).exit_code == 0
        assert cli_with_stdin(af, ["login", email, "--password-stdin"], PASSWORD).exit_code == 0
        tokens[email] = identity.saved_token(Settings(db_url=af.url)) or ""
    return tokens


def test_on_a_real_database_the_worker_must_be_signed_in_and_may_not_be_an_auditor(real):
    result = real("tick", "--lang", "en", user=None)
    assert result.exit_code == 2
    assert result.stderr.strip() == "Not signed in. Sign in with: agreeflow login EMAIL (or set AGREEFLOW_TOKEN)."
    tokens = accounts(real, AUDITOR, COORD)
    real.env["AGREEFLOW_TOKEN"] = tokens[AUDITOR]
    before = real.snapshot(but=("security_log",))
    refused = real("tick", "--lang", "en", user=None)
    assert refused.exit_code == 3 and "auditor" in refused.stderr
    assert real.snapshot(but=("security_log",)) == before
    assert security_entries(real)[-1][:2] == (AUDITOR, "refused")
    real.env["AGREEFLOW_TOKEN"] = tokens[COORD]
    assert real.json("tick", user=None)["errors"] == 0


def test_on_a_real_database_only_an_admin_acts_as_another_and_the_log_says_on_whose_behalf(real):
    """Issue 14 point 3: ``--as`` naming another person needs the admin role; an admin's entry names both."""
    tokens = accounts(real, COORD, OFFICER_CA)
    real.env["AGREEFLOW_TOKEN"] = tokens[OFFICER_CA]
    before = real.snapshot(but=("security_log", "events"))
    opened = ("case", "open", "task", "--title", "Thay mặt", "--field", "lead_unit=SNGV",
              "--field", "due_phrase=trong vòng 10 ngày làm việc", "--as", COORD)
    refused = real(*opened, "--lang", "en", user=None)
    assert refused.exit_code == 3 and "may not act on behalf of" in refused.stderr
    assert real.snapshot(but=("security_log", "events")) == before
    real.env["AGREEFLOW_TOKEN"] = tokens[ADMIN]
    ref = real(*opened, user=None, ok=True).stdout.strip()
    first = real.json("case", "history", ref, user=None)[0]
    assert (first["actor"], first["recorded_by"]) == (COORD, ADMIN)
    real.env["COLUMNS"] = "300"  # a table wide enough not to fold the actor's cell ("on their | behalf")
    shown = real("case", "history", ref, "--lang", "en", user=None, ok=True).stdout
    assert f"{COORD} (recorded by {ADMIN} on their behalf)" in shown


def test_the_security_log_says_in_words_who_set_each_password(real):
    """The first admin password (no admin had one) and a password an admin set for someone else are named in
    the reader's language — stored as codes, {"by": "bootstrap"} and {"by": "admin", "admin": email}."""
    tokens = accounts(real, COORD)
    assert [d for _, kind, d in security_entries(real) if kind == "password_set"] == [
        {"by": "bootstrap"}, {"by": "admin", "admin": ADMIN}]
    real.env |= {"AGREEFLOW_TOKEN": tokens[ADMIN], "COLUMNS": "1000"}  # one row a line
    vi = real("audit", "security-log", user=None, ok=True).stdout
    assert "người đặt: quản trị viên đầu tiên (khi chưa quản trị viên nào có mật khẩu)" in vi
    assert f"người đặt: quản trị viên {ADMIN}" in vi and "bootstrap" not in vi
    en = real("audit", "security-log", "--lang", "en", user=None, ok=True).stdout
    assert "set by: the first administrator (no administrator had a password yet)" in en
    assert f"set by: administrator {ADMIN}" in en


def test_an_entry_logged_before_the_codes_reads_the_same():
    """Entries written before December 2026 stored who set a password as one string, "admin <email>"."""
    from agreeflow.engine.service.words import security_note
    old = {"kind": "password_set", "summary": "", "detail": {"by": f"admin {ADMIN}"}}
    new = {"kind": "password_set", "summary": "", "detail": {"by": "admin", "admin": ADMIN}}
    assert security_note(old, "vi") == security_note(new, "vi") == f"người đặt: quản trị viên {ADMIN}"
    assert security_note(old, "en") == f"set by: administrator {ADMIN}"
