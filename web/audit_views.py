"""The inspectors' pages (issue 18): the log, its proof, compliance with the time limits, the annual report,
the mail, and the directory and calendar as they were.

Read-only by construction: these pages carry no form that writes.  The one
POST an auditor may send starts the integrity check, which reads; the mail
page offers "send again" only to those the service lets retry
(coordinators, admins), and any write an auditor sends anyway is refused by
the service (403) and logged.  Who may read these pages at all is the
service's :func:`agreeflow.engine.service.may_inspect` (the roles that see
every case).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from agreeflow.engine import AgreeflowError, RefusedError, service
from agreeflow.engine.service import worker
from agreeflow.web import charts, words
from agreeflow.web.context import Page
from agreeflow.web.jobs import Jobs
from agreeflow.web.render import Words
from agreeflow.web.views import XLSX, error

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _partial(page: Page, target: str) -> bool:
    h = page.request.headers
    return h.get("hx-request") == "true" and h.get("hx-target") == target


def _query(values: dict[str, str]) -> str:
    return urlencode({k: v for k, v in values.items() if v})


# ------------------------------------------------------------------ the log
async def log(page: Page) -> Response:
    query = dict(page.request.query_params)
    query.pop("lang", None)
    f = service.LogFilter.of(query)
    errors: dict[str, str] = {}
    try:
        data = await page.call(service.log_page, page.settings, f)
    except service.FieldValueError as err:
        errors = words.field_errors(err, query, page.lang)
        keep = {k: v for k, v in query.items() if k not in errors and k not in ("before", "after", "seq")}
        data = await page.call(service.log_page, page.settings, service.LogFilter.of(keep))
    template = "_log_rows.html" if _partial(page, "log-results") else "audit_log.html"
    return page.render(template, status=400 if errors else 200, data=data, errors=errors, query=query, q=_query,
                       highlight=f.seq)


# ------------------------------------------------------------------ the proof
async def proof(page: Page) -> Response:
    data = await page.call(service.checkpoints, page.settings)
    job_id = page.request.query_params.get("job", "")
    job = _jobs(page).get(job_id, page.who["email"]) if job_id and page.who else None
    return page.render("audit_proof.html", data=data, job=job.view() if job else None)


def _jobs(page: Page) -> Jobs:
    jobs: Jobs = page.request.app.state.jobs
    return jobs


async def verify_start(page: Page) -> Response:
    """Start the integrity check (it reads: an auditor may) and show its progress."""
    await page.form()
    await page.call(service.may_inspect, page.settings, "audit verify")
    assert page.who is not None
    job = _jobs(page).start(page.settings, page.who["email"])
    if page.request.headers.get("hx-request") == "true":
        return page.render("_verify_status.html", job=job.view())
    return page.redirect(f"/audit/proof?job={quote(job.id)}")


async def verify_status(page: Page) -> Response:
    assert page.who is not None
    job = _jobs(page).get(page.request.path_params["job"], page.who["email"])
    if job is None:
        return error(page, 404, words.t("There is no such check (they are kept while the server runs).",
                                        page.lang))
    return page.render("_verify_status.html", job=job.view())


async def checkpoint_download(page: Page) -> Response:
    name = page.request.path_params["name"]
    body = await page.call(service.checkpoint_file, page.settings, name)
    if body is None:
        return error(page, 404, words.t("There is no such checkpoint file.", page.lang))
    return Response(body, media_type="application/json", headers=_attachment(name))


async def export(page: Page) -> Response:
    fmt = page.request.path_params["fmt"]
    if fmt not in ("jsonl", "csv"):
        return error(page, 404, words.t("There is no such export.", page.lang))
    folder = Path(tempfile.mkdtemp(prefix="agreeflow-export-"))
    path, _ = await page.call(service.export_file, page.settings, fmt, folder)

    def remove() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return FileResponse(path, media_type=f"{media}; charset=utf-8", filename=f"agreeflow-nhat-ky.{fmt}",
                        background=BackgroundTask(remove))


# ------------------------------------------------------------------ compliance
async def compliance(page: Page) -> Response:
    q = page.request.query_params
    values = {k: q.get(k, "").strip() for k in ("start", "end", "unit", "outcome", "step")}
    errors: dict[str, str] = {}
    try:
        data = await page.call(service.compliance_page, page.settings, **values)
    except service.FieldValueError as err:
        errors = words.field_errors(err, values, page.lang)
        data = await page.call(service.compliance_page, page.settings,
                               **{k: v for k, v in values.items() if k not in errors})
    w = Words(page.lang)
    pictures = {"units": charts.by_unit(data, w), "months": charts.by_month(data, w),
                "steps": charts.by_step(data, w)} if data["total"] else None
    period = {"start": data["start"], "end": data["end"]}
    if _partial(page, "compliance-rows"):
        return page.render("_compliance_rows.html", data=data, period=period, q=_query)
    return page.render("audit_compliance.html", status=400 if errors else 200, data=data, pictures=pictures,
                       errors=errors, values=values, period=period, q=_query)


async def compliance_export(page: Page) -> Response:
    q = page.request.query_params
    body = await page.call(service.compliance_xlsx, page.settings, q.get("start", ""), q.get("end", ""))
    return Response(body, media_type=XLSX, headers=_attachment("tuan-thu-thoi-han.xlsx"))


# ------------------------------------------------------------------ the annual report
def _year(page: Page) -> int | None:
    text = page.request.query_params.get("year", "")
    return int(text) if text.isdigit() and 1900 <= int(text) <= 2999 else None


async def annual(page: Page) -> Response:
    data = await page.call(service.annual_preview, page.settings, _year(page))
    return page.render("audit_annual.html", data=data)


async def annual_download(page: Page) -> Response:
    fmt = page.request.path_params["fmt"]
    if fmt not in ("xlsx", "docx"):
        return error(page, 404, words.t("There is no such export.", page.lang))
    data = await page.call(service.annual_preview, page.settings, _year(page))
    body = await page.call(service.annual_file, page.settings, data["year"], fmt)
    return Response(body, media_type=XLSX if fmt == "xlsx" else DOCX,
                    headers=_attachment(f"bao-cao-doi-ngoai-{data['year']}.{fmt}"))


# ------------------------------------------------------------------ mail
async def outbox(page: Page, status: int = 200, message: str = "", done: str = "") -> Response:
    q = page.request.query_params
    data = await page.call(service.outbox_page, page.settings, q.get("unit", ""), q.get("status", ""),
                           q.get("before", ""))
    return page.render("audit_outbox.html", status=status, data=data, message=message,
                       done=done or q.get("done", ""), q=_query)


async def outbox_retry(page: Page) -> Response:
    """Send a failed or skipped message again: coordinators and admins (the service decides and logs a refusal)."""
    await page.form()
    raw = page.request.path_params["id"]
    try:
        await page.call(worker.outbox_retry, page.settings, int(raw) if raw.isdigit() else -1)
    except AgreeflowError as err:
        if isinstance(err, RefusedError):
            raise
        return await outbox(page, status=400, message=words.error_text(err, page.lang))
    return page.redirect(f"/audit/outbox?done={quote(raw)}")


# ------------------------------------------------------------------ the directory and the calendar
async def directory(page: Page) -> Response:
    on = page.request.query_params.get("on", "").strip()
    errors: dict[str, str] = {}
    try:
        data = await page.call(service.directory_page, page.settings, on)
    except service.FieldValueError as err:
        errors = words.field_errors(err, {"on": on}, page.lang)
        data = await page.call(service.directory_page, page.settings, "")
    return page.render("audit_directory.html", status=400 if errors else 200, data=data, errors=errors, on=on,
                       q=_query)


async def decisions(page: Page) -> Response:
    year = _year(page)
    data = await page.call(service.calendar_decisions, page.settings, year)
    return page.render("audit_decisions.html", data=data, q=_query)


async def home(page: Page) -> Response:
    await page.call(service.may_inspect, page.settings, "audit")
    return page.redirect("/audit/log")

