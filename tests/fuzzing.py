"""What the fuzzer generates (hostile command lines, field values, YAML documents, environments) and the one
check every run must pass.  Used by tests/test_fuzz__hostile_input.py; docs/inputs.md lists the input classes.

The check (:func:`check_run`): the exit code is 0, 2 or 3; no traceback and no crash report in the output;
on exit 2 the database is byte for byte what it was; the run ends within :data:`BOUND_S` seconds.

Budget.  ``AGREEFLOW_FUZZ=ci`` (the default, what ``python -m pytest`` and .ci/run use): a fixed seed
(derandomize) and a few dozen examples per property, a few minutes in all.  ``AGREEFLOW_FUZZ=long``: a
random seed and 25 times the examples (docs/inputs.md gives the command and its time).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from agreeflow import cli
from agreeflow.engine.core import clock, db
from tests.conftest import ADMIN, APPROVER, AUDITOR, COORD, OFFICER_CA, OFFICER_SNGV, ROOT
from tests.databases import postgres_snapshot, sqlite_snapshot

BOUND_S = float(os.environ.get("AGREEFLOW_FUZZ_BOUND_S") or 20)
"""Longest a single run may take (seconds; generous: CI machines are shared).  The YAML limits promise
far less — under a second — and tests/test_yaml_limits.py holds them to it."""
PROFILE = os.environ.get("AGREEFLOW_FUZZ") or "ci"
SCALE = {"ci": 1, "long": 25}

settings.register_profile("fuzz-ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                 HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("fuzz-long", parent=settings.get_profile("fuzz-ci"), derandomize=False)


def budget(examples: int) -> settings:
    """The fuzz profile in force (``AGREEFLOW_FUZZ``), with ``examples`` scaled to it."""
    if PROFILE not in SCALE:
        raise ValueError(f"AGREEFLOW_FUZZ={PROFILE!r}: use ci or long")
    return settings(settings.get_profile(f"fuzz-{PROFILE}"), max_examples=examples * SCALE[PROFILE])


# ------------------------------------------------------------------ values
OFFICER_LNG = "chuyenvien.lng@bacgiang.example"
PEOPLE = [COORD, OFFICER_SNGV, OFFICER_CA, OFFICER_LNG, APPROVER, AUDITOR, ADMIN]
def mostly(usual: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any], k: int = 3) -> st.SearchStrategy[Any]:
    """``usual`` k times as often as ``hostile``: a run must get past the first check to test the rest."""
    return st.one_of(*([usual] * k), hostile)


argv_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
"""Anything a shell can pass as one argument (no NUL, no lone surrogate)."""
ints = st.one_of(st.integers(-10, 4000).map(str), st.integers(-(10 ** 30), 10 ** 30).map(str),
                 st.sampled_from(["", " ", "1e9", "0x10", " 7 ", "٣", "-0", "NaN", "inf", "1_000", "3.5", "10**9",
                                  "99999999999999999999999", "-99999999999999999999999"]))
years = mostly(st.integers(2015, 2030).map(str), st.one_of(st.integers(1990, 2210).map(str), ints))
usual_days = st.dates(min_value=date(2017, 1, 1), max_value=date(2026, 12, 31))
dates = mostly(usual_days.map(date.isoformat), st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2210, 12, 31)).map(date.isoformat),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2210, 12, 31)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-30", "2024-13-01", "31/12/2024", "30/02/2024", "",
                     " ", "tomorrow", "2024-06-21T09:00", "99999-01-01", "1994-12-31", "1995-01-01",
                     "2200-12-31", "2201-01-01", "2024-6-1", "20240621", "-2024-01-01", "2024-01-01x"]),
    argv_text))
instants = mostly(st.builds(lambda d, h: f"{d.isoformat()}T{h:02d}:00", usual_days, st.integers(7, 18)), st.one_of(
    dates,
    st.builds(lambda d, h, m, tz: f"{d}T{h:02d}:{m:02d}{tz}", st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
              st.integers(0, 23), st.integers(0, 59),
              st.sampled_from(["", "Z", "+07:00", "-12:00", "+14:00", "+23:59", ":00", ".5"])),
    st.sampled_from(["2024-09-23T08:00", "2024-06-21T09:00+07:00", "9999-12-31T23:59:59-23:59",
                     "0001-01-01T00:00+14:00", "now", "2024-06-21T25:00", "2024-06-21 09:00"])))
roman = st.sampled_from(["I", "II", "III", "IV", "V", "0", "IIII", "XL", "-1", "1", "4", "iv", ""])
phrases = st.one_of(
    st.builds("trong vòng {} ngày{}".format, ints, st.sampled_from([" làm việc", "", " lam viec"])),
    st.builds("trong Quý {} năm {}".format, roman, years),
    st.builds("Quý {}/{}".format, roman, years),
    st.builds("hoàn thành trong tháng {}/{}".format, ints, years),
    st.builds("trước ngày {}/{}/{}".format, ints, ints, years),
    st.builds("Năm {}".format, years),
    st.sampled_from(["Hàng năm", "Sau khi thỏa thuận được ký kết", "Thường xuyên", "trong Quý IV năm 9999",
                     "trong Quý I năm 0", "trong vòng -5 ngày làm việc", "", "   "]),
    argv_text)
units = mostly(st.sampled_from(["SNGV", "LNG", "CA", "UBND", "STP", "TTRA", "MOFA", "SNGV-VP", "LNG,SNGV"]),
               st.one_of(st.sampled_from(["", "123", "lng", "SNGVV", "SNGV,SNGV", "kind:district", "kind:nowhere",
                                          "*"]), argv_text))
refs = mostly(st.sampled_from(["NV-2024-0001", "NV-2024-0002", "NV-2024-0003", "TTQT-2024-0001"]),
              st.one_of(st.sampled_from(["HE-THONG", "NV-9999-9999", "", "nv-2024-0001", "NV-2024-0001 ", "X" * 300]),
                        argv_text))
people = mostly(st.sampled_from(PEOPLE), st.one_of(st.sampled_from(["nobody@evil.example", "",
                                                                    "DIEUPHOI@bacgiang.example"]), argv_text))
states = mostly(st.sampled_from(["assigned", "in_progress", "reported", "signed", "preparing"]),
                st.one_of(st.sampled_from(["on", "no", ""]), argv_text))
triggers = mostly(st.sampled_from(["start", "report", "accept", "return", "cancel", "submit", "approve", "sign",
                                   "agree", "comment"]), st.one_of(st.sampled_from(["on", ""]), argv_text))
workflows = mostly(st.sampled_from(["task", "agreement-province", "agreement-local", "consultation",
                                    "consultation-reply", "delegation-outbound", "delegation-inbound"]),
                   st.one_of(st.sampled_from(["", "tasks"]), argv_text))
FIELD_NAMES = ["lead_unit", "cooperating_units", "due_phrase", "assigned_on", "source_document", "related_case",
               "result_document", "return_reason", "related_state", "after_event_days", "previous_occurrence",
               "proposing_unit", "partner", "partner_country", "instrument", "subject", "signatory",
               "party_policy_required", "signed_on", "sign_mode", "effective_on", "term_end", "consulted_units",
               "_documents", "_flags", "_round", "units", "reply_by", "on_silence"]
field_values = st.one_of(units, dates, ints, phrases, refs, states,
                         st.sampled_from(["true", "false", "yes", "no", "on", "off", "mou", "in_person", "online",
                                          "overdue", "deemed_agreed", "[1,2]", "{}", "null"]), argv_text)
field_pairs = st.one_of(st.builds("{}={}".format, st.sampled_from(FIELD_NAMES), field_values),
                        st.builds("{}={}".format, argv_text, field_values), argv_text)


# ------------------------------------------------------------------ YAML documents
SHIPPED = {
    "workflow": sorted((ROOT / "workflows").glob("*.yaml")),
    "directory": [ROOT / "engine" / "data" / "directory-bac-giang-2024.yaml",
                  ROOT / "engine" / "data" / "directory-bac-ninh-2025.yaml"],
    "plan": sorted((ROOT / "engine" / "data" / "plans").glob("*.yaml")),
    "report-map": [ROOT / "engine" / "data" / "report-map.yaml"],
    "calendar": [ROOT / "engine" / "data" / "calendar-vn.yaml"],
}
_parsed: dict[Path, Any] = {}


def shipped(path: Path) -> Any:
    if path not in _parsed:
        _parsed[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _parsed[path]


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=True),
                         st.text(max_size=20), st.dates(), dates, phrases, units,
                         st.sampled_from(["on", "off", "yes", "no", "~", "*", "&", "!!python/object:os.system", ""]))
yaml_trees = st.recursive(yaml_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=10), st.integers(-5, 3000), st.sampled_from(FIELD_NAMES)),
                    children, max_size=4)), max_leaves=15)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> Any:
    """A shipped document of ``kind`` with a few places changed: a value replaced, a key removed or added."""
    import copy
    doc = copy.deepcopy(shipped(draw(st.sampled_from(SHIPPED[kind]))))
    for _ in range(draw(st.integers(1, 4))):
        node, depth = doc, 0
        while isinstance(node, (dict, list)) and node and depth < 8:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            key = draw(st.sampled_from(keys))
            child = node[key]
            if not isinstance(child, (dict, list)) or not child or draw(st.booleans()):
                action = draw(st.sampled_from(["replace", "delete", "add", "tree"]))
                if action == "delete":
                    del node[key]
                elif action == "add" and isinstance(node, dict):
                    node[draw(st.one_of(st.text(max_size=10), st.sampled_from(FIELD_NAMES)))] = draw(yaml_scalars)
                elif action == "add":
                    node.append(draw(yaml_trees))
                else:
                    node[key] = draw(yaml_scalars if action == "replace" else yaml_trees)
                break
            node, depth = child, depth + 1
    return doc


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8))
RAW_DOCS = [b"\x00", b"id: task\x00\n", b"\xff\xfe\xfa", "id: t\u00e9\n".encode("latin-1"), BOMB.encode(),
            b"&a [*a]", b"[" * 3000 + b"]" * 3000, b"{" * 200, b"a: !!python/object/apply:os.system ['true']",
            b"- " * 100000, b"a: 1\n" * 200000, b"", b"---\n---\n", b"%YAML 9.9\n---\n", b"key: [unclosed",
            b"\t- tab", "tên: \u202e\u200b\ufeff".encode()]


def yaml_document(kind: str) -> st.SearchStrategy[bytes]:
    """Bytes of a YAML file of ``kind``: a mutated shipped one, a random tree, or hostile bytes."""
    dumped = st.one_of(mutated(kind), yaml_trees).map(
        lambda doc: yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8"))
    return st.one_of(dumped, dumped, dumped, st.sampled_from(RAW_DOCS), st.binary(max_size=300))


csv_cells = st.one_of(units, phrases, dates, argv_text.map(lambda s: s.replace("\n", " ")))
csv_plans = st.lists(st.lists(csv_cells, min_size=0, max_size=7), max_size=5).map(
    lambda rows: ("STT,Nhiệm vụ,Đơn vị chủ trì,Đơn vị phối hợp,Thời gian thực hiện,Ngày giao\n"
                  + "\n".join(",".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows)).encode("utf-8"))


# ------------------------------------------------------------------ command lines
@dataclass
class Scene:
    """Where one run happens: the data folder, the database, files the arguments may name."""

    home: Path
    url: str
    tmp: Path
    files: dict[str, bytes] = field(default_factory=dict)

    def path(self, name: str, content: bytes | None = None) -> str:
        """A path under the scene's folder; with ``content``, the file is written first."""
        target = self.tmp / name
        if content is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return str(target)


# Every path the fuzzer names lies in the example's own folder, which is also the working directory of the run:
# a real device or a file outside it must never be a target (an output path of /dev/null once replaced the
# machine's /dev/null).  A pipe stands for the devices: it is not a regular file and reading it would wait.
OUT_PATHS = ["{tmp}/out.file", "{tmp}", "{tmp}/nope/x", "{tmp}/missing/dir/f.txt", "", ".", "{tmp}/out.file/x",
             "{tmp}/fifo", "{tmp}/" + "x" * 300]
IN_PATHS = ["{tmp}/nope.yaml", "{tmp}", "{tmp}/fifo", "{tmp}/empty", "", "{tmp}/text.txt"]


def out_path(tmp: Path) -> st.SearchStrategy[str]:
    return st.sampled_from(OUT_PATHS).map(lambda p: p.format(tmp=tmp))


def in_path(tmp: Path, kind: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(IN_PATHS).map(lambda p: p.format(tmp=tmp)),
                     (csv_plans if kind == "csv" else yaml_document(kind)).map(
                         lambda data: _write(tmp / f"in-{kind}.{'csv' if kind == 'csv' else 'yaml'}", data)))


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def opt(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """``[name, value]`` or nothing."""
    return st.one_of(st.just([]), values.map(lambda v: [name, v]))


def many(name: str, values: st.SearchStrategy[str], most: int = 3) -> st.SearchStrategy[list[str]]:
    return st.lists(values, max_size=most).map(lambda vs: [x for v in vs for x in (name, v)])


def seq(*parts: st.SearchStrategy[list[str]] | list[str]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts]).map(
        lambda ps: [a for p in ps for a in p])


def one(values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return values.map(lambda v: [v])


def command_lines(tmp: Path) -> st.SearchStrategy[list[str]]:
    """Every command that takes input, with hostile values in its slots."""
    period = seq(opt("--from", dates), opt("--to", dates))
    return st.one_of(
        seq(["calendar", "add"], one(dates), one(ints), st.sampled_from([[], ["--working"], ["--calendar"]])),
        seq(["calendar", "due"], one(phrases), opt("--from", dates)),
        seq(["calendar", "is-working"], one(dates)),
        seq(["calendar", "holidays"], one(years)),
        seq(st.sampled_from([["calendar", "set-off"], ["calendar", "set-working"]]), one(dates),
            opt("--reason", argv_text), opt("--source", argv_text)),
        seq(["plan"], one(workflows), ["--start"], one(dates), opt("--by", dates), opt("--to", states),
            many("--field", field_pairs)),
        seq(["case", "open"], one(workflows), opt("--title", argv_text), many("--field", field_pairs, 5),
            opt("--parent", refs), opt("--note", argv_text)),
        seq(["case", "fire"], one(refs), one(triggers), many("--field", field_pairs), opt("--note", argv_text),
            opt("--expect-version", ints), opt("--effective", instants), opt("--reason", argv_text),
            many("--attach", st.one_of(st.sampled_from(IN_PATHS).map(lambda p: p.format(tmp=tmp)),
                                       st.builds("{}={}".format, argv_text,
                                                 st.builds(lambda: _write(tmp / "doc.pdf", b"%PDF-1.4 x")))), 2)),
        seq(["case", "suspend"], one(refs), opt("--reason", argv_text)),
        seq(["case", "resume"], one(refs), opt("--note", argv_text)),
        seq(st.sampled_from([["case", "show"], ["case", "history"]]), one(refs)),
        seq(["case", "list"], opt("--workflow", workflows), opt("--state", states), opt("--unit", units)),
        seq(["case", "flags"]),
        seq(["tick"], st.sampled_from([[], ["--no-dispatch"]]), opt("--node-name", argv_text)),
        seq(["audit", "log"], opt("--case", refs), opt("--actor", people), opt("--unit", units),
            opt("--kind", st.one_of(st.sampled_from(["transition", "refused", "opened"]), argv_text)), period),
        seq(["audit", "export"], opt("--format", st.sampled_from(["jsonl", "csv", "xml"])), period,
            opt("-o", out_path(tmp))),
        seq(["audit", "checkpoint"], opt("-o", out_path(tmp))),
        seq(["audit", "verify"], opt("--case", refs), opt("--checkpoint", in_path(tmp, "report-map")),
            opt("--public-key", in_path(tmp, "report-map"))),
        seq(["audit", "access-log"], one(st.sampled_from(["on", "off", "maybe", ""]))),
        seq(["audit", "security-log"], opt("--kind", st.one_of(st.sampled_from(["read", "refused"]), argv_text)),
            opt("--actor", people), period),
        seq(["audit", "keygen"], ["--out"], one(out_path(tmp))),
        seq(["report", "compliance"], period, opt("--unit", units), opt("--map", in_path(tmp, "report-map"))),
        seq(["report", "annual"], ["--year"], one(years), opt("--xlsx", out_path(tmp)), opt("--docx", out_path(tmp)),
            opt("--checkpoint", in_path(tmp, "report-map")), opt("--map", in_path(tmp, "report-map"))),
        seq(["export", "ics"], opt("--unit", units), opt("--person", people), opt("-o", out_path(tmp))),
        seq(["outbox", "retry"], one(ints)),
        seq(["outbox", "list"], opt("--limit", ints), opt("--status", st.sampled_from(["sent", "failed", "x"]))),
        seq(["tasks", "import"], one(st.one_of(in_path(tmp, "plan"), in_path(tmp, "csv"))),
            st.sampled_from([[], ["--dry-run"]])),
        seq(["directory", "check"], one(in_path(tmp, "directory"))),
        seq(["directory", "load"], one(in_path(tmp, "directory"))),
        seq(["init", "--directory"], one(in_path(tmp, "directory"))),
        seq(["directory", "transfer"], one(units), one(units), opt("--from", dates),
            st.sampled_from([[], ["--dry-run"]]), opt("--note", argv_text)),
        seq(["directory", "show"]),
        seq(st.sampled_from([["consultation", "summary"], ["consultation", "close-round"]]), one(refs)),
        seq(["consultation", "follow-up"], one(refs), ["--reply-by"], one(phrases), opt("--sent-on", dates),
            opt("--letter-no", argv_text), opt("--on-silence", st.sampled_from(["overdue", "deemed_agreed", "x"])),
            st.sampled_from([[], ["--send"]])),
        seq(["workflows", "lint"], st.lists(in_path(tmp, "workflow"), max_size=2)),
        seq(st.sampled_from([["workflows", "show"], ["workflows", "graph"]]), one(workflows),
            opt("--case", refs)),
        seq(["whoami"]), seq(["nodes"]), seq(["workflows", "list"]),
    )


def global_options() -> st.SearchStrategy[list[str]]:
    """Who acts and when: mostly a person of the directory at a plausible time, sometimes anything."""
    return seq(mostly(st.sampled_from(PEOPLE).map(lambda p: ["--as", p]), opt("--as", people), k=4),
               mostly(instants.map(lambda v: ["--now", v]), opt("--now", instants)),
               st.sampled_from([[], ["--json"], ["--lang", "en"], ["--lang", "vi"], ["--lang", "fr"]]))


# ------------------------------------------------------------------ environments
def environments(tmp: Path) -> st.SearchStrategy[dict[str, str]]:
    """Hostile values of the environment variables agreeflow reads (no host names: nothing is looked up)."""
    return st.fixed_dictionaries({}, optional={
        "AGREEFLOW_NOW": instants,
        "AGREEFLOW_LANG": st.one_of(st.sampled_from(["vi", "en", "fr", ""]), argv_text),
        "AGREEFLOW_DB": st.sampled_from(["notaurl", "mysql://u@127.0.0.1/x", f"sqlite:///{tmp}",
                                         f"sqlite:///{tmp}/text.txt", "postgresql+psycopg://nobody@127.0.0.1:1/x",
                                         f"postgresql://u@/db?host={tmp}/nosocket", "sqlite://", "sqlite:///",
                                         "postgresql+nodriver://u@127.0.0.1/x", ":", "%"]),
        "AGREEFLOW_SMTP": st.sampled_from(["garbage://::", "smtp://127.0.0.1:1", "smtp://", "smtps://127.0.0.1:0",
                                           "smtp://u:p@127.0.0.1:99999", "smtp://127.0.0.1:1?starttls=maybe",
                                           "not a url", "smtp://[::1"]),
        "AGREEFLOW_MAX_ATTACHMENT_MB": st.one_of(ints, st.sampled_from(["0.000001", "2,5", "1e400"])),
        "AGREEFLOW_CHECKPOINTS": st.sampled_from(OUT_PATHS).map(lambda p: p.format(tmp=tmp)),
        "AGREEFLOW_SIGNING_KEY": st.sampled_from(IN_PATHS + ["{tmp}/text.txt"]).map(lambda p: p.format(tmp=tmp)),
        "AGREEFLOW_INSPECTORATE": st.one_of(people, st.just("a@b.example,,;x")),
        "AGREEFLOW_REPORT_MAP": in_path(tmp, "report-map"),
        "AGREEFLOW_TOKEN": argv_text,
        "AGREEFLOW_USER": people,
    })


# ------------------------------------------------------------------ running and checking
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"", re.M)


@dataclass
class Run:
    args: list[str]
    env: dict[str, str]
    result: Result
    seconds: float

    @property
    def output(self) -> str:
        return self.result.stdout + (self.result.stderr if self.result.stderr_bytes is not None else "")

    def describe(self) -> str:
        text = f"agreeflow {' '.join(repr(a) for a in self.args)}\nenv: {self.env}\nexit {self.result.exit_code} " \
               f"after {self.seconds:.1f} s\n--- output ---\n{self.output[-3000:]}"
        report = re.search(r"(\S*agreeflow-crash-\S+\.txt)", self.output)
        if report and Path(report.group(1)).exists():
            text += "\n--- crash report ---\n" + Path(report.group(1)).read_text(encoding="utf-8")[-6000:]
        if self.result.exc_info is not None and not isinstance(self.result.exception, SystemExit):
            import traceback
            text += "\n--- exception ---\n" + "".join(traceback.format_exception(*self.result.exc_info))[-6000:]
        return text


class TooLong(Exception):
    pass


@contextmanager
def hard_stop(seconds: float) -> Iterator[None]:
    """Interrupt a run that hangs (a bound three times the soft one), so the suite reports it instead of waiting."""
    def stop(*_: Any) -> None:
        raise TooLong(f"still running after {seconds:.0f} s")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def invoke(scene: Scene, args: list[str], env: dict[str, str], stdin: str | None = None) -> Run:
    """``agreeflow ARGS`` in this process (click's runner), on the scene's database, as a user would type it."""
    full = {"AGREEFLOW_HOME": str(scene.home), "AGREEFLOW_DB": scene.url, "AGREEFLOW_USER": "", "AGREEFLOW_NOW": "",
            "AGREEFLOW_LANG": "", "AGREEFLOW_CONFIG": str(scene.tmp / "config"), "AGREEFLOW_DEBUG": "",
            "AGREEFLOW_CHECKPOINTS": str(scene.home / "checkpoints"), **env}
    start, cwd = time.monotonic(), os.getcwd()
    os.chdir(scene.tmp)  # relative paths ("", ".", "out.csv") land in the example's folder, nowhere else
    try:
        with hard_stop(BOUND_S * 3):
            result = CliRunner().invoke(cli.main, args, env=full, input=stdin, catch_exceptions=True)
    finally:
        os.chdir(cwd)
        clock.set_now(None)
    return Run(args, env, result, time.monotonic() - start)


def check_run(run: Run, unchanged: Callable[[], bool]) -> None:
    """The fuzzer's properties, for one run (see the module docstring)."""
    code = run.result.exit_code
    assert code in (0, 2, 3), run.describe()
    assert not TRACEBACK.search(run.output), run.describe()
    assert run.seconds <= BOUND_S, run.describe()
    if code == 2:
        assert unchanged(), "exit 2 but the database changed\n" + run.describe()


# ------------------------------------------------------------------ databases
def fresh(work: Path) -> Path:
    """The example's own folder, emptied (files an earlier example wrote — checkpoints, exports — would
    otherwise make another world), with the data folder and a text file that is not a database."""
    db.dispose_all()
    shutil.rmtree(work, ignore_errors=True)
    (work / "home").mkdir(parents=True)
    (work / "text.txt").write_text("not a database\n", encoding="utf-8")
    (work / "empty").write_bytes(b"")
    os.mkfifo(work / "fifo")
    return work / "home"


def sqlite_scene(pristine: Path, work: Path) -> tuple[Scene, Callable[[], bool]]:
    """A fresh copy of the pristine SQLite file for one example, and the check that it is unchanged."""
    home = fresh(work)
    shutil.copyfile(pristine, home / "agreeflow.db")
    before = pristine.read_bytes()
    url = f"sqlite:///{home / 'agreeflow.db'}"
    return Scene(home, url, work), lambda: sqlite_snapshot(home / "agreeflow.db") == before


def postgres_scene(cluster: Any, template: str, work: Path) -> tuple[Scene, Callable[[], bool], str]:
    """A fresh database copied from ``template`` for one example, its check, and its name (to drop)."""
    home = fresh(work)
    name = f"fz_{os.getpid()}_{time.monotonic_ns()}"
    cluster.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = cluster.url(name)
    before = postgres_snapshot(url)
    return Scene(home, url, work), lambda: postgres_snapshot(url) == before, name


def populate(scene: Scene) -> None:
    """What the examples start from: a task assigned, one in progress, one reported with a document, an agreement
    being prepared, a reminder sent (so an outbox row exists), and a checkpoint."""
    steps: list[tuple[list[str], str, str]] = [
        (["case", "open", "task", "--title", "Kế hoạch", "--field", "lead_unit=LNG", "--field",
          "due_phrase=trong Quý III năm 2024", "--field", "assigned_on=2024-06-21"], COORD, "2024-06-21T09:00"),
        (["case", "open", "task", "--title", "Hướng dẫn", "--field", "lead_unit=CA", "--field",
          "due_phrase=hoàn thành trong tháng 7/2024", "--field", "assigned_on=2024-06-21"], COORD, "2024-06-21T09:00"),
        (["case", "fire", "NV-2024-0002", "start"], OFFICER_CA, "2024-06-24T09:00"),
        (["case", "open", "agreement-province", "--title", "MOU", "--field", "proposing_unit=SNGV", "--field",
          "partner=Tỉnh Gifu (Nhật Bản)"], OFFICER_SNGV, "2024-06-24T09:00"),
        (["tick"], COORD, "2024-09-23T08:00"),
        (["case", "fire", "NV-2024-0001", "report", "--field", "result_document=KH 245/KH-UBND", "--attach",
          "result=" + scene.path("kh.pdf", b"%PDF-1.4 ke hoach")], OFFICER_LNG, "2024-09-25T09:00"),
    ]
    for args, who, now in steps:
        run = invoke(scene, args, {"AGREEFLOW_USER": who, "AGREEFLOW_NOW": now})
        assert run.result.exit_code == 0, run.describe()
    db.dispose_all()

