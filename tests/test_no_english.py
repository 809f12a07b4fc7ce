"""Every command speaks Vietnamese by default: no English word from a list and no raw ISO date in what it prints.

The demo's database (``agreeflow demo --keep``, whose own output is checked too) is
the ground: every command and subcommand of the click tree runs against it with the
arguments of ``RUNS`` — the tree is walked, so a new command without an entry there
fails :func:`test_every_command_has_runs` — and so does every command's ``--help``.
Errors count: a run that is refused must say so in Vietnamese as well.

What is left out before looking for English, because it is not prose: e-mail
addresses, URLs, file paths and names, case ids (TTQT-2024-0001), option names
(``--json``), environment variables, identifiers with an underscore (field names:
codes an operator writes), choice lists in brackets (``[vi|en]``), the
commands the output tells the reader to run (``agreeflow case fire … approve``),
and the workflows' ids and triggers (codes typed on the command line).  A state id
with an underscore is not left out: states are shown through their labels — nor is a
choice value (in_person), a mail's rung id (before_3wd, bundle) or a kind of event
(reminder_skipped): they are shown in words.  A workflow's id (agreement-province) shows
only where the workflow definitions themselves are listed (``IDS_TYPED``): a case, a list
of cases or a report names the workflow by its title.

``--json`` is for programs: its keys are English and its instants ISO-8601 on
purpose (docs/i18n.md, "Command line"), so no run here uses it.  Server logs of
``serve`` and ``web`` from other libraries (uvicorn's) are not agreeflow's words.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agreeflow import cli
from agreeflow.engine.core import clock, definitions
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.service import wiring  # noqa: F401  (the guards and actions the workflows name, for _codes)
from tests.conftest import ADMIN, AUDITOR, COORD, ROOT

NOW = "2025-01-06T09:00:00+07:00"  # the Monday after the demo's last day
WIDE = "1000"  # tables one row a line: a sentence is not cut across the lines of a wrapped cell
PASSWORD = "mat-khau-thu-nghiem-2025"
GIFU, XAYSOMBOUN, TASK_LATE, ROUND, TRIP = "TTQT-2024-0001", "TTQT-2021-0001", "NV-2024-0004", "XYK-2024-0001", \
    "DRA-2024-0001"
REPLY_DATED = "YK-2024-0011"  # a reply case whose reply-by (a text field) holds an ISO day: shown dd/mm/yyyy
OFFICER_LNG = "chuyenvien.lng@bacgiang.example"

# Whole words, any case.  Short Vietnamese syllables written without marks (to, do, an, in, no, on) are not here.
ENGLISH = set("""
the and of for with by at is are was were be been this that these those or not yes none true false
error errors warning usage options option commands command arguments argument help show message messages
case cases deadline deadlines status state states open opened closed met missed late overdue due unit units
day days working step steps title workflow workflows version note kind actor seq total date reason source
mail reminder reminders left until since after before field fields value values document documents file
wrote written exported verified events event chain chains sent queued failed cancelled timeline people name
roles active parent code transitions citation earliest latest limit basis margin outcome feasible infeasible
recipient tries host started seen last nodes outbox answer answers summary count level direction country
purpose partner indicator section signed approved draft pending unknown nothing changed written checkpoint
suspended resumed moved set lock from to system automatic line row online person bundle digest
""".split())
ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")
# Citations name the law, never the project's own notes (legal-basis.md), its seed documents (issue 17, point 4)
# or the Python package that computes the public holidays ("holidays 0.109 (VN)": the law is the Labour Code).
PROJECT_NOTES = re.compile(r"legal-basis|\bseeds? \d{3}\b|\bholidays \d+\.\d+")

# Engine text not yet in the catalogue: a line holding one of these fragments is not checked, and
# test_known_failures_still_fail keeps the list honest.  Empty since i18ncore was merged (errors, guards'
# reasons and log notes are messages of the catalogue).
KNOWN_FAILURES: set[str] = set()


@dataclass
class Run:
    """One invocation: its arguments, who acts, what is typed, which exit codes are fine."""

    args: list[str]
    user: str | None = COORD
    stdin: str | None = None
    codes: tuple[int, ...] = (0,)
    before: list[list[str]] = field(default_factory=list)
    """Invocations run first, as ``user``, whose output is not checked (a password to set, say)."""
    machine: tuple[str, ...] = ()
    """The output is a format for programs (Mermaid source, like --json): not read for English, but each
    of these words must be in it (the labels it carries for people)."""


def _tmp(name: str) -> str:
    return "{tmp}/" + name


# Every command of the tree, with the arguments it needs, in the order they run (later ones may rely
# on earlier ones).  A command missing here fails test_every_command_has_runs.
RUNS: dict[str, list[Run]] = {
    "init": [Run([], user=ADMIN)],
    "user set-password": [Run([ADMIN, "--password-stdin"], user=ADMIN, stdin=PASSWORD + "\n")],
    "login": [Run([ADMIN, "--password-stdin"], user=None, stdin=PASSWORD + "\n"),
              Run([ADMIN, "--password-stdin"], user=None, stdin="sai-mat-khau\n", codes=(3,))],
    "whoami": [Run([]), Run([], user=None, codes=(2,))],  # nobody named: a sentence saying how, exit 2
    "logout": [Run([], user=None)],
    "directory load": [Run([str(ROOT / "engine" / "data" / "directory-bac-giang-2024.yaml")], user=ADMIN)],
    "directory show": [Run([])],
    "directory check": [Run([str(ROOT / "engine" / "data" / "directory-bac-ninh-2025.yaml")])],
    "directory transfer": [Run(["LNG", "UBND", "--from", "01/07/2025", "--dry-run"], user=AUDITOR, codes=(0, 2))],
    "workflows list": [Run([])],
    "workflows show": [Run(["agreement-province"]), Run(["task"])],
    "workflows graph": [Run(["task", "--case", TASK_LATE], machine=('"Đã giao"', '"Đang thực hiện"',
                                                                    "Bắt đầu thực hiện"))],
    "workflows lint": [Run([])],
    "case list": [Run([])],
    "case show": [Run([ref]) for ref in (GIFU, XAYSOMBOUN, TASK_LATE, ROUND, TRIP, "YK-2024-0002", REPLY_DATED)]
    + [Run(["NV-2099-0001"], codes=(2,))],
    "case history": [Run([ref]) for ref in (GIFU, XAYSOMBOUN, TASK_LATE, ROUND, TRIP)],  # Xay Som Boun: skipped rungs
    "case open": [Run(["task", "--title", "Rà soát thỏa thuận hết hiệu lực", "--field", "lead_unit=SNGV",
                       "--field", "due_phrase=trong vòng 10 ngày làm việc"]),
                  Run(["task", "--title", "Thiếu trường"], codes=(2,))],
    "case fire": [Run([TASK_LATE, "start"], user=OFFICER_LNG),
                  Run([TASK_LATE, "start"], user=OFFICER_LNG, codes=(3,)),
                  Run([GIFU, "abandon"], user=OFFICER_LNG, codes=(3,))],
    "case suspend": [Run([TASK_LATE, "--reason", "Chờ ý kiến của đối tác"])],
    "case resume": [Run([TASK_LATE, "--note", "Đối tác đã trả lời"])],
    "case flags": [Run([])],
    "audit verify": [Run([], user=AUDITOR)],
    "audit access-log": [Run(["on"], user=ADMIN), Run(["on"], user=ADMIN), Run(["off"], user=AUDITOR, codes=(3,))],
    "audit keygen": [Run(["--out", _tmp("keys")], user=ADMIN)],
    "audit log": [Run(["--case", TASK_LATE], user=AUDITOR), Run(["--from", "01/12/2024"], user=AUDITOR)],
    "audit export": [Run(["-o", _tmp("log.jsonl")], user=AUDITOR)],
    "audit checkpoint": [Run(["-o", _tmp("checkpoint.txt")], user=AUDITOR)],
    "audit security-log": [Run([], user=AUDITOR), Run(["--kind", "read", "--from", "01/01/2025"], user=AUDITOR)],
    "calendar holidays": [Run(["2025"])],
    "calendar is-working": [Run(["02/09/2025"]), Run(["05/01/2025"])],
    "calendar add": [Run(["01/07/2025", "10"]), Run(["01/07/2025", "30", "--calendar"])],
    "calendar due": [Run(["trong vòng 10 ngày làm việc"]), Run(["Quý III/2025"]),
                     Run(["sau khi ký kết 30 ngày", "--from", "06/01/2025"])],
    "calendar set-off": [Run(["02/05/2025", "--reason", "Nghỉ bù dịp 30/4", "--source",
                              "Công văn 12729/VPCP-KGVX"], user=ADMIN)],
    "calendar set-working": [Run(["26/04/2025", "--reason", "Làm bù cho ngày 02/05", "--source",
                                  "Công văn 12729/VPCP-KGVX"], user=ADMIN)],
    "tick": [Run([])],
    "nodes": [Run([])],
    "outbox list": [Run(["--limit", "20"])],
    "outbox retry": [Run(["1"], codes=(0, 2, 3))],
    "report compliance": [Run(["--from", "01/01/2024", "--to", "31/12/2024"])],
    "report annual": [Run(["--year", "2024", "--xlsx", _tmp("annual.xlsx"), "--docx", _tmp("annual.docx")])],
    "letter": [Run([GIFU, "opinions_request", "--out", _tmp("letter.docx")])],
    "export ics": [Run(["-o", _tmp("deadlines.ics")])],
    "tasks import": [Run([str(ROOT / "engine" / "data" / "plans" / "seed-004-ket-luan-ban-chi-dao-2024.yaml"),
                          "--dry-run"])],
    "plan": [Run(["agreement-province", "--start", "06/01/2025", "--by", "01/03/2025"]),
             Run(["delegation-outbound", "--start", "06/01/2025"])],
    "consultation summary": [Run([ROUND])],
    "consultation close-round": [Run([ROUND], codes=(0, 3))],
    "consultation follow-up": [Run([ROUND, "--reply-by", "trong vòng 5 ngày làm việc"], codes=(0, 3))],
    # Run before everything else (the fixture makes the database with it) and as servers (below).
    "demo": [],
    "serve": [],
    "web": [],
}
SERVERS = {"serve": ["--interval", "1", "--node-name", "kiem-thu"], "web": ["--port", "{port}"]}


def tree(group: click.Group, path: tuple[str, ...] = ()) -> list[str]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        out += tree(cmd, (*path, name)) if isinstance(cmd, click.Group) else [" ".join((*path, name))]
    return out


def invoke(args: list[str], home: Path, user: str | None, stdin: str | None = None) -> tuple[int, str]:
    env = {"AGREEFLOW_HOME": str(home), "AGREEFLOW_DB": "", "AGREEFLOW_USER": user or "", "AGREEFLOW_NOW": NOW,
           "AGREEFLOW_LANG": "", "AGREEFLOW_WORKFLOWS": "", "AGREEFLOW_SMTP": "", "COLUMNS": WIDE}
    res = CliRunner().invoke(cli.main, args, env=env, input=stdin, catch_exceptions=False, prog_name="agreeflow")
    clock.set_now(None)
    return res.exit_code, res.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The demo run by its command in a process of its own (what it logs is seen as a user sees it), its
    database copied here."""
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": WIDE, "HOME": str(tmp_path_factory.mktemp("user"))}
    run = subprocess.run([sys.executable, "-m", "agreeflow.cli", "demo", "--keep"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    kept = Path(re.search(r"AGREEFLOW_HOME=(\S+);", run.stdout).group(1))
    home = tmp_path_factory.mktemp("demo") / "home"
    shutil.copytree(kept, home)
    shutil.rmtree(kept, ignore_errors=True)
    return {"home": home, "output": run.stderr + run.stdout}


@pytest.fixture(scope="module")
def outputs(demo: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """What every command printed, in the order of RUNS (servers run as processes for a few seconds)."""
    home, tmp = demo["home"], tmp_path_factory.mktemp("out")
    assert isinstance(home, Path)
    printed: dict[str, list[str]] = {"demo": [str(demo["output"])]}
    for command, runs in RUNS.items():
        printed.setdefault(command, [])
        for run in runs:
            for before in run.before:
                invoke(before, home, run.user)
            args = [a.replace("{tmp}", str(tmp)) for a in run.args]
            code, text = invoke([*command.split(), *args], home, run.user, run.stdin)
            assert code in run.codes, f"agreeflow {command} {' '.join(args)} → {code}\n{text}"
            if run.machine:
                assert [w for w in run.machine if w not in text] == [], text
                continue
            printed[command].append(text)
    for command, args in SERVERS.items():
        printed[command] = [server_output(command, args, home)]
        assert "Cách dùng:" not in printed[command][0] and "Đã hủy!" not in printed[command][0], printed[command]
    printed["report annual"] += [xlsx_text(tmp / "annual.xlsx"), docx_text(tmp / "annual.docx")]
    printed["letter"].append(docx_text(tmp / "letter.docx"))
    return printed


def server_output(command: str, args: list[str], home: Path) -> str:
    """What ``agreeflow serve``/``web`` prints once running (its first line, then two seconds) and when stopped
    (SIGINT).  On this loaded machine starting may take several seconds: a server stopped before it ran would
    print only click's "Đã hủy!", and nothing of its own would be checked."""
    import threading
    env = {"AGREEFLOW_HOME": str(home), "AGREEFLOW_USER": COORD, "AGREEFLOW_NOW": NOW, "PATH": "/usr/bin:/bin",
           "COLUMNS": WIDE}
    args = [a.replace("{port}", str(free_port())) for a in args]
    proc = subprocess.Popen([sys.executable, "-m", "agreeflow.cli", command, *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not err and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=60)  # the reader and communicate share stderr: keep both parts
    reader.join(timeout=10)
    err += rest.splitlines(keepends=True)
    ours = [line.rstrip("\n") for line in err if not re.match(r"(INFO|WARNING|ERROR):\s", line)]  # uvicorn's own
    return out + "\n".join(ours)


def free_port() -> int:
    """A TCP port no one listens on now (the web command takes 1–65535, not 0)."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def xlsx_text(path: Path) -> str:
    """Every cell of every sheet as Excel shows it, one row a line: a date cell shows in its number format, so
    a date cell not formatted dd/mm/yyyy shows as ISO text and is caught."""
    from openpyxl import load_workbook
    book = load_workbook(path)

    def shown(cell: object) -> str:
        value = getattr(cell, "value", None)
        if value is None:
            return ""
        if hasattr(value, "strftime") and getattr(cell, "number_format", "").upper() == "DD/MM/YYYY":
            return value.strftime("%d/%m/%Y")
        return str(value)
    lines = [ws.title for ws in book.worksheets]
    for ws in book.worksheets:
        lines += [" | ".join(shown(c) for c in row) for row in ws.iter_rows()]
    return "\n".join(lines)


def docx_text(path: Path) -> str:
    """Every paragraph of a Word file, its tables' cells (one row a line), headers and footers."""
    from docx import Document
    doc = Document(str(path))
    parts = [*doc.sections[0].header.paragraphs, *doc.paragraphs, *doc.sections[0].footer.paragraphs]
    lines = [p.text for p in parts]
    for tbl in doc.tables:
        lines += [" | ".join(c.text for c in row.cells) for row in tbl.rows]
    return "\n".join(lines)


def _codes() -> tuple[set[str], set[str]]:
    """Workflow ids, triggers and letter kinds (typed on the command line) — and the state ids and choice values
    with an underscore (in_person), which must not show: states and choices are shown in words."""
    from agreeflow.engine.core.paths import LETTER_TEMPLATES_DIR
    ids, triggers, values = {p.stem for p in (LETTER_TEMPLATES_DIR / "vi").glob("*.txt")}, set(), set()
    for path in sorted((ROOT / "workflows").glob("*.yaml")):
        defn = definitions.read(path)
        ids.add(defn.id)
        triggers |= {t.trigger for t in defn.transitions}
        values |= set(defn.states) | {c for f in defn.fields.values() for c in f.choices}
    from agreeflow.engine.legaltime import reminders
    values |= {r.id for p in reminders.load().policies.values() for r in p.rungs if r.mail}  # mails: in words
    return ids | triggers, {v for v in values if "_" in v} - ids - triggers


CODES, STATE_IDS = _codes()
WORKFLOW_IDS = {definitions.read(path).id for path in sorted((ROOT / "workflows").glob("*.yaml"))}
IDS_TYPED = {"workflows list", "workflows show", "workflows lint", "plan"}
"""The commands about the workflow definitions themselves, which name each by the id it is asked for with (beside
its title); everywhere else — a case, a list of cases, a report — a workflow is shown by its title."""
EVENT_IDS = {k.value for k in EventKind if "_" in k.value}
"""Kinds of events: shown in words, typed as codes only after ``audit log --kind`` (its help lists them)."""
NOT_PROSE = [re.compile(p) for p in (
    r"https?://\S+", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", r"(?:~|\.{1,2}|\b[\w.-]+)?(?:/[\w.*@+-]+)+/?",
    r"\b[\w.-]+\.(?:ya?ml|jsonl?|csv|xlsx|docx|eml|ics|md|key|pub|db|po|mo|txt|html)\b",
    r"\b[A-Z]{2,5}-\d{4}-\d{4}\b", r"(?<!\w)--?[a-zA-Z][\w-]*", r"\bAGREEFLOW_\w+", r"\b[0-9a-f]{12,}\b",
    r"\[[\w.-]+(?:\|[\w.-]+)+\]", r"\bagreeflow(?: [a-z][\w-]*)*")]


def leaks(text: str, help_page: bool = False) -> list[str]:
    """The lines of ``text`` with an English word or a raw ISO date, each with what was found."""
    found = []
    for line in text.splitlines():
        if any(k in line for k in KNOWN_FAILURES):
            continue
        prose = line
        for pattern in NOT_PROSE:
            prose = pattern.sub(" ", prose)
        if help_page:  # the rows of "Lệnh:" start with a command's name
            prose = re.sub(r"^\s{2}[a-z][\w-]*(?=\s{2})", " ", prose)
        words = re.findall(r"[^\W\d]+(?:_[^\W\d]+)*", prose)
        bad = sorted({w for w in words if w.lower() in ENGLISH and w not in CODES}
                     | {w for w in words if w in STATE_IDS or (w in EVENT_IDS and not help_page)})
        if ISO_DAY.search(prose):
            bad.append("ISO date")
        if PROJECT_NOTES.search(line):
            bad.append("project note")
        if bad:
            found.append(f"{', '.join(bad)}: {line.strip()}")
    return found


def workflow_ids(text: str) -> list[str]:
    """The lines of ``text`` that name a workflow by its id (in prose: not a command to type, a file, a path)."""
    found = []
    for line in text.splitlines():
        prose = line
        for pattern in NOT_PROSE:
            prose = pattern.sub(" ", prose)
        ids = sorted(w for w in WORKFLOW_IDS if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", prose))
        if ids:
            found.append(f"{', '.join(ids)}: {line.strip()}")
    return found


@pytest.mark.slow
def test_history_names_steps_and_values_in_words(outputs: dict[str, list[str]]) -> None:
    """The fields a step records are shown with the step's label and their values in words: Gifu's signing
    (trigger ``sign``, a choice ``in_person``) and the engine's own steps (actor ``system``)."""
    rows = [re.sub(r"\s*│\s*", "|", line) for line in outputs["case history"][0].splitlines()]
    signing = [r for r in rows if "|13/11/2024 10:00|" in r and "Cập nhật thông tin" in r]
    assert len(signing) == 3 and all("|Ký (trực tiếp hoặc trực tuyến)|" in r for r in signing), rows
    assert any("Hình thức ký (trực tiếp / trực tuyến): Ký trực tiếp" in r for r in signing), signing
    assert any("|Hệ thống (tự động)|" in r for r in rows) and not any("|system|" in r for r in rows)
    assert not any("|agreeflow|" in r for r in rows), rows  # the sweep's and the mailer's steps: the engine's too


def test_every_command_has_runs() -> None:
    assert sorted(RUNS) == tree(cli.main)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(RUNS))
def test_a_command_prints_no_english(command: str, outputs: dict[str, list[str]]) -> None:
    assert [leak for text in outputs[command] for leak in leaks(text)] == []
    if command not in IDS_TYPED:
        assert [leak for text in outputs[command] for leak in workflow_ids(text)] == []


@pytest.mark.slow
def test_a_reply_by_day_and_nobody_named_read_as_words(outputs: dict[str, list[str]]) -> None:
    """A reply case's reply-by written as a day (a text field) reads dd/mm/yyyy, its workflow by its title; whoami
    with nobody named says so and how to name someone, not a row of empty fields."""
    shown = outputs["case show"][next(i for i, r in enumerate(RUNS["case show"]) if r.args == [REPLY_DATED])]
    assert "Thời hạn trả lời (nguyên văn hoặc ngày): 24/07/2024" in shown, shown
    assert "Quy trình: Ý kiến của đơn vị được hỏi (phiên bản 1)" in shown, shown
    nobody = outputs["whoami"][1]
    assert "Chưa có ai đăng nhập hay được chỉ định" in nobody and "--as EMAIL" in nobody, nobody


@pytest.mark.parametrize("command", [""] + sorted({" ".join(c.split()[:i + 1]) for c in RUNS
                                                  for i in range(len(c.split()))}))
def test_help_is_in_vietnamese(command: str, tmp_path: Path) -> None:
    code, text = invoke([*command.split(), "--help"], tmp_path, None)
    assert code == 0 and text.startswith("Cách dùng: agreeflow")
    assert leaks(text, help_page=True) == []


def test_help_is_in_english_with_lang_en(tmp_path: Path) -> None:
    code, text = invoke(["case", "fire", "--help", "--lang", "en"], tmp_path, None)
    assert code == 0 and text.startswith("Usage: agreeflow case fire [OPTIONS] CASE TRIGGER")
    assert "Advance a case by a trigger." in text and "Show this message and exit." in text


def test_clicks_own_errors_are_in_vietnamese(tmp_path: Path) -> None:
    code, text = invoke(["case", "show"], tmp_path, None)
    assert code == 2 and "Lỗi: Thiếu đối số 'HỒ_SƠ'." in text and leaks(text, help_page=True) == []
    code, text = invoke(["case", "list", "--stat", "x"], tmp_path, None)
    assert code == 2 and "Không có tùy chọn '--stat'" in text and "'--state'" in text


@pytest.mark.slow
def test_known_failures_still_fail(outputs: dict[str, list[str]]) -> None:
    """A fragment i18ncore has translated is taken off KNOWN_FAILURES (else it would hide a new leak)."""
    printed = "\n".join(t for texts in outputs.values() for t in texts)
    assert [k for k in KNOWN_FAILURES if k not in printed] == []


if __name__ == "__main__":  # print what each command says, with its leaks: python -m tests.test_no_english HOME
    home = Path(sys.argv[1])
    for command, runs in RUNS.items():
        for run in runs:
            code, text = invoke([*command.split(), *[a.replace("{tmp}", "/tmp") for a in run.args]], home, run.user,
                                run.stdin)
            print(f"===== {command} {' '.join(run.args)} → {code}\n{text}")
            for leak in leaks(text):
                print("  LEAK", leak)
