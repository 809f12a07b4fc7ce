"""An inspector's visit in a real browser: the log, the integrity check before and after tampering, the proof.

Debian's Chromium driven by Playwright (as tests/test_web_browser.py) against
``agreeflow.web`` served by uvicorn on 127.0.0.1, over the demo's database
(21/06 → 31/12/2024: agreements, delegations, consultation rounds, tasks,
checkpoints written by its sweeps).  The path of issue 18:

1. the auditor (Thanh tra tỉnh) signs in and filters the log to one case;
2. runs "Kiểm tra toàn vẹn" and sees it pass, with its progress on the way;
3. the test drops the append-only triggers and rewrites one event's note
   with plain SQL — what whoever owns the database can do;
4. the check on the page names that case and seq, linked to the event in
   the log;
5. the auditor downloads the annual report (DOCX, XLSX) and the export; the
   standalone verifier of docs/audit.md — the few lines printed in its
   section 2, run as they are, and tests/standalone_verifier.py, written from
   it — accepts the export taken before the edit and names the same case and
   seq in the one taken after;
6. the compliance page draws its charts (each image loads).

Screenshots go to ``AGREEFLOW_SCREENSHOTS`` (default: the test's temporary
folder); the README's come from here.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agreeflow.engine import service
from agreeflow.engine.core import clock
from agreeflow.engine.service import demo
from agreeflow.web.app import create_app
from agreeflow.web.config import WebConfig
from tests.conftest import AUDITOR
from tests.databases import raw_connection
from tests.standalone_verifier import Broken, read_jsonl
from tests.standalone_verifier import verify as outside_verify
from tests.test_audit_verify__tables_and_truncation import DROP
from tests.test_web_browser import ARGS, CHROMIUM, LOCALE_ENV, Shots, sign_in, watch
from tests.web_support import PASSWORD, free_port, serving

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed at "
                                 "/usr/bin/chromium (.ci/run installs it: apt-get install chromium)")]
CASE = "TTQT-2024-0001"


ROOT = Path(__file__).resolve().parent.parent


def docs_verifier(export: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """The few lines of section 2 of docs/audit.md, as printed there, run on ``export`` in a bare interpreter."""
    text = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    code = re.search(r"## 2\. Verify an export.*?```python\n(.*?)```", text, re.S).group(1)  # type: ignore[union-attr]
    script = tmp / "verify_export.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run([sys.executable, "-I", str(script), str(export)], capture_output=True, text=True,
                          timeout=120)


def view(shots: Shots, page: object, name: str) -> None:
    """What an office screen shows, not the whole page: the README's pictures (docs/screenshots/)."""
    page.screenshot(path=str(shots.folder / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def test_an_inspector_reads_the_log_checks_it_catches_an_edit_and_takes_the_proof(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    from docx import Document
    from openpyxl import load_workbook
    from playwright.sync_api import expect, sync_playwright

    for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_BASE_URL", "AGREEFLOW_SMTP", "AGREEFLOW_LANG"):
        monkeypatch.delenv(var, raising=False)
    shots = Shots(Path(os.environ.get("AGREEFLOW_SCREENSHOTS") or tmp_path / "screenshots"))
    home = tmp_path / "demo"
    ran = demo.run(keep=True, data_dir=home)
    url = demo.settings_of(ran).url
    settings = service.Settings(data_dir=home, db_url=url, origin="test")
    clock.set_now("2024-12-31T16:00:00+07:00")
    service.set_password(settings, AUDITOR, PASSWORD)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(settings, WebConfig.from_env("127.0.0.1", port))
    problems: list[str] = []
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    try:
        with serving(app, port), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS, env=LOCALE_ENV)
            office = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                         accept_downloads=True)
            page = watch(office.new_page(), problems)

            # 1. the auditor signs in and filters the log to one case
            sign_in(page, base, AUDITOR)
            page.click("nav >> text=Thanh tra")
            expect(page.locator("h1")).to_have_text("Nhật ký")
            assert page.locator("form[method=post]").evaluate_all(
                "fs => fs.map(f => f.getAttribute('action'))") == ["/logout"]  # no form that writes
            page.fill("input[name=case]", CASE)
            page.click("form.filters button[type=submit]")
            expect(page.locator("h1")).to_contain_text(CASE)
            refs = set(page.locator("#log-results tbody tr td:first-child a:first-child").all_inner_texts())
            assert refs == {CASE}
            expect(page.locator("#log-results")).to_contain_text("ghi nhận")
            shots(page, "audit-log")
            page.evaluate("document.querySelector('#log-results tr.ev-transition').scrollIntoView()")
            view(shots, page, "audit-log")

            # 2. the integrity check passes
            page.click(".audit-nav >> text=Kiểm tra toàn vẹn")
            page.click("#run-verify")
            expect(page.locator("#verify-status progress, #verify-verdict").first).to_be_visible()
            expect(page.locator("#verify-verdict")).to_contain_text("chuỗi: toàn vẹn", timeout=60_000)
            verdict = page.locator("#verify-verdict").inner_text()
            assert re.search(r"Đã kiểm tra [\d.]+ sự kiện trong [\d.]+ chuỗi: toàn vẹn", verdict), verdict
            shots(page, "audit-verify-pass")
            view(shots, page, "audit-verify-pass")
            with page.expect_download() as caught:
                page.click("text=Toàn bộ nhật ký (JSONL)")
            before = downloads / "before.jsonl"
            caught.value.save_as(before)
            heads = outside_verify(read_jsonl(before))
            assert CASE in heads and len(heads) > 20
            printed = docs_verifier(before, tmp_path)
            assert printed.returncode == 0 and printed.stdout.strip() == f"ok: {len(heads)} chains", printed

            # 3. whoever owns the database rewrites a note, the triggers dropped first
            with raw_connection(url) as con:
                for statement in DROP["sqlite"]:
                    con.execute(statement)
                con.execute("UPDATE events SET note = 'Ghi chú đã bị sửa' WHERE seq = 3 AND case_id = "
                            f"(SELECT id FROM cases WHERE ref = '{CASE}')")

            # 4. the check names that case and seq, linked to the event
            page.click("#run-verify")
            expect(page.locator("#verify-verdict")).to_contain_text("Nhật ký không toàn vẹn", timeout=60_000)
            finding = page.locator(".findings li", has_text=CASE)
            expect(finding).to_contain_text(f"{CASE} seq 3")
            shots(page, "audit-verify-broken")
            view(shots, page, "audit-verify-broken")
            finding.locator("a").click()
            expect(page.locator(f"tr#ev-{CASE}-3")).to_contain_text("Ghi chú đã bị sửa")
            expect(page.locator(f"tr#ev-{CASE}-3")).to_have_class(re.compile("target"))
            shots(page, "audit-log-at-the-broken-event")

            # 5. the annual report and the export, downloaded
            page.goto(f"{base}/audit/annual?year=2024")
            expect(page.locator("h1")).to_contain_text("2024")
            shots(page, "audit-annual-report")
            for link, name in (("#annual-docx", "annual.docx"), ("#annual-xlsx", "annual.xlsx")):
                with page.expect_download() as caught:
                    page.click(link)
                caught.value.save_as(downloads / name)
            assert any("2024" in para.text for para in Document(str(downloads / "annual.docx")).paragraphs)
            assert len(load_workbook(downloads / "annual.xlsx").sheetnames) == 4
            page.goto(f"{base}/audit/proof")
            with page.expect_download() as caught:
                page.click("text=Toàn bộ nhật ký (JSONL)")
            after = downloads / "after.jsonl"
            caught.value.save_as(after)
            with pytest.raises(Broken) as broken:
                outside_verify(read_jsonl(after))
            assert f"{CASE} seq 3" in str(broken.value)
            printed = docs_verifier(after, tmp_path)
            assert printed.returncode == 1 and printed.stderr.strip().endswith(f"{CASE} seq 3 is broken"), printed

            # 6. compliance as pictures and tables
            page.goto(f"{base}/audit/compliance?start=2024-01-01&end=2024-12-31")
            for chart in ("#chart-units", "#chart-months", "#chart-steps"):
                assert page.locator(chart).evaluate("img => img.complete && img.naturalWidth > 300"), chart
            shots(page, "audit-compliance")
            page.evaluate("document.getElementById('h-units').scrollIntoView()")
            view(shots, page, "audit-compliance")
            svg = page.locator("#chart-units").get_attribute("src") or ""
            (shots.folder / "compliance-by-unit.svg").write_bytes(base64.b64decode(svg.split(",", 1)[1]))
            page.click(".counts a[href*='outcome=late'] >> nth=0")
            expect(page.locator("#rows tbody tr").first).to_contain_text("Trễ hạn")
            page.goto(f"{base}/audit/outbox")
            shots(page, "audit-mail")
            page.goto(f"{base}/audit/directory")
            shots(page, "audit-directory")
            browser.close()
    finally:
        clock.set_now(None)
    assert problems == []
