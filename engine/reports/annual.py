"""The annual report: agreements, delegations, consultations and tasks of one year, from the log.

Every number is read from transition events through the report map (which
workflow/state means "signed", "approved"...), never from hard-coded
workflow names, and every number comes with the list of cases behind it so
an official can check it.  ``sections`` turns the result into titled tables
that the terminal, the XLSX and the DOCX renderers share.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from agreeflow.engine.core import audit
from agreeflow.engine.core.i18n import localized, pair, t
from agreeflow.engine.core.store import Unit
from agreeflow.engine.legaltime import deadlines
from agreeflow.engine.reports import compliance
from agreeflow.engine.reports.common import (
    AGREEMENT_MEASURES,
    ReportMap,
    Table,
    Window,
    cases_of,
    first_hit,
    flags,
    local_day,
    map_warnings,
    moves,
    province_name,
    state_at,
    state_label,
    year_window,
)


def _agreements(s: Session, m: ReportMap, w: Window) -> dict[str, Any]:
    cases = [c for c in cases_of(s, m.agreements.workflows) if m.agreements.matches(c)]
    history = moves(s, cases, dated=m.agreement.values())
    assert w.end is not None  # a year
    counts = {measure: {level: 0 for level in m.levels} for measure in AGREEMENT_MEASURES}
    listed = []
    for case in cases:
        level = next((name for name, g in m.levels.items() if g.matches(case)), None)
        if level is None:
            continue
        for measure in AGREEMENT_MEASURES:
            sel, h = m.agreement[measure], history[case.id or 0]
            if measure == "in_force":
                hit = w.end if state_at(h, w.end) in sel.states else None
            else:
                hit = first_hit(h, sel, w)
            if hit is None:
                continue
            counts[measure][level] += 1
            listed.append({"measure": measure, "level": level, "case": case.ref, "title": case.title,
                           "partner": case.fields.get(m.partner_field), "state": case.state,
                           "date": None if measure == "in_force" else local_day(hit)})
    for row in counts.values():
        row["total"] = sum(row.values())
    return {"levels": list(m.levels), "counts": counts, "cases": listed}


def _delegations(s: Session, m: ReportMap, w: Window) -> dict[str, Any]:
    approved, unapproved = [], []
    for direction, group in (("outbound", m.outbound), ("inbound", m.inbound)):
        cases = [c for c in cases_of(s, group.workflows) if group.matches(c)]
        history = moves(s, cases, dated=[m.approved])
        for case in cases:
            row = {"direction": direction, "case": case.ref, "title": case.title,
                   "country": str(case.fields.get(m.country_field) or ""),
                   "purpose": str(case.fields.get(m.purpose_field) or "")}
            at = first_hit(history[case.id or 0], m.approved, w)
            if at is not None:
                approved.append(row | {"date": local_day(at)})
            if m.unapproved_flag in flags(case) and w.holds(case.opened_at):
                unapproved.append(row | {"date": local_day(case.opened_at)})

    def by(key: str) -> list[dict[str, Any]]:
        n = Counter((r["direction"], r[key]) for r in approved)
        return [{"direction": d, key: v, "count": c} for (d, v), c in sorted(n.items())]
    return {"approved": {d: sum(1 for r in approved if r["direction"] == d) for d in ("outbound", "inbound")},
            "unapproved_count": len(unapproved), "by_country": by("country"), "by_purpose": by("purpose"),
            "cases": approved, "unapproved": unapproved}


def _consultations(s: Session, m: ReportMap, w: Window) -> dict[str, Any]:
    """Rounds opened and closed in the year, and the replies given in it — each when it took effect.

    A round the engine closed once its last reply was in ended with that
    reply, and a reply deemed agreed took effect at its deadline: a 2021 round
    whose silent addressees a 2024 sweep settled belongs to 2021.
    """
    cases = [c for c in cases_of(s, m.consultations.workflows) if m.consultations.matches(c)]
    history = moves(s, cases, dated=[m.consultation_closed])
    closed = {c.id: at for c in cases if (at := first_hit(history[c.id or 0], m.consultation_closed, w))}
    answers = [c for c in cases_of(s, m.replies.workflows) if m.replies.matches(c)]
    answered = moves(s, answers, dated=[m.reply_states])
    replies = {st: 0 for st in m.reply_states.states}
    for case in answers:
        hit = next((mv for mv in answered[case.id or 0] if w.holds(mv.at) and mv.to_state in replies), None)
        if hit is not None:
            replies[hit.to_state or ""] += 1
    listed = [{"case": c.ref, "title": c.title, "state": c.state, "workflow": c.workflow,
               "opened": local_day(c.opened_at), "closed": local_day(closed.get(c.id))}
              for c in cases if w.holds(c.opened_at) or c.id in closed]
    return {"opened": sum(1 for c in cases if w.holds(c.opened_at)), "closed": len(closed), "replies": replies,
            "cases": listed}


def _tasks(s: Session, m: ReportMap, w: Window, lang: str, now: datetime) -> dict[str, Any]:
    rows = compliance.task_rows(s, m, w, deadlines.calendar_for(s), now, lang)
    counts = Counter(r["outcome"] for r in rows)
    return {"counts": {o: counts[o] for o in compliance.TASK_OUTCOMES}, "total": len(rows), "rows": rows}


def report(s: Session, m: ReportMap, year: int, lang: str, now: datetime,
           log_checkpoint: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report for calendar ``year`` (local time), with the lists behind every number."""
    w = year_window(year)
    issuer = s.get(Unit, m.issuer) if m.issuer else None
    return {"year": year, "lang": lang, "province": province_name(s),
            "issuer": localized(pair(issuer.name_vi, issuer.name_en), lang) if issuer else "",
            "generated_at": audit.fmt_at(now), "warnings": map_warnings(m, lang),
            "agreements": _agreements(s, m, w), "delegations": _delegations(s, m, w),
            "consultations": _consultations(s, m, w), "tasks": _tasks(s, m, w, lang, now),
            "reply_workflows": list(m.replies.workflows),
            "log_checkpoint": log_checkpoint}


# ------------------------------------------------------------------ as tables
def title_of(rep: dict[str, Any], lang: str) -> str:
    return t("annual_title", lang, year=rep["year"])


@dataclass
class Section:
    key: str
    title: str
    tables: list[Table]


def _level(name: str, lang: str) -> str:
    """A level's label; a level the map invents and the catalogue lacks shows its own name."""
    label = t(f"level.{name}", lang)
    return name if label == f"level.{name}" else label


def _summary(rows: list[tuple[str, int]], lang: str) -> Table:
    return Table(t("summary", lang), [t("indicator", lang), t("count", lang)], [[label, n] for label, n in rows])


def sections(rep: dict[str, Any], lang: str) -> list[Section]:
    """The report as sections of tables: the first table of each is its summary of numbers."""
    ag, de, co, ta = rep["agreements"], rep["delegations"], rep["consultations"], rep["tasks"]
    levels = ag["levels"]
    ag_sum = Table(t("summary", lang), [t("indicator", lang)] + [_level(v, lang) for v in levels]
                   + [t("total", lang)],
                   [[t(f"measure.{k}", lang)] + [ag["counts"][k][v] for v in levels] + [ag["counts"][k]["total"]]
                    for k in AGREEMENT_MEASURES])
    ag_list = Table(t("case_list", lang), [t("indicator", lang), t("level", lang), t("case", lang),
                                      t("title", lang), t("partner", lang), t("date", lang)],
                    [[t(f"measure.{r['measure']}", lang), _level(r["level"], lang), r["case"], r["title"],
                      r["partner"], r["date"]] for r in ag["cases"]])
    de_sum = _summary([(t("direction.outbound", lang), de["approved"]["outbound"]),
                       (t("direction.inbound", lang), de["approved"]["inbound"]),
                       (t("unapproved", lang), de["unapproved_count"])], lang)
    de_country = Table(t("country", lang), [t("direction", lang), t("country", lang), t("count", lang)],
                       [[t(f"direction.{r['direction']}", lang), r["country"], r["count"]] for r in de["by_country"]])
    de_purpose = Table(t("purpose", lang), [t("direction", lang), t("purpose", lang), t("count", lang)],
                       [[t(f"direction.{r['direction']}", lang), r["purpose"], r["count"]] for r in de["by_purpose"]])
    cols = [t("direction", lang), t("case", lang), t("title", lang), t("country", lang), t("purpose", lang),
            t("date", lang)]
    de_list = Table(t("case_list", lang), cols, [[t(f"direction.{r['direction']}", lang), r["case"], r["title"],
                                             r["country"], r["purpose"], r["date"]] for r in de["cases"]])
    de_flag = Table(t("unapproved", lang), cols, [[t(f"direction.{r['direction']}", lang), r["case"], r["title"],
                                                   r["country"], r["purpose"], r["date"]] for r in de["unapproved"]])
    co_sum = _summary([(t("rounds_opened", lang), co["opened"]), (t("rounds_closed", lang), co["closed"])]
                      + [(t("answer", lang, state=state_label(rep["reply_workflows"], k, lang)), n)
                         for k, n in co["replies"].items()], lang)
    co_list = Table(t("case_list", lang), [t("case", lang), t("title", lang), t("state", lang), t("date", lang),
                                      t("done_on", lang)],
                    [[r["case"], r["title"], state_label([r["workflow"]], r["state"], lang), r["opened"], r["closed"]]
                     for r in co["cases"]])
    ta_sum = _summary([(t(f"outcome.{o}", lang), n) for o, n in ta["counts"].items()]
                      + [(t("total", lang), ta["total"])], lang)
    ta_list = Table(t("case_list", lang), [t("case", lang), t("title", lang), t("unit", lang), t("due", lang),
                                      t("done_on", lang), t("outcome", lang)],
                    [[r["case"], r["title"], r["unit"], r["due_date"], r["done_on"], compliance.outcome_text(r, lang)]
                     for r in ta["rows"]])
    return [Section("agreements", t("section.agreements", lang), [ag_sum, ag_list]),
            Section("delegations", t("section.delegations", lang), [de_sum, de_country, de_purpose, de_list, de_flag]),
            Section("consultations", t("section.consultations", lang), [co_sum, co_list]),
            Section("tasks", t("section.tasks", lang), [ta_sum, ta_list])]
