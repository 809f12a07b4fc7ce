"""A provincial agreement from the first page to the signed text, in a real browser.

Debian's Chromium driven by Playwright (``executable_path``: no browser is
downloaded) against ``agreeflow.web`` served by uvicorn on 127.0.0.1, on a
simulation database whose clock the test moves.  The path of issue 16:

1. the coordinator signs in and opens the agreement (form generated from
   the workflow's fields), files the dossier (two documents uploaded);
2. sends it for the opinions of MOFA (BNG) and three bodies;
3. two bodies answer through the links taken from their .eml reminders —
   no account; MOFA's paper reply is recorded by the coordinator;
4. the seven working days pass: the coordinator escalates the silent one
   and proceeds on the opinions received;
5. the Chairman signs in and approves;
6. the coordinator records the signing with the signed text attached, and
   downloads it back.

Screenshots of each page go to ``AGREEFLOW_SCREENSHOTS`` (default: the
test's temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agreeflow.engine import service
from agreeflow.engine.core import clock
from agreeflow.engine.service import worker
from agreeflow.web.app import create_app
from agreeflow.web.config import WebConfig
from tests.conftest import APPROVER, AUDITOR, COORD, OFFICER_CA
from tests.web_support import PASSWORD, free_port, give_passwords, reply_links, serving, settings_for

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LOCALE_ENV = {**os.environ, "LANG": "vi_VN.UTF-8", "LANGUAGE": "vi"}
"""Chromium's environment: a Vietnamese system, as on an official's computer (its date inputs then show
dd/mm/yyyy; the page's own locale does not change them)."""
pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                 "/usr/bin/chromium (.ci/run installs it: apt-get install chromium)")]
SIGNED_TEXT = b"%PDF-1.4\n% Ban ghi nho da ky - Gifu / Bac Giang\n"


class Shots:
    """Numbered full-page screenshots in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.n = folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Any, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def watch(page: Any, problems: list[str]) -> Any:
    """Collect the page's script errors and failed loads (there must be none)."""
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    return page


def sign_in(page: Any, base: str, who: str, shots: Shots | None = None) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", who)
    page.fill("input[name=password]", PASSWORD)
    if shots:
        shots(page, "sign-in")
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/")


def act(page: Any, label: str) -> Any:
    """Open the action whose summary reads ``label`` and return its form."""
    action = page.locator("details.action", has=page.locator("summary", has_text=label))
    action.locator("summary").click()
    return action.locator("form")


def test_a_provincial_agreement_from_sign_in_to_the_signed_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from playwright.sync_api import expect, sync_playwright

    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_BASE_URL", "AGREEFLOW_SMTP"):
        monkeypatch.delenv(var, raising=False)
    shots = Shots(Path(os.environ.get("AGREEFLOW_SCREENSHOTS") or tmp_path / "screenshots"))
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'agreeflow.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clock.set_now("2024-03-04T09:00:00+07:00")  # Monday
    service.init(settings_for(home, url), simulation=True)
    give_passwords(home, url)
    app = create_app(settings_for(home, url), WebConfig.from_env("127.0.0.1", port))
    problems: list[str] = []
    try:
        with serving(app, port), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS, env=LOCALE_ENV)
            office = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                         accept_downloads=True)
            page = watch(office.new_page(), problems)

            # 1. the coordinator signs in and opens the agreement
            sign_in(page, base, COORD, shots)
            expect(page.locator("h1")).to_have_text("Việc của tôi")
            page.click("nav >> text=Mở hồ sơ mới")
            shots(page, "new-case-procedures")
            page.click("text=Thỏa thuận quốc tế nhân danh UBND tỉnh")
            page.fill("#title", "Bản ghi nhớ hợp tác với tỉnh Gifu (Nhật Bản)")
            expect(page.locator("select[name='f.proposing_unit']")).to_have_value("SNGV")  # the officer's unit
            page.fill("input[name='f.partner']", "Tỉnh Gifu")
            assert page.locator("[name='f.decision_no']").count() == 0  # asked for at its own step
            page.click("details.more-fields > summary")
            page.fill("input[name='f.partner_country']", "Nhật Bản")
            page.select_option("select[name='f.instrument']", "mou")
            page.fill("input[name='f.subject']", "Hợp tác nông nghiệp, giáo dục")
            shots(page, "new-case-form")
            page.click("form.case-form button[type=submit]")
            expect(page.locator(".notice.ok")).to_contain_text("Đã ghi nhận")
            ref = page.locator("h1 .ref").inner_text().strip()
            assert ref == "TTQT-2024-0001"
            form = act(page, "Nộp hồ sơ đề xuất")
            form.locator("input[name='doc.proposal']").set_input_files(
                files=[{"name": "to-trinh.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 to trinh"}])
            form.locator("input[name='doc.draft_agreement']").set_input_files(
                files=[{"name": "du-thao.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 du thao"}])
            form.locator("button[type=submit]").click()
            expect(page.locator(".chip.state")).to_have_text("Sở Ngoại vụ kiểm tra hồ sơ (Điều 27)")

            # 2. for the opinions of MOFA and three bodies
            form = act(page, "Gửi lấy ý kiến Bộ Ngoại giao")
            form.locator("select[name='f.consulted_units']").select_option(["BNG", "CA", "STP", "STC"])
            selected = form.locator("select[name='f.consulted_units'] option:checked").all_inner_texts()
            assert selected == ["Bộ Ngoại giao", "Công an tỉnh", "Sở Tài chính", "Sở Tư pháp"]
            shots(page, "send-for-opinions-form")
            form.locator("button[type=submit]").click()
            expect(page.locator(".chip.state")).to_have_text("Lấy ý kiến Bộ Ngoại giao và cơ quan liên quan")
            expect(page.locator("#h-round")).to_be_visible()
            shots(page, "case-sent-for-opinions")
            page.goto(f"{base}/")
            expect(page.locator("#act-now")).to_contain_text("5")  # the agreement and the four replies
            shots(page, "my-work-coordinator")

            # 3. reminders go out three working days before 13/03; two bodies answer through their links
            clock.set_now("2024-03-08T09:00:00+07:00")
            worker.tick(settings_for(home, url, base_url=base))
            mail = home / "mail"
            for address, answer, note in (("congan@bacgiang.example", "agree", ""),
                                          ("sotuphap@bacgiang.example", "comment", "Đề nghị sửa Điều 5")):
                link = reply_links(mail, address)[0]
                body = watch(browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                                 is_mobile=True).new_page(), problems)  # a phone, no account
                body.goto(link)
                expect(body.locator("h1")).to_have_text("Trả lời xin ý kiến")
                expect(body.locator(".deadline-line")).to_contain_text("13/03/2024")
                body.check(f"input[name=answer][value={answer}]")
                if note:
                    body.fill("#comment", note)
                    body.set_input_files("#document", files=[{"name": "y-kien-stp.pdf", "mimeType": "application/pdf",
                                                              "buffer": b"%PDF-1.4 y kien STP"}])
                shots(body, f"reply-link-{answer}")
                body.click("form.reply-form button[type=submit]")
                expect(body.locator("#h-recorded")).to_have_text("Đã ghi nhận ý kiến")
                shots(body, f"reply-recorded-{answer}")
                body.context.close()

            # MOFA answered on paper: the coordinator records it on the reply case
            clock.set_now("2024-03-11T10:00:00+07:00")
            page.goto(f"{base}/cases/{ref}/round")
            shots(page, "consultation-round")
            page.click("table >> text=Bộ Ngoại giao")
            form = act(page, "Ghi nhận: nhất trí")
            form.locator("textarea[name=note]").fill("Công văn 1234/BNG-CNV ngày 08/03/2024")
            form.locator("button[type=submit]").click()
            expect(page.locator(".chip.state")).to_have_text("Nhất trí")

            # 4. the time is up: escalate the silent body, then proceed on the opinions received
            clock.set_now("2024-03-14T09:00:00+07:00")
            page.goto(f"{base}/cases/{ref}")
            expect(page.locator("section:has(#h-round)")).to_contain_text("quá hạn")
            act(page, "Quá hạn: báo cáo lãnh đạo UBND tỉnh").locator("button[type=submit]").click()
            expect(page.locator(".chip.state")).to_have_text("Quá hạn trả lời — đã báo cáo lãnh đạo UBND tỉnh")
            shots(page, "case-escalated")
            form = act(page, "Trình trên cơ sở ý kiến đã nhận")
            form.locator("input[name='f.proceed_reason']").fill("Sở Tài chính không trả lời sau khi đã đôn đốc")
            form.locator("button[type=submit]").click()
            form = act(page, "Trình Chủ tịch UBND tỉnh")
            form.locator("input[name='f.synthesis_doc']").fill("Báo cáo 15/BC-SNgV")
            form.locator("button[type=submit]").click()
            expect(page.locator(".chip.state")).to_have_text("Chờ Chủ tịch UBND tỉnh quyết định")

            # 5. the Chairman approves
            clock.set_now("2024-03-15T14:00:00+07:00")
            chairman = watch(browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN").new_page(),
                             problems)
            sign_in(chairman, base, APPROVER)
            expect(chairman.locator("#act-now")).to_contain_text("1")
            shots(chairman, "my-work-chairman")
            chairman.click(f"text={ref}")
            form = act(chairman, "Quyết định ký / ủy quyền ký")
            form.locator("input[name='f.decision_no']").fill("Quyết định 300/QĐ-UBND")
            form.locator("button[type=submit]").click()
            expect(chairman.locator(".chip.state")).to_have_text("Được phép ký")
            chairman.context.close()

            # 6. the coordinator records the signing with the signed text, and downloads it
            clock.set_now("2024-03-20T15:00:00+07:00")
            page.goto(f"{base}/cases/{ref}")
            form = act(page, "Ký (trực tiếp hoặc trực tuyến)")
            form.locator("input[name='f.signed_on']").fill("2024-03-20")
            form.locator("select[name='f.sign_mode']").select_option("in_person")
            form.locator("input[name='doc.signed_copy']").set_input_files(
                files=[{"name": "ban-ghi-nho-da-ky.pdf", "mimeType": "application/pdf", "buffer": SIGNED_TEXT}])
            form.locator("button[type=submit]").click()
            expect(page.locator(".chip.state")).to_have_text("Đã ký — báo cáo Thủ tướng, gửi bản sao Bộ Ngoại giao")
            shots(page, "case-signed")
            with page.expect_download() as caught:
                page.click("ul.docs >> text=ban-ghi-nho-da-ky.pdf")
            assert Path(caught.value.path()).read_bytes() == SIGNED_TEXT
            assert caught.value.suggested_filename == "ban-ghi-nho-da-ky.pdf"

            # the other pages, and the same pages on a phone and in English
            page.goto(f"{base}/cases?q=gifu")
            shots(page, "case-list")
            page.goto(f"{base}/calendar?y=2024&m=3")
            expect(page.locator(".day.today")).to_contain_text("20")
            shots(page, "calendar")
            page.goto(f"{base}/cases/NOPE")
            expect(page.locator("h1")).to_have_text("Không tìm thấy")
            shots(page, "not-found")
            page.goto(f"{base}/cases/{ref}?lang=en")
            expect(page.locator("#h-deadlines")).to_have_text("Deadlines")
            shots(page, "case-english")
            phone = watch(browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN",
                                              is_mobile=True).new_page(), problems)
            sign_in(phone, base, OFFICER_CA)
            shots(phone, "my-work-phone-police-officer")
            phone.goto(f"{base}/cases/{ref}")
            assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # no sideways
            shots(phone, "case-phone")
            auditor = watch(browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN").new_page(),
                            problems)
            sign_in(auditor, base, AUDITOR)
            auditor.goto(f"{base}/cases/{ref}")
            assert auditor.locator("form[action$='/fire']").count() == 0
            shots(auditor, "case-auditor")
            browser.close()
    finally:
        clock.set_now(None)

    assert [x for x in problems if "/cases/NOPE: Failed to load resource" not in x] == []  # the 404 is meant
    history = service.history(settings_for(home, url), ref)
    steps = [(e["trigger"], e["actor"], e["role"]) for e in history if e["kind"] == "transition"]
    assert steps == [("submit", COORD, "coordinator"), ("send_for_opinions", COORD, "coordinator"),
                     ("escalate", COORD, "coordinator"), ("proceed_on_record", COORD, "coordinator"),
                     ("submit_to_chairman", COORD, "coordinator"), ("approve", APPROVER, "approver"),
                     ("sign", COORD, "coordinator")]
    kids = {c["unit"]: c["id"] for c in service.show_case(settings_for(home, url), ref)["children"]}
    answered = {u: [(e["actor"], e["role"], e["to"]) for e in service.history(settings_for(home, url), k)
                    if e["kind"] == "transition"] for u, k in kids.items()}
    assert answered == {"BNG": [(COORD, "coordinator", "agreed")],
                        "CA": [("unit:CA", "reply-link", "agreed")],
                        "STP": [("unit:STP", "reply-link", "commented")],
                        "STC": [("system", "system", "no_reply")]}
    for unit in ("CA", "STP"):
        moved = next(e for e in service.history(settings_for(home, url), kids[unit]) if e["kind"] == "transition")
        assert moved["origin"].startswith("web:127.0.0.1 reply-link:")
    assert service.verify(settings_for(home, url))["events"] > 0
    assert len(list(shots.folder.glob("*.png"))) >= 19
