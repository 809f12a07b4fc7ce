"""``agreeflow demo``: the whole job on the embedded default, on a simulated clock.

A fresh SQLite database and ``.eml`` mail sink in a new folder, the Bắc Giang
2024 directory, and a script of dated coordinator actions
(``engine/data/demo-script.yaml`` — data, not code).  Steps dated before the
simulation's start set up history (the agreements of seed 000 in their real
states); from the start date the clock advances day by day: each morning the
scheduler's sweep runs (reminders, escalations, deemed replies), then that
day's scripted actions happen.  At the end the caller shows the timeline, the
mail sent per unit, the compliance summary and the audit verification.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from agreeflow.engine import service
from agreeflow.engine.core import clock, db
from agreeflow.engine.core.errors import AgreeflowError, InputFileError, RefusedError
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.paths import DATA_DIR
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case, Deadline, Event, OutboxMessage
from agreeflow.engine.core.yamlio import YamlSyntaxError, load_file
from agreeflow.engine.service import worker
from agreeflow.engine.service.cases import label_events

SCRIPT = DATA_DIR / "demo-script.yaml"
DEMO_BASE_URL = "http://127.0.0.1:8080"
"""Where the demo's mails say the web is (``agreeflow web``'s default address) when ``AGREEFLOW_BASE_URL``
is not set: the demo's mail folder shows the reply links and case links officials will get."""
VAR = re.compile(r"\$(\w+)")


@dataclass
class StepResult:
    on: date
    actor: str
    action: str
    case: str
    outcome: str
    ok: bool


@dataclass
class DemoResult:
    data_dir: Path
    db_url: str
    start: date
    until: date
    lang: str = "vi"
    steps: list[StepResult] = field(default_factory=list)
    sweeps: int = 0
    queued: int = 0
    refs: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None


def _subst(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str):
        return VAR.sub(lambda m: refs.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_subst(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: _subst(v, refs) for k, v in value.items()}
    return value


def load_script(path: Path = SCRIPT) -> dict[str, Any]:
    """The demo script; InputFileError when it is not readable YAML or over a limit."""
    try:
        script: dict[str, Any] = load_file(path)
    except YamlSyntaxError as exc:
        raise InputFileError(path=str(path), problem=exc.located) from None
    except OSError as exc:
        raise InputFileError(path=str(path), problem=str(exc)) from None
    return script


def _run_step(base: Settings, step: dict[str, Any], refs: dict[str, str]) -> StepResult:

    step = _subst(dict(step), refs)
    if "reply_of" in step:  # a consultation reply: the child case of round `reply_of` for `unit`
        step["fire"] = _child(base, step["reply_of"], step["unit"])
    settings = Settings(data_dir=base.data_dir, db_url=base.db_url, lang=base.lang, user=step["as"],
                        smtp_url=base.smtp_url, base_url=base.base_url)
    on = step["date"]
    fields = {k: ", ".join(v) if isinstance(v, list) else str(v) for k, v in (step.get("fields") or {}).items()}
    try:
        if "open" in step:
            res = service.open_case(settings, step["open"], step["title"], fields, parent=step.get("parent"),
                                    note=step.get("note"))
            if step.get("save"):
                refs[step["save"]] = res["id"]
            return StepResult(on, step["as"], f"open {step['open']}", res["id"], res["state_label"], True)
        if "fire" in step and step.get("expect") == "refused":
            service.fire(settings, step["fire"], step["trigger"], fields, step.get("note"),
                         [_document(a) for a in step.get("attach", [])], view=False)
            return StepResult(on, step["as"], step["trigger"], step["fire"],
                              "not refused, as the script expected", False)
        if "fire" in step:
            res = service.fire(settings, step["fire"], step["trigger"], fields, step.get("note"),
                               [_document(a) for a in step.get("attach", [])], view=False)
            return StepResult(on, step["as"], step["trigger"], res["id"], res["state_label"], True)
        if "suspend" in step:
            res = service.suspend(settings, step["suspend"], step.get("note") or "")
            return StepResult(on, step["as"], "suspend", res["id"], res["state_label"], True)
        if "resume" in step:
            res = service.resume(settings, step["resume"], step.get("note"))
            return StepResult(on, step["as"], "resume", res["id"], res["state_label"], True)
        if "call" in step:
            fn = _callable(step["call"])
            out = fn(settings, **{k: v for k, v in (step.get("args") or {}).items()})
            return StepResult(on, step["as"], step["call"], str(step.get("args", {}).get("ref", "")), str(out), True)
    except AgreeflowError as err:
        target = step.get("fire") or step.get("open") or step.get("suspend") or step.get("resume") or ""
        expected = step.get("expect") == "refused" and isinstance(err, RefusedError)
        return StepResult(on, step["as"], step.get("trigger", "?"), target, err.render(base.lang), expected)
    raise ValueError(f"demo step without an action: {step}")


def _child(base: Settings, parent: str, unit: str) -> str:
    children = service.show_case(base, parent)["children"]
    return next((c["id"] for c in children if c["unit"] == unit), f"{parent}/{unit}")


def _document(spec: str) -> Path:
    """``kind=relative/path`` in the script → ``kind=/absolute/path`` (files ship beside the script)."""
    kind, _, rel = spec.rpartition("=")
    path = SCRIPT.parent / rel
    return Path(f"{kind}={path}" if kind else str(path))


def _callable(dotted: str) -> Callable[..., Any]:
    import importlib
    module, _, name = dotted.rpartition(".")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def _sweep(settings: Settings) -> int:
    """One scheduler sweep at the simulated now; returns messages queued (0 if no sweep module)."""
    counts = worker.tick(settings)
    return int(counts.get("queued", 0)) if isinstance(counts, dict) else 0


def run(until: date | None = None, lang: str = "vi", keep: bool = False, data_dir: Path | None = None,
        progress: Callable[[date, int], None] | None = None, script: Path = SCRIPT,
        base_url: str | None = None) -> DemoResult:
    """Run the demo; returns what happened.  The clock is restored afterwards.

    ``base_url`` (default ``AGREEFLOW_BASE_URL``, else ``DEMO_BASE_URL``): the mails link to the web there,
    and each consulted body's reminder carries its reply link.
    """

    spec = load_script(script)
    start: date = spec["start"]
    end: date = min(until or spec["end"], spec["end"])
    folder = data_dir or Path(tempfile.mkdtemp(prefix="agreeflow-demo-"))
    base_url = base_url or os.environ.get("AGREEFLOW_BASE_URL") or DEMO_BASE_URL
    settings = Settings(data_dir=folder, db_url=None, lang=lang, user=None, smtp_url=None, base_url=base_url)
    result = DemoResult(folder, settings.url, start, end, lang, base_url=base_url)
    steps = sorted(spec["steps"], key=lambda s: s["date"])
    hour = int(spec.get("action_hour", 10))
    sweep_hour = int(spec.get("sweep_hour", 7))
    try:
        first = steps[0]["date"] if steps and steps[0]["date"] < start else start
        clock.set_now(clock.local_at(first, sweep_hour))
        service.init(settings, simulation=True)
        history = [s for s in steps if s["date"] < start]
        for s in history:  # the past: cases already under way when the simulation starts
            clock.set_now(clock.local_at(s["date"], hour))
            result.steps.append(_run_step(settings, s, result.refs))
        todo = [s for s in steps if start <= s["date"] <= end]
        day, total = start, (end - start).days + 1
        while day <= end:
            clock.set_now(clock.local_at(day, sweep_hour))
            result.queued += _sweep(settings)
            result.sweeps += 1
            while todo and todo[0]["date"] == day:
                clock.set_now(clock.local_at(day, hour))
                result.steps.append(_run_step(settings, todo.pop(0), result.refs))
            if progress:
                progress(day, total)
            day += timedelta(days=1)
        clock.set_now(clock.local_at(end, 23))
    finally:
        clock.set_now(None)
    return result


def discard_database(result: DemoResult) -> None:
    """Without ``--keep``: remove the demo database, keep the ``.eml`` files to read."""
    db.dispose_all()
    for suffix in ("", "-wal", "-shm"):
        p = result.data_dir / f"agreeflow.db{suffix}"
        if p.exists():
            p.unlink()


def summarise(result: DemoResult) -> dict[str, Any]:
    """Timeline, mail per unit, deadline compliance and the audit verdict of a finished run."""
    import sqlalchemy as sa
    from sqlmodel import col, select


    settings = Settings(data_dir=result.data_dir, lang="vi")
    keep_kinds = (EventKind.OPENED, EventKind.TRANSITION, EventKind.ESCALATED, EventKind.DEADLINE_MISSED,
                  EventKind.DEEMED_AGREED, EventKind.SUSPENDED, EventKind.RESUMED, EventKind.FLAGGED, EventKind.REFUSED)
    with service.reading(settings) as s:
        # sqlmodel types select() for at most four columns (fastapi/sqlmodel#271); it takes any number.
        rows = s.exec(select(Event.at, Case.ref, Event.kind, Event.from_state, Event.to_state, Event.trigger,  # type: ignore[call-overload]
                             Event.actor).join(Case, col(Case.id) == col(Event.case_id))
                      .where(col(Event.kind).in_(keep_kinds)).order_by(col(Event.at), col(Event.id))).all()
        timeline = label_events(s, [{"at": audit_at(at), "case": ref, "kind": kind, "from": f, "to": t,
                                     "trigger": trig, "actor": actor} for at, ref, kind, f, t, trig, actor in rows],
                                result.lang)
        mail = s.exec(select(OutboxMessage.unit, OutboxMessage.rung, OutboxMessage.status, sa.func.count())
                      .group_by(OutboxMessage.unit, OutboxMessage.rung, OutboxMessage.status)).all()
        per_unit: dict[str, dict[str, int]] = {}
        for unit, rung, status, n in mail:
            per_unit.setdefault(unit or "-", {}).setdefault(f"{rung}:{status}", 0)
            per_unit[unit or "-"][f"{rung}:{status}"] += n
        label = {"vi": Deadline.label_vi, "en": Deadline.label_en}.get(result.lang, Deadline.label_vi)
        # Six columns: the same sqlmodel limit as above.
        deadlines = s.exec(select(Case.ref, label, Deadline.unit, Deadline.due_date, Deadline.status,  # type: ignore[call-overload]
                                  Deadline.margin_wd).join(Case, col(Case.id) == col(Deadline.case_id))
                           .order_by(col(Case.ref), col(Deadline.id))).all()
        compliance = [{"case": r, "deadline": lbl, "unit": u, "due_date": d.isoformat() if d else None,
                       "status": st, "margin_wd": m} for r, lbl, u, d, st, m in deadlines]
    verdict = service.verify(settings)
    mail_dir = result.data_dir / "mail"
    return {"data_dir": str(result.data_dir), "database": result.db_url, "start": result.start.isoformat(),
            "until": result.until.isoformat(), "sweeps": result.sweeps,
            "steps": [{"date": st.on.isoformat(), "actor": st.actor, "action": st.action, "case": st.case,
                       "outcome": st.outcome, "ok": st.ok} for st in result.steps],
            "timeline": timeline, "mail_per_unit": per_unit, "mail_dir": str(mail_dir),
            "eml_files": len(list(mail_dir.glob("*.eml"))) if mail_dir.exists() else 0,
            "compliance": compliance, "audit": verdict}


def audit_at(at: Any) -> str:
    return clock.fmt_local(at)


# ------------------------------------------------------------------ demo --web
WEB_PASSWORD = "thu-nghiem-2024"
"""The demo's password for the people below (a simulation database: printed, never a real secret)."""
WEB_PEOPLE = ("dieuphoi@bacgiang.example", "chuyenvien.sngv@bacgiang.example", "chutich@bacgiang.example",
              "chuyenvien.ca@bacgiang.example", "thanhtra@bacgiang.example")
"""Who can sign in to the served demo: a coordinator, an officer of DOFA, the Chairman, an officer of the
Police (who sees only the cases that concern the Police) and an auditor (who reads and never writes)."""


def settings_of(result: DemoResult) -> Settings:
    """Settings of the kept demo database; the simulated clock stays at the end of the demo (16:00)."""
    clock.set_now(clock.local_at(result.until, 16))
    return Settings(data_dir=result.data_dir, lang=result.lang, base_url=result.base_url)


def web_sign_ins(result: DemoResult) -> list[dict[str, Any]]:
    """Give the demo's people a password (through the service, as an admin would) and list them."""
    settings = Settings(data_dir=result.data_dir, lang=result.lang)
    people = {p["email"]: p for p in service.directory_show(settings)["people"]}
    out = []
    for email in WEB_PEOPLE:
        service.set_password(settings, email, WEB_PASSWORD)
        out.append({"email": email, "name": people[email]["name"], "roles": people[email]["roles"],
                    "password": WEB_PASSWORD})
    return out
