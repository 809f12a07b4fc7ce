"""The web over HTTP (httpx against the ASGI app), on SQLite and on PostgreSQL: sign-in and its cookie,
CSRF on every POST, escaping, who sees what, refusals logged, reply links bound to one case, stale forms,
bad input at the fields with nothing written."""

from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pytest
from sqlmodel import select

from agreeflow.engine import service
from agreeflow.engine.core import clock
from agreeflow.engine.core.store import SecurityEvent
from agreeflow.engine.service import worker
from agreeflow.web.config import WebConfig
from tests.conftest import APPROVER, AUDITOR, COORD, OFFICER_CA, OFFICER_SNGV
from tests.web_support import (
    OFFICER_LG,
    OFFICER_STP,
    PASSWORD,
    T0,
    WebSite,
    children,
    eml_messages,
    open_agreement,
    reply_links,
    text_of,
)

XSS = "Bản ghi nhớ <script>alert('xss')</script> & <img src=x onerror=alert(1)>"


@pytest.fixture
def site(af, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AGREEFLOW_BASE_URL", raising=False)
    clock.set_now(T0)
    web = WebSite(af.home, af.url, WebConfig.from_env(base_url="http://agreeflow.test"))
    yield web
    web.close()


def visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)))


# ------------------------------------------------------------------ sign-in
def test_pages_ask_for_sign_in_and_the_session_cookie_is_signed_httponly_and_samesite(site):
    c = site.client()
    res = c.get("/cases")
    assert res.status_code == 303 and res.headers["location"] == "/login?next=/cases"
    site.password(COORD)
    res = c.sign_in(COORD)
    cookie = next(v for k, v in res.headers.multi_items() if k == "set-cookie" and v.startswith("af_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert c.get("/").status_code == 200
    forged = c.http.cookies.get("af_session")[:-3] + "AAA"
    other = site.client()
    other.http.cookies.set("af_session", forged, domain="agreeflow.test")
    assert other.get("/").status_code == 303  # a forged cookie signs nobody in


def test_a_wrong_password_is_refused_and_logged_and_signing_out_ends_the_session(site):
    site.password(COORD)
    c = site.client()
    res = c.post("/login", data={"csrf": c.csrf(), "email": COORD, "password": "sai-mat-khau", "next": "/"})
    assert res.status_code == 403 and "Đăng nhập không thành công" in res.text
    c.sign_in(COORD)
    token = c.http.cookies.get("af_session")
    res = c.post("/logout", data={"csrf": c.csrf("/")})
    assert res.status_code == 303
    again = site.client()
    again.http.cookies.set("af_session", token, domain="agreeflow.test")
    assert again.get("/").status_code == 303  # the old cookie is dead on the server too
    with service.reading(site.settings()) as s:
        kinds = [(e.kind, e.actor, e.origin) for e in s.exec(select(SecurityEvent).order_by(SecurityEvent.seq)).all()]
    assert [k for k in kinds if k[0] != "password_set"] == [("sign_in_failed", COORD, "web:127.0.0.1"),
                                                            ("sign_in", COORD, "web:127.0.0.1"),
                                                            ("sign_out", COORD, "web:127.0.0.1")]


# ------------------------------------------------------------------ CSRF
def test_a_post_without_or_with_a_wrong_csrf_token_is_403_and_writes_nothing(site, af):
    ref = open_agreement(site.home, site.url)
    coordinator, other = site.client(COORD), site.client(OFFICER_CA)
    case_page = coordinator.get(f"/cases/{ref}").text
    version = re.search(r'name="expect_version" value="(\d+)"', case_page).group(1)
    form = {"trigger": "abandon", "expect_version": version, "f.abandon_reason": "Thử"}
    before = af.snapshot()
    for csrf in (None, "", "khong-dung", other.csrf("/")):
        data = dict(form) if csrf is None else form | {"csrf": csrf}
        res = coordinator.post(f"/cases/{ref}/fire", data=data)
        assert res.status_code == 403 and "chưa ghi nhận gì" in res.text
    res = coordinator.post("/new/agreement-province", data={"title": "X", "f.proposing_unit": "SNGV",
                                                            "f.partner": "Y"})
    assert res.status_code == 403
    assert af.snapshot() == before
    assert service.show_case(site.settings(), ref)["state"] == "opinions"
    ok = coordinator.post(f"/cases/{ref}/fire", data=form | {"csrf": coordinator.csrf(f"/cases/{ref}")})
    assert ok.status_code == 303  # the same form with its token goes through


# ------------------------------------------------------------------ escaping
def test_markup_in_a_title_is_shown_as_text_everywhere(site):
    ref = open_agreement(site.home, site.url, title=XSS)
    c = site.client(COORD)
    for url in ("/", "/cases", f"/cases/{ref}", "/cases?q=script", f"/cases/{ref}/round"):
        html = c.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in html, url
    assert "<script>" not in c.get(f"/cases/{ref}").text.split("</head>", 1)[1].replace(
        '<script src="/static/vendor/htmx.min.js" defer></script>', "")


# ------------------------------------------------------------------ who sees what
def test_an_officer_sees_the_cases_of_their_unit_and_gets_404_outside_them(site):
    ref = open_agreement(site.home, site.url)
    kids = children(site.home, site.url, ref)
    lg, ca = site.client(OFFICER_LG), site.client(OFFICER_CA)
    res = lg.get(f"/cases/{ref}")
    assert res.status_code == 404 and "Không tìm thấy hồ sơ" in res.text and ref not in visible_text(res.text)
    assert lg.get(f"/cases/{kids['CA']}").status_code == 404
    assert lg.get(f"/cases/{ref}/round").status_code == 404
    assert ref not in lg.get("/cases").text
    assert ca.get(f"/cases/{ref}").status_code == 200           # the Police are consulted on it
    assert ca.get(f"/cases/{kids['CA']}").status_code == 200    # and its reply is addressed to them
    assert ca.get(f"/cases/{kids['STP']}").status_code == 404   # another body's reply is not theirs
    listed = ca.get("/cases").text
    assert ref in listed and kids["CA"] in listed and kids["STP"] not in listed
    assert site.client(APPROVER).get(f"/cases/{kids['STP']}").status_code == 200


def test_an_unknown_case_is_a_404_page_in_vietnamese(site):
    res = site.client(COORD).get("/cases/TTQT-2099-9999")
    assert res.status_code == 404 and '<html lang="vi">' in res.text
    assert "Không tìm thấy" in res.text and "agreeflow case list" not in res.text


def test_an_auditor_gets_no_writing_forms_and_a_post_is_refused_403_and_logged(site, af):
    ref = open_agreement(site.home, site.url)
    auditor = site.client(AUDITOR)
    page = auditor.get(f"/cases/{ref}").text
    assert "/fire" not in page and 'type="file"' not in page and 'href="/new"' not in page
    res = auditor.post(f"/cases/{ref}/fire", data={"csrf": auditor.csrf(f"/cases/{ref}"), "trigger": "abandon",
                                                  "f.abandon_reason": "Kiểm tra"})
    assert res.status_code == 403 and "chỉ được xem" in res.text, visible_text(res.text)[-700:]
    refused = [e for e in service.history(site.settings(), ref) if e["kind"] == "refused"]
    assert [(e["actor"], e["trigger"], e["payload"]["error"]) for e in refused] == [(AUDITOR, "abandon",
                                                                                    "ReadOnlyError")]
    assert refused[0]["origin"] == "web:127.0.0.1"
    res = auditor.post("/new/agreement-province", data={"csrf": auditor.csrf("/"), "title": "X",
                                                        "f.proposing_unit": "SNGV", "f.partner": "Y"})
    assert res.status_code == 403
    assert service.show_case(site.settings(), ref)["state"] == "opinions"


def test_the_case_page_and_the_log_page_word_events_as_the_cli_does_in_the_readers_language(site, af):
    """One wording of the log (the engine's): a deadline by its label in the page's language, a refusal with
    its reason, on the case page and the inspectors' log page alike."""
    ref = open_agreement(site.home, site.url)
    auditor = site.client(AUDITOR)
    auditor.post(f"/cases/{ref}/fire", data={"csrf": auditor.csrf(f"/cases/{ref}"), "trigger": "abandon",
                                             "f.abandon_reason": "Kiểm tra"})
    deadline = next(e["payload"] for e in service.history(site.settings(), ref) if e["kind"] == "deadline_set")
    assert deadline["label"] != deadline["label_en"]
    c = site.client(COORD)
    vietnamese = visible_text(c.get(f"/cases/{ref}").text)
    assert deadline["label"] in vietnamese and deadline["label_en"] not in vietnamese
    assert "chỉ được xem" in vietnamese  # why the auditor's step was refused
    english = visible_text(c.get(f"/cases/{ref}?lang=en").text)
    assert deadline["label_en"] in english and deadline["label"] not in english
    log = visible_text(auditor.get(f"/audit/log?case={ref}&lang=en").text)
    assert deadline["label_en"] in log and deadline["label"] not in log, log[-2000:]


def test_a_reply_cases_reply_by_day_reads_as_on_the_command_line(site):
    """A field value that is a day reads dd/mm/yyyy on the case page as in ``case show`` (one function: the
    service's words.field_value) — the reply-by of a body's reply case is a text field holding an ISO day."""
    ref = open_agreement(site.home, site.url)
    kid = children(site.home, site.url, ref)["CA"]
    stored = service.show_case(site.settings(), kid)["fields"]["reply_by"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", stored), stored
    page = visible_text(site.client(COORD).get(f"/cases/{kid}").text)
    assert service.fmt_day(stored) in page and stored not in page


# ------------------------------------------------------------------ forms
def test_bad_input_is_400_at_the_field_and_the_database_is_unchanged(site, af):
    c = site.client(COORD)
    before = af.snapshot()
    res = c.post("/new/agreement-province", data={"csrf": c.csrf("/"), "title": "Thỏa thuận thử",
                                                   "f.proposing_unit": "SNGV", "f.term_end": "31/02/2024"})
    assert res.status_code == 400
    assert re.search(r'id="f\.term_end"[^>]*aria-invalid="true"', res.text)
    assert 'id="f.term_end-error"' in res.text and "31/02/2024" in res.text
    res = c.post("/new/agreement-province", data={"csrf": c.csrf("/"), "title": "Thỏa thuận thử",
                                                   "f.proposing_unit": "SNGV"})
    assert res.status_code == 400 and 'id="f.partner-error"' in res.text  # the required partner
    assert 'value="Thỏa thuận thử"' in res.text  # what was typed stays
    assert af.snapshot() == before
    res = c.post("/new/agreement-province", data={"csrf": c.csrf("/"), "title": "Thỏa thuận thử",
                                                   "f.proposing_unit": "SNGV", "f.partner": "Tỉnh Gifu",
                                                   "f.consulted_units": ["BNG", "CA"]})
    assert res.status_code == 303
    ref = res.headers["location"].split("/cases/")[1].split("?")[0]
    shown = service.show_case(site.settings(), ref)
    assert shown["fields"]["consulted_units"] == ["BNG", "CA"]
    opened = service.history(site.settings(), ref)[0]
    assert (opened["actor"], opened["origin"]) == (COORD, "web:127.0.0.1")  # the signed-in person acts


def test_a_missing_document_is_400_at_its_input(site, af):
    s = site.settings()
    ref = service.open_case(s, "agreement-province", "Thỏa thuận", {"proposing_unit": "SNGV", "partner": "X"})["id"]
    c = site.client(COORD)
    before = af.snapshot()
    res = c.post(f"/cases/{ref}/fire", data={"csrf": c.csrf("/"), "trigger": "submit", "expect_version": "1",
                                             "f.partner": "X"},
                 files={"doc.proposal": ("to-trinh.pdf", b"%PDF to trinh", "application/pdf")})
    assert res.status_code == 400
    assert re.search(r'name="doc.draft_agreement"[^>]*aria-invalid="true"', res.text)
    assert af.snapshot() == before


def test_a_stale_form_says_who_changed_the_case_and_when_never_an_error_page(site):
    ref = open_agreement(site.home, site.url)
    first, second = site.client(COORD), site.client(OFFICER_SNGV)
    page = first.get(f"/cases/{ref}").text
    version = re.search(r'name="expect_version" value="(\d+)"', page).group(1)
    token = first.csrf(f"/cases/{ref}")
    res = second.post(f"/cases/{ref}/fire", data={"csrf": second.csrf("/"), "trigger": "abandon",
                                                 "f.abandon_reason": "Đối tác rút", "expect_version": version})
    assert res.status_code == 303
    assert first.get(f"/cases/{ref}/version?v={version}").text.count("Trần Văn Hùng") == 1
    res = first.post(f"/cases/{ref}/fire", data={"csrf": token, "trigger": "escalate", "expect_version": version})
    assert res.status_code == 409
    text = visible_text(res.text)
    assert "Hồ sơ vừa được Trần Văn Hùng thay đổi lúc 04/03/2024" in text and "tải lại trang" in text
    assert "Dừng đề xuất" in text  # the page itself, fresh: the case is now abandoned


# ------------------------------------------------------------------ reply links
def _mail_with_links(site: WebSite) -> None:
    clock.set_now("2024-03-08T09:00:00+07:00")  # 3 working days before the 13/03 reply deadline
    worker.tick(site.settings())


def test_a_reply_link_from_the_mail_answers_its_own_case_once_as_the_body(site):
    ref = open_agreement(site.home, site.url)
    kids = children(site.home, site.url, ref)
    _mail_with_links(site)
    links = reply_links(site.home / "mail", "sotuphap@bacgiang.example")
    assert links and all(link.startswith("http://agreeflow.test/reply/") for link in links)
    assert len(set(links)) == 1
    coordinators = [m for m in eml_messages(site.home / "mail") if COORD in str(m["To"])]
    assert all("/reply/" not in text_of(m) for m in coordinators)  # a reply link only goes to its body
    body = site.client()
    path = links[0].split("agreeflow.test", 1)[1]
    page = body.get(path)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Sở Tư pháp" in text and "13/03/2024" in text and "Luật 70/2020/QH14, Điều 19(2)" in text
    res = body.post(path, data={"csrf": body.csrf(path), "answer": "comment", "comment": "Sửa Điều 5",
                                "reply_no": "45/STP-XDPL"},
                    files={"document": ("y-kien-stp.pdf", b"%PDF y kien", "application/pdf")})
    assert res.status_code == 303
    history = service.history(site.settings(), kids["STP"])
    moved = next(e for e in history if e["kind"] == "transition")
    token_id = moved["origin"].split("reply-link:")[1]
    assert (moved["actor"], moved["role"], moved["to"]) == ("unit:STP", "reply-link", "commented")
    assert re.fullmatch(r"[0-9a-f]{12}", token_id) and token_id in moved["text"]
    again = visible_text(body.get(path).text)
    assert "Đã ghi nhận ý kiến" in again and "Sửa Điều 5" in again and "y-kien-stp.pdf" in again
    res = body.post(path, data={"csrf": body.csrf("/login"), "answer": "disagree", "comment": "Đổi ý"},
                    files={"document": ("khac.pdf", b"%PDF khac", "application/pdf")})
    assert res.status_code == 409 and "Sửa Điều 5" in res.text
    assert service.show_case(site.settings(), kids["STP"])["state"] == "commented"


def test_a_reply_token_never_opens_or_answers_another_case(site, af):
    ref = open_agreement(site.home, site.url)
    kids = children(site.home, site.url, ref)
    _mail_with_links(site)
    link = reply_links(site.home / "mail", "sotuphap@bacgiang.example")[0]
    token = link.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    import base64
    import json
    forged_body = base64.urlsafe_b64encode(json.dumps({"c": kids["CA"], "u": "CA"}).encode()).rstrip(b"=").decode()
    c = site.client()
    before = af.snapshot()
    for bad in (f"{forged_body}.{mac}", f"{payload}.{mac[:-2]}xx", f"{payload}x.{mac}", "khong-phai-token"):
        page = c.get(f"/reply/{bad}")
        assert page.status_code == 404 and "không hợp lệ" in page.text
        res = c.post(f"/reply/{bad}", data={"csrf": c.csrf(f"/reply/{token}"), "answer": "agree"})
        assert res.status_code == 404
    res = c.post(f"/reply/{token}?case={kids['CA']}", data={"csrf": c.csrf(f"/reply/{token}"), "answer": "agree",
                                                           "case": kids["CA"]})
    assert res.status_code == 303
    assert af.snapshot() != before
    states = {u: service.show_case(site.settings(), k)["state"] for u, k in kids.items()}
    assert states == {"BNG": "awaiting", "CA": "awaiting", "STP": "agreed", "STC": "awaiting"}


# ------------------------------------------------------------------ sign-in links, single sign-on
def test_a_one_time_sign_in_link_comes_by_mail_and_works_once(site):
    c = site.client()
    site.password(OFFICER_STP)
    res = c.post("/login/link", data={"csrf": c.csrf(), "email": OFFICER_STP})
    assert res.status_code == 200 and "Kiểm tra hộp thư" in res.text
    res = c.post("/login/link", data={"csrf": c.csrf(), "email": "nobody@example.org"})
    assert res.status_code == 200 and "Kiểm tra hộp thư" in res.text  # the same answer: nothing to probe
    worker.dispatch_outbox(site.settings(), "test")
    mails = [m for m in eml_messages(site.home / "mail") if OFFICER_STP in str(m["To"])]
    assert len(mails) == 1 and "Đường dẫn đăng nhập" in str(mails[0]["Subject"])
    link = re.search(r"http://agreeflow.test(/login/link/\S+)", text_of(mails[0])).group(1)
    assert c.get(link).status_code == 200  # a page with a button: a mail scanner's GET spends nothing
    res = c.post(link, data={"csrf": c.csrf(link)})
    assert res.status_code == 303 and res.headers["location"] == "/"
    assert "Vũ Thị Mai" in c.get("/").text
    other = site.client()
    assert other.post(link, data={"csrf": other.csrf(link)}).status_code == 403  # spent


def test_a_trusted_proxy_header_signs_in_only_from_the_trusted_address(af, monkeypatch):
    clock.set_now(T0)
    trusted = WebSite(af.home, af.url, WebConfig(base_url="http://agreeflow.test", trusted_header="X-Remote-User",
                                                 trusted_proxies=("127.0.0.1",)))
    untrusted = WebSite(af.home, af.url, WebConfig(base_url="http://agreeflow.test", trusted_header="X-Remote-User",
                                                   trusted_proxies=("10.0.0.9",)))
    try:
        res = trusted.client().get("/", headers={"X-Remote-User": OFFICER_CA})  # no password needed
        assert res.status_code == 200 and "Ngô Đức Anh" in res.text
        assert untrusted.client().get("/", headers={"X-Remote-User": OFFICER_CA}).status_code == 303
        assert trusted.client().get("/", headers={"X-Remote-User": "ke-gia-mao@example.org"}).status_code == 303
    finally:
        trusted.close()
        untrusted.close()


def test_off_by_default_the_header_is_ignored(site):
    assert site.client().get("/", headers={"X-Remote-User": COORD}).status_code == 303


# ------------------------------------------------------------------ list, export, words, headers
def test_the_case_list_filters_searches_and_exports_what_it_shows(site):
    ref = open_agreement(site.home, site.url)
    other = open_agreement(site.home, site.url, title="Thỏa thuận với tỉnh Xay Som Boun (Lào)", send=False,
                           partner="Tỉnh Xay Som Boun", country="Lào")
    c = site.client(COORD)
    assert ref in c.get("/cases?q=gifu").text and other not in c.get("/cases?q=gifu").text
    assert ref in c.get("/cases?q=Nông nghiệp").text  # a field, in Vietnamese, any case
    partial = c.get("/cases?country=nhật", headers={"HX-Request": "true", "HX-Target": "results"})
    assert partial.status_code == 200 and "<html" not in partial.text and ref in partial.text
    assert other not in c.get("/cases?workflow=agreement-province&state=opinions").text
    res = c.get("/cases?opened_from=31/02/2024")
    assert res.status_code == 400 and "không phải một ngày" in res.text
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(c.get("/cases.xlsx?q=gifu").content))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Hồ sơ", "Thủ tục", "Tiêu đề")
    listed = [r[0] for r in rows[1:]]
    assert ref in listed and other not in listed  # and the replies to it, whose titles name Gifu
    assert {r for r in listed if r != ref} == set(children(site.home, site.url, ref).values())
    assert all(isinstance(r[7], __import__("datetime").datetime) for r in rows[1:])  # dates as dates


ENGLISH = re.compile(r"\b(the|and|of|case|cases|deadline|step|submit|opinions|coordinator|officer|approver|"
                     r"draft|state|workflow|none|true|false|open|pending|met|missed|agree|comment|due|"
                     r"overdue|reply|sign|signed|legal|basis)\b", re.I)


def test_vietnamese_pages_have_no_english_words_and_the_switch_gives_english(site):
    ref = open_agreement(site.home, site.url)
    kids = children(site.home, site.url, ref)
    c = site.client(COORD)
    for url in ("/", "/cases", f"/cases/{ref}", f"/cases/{ref}/round", f"/cases/{kids['CA']}", "/new",
                "/new/agreement-province", "/calendar?y=2024&m=3", "/cases/NOPE"):
        text = visible_text(c.get(url).text).replace("English", "")
        text = re.sub(r"\S+@\S+|\S+\.pdf|legal-basis", "", text)  # addresses, file names, a document's name
        found = sorted({m.lower() for m in ENGLISH.findall(text)})
        assert found == [], f"{url}: {found}"
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", text), url  # no raw ISO timestamps
        assert "agreeflow case" not in text and "--field" not in text, url  # no commands for officials
    english = c.get(f"/cases/{ref}?lang=en")
    assert '<html lang="en">' in english.text and "Deadlines" in english.text
    assert '<html lang="en">' in c.get("/").text  # the choice is remembered


def test_every_page_sets_security_headers_and_loads_nothing_from_outside(site):
    ref = open_agreement(site.home, site.url)
    c = site.client(COORD)
    for url in ("/login", "/", "/cases", f"/cases/{ref}", "/calendar"):
        res = c.get(url)
        assert "default-src 'self'" in res.headers["content-security-policy"]
        assert res.headers["x-frame-options"] == "DENY" and res.headers["x-content-type-options"] == "nosniff"
        assert not re.search(r'(src|href)="(https?:)?//', res.text), url
    assert c.get("/static/vendor/htmx.min.js").status_code == 200


def test_a_document_attached_on_the_web_is_stored_by_content_and_downloads_as_sent(site):
    ref = open_agreement(site.home, site.url)
    c = site.client(COORD)
    page = c.get(f"/cases/{ref}").text
    link = re.search(r'href="(/cases/[^"]+/files/[0-9a-f]{64})"[^>]*>to-trinh.pdf', page).group(1)
    res = c.get(link)
    assert res.content == b"%PDF-1.4 to trinh"
    assert res.headers["content-type"] == "application/octet-stream" and "to-trinh.pdf" in res.headers[
        "content-disposition"]
    assert site.client(OFFICER_LG).get(link).status_code == 404
    sha = link.rsplit("/", 1)[1]
    assert (Path(site.home) / "files" / sha[:2] / sha).read_bytes() == b"%PDF-1.4 to trinh"


def test_on_a_real_database_the_session_decides_who_acts(tmp_path, monkeypatch):
    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "real"
    url = f"sqlite:///{home / 'agreeflow.db'}"
    base = service.Settings(data_dir=home, db_url=url, origin="test")
    service.init(base)
    admin = "quantri@bacgiang.example"
    service.set_password(base, admin, PASSWORD)  # bootstrap: no admin has a password yet
    token = service.login(base, admin, PASSWORD, save=False)["token"]
    service.set_password(service.Settings(data_dir=home, db_url=url, token=token, origin="test"), COORD, PASSWORD)
    web = WebSite(home, url, WebConfig(base_url="http://agreeflow.test"))
    try:
        c = web.client()
        c.sign_in(COORD)  # its password was set by the admin above
        res = c.post("/new/consultation", data={"csrf": c.csrf("/"), "title": "Xin ý kiến thử",
                                                 "f.lead_unit": "SNGV", "f.document": "Dự thảo kế hoạch",
                                                 "f.units": ["STP"], "f.reply_by": "2099-12-31"})
        assert res.status_code == 303, res.text[:3000]
        ref = res.headers["location"].split("/cases/")[1].split("?")[0]
        rows = service.history(service.Settings(data_dir=home, db_url=url, token=token, origin="t"), ref)
        assert (rows[0]["actor"], rows[0]["origin"]) == (COORD, "web:127.0.0.1")
        assert "mô phỏng" not in visible_text(c.get("/").text)  # a real database carries no simulation banner
        admin = service.Settings(data_dir=home, db_url=url, token=token, origin="t")
        assert service.audit_export(admin, "jsonl", io.StringIO())["simulation"] is False
    finally:
        web.close()


def test_every_page_of_a_simulation_database_says_so(site):
    c = site.client(COORD)
    for path in ("/", "/cases", "/calendar"):
        assert "Cơ sở dữ liệu mô phỏng: ngày giờ là giả lập" in visible_text(c.get(path).text), path
    assert "Simulation database" in visible_text(c.get("/?lang=en").text)


def test_my_work_follows_every_change_at_once(site):
    ref = open_agreement(site.home, site.url)
    other = open_agreement(site.home, site.url, title="Thỏa thuận thứ hai", send=False)
    c = site.client(COORD)
    count = lambda: int(re.search(r'id="act-now">[^<]*<small class="count">(\d+)', c.get("/").text).group(1))  # noqa: E731
    before = count()
    assert before == 6 and other in c.get("/").text  # the two agreements and the four replies
    service.fire(site.settings(), other, "abandon", {"abandon_reason": "Đối tác rút"})
    assert count() == before - 1 and other not in visible_text(c.get("/").text)
    page = c.get("/").text
    assert ref in page
    officer = site.client(OFFICER_CA)
    assert re.search(r'id="act-now">[^<]*<small class="count">(\d+)', officer.get("/").text).group(1) == "1"  # its reply


def test_a_request_larger_than_the_limit_is_refused_unread(site, af):
    ref = open_agreement(site.home, site.url)
    c = site.client(COORD)
    before = af.snapshot()
    res = c.post(f"/cases/{ref}/fire", content=b"x" * 16,
                 headers={"content-type": "multipart/form-data; boundary=x", "content-length": str(61 * 2**20)})
    assert res.status_code == 413 and "chưa ghi nhận gì" in res.text
    assert af.snapshot() == before
