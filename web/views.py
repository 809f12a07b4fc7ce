"""The pages: one handler per page or form, each a few service calls and a template.

A handler never decides a rule.  What it does: read the request (the CSRF
token first, for a POST), call the service, and answer — a page, a redirect
after a write (POST → 303 → GET, so a reload never writes twice), or the
error in the reader's words at the place it concerns: bad input is 400 at the
fields, a refusal 403 (logged by the service), a case that changed meanwhile
409 with "changed by X at Y — reload", an unknown case 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from agreeflow.engine import AgreeflowError, RefusedError, service
from agreeflow.web import words
from agreeflow.web.context import MAX_BODY, CsrfError, Page, Site, TooLargeError
from agreeflow.web.render import diagram

Handler = Callable[[Page], Awaitable[Response]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def endpoint(handler: Handler, public: bool = False) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint around ``handler``: the request's Page, sign-in, CSRF and errors as pages."""
    async def run(request: Request) -> Response:
        site: Site = request.app.state.site
        page = await Page.start(request, site)
        try:
            if not public and page.who is None:
                if request.method == "GET":
                    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return page.finish(page.redirect(f"/login?next={quote(back)}"))
                return page.finish(error(page, 403, words.t("Please sign in.", page.lang)))
            response = await handler(page)
        except CsrfError:
            response = error(page, 403, words.t("This form has expired or did not come from this site: nothing "
                                                "was recorded. Reload the page and try again.", page.lang))
        except TooLargeError:
            response = error(page, 413, words.t("The documents sent are larger than {mb} MB together: nothing was "
                                                "recorded.", page.lang, mb=MAX_BODY // 2**20))
        except AgreeflowError as err:
            response = failure(page, err)
        return page.finish(response)
    return run


def error(page: Page, status: int, message: str) -> HTMLResponse:
    return page.render("error.html", status=status, status_code=status, message=message)


def failure(page: Page, err: AgreeflowError) -> Response:
    """An error that reached the top: sign in, 404, 403 (refused) or 400 (bad input)."""
    name = type(err).__name__
    if name == "NotSignedInError":
        return page.redirect("/login")
    if name == "UnknownCaseError":
        return error(page, 404, words.t("There is no such case, or it is not one you may see.", page.lang))
    return error(page, 403 if isinstance(err, RefusedError) else 400, words.error_text(err, page.lang))


def _local(url: str | None) -> str:
    """A redirect target of ours: a path on this site, never another site."""
    return url if url and url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


# ------------------------------------------------------------------ sign-in
async def login_page(page: Page) -> Response:
    if page.who is not None:
        return page.redirect(_local(page.request.query_params.get("next")))
    return page.render("login.html", next=_local(page.request.query_params.get("next")), email="", message="")


async def login(page: Page) -> Response:
    form = await page.form()
    email, nxt = str(form.get("email", "")).strip().lower(), _local(str(form.get("next", "/")))
    try:
        async with page.site.password_checks:
            res = await page.call(service.login, page.settings, email, str(form.get("password", "")), kind="web",
                                  save=False)
    except AgreeflowError as err:
        return page.render("login.html", status=403, next=nxt, email=email, message=words.error_text(err, page.lang))
    page.token = res["token"]
    page.sign_in(res["token"])
    return page.redirect(nxt)


async def logout(page: Page) -> Response:
    await page.form()
    if page.token:
        await page.call(service.web_sign_out, page.settings, page.token)
    page.sign_out()
    return page.redirect("/login")


async def link_request(page: Page) -> Response:
    form = await page.form()
    email = str(form.get("email", "")).strip()
    if email:
        await page.call(service.send_sign_in_link, page.settings, email, page.site.config.base_url)
    return page.render("link_sent.html", email=email)


async def link_page(page: Page) -> Response:
    return page.render("link_confirm.html", token=page.request.path_params["token"])


async def link_use(page: Page) -> Response:
    await page.form()
    try:
        res = await page.call(service.sign_in_with_link, page.settings, page.request.path_params["token"])
    except AgreeflowError:
        return page.render("login.html", status=403, next="/", email="",
                           message=words.t("This sign-in link is not valid any more (it works once, within an hour). "
                                           "Ask for a new one.", page.lang))
    page.sign_in(res["token"])
    return page.redirect("/")


# ------------------------------------------------------------------ my work, list, calendar
async def my_work(page: Page) -> Response:
    return page.render("my_work.html", data=await page.call(service.my_work, page.settings))


async def case_list(page: Page) -> Response:
    query = dict(page.request.query_params)
    f = service.CaseFilter.of(query)
    errors: dict[str, str] = {}
    try:
        data = await page.call(service.search_cases, page.settings, f)
    except service.FieldValueError as err:
        errors = words.field_errors(err, query, page.lang)
        data = await page.call(service.search_cases, page.settings,
                               service.CaseFilter.of({k: v for k, v in query.items() if k not in errors}))
    partial = page.request.headers.get("hx-request") == "true" and page.request.headers.get("hx-target") == "results"
    return page.render("_results.html" if partial else "cases.html", status=400 if errors else 200, data=data,
                       errors=errors, query=query, export=f"/cases.xlsx?{page.request.url.query}")


async def case_export(page: Page) -> Response:
    body = await page.call(service.export_cases, page.settings, service.CaseFilter.of(dict(page.request.query_params)))
    return Response(body, media_type=XLSX, headers={"Content-Disposition": 'attachment; filename="ho-so.xlsx"'})


async def calendar(page: Page) -> Response:
    q = page.request.query_params
    year, month = q.get("y", ""), q.get("m", "")
    data = await page.call(service.calendar_month, page.settings, int(year) if year.isdigit() else None,
                           int(month) if month.isdigit() else None)
    return page.render("calendar.html", data=data)


# ------------------------------------------------------------------ a case
async def case(page: Page, status: int = 200, **extra: Any) -> Response:
    ref = page.request.path_params["ref"]
    data = await page.call(service.case_page, page.settings, ref)
    visited = {e["to"] for e in data["events"] if e["to"]}
    return page.render("case.html", status=status, data=data, diagram=diagram(data["diagram"], visited),
                       actions=actions(data["case"]),
                       done=page.request.query_params.get("done", ""),
                       **{"open_action": "", "errors": {}, "values": {}, "action_error": "", "stale": None} | extra)


def actions(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps a case page offers: the service's ``actions`` (each allowed or refused with the rule and
    the reason) when it gives them, else the triggers the reader may use now (all allowed)."""
    if "actions" in view:
        return list(view["actions"])
    return [t | {"allowed": True, "reason": None, "rule": None} for t in view["available_triggers"]]


def _fields(form: FormData) -> dict[str, str]:
    """The ``f.<name>`` inputs of a form (several values of one name joined by commas: a units field)."""
    out: dict[str, str] = {}
    for key in {k for k in form.keys() if k.startswith("f.")}:
        values = [v for v in form.getlist(key) if isinstance(v, str) and v.strip()]
        if values:
            out[key[2:]] = ",".join(v.strip() for v in values)
    return out


async def _uploads(form: FormData) -> list[tuple[str, str, bytes]]:
    out = []
    for key, value in form.multi_items():
        if key.startswith("doc.") and isinstance(value, UploadFile) and value.filename:
            data = await value.read()
            if data:
                out.append((key[4:], value.filename, data))
    return out


async def fire(page: Page) -> Response:
    form = await page.form()
    ref = page.request.path_params["ref"]
    trigger = str(form.get("trigger", ""))
    fields, note = _fields(form), str(form.get("note", "")).strip() or None
    version = str(form.get("expect_version", ""))
    try:
        await page.call(service.fire, page.settings, ref, trigger, fields, note,
                        expect_version=int(version) if version.isdigit() else None, uploads=await _uploads(form),
                        view=False)  # the case page it redirects to reads the case again
    except service.StaleCaseError:
        latest = await page.call(service.case_version, page.settings, ref)
        return await case(page, status=409, stale=latest)
    except AgreeflowError as err:
        if type(err).__name__ == "UnknownCaseError":
            raise
        errors = words.field_errors(err, fields, page.lang)
        return await case(page, status=403 if isinstance(err, RefusedError) else 400, open_action=trigger,
                          errors=errors, values=fields, action_error=words.error_text(err, page.lang))
    return page.redirect(f"/cases/{quote(ref)}?done={quote(trigger)}")


async def case_version(page: Page) -> Response:
    """The "changed under you" banner, asked for by the case page every little while (HTMX)."""
    data = await page.call(service.case_version, page.settings, page.request.path_params["ref"])
    seen = page.request.query_params.get("v", "")
    if seen.isdigit() and int(seen) != data["lock_version"]:
        return page.render("_stale.html", stale=data)
    return HTMLResponse("")


async def case_round(page: Page) -> Response:
    data = await page.call(service.round_page, page.settings, page.request.path_params["ref"])
    return page.render("round.html", data=data)


async def download(page: Page) -> Response:
    p = page.request.path_params
    doc = await page.call(service.attachment, page.settings, p["ref"], p["sha"])
    if doc is None:
        return error(page, 404, words.t("There is no such document on this case.", page.lang))
    ascii_name = doc["name"].encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return Response(doc["data"], media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(doc['name'])}"})


# ------------------------------------------------------------------ a new case
async def new_list(page: Page) -> Response:
    return page.render("new_list.html", data=await page.call(service.case_forms, page.settings))


async def new_form(page: Page, status: int = 200, **extra: Any) -> Response:
    data = await page.call(service.case_form, page.settings, page.request.path_params["workflow"])
    return page.render("new_case.html", status=status, data=data,
                       **{"errors": {}, "values": {}, "title": "", "message": ""} | extra)


async def new_case(page: Page) -> Response:
    form = await page.form()
    workflow = page.request.path_params["workflow"]
    title, fields = str(form.get("title", "")).strip(), _fields(form)
    try:
        res = await page.call(service.open_case, page.settings, workflow, title, fields)
    except AgreeflowError as err:
        if isinstance(err, RefusedError):
            raise
        return await new_form(page, status=400, errors=words.field_errors(err, fields, page.lang), values=fields,
                              title=title, message=words.error_text(err, page.lang))
    return page.redirect(f"/cases/{quote(res['id'])}?done=open")


# ------------------------------------------------------------------ reply links
async def reply_page(page: Page, status: int = 200, **extra: Any) -> Response:
    try:
        data = await page.call(service.reply_page, page.settings, page.request.path_params["token"])
    except service.UnknownCaseError:
        return error(page, 404, words.t("This reply link is not valid. Use the link in the latest letter you "
                                        "received, or contact the Department of Foreign Affairs.", page.lang))
    return page.render("reply.html", status=status, data=data, token_path=quote(page.request.path_params["token"]),
                       **{"errors": {}, "values": {}, "message": ""} | extra)


async def reply(page: Page) -> Response:
    form = await page.form()
    token = page.request.path_params["token"]
    answer, comment = str(form.get("answer", "")), str(form.get("comment", "")).strip()
    reply_no = str(form.get("reply_no", "")).strip()
    upload = form.get("document")
    document = None
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        document = (upload.filename, content) if content else None
    try:
        await page.call(service.reply, page.settings, token, answer, comment, reply_no, document)
    except service.UnknownCaseError:
        return await reply_page(page)
    except AgreeflowError as err:
        values = {"answer": answer, "comment": comment, "reply_no": reply_no}
        errors = words.field_errors(err, values, page.lang)
        if any(k.startswith("doc:") for k in errors):
            errors["document"] = errors.pop(next(k for k in errors if k.startswith("doc:")))
        status = 409 if type(err).__name__ == "StateRefusedError" else 403 if isinstance(err, RefusedError) else 400
        return await reply_page(page, status=status, errors=errors, values=values,
                                message=words.error_text(err, page.lang))
    return page.redirect(f"/reply/{quote(token)}")
