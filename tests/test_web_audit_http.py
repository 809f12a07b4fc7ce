"""The inspectors' pages over HTTP (httpx against the ASGI app), on SQLite and on PostgreSQL: read-only by
construction — every write an auditor sends is refused with 403 and logged —, the log paged by keyset under
its filters, the integrity check with its progress and its findings linked to the log, compliance charts and
the lists behind them, the annual report and the proof to download, the mail, the directory and the
calendar as they were."""

from __future__ import annotations

import io
import re
import time
from datetime import date

import pytest
import yaml
from sqlmodel import select
from starlette.routing import Route

from agreeflow.engine import TamperingError, service
from agreeflow.engine.core import clock
from agreeflow.engine.core.store import Event, OutboxMessage, SecurityEvent
from agreeflow.engine.service import worker
from agreeflow.web.config import WebConfig
from tests.conftest import ADMIN, APPROVER, AUDITOR, COORD, OFFICER_CA, OFFICER_SNGV
from tests.test_audit_verify__tables_and_truncation import DROP
from tests.test_web_http import ENGLISH, visible_text
from tests.web_support import T0, WebSite, open_agreement

PAGES = ("/audit/log", "/audit/proof", "/audit/compliance", "/audit/annual", "/audit/outbox", "/audit/directory",
         "/audit/decisions")
READS = {"/login", "/logout", "/login/link", "/login/link/{token}", "/reply/{token}", "/audit/verify"}
"""POST routes that change no case: signing in and out, a reply link (no account), and the integrity check."""
WRITES = {"/cases/{ref}/fire", "/new/{workflow}", "/audit/outbox/{id}/retry"}


@pytest.fixture
def site(af, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AGREEFLOW_BASE_URL", raising=False)
    clock.set_now(T0)
    web = WebSite(af.home, af.url, WebConfig.from_env(base_url="http://agreeflow.test"))
    yield web
    web.close()


def prose(html: str) -> str:
    """The page's own words: the visible text without program code, hashes, e-mail addresses and the notes
    events carry (data as recorded — a system note names a workflow by its id)."""
    html = re.sub(r"<(pre|code|q)\b.*?</\1>", " ", html, flags=re.S)
    text = visible_text(html).replace("English", "")
    return re.sub(r"\S+@\S+|\S+\.(pdf|json|md)\b|web:\S+|test\b|seq\b", "", text)


def refusals(site: WebSite) -> list[tuple[str, str, str]]:
    with service.reading(site.settings()) as s:
        return [(e.kind, e.actor, str(e.detail.get("action"))) for e in
                s.exec(select(SecurityEvent).where(SecurityEvent.kind == "refused").order_by(SecurityEvent.seq))]


def run_verify(c, timeout: float = 60) -> str:
    """Press "Kiểm tra toàn vẹn" as the page does (HTMX), follow the progress until the verdict."""
    res = c.post("/audit/verify", data={"csrf": c.csrf("/audit/proof")}, headers={"HX-Request": "true"})
    assert res.status_code == 200 and 'id="verify-status"' in res.text, res.text[:500]
    job = re.search(r'hx-get="(/audit/verify/[^"]+)"', res.text).group(1)
    end = time.monotonic() + timeout
    while "hx-trigger" in res.text:
        assert time.monotonic() < end, res.text
        time.sleep(0.2)
        res = c.get(job)
        assert res.status_code == 200
    return res.text


# ------------------------------------------------------------------ read-only by construction
def test_the_auditor_reads_every_inspection_page_in_vietnamese_and_none_holds_a_form_that_writes(site):
    ref = open_agreement(site.home, site.url)
    c = site.client(AUDITOR)
    home = c.get("/")
    assert 'href="/audit/log"' in home.text and "Thanh tra" in visible_text(home.text)
    for url in (*PAGES, f"/audit/log?case={ref}", "/audit/log?kind=transition", "/audit/directory?on=2024-01-01",
                "/audit/decisions?year=2024", "/audit/annual?year=2024"):
        res = c.get(url)
        assert res.status_code == 200, (url, res.status_code)
        found = sorted({m.lower() for m in ENGLISH.findall(prose(res.text))})
        assert found == [], f"{url}: {found}"
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d", visible_text(res.text)), url  # times as dd/mm/yyyy HH:MM
        posts = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', res.text)
        assert set(posts) <= {"/logout", "/audit/verify"}, (url, posts)
        assert not re.search(r'(src|href)="(https?:)?//', res.text), url
    english = c.get("/audit/log?lang=en")
    assert '<html lang="en">' in english.text and "Took effect" in english.text


def test_every_write_an_auditor_sends_is_refused_403_and_logged(site, af):
    ref = open_agreement(site.home, site.url)
    posts = {r.path for r in site.app.routes if isinstance(r, Route) and "POST" in (r.methods or ())}
    assert posts - READS == WRITES  # a new write route must be added here, and refused
    with service.reading(site.settings()) as s:
        s.add(OutboxMessage(idem_key="test:failed", recipient="congan@bacgiang.example", subject="Nhắc hạn",
                            message_id="<x@agreeflow>", status="failed",
                            last_error="550 hộp thư không tồn tại", created_at=clock.now()))
        s.commit()
    with service.reading(site.settings()) as s:
        failed = s.exec(select(OutboxMessage.id)).one()
    auditor = site.client(AUDITOR)
    token = auditor.csrf("/audit/proof")
    before = af.snapshot(but=("security_log", "events"))
    for url, form in ((f"/cases/{ref}/fire", {"trigger": "abandon", "f.abandon_reason": "Kiểm tra"}),
                      ("/new/agreement-province", {"title": "X", "f.proposing_unit": "SNGV", "f.partner": "Y"}),
                      (f"/audit/outbox/{failed}/retry", {})):
        res = auditor.post(url, data={"csrf": token, **form})
        assert res.status_code == 403 and "chỉ được xem" in res.text, (url, res.status_code)
    after = [e for e in service.history(site.settings(), ref) if e["kind"] == "refused"]
    assert [(e["actor"], e["trigger"], e["payload"]["error"]) for e in after] == [(AUDITOR, "abandon",
                                                                                 "ReadOnlyError")]
    logged = refusals(site)
    assert (("refused", AUDITOR, "outbox retry") in logged and
            any(k == "refused" and a == AUDITOR and act == "open agreement-province" for k, a, act in logged)), logged
    assert af.snapshot(but=("security_log", "events")) == before  # nothing but the refusals was written
    assert service.outbox_page(site.settings(COORD))["rows"][0]["status"] == "failed"
    assert 'action="/audit/outbox/' not in auditor.get("/audit/outbox").text  # no button to press either
    assert "550 hộp thư không tồn tại" in auditor.get("/audit/outbox?status=failed").text  # the reason, read
    coordinator = site.client(COORD)
    page = coordinator.get("/audit/outbox").text
    assert f'action="/audit/outbox/{failed}/retry"' in page
    res = coordinator.post(f"/audit/outbox/{failed}/retry", data={"csrf": coordinator.csrf("/audit/outbox")})
    assert res.status_code == 303
    assert service.outbox_page(site.settings(COORD))["rows"][0]["status"] == "queued"


def test_the_integrity_check_is_the_one_post_an_auditor_may_send_and_it_writes_nothing(site, af):
    open_agreement(site.home, site.url)
    auditor = site.client(AUDITOR)
    before = af.snapshot()
    done = run_verify(auditor)
    assert af.snapshot() == before
    assert re.search(r"Đã kiểm tra \d+ sự kiện trong 6 chuỗi: toàn vẹn", visible_text(done))


def test_an_officer_may_not_read_the_inspection_pages_and_is_logged(site):
    c = site.client(OFFICER_CA)
    assert 'href="/audit/log"' not in c.get("/").text
    for url in ("/audit/log", "/audit/compliance", "/audit/export.jsonl"):
        res = c.get(url)
        assert res.status_code == 403, url
    res = c.post("/audit/verify", data={"csrf": c.csrf("/")})
    assert res.status_code == 403
    assert [a for k, who, a in refusals(site) if who == OFFICER_CA] == ["audit log", "report compliance",
                                                                         "audit export", "audit verify"]


# ------------------------------------------------------------------ the log
def test_the_log_pages_by_keyset_through_every_event_and_back(site):
    for n in range(3):
        open_agreement(site.home, site.url, title=f"Thỏa thuận số {n}")
    c = site.client(AUDITOR)
    with service.reading(site.settings()) as s:
        every = [e.id for e in s.exec(select(Event).order_by(Event.at.desc(), Event.id.desc()))]
    assert len(every) > 50
    seen, url, pages = [], "/audit/log", []
    while url:
        html = c.get(url).text
        pages.append(url)
        seen += [int(i) for i in re.findall(r'data-id="(\d+)"', html)]
        older = re.search(r'href="(/audit/log\?[^"]*)"[^>]*rel="next"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == every and len(pages) == -(-len(every) // 50)
    back = c.get(pages[-1]).text
    newer = re.search(r'href="(/audit/log\?[^"]*)"[^>]*rel="prev"', back).group(1).replace("&amp;", "&")
    assert [int(i) for i in re.findall(r'data-id="(\d+)"', c.get(newer).text)] == every[:50]


def test_each_event_shows_both_times_who_from_to_its_hash_and_a_link_to_the_one_before(site, af):
    ref = open_agreement(site.home, site.url)
    with af.raw_connection() as con:
        for statement in DROP[af.dialect]:
            con.execute(statement)
        con.execute(f"UPDATE events SET recorded_at = NULL, recorded_by = '', origin = '' WHERE seq = 1 AND "
                    f"case_id = (SELECT id FROM cases WHERE ref = '{ref}')")
    c = site.client(AUDITOR)
    html = c.get(f"/audit/log?case={ref}").text
    row = re.search(rf'<tr id="ev-{ref}-2".*?</tr>', html, re.S).group(0)
    text = visible_text(row)
    history = service.history(site.settings(), ref)
    assert "04/03/2024 09:00" in text and "ghi nhận" in text  # took effect, recorded
    assert history[1]["hash"][:12] in row and f'title="{history[1]["hash"]}"' in row
    assert f"case={ref}&amp;seq=1#ev-{ref}-1" in row and history[0]["hash"][:12] in row  # the event before
    first = visible_text(re.search(rf'<tr id="ev-{ref}-1".*?</tr>', html, re.S).group(0))
    assert "ghi nhận trước khi có trường này" in first and "đầu chuỗi" in first
    moved = next(e for e in history if e["kind"] == "transition")
    moved_row = visible_text(re.search(rf'<tr id="ev-{ref}-{moved["seq"]}".*?</tr>', html, re.S).group(0))
    assert "Chuẩn bị đề xuất, dự thảo → Sở Ngoại vụ kiểm tra hồ sơ" in moved_row  # the states by label, not id
    attached = re.search(rf'<tr id="ev-{ref}-\d+" data-id="\d+" class="ev-attached.*?</tr>', html, re.S).group(0)
    assert re.search(rf'href="/cases/{ref}/files/[0-9a-f]{{64}}"', attached)


def test_the_log_filters_by_case_person_unit_kind_and_period(site):
    ref = open_agreement(site.home, site.url)
    clock.set_now("2024-04-10T09:00:00+07:00")
    other = open_agreement(site.home, site.url, title="Thỏa thuận tháng Tư", consulted="BNG,STP", send=False)
    c = site.client(AUDITOR)
    cases_of = lambda url: set(re.findall(r'<tr id="ev-([A-Z]+-\d{4}-\d{4})-\d+"', c.get(url).text))  # noqa: E731
    assert cases_of(f"/audit/log?case={ref}") == {ref}
    assert cases_of("/audit/log?start=2024-04-01&end=2024-04-30") == {other}
    assert cases_of("/audit/log?end=2024-03-31") >= {ref} and other not in cases_of("/audit/log?end=2024-03-31")
    kinds = set(re.findall(r'class="ev-(\w+)', c.get("/audit/log?kind=transition").text))
    assert kinds == {"transition"}
    assert ref in cases_of("/audit/log?unit=CA") and other not in cases_of("/audit/log?unit=CA")
    assert cases_of(f"/audit/log?person={COORD}") >= {ref, other}
    assert cases_of(f"/audit/log?person={APPROVER}") == set()
    seq3 = c.get(f"/audit/log?case={ref}&seq=3").text
    assert re.findall(r'<tr id="ev-[^"]+-(\d+)"', seq3)[0] == "3"  # a link to one event opens the page at it
    bad = c.get("/audit/log?case=TTQT-2099-0001&start=31/02/2024")
    assert bad.status_code == 400 and "TTQT-2099-0001" in visible_text(bad.text)


def test_the_log_queries_read_an_index_in_page_order_on_both_databases(site, af):
    """Keyset paging is worth only what the plan does: the events come from an index already in the page's order
    (no full scan of the log, no sort of it), for the first page, a deep one and each filter."""
    from sqlalchemy import event

    from agreeflow.engine.core import db

    ref = open_agreement(site.home, site.url)
    settings = site.settings(AUDITOR)
    first = service.log_page(settings, service.LogFilter(), limit=5)
    filters = [service.LogFilter(), service.LogFilter.of(first["older"]), service.LogFilter(kind="transition"),
               service.LogFilter(kind="transition", before="2024-03-04T02:00:00.000000Z~9"),
               service.LogFilter(person=COORD), service.LogFilter(start="2024-03-01", end="2024-03-31"),
               service.LogFilter(unit="SNGV"),
               service.LogFilter(case=ref), service.LogFilter(case=ref, seq="3")]
    seen: list[tuple[str, object]] = []
    engine = db.get_engine(site.url)

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM events" in statement and "ORDER BY" in statement and "LIMIT" in statement:
            seen.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", keep)
    try:
        for f in filters:
            service.log_page(settings, f, limit=5)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) >= len(filters)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        cur = raw.cursor()
        for statement, params in seen:
            if af.dialect == "sqlite":
                plan = " | ".join(str(r[-1]) for r in cur.execute("EXPLAIN QUERY PLAN " + statement, params))
                assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (statement, plan)
                assert not re.search(r"\bSCAN events\b(?! USING)", plan), (statement, plan)
                assert "TEMP B-TREE FOR ORDER BY" not in plan, (statement, plan)
            else:
                cur.execute("SET enable_seqscan = off")
                cur.execute("SET enable_sort = off")
                cur.execute("EXPLAIN " + statement, params)
                plan = " | ".join(r[0] for r in cur.fetchall())
                assert re.search(r"Index (Only )?Scan (Backward )?using (ix_events_|uq_events_case_seq)", plan), (statement, plan)
                assert "Sort" not in plan, (statement, plan)
        cur.close()


# ------------------------------------------------------------------ the proof
@pytest.mark.slow  # two integrity checks, each in a process of its own
def test_verify_on_the_page_names_the_first_broken_event_with_a_link_to_it(site, af):
    ref = open_agreement(site.home, site.url)
    auditor = site.client(AUDITOR)
    assert "toàn vẹn" in visible_text(run_verify(auditor))
    with af.raw_connection() as con:
        for statement in DROP[af.dialect]:
            con.execute(statement)
        con.execute(f"UPDATE events SET note = 'sửa trộm' WHERE seq = 2 AND case_id = (SELECT id FROM cases "
                    f"WHERE ref = '{ref}')")
    done = run_verify(auditor)
    assert "Nhật ký không toàn vẹn" in visible_text(done)
    assert f'href="/audit/log?case={ref}&amp;seq=2#ev-{ref}-2"' in done
    assert re.search(rf"{ref}</strong> seq 2</a>: ", done)


def test_the_findings_of_the_check_are_in_the_readers_language_vietnamese_first(site, af):
    ref = open_agreement(site.home, site.url)
    auditor = site.client(AUDITOR)
    with af.raw_connection() as con:
        for statement in DROP[af.dialect]:
            con.execute(statement)
        con.execute(f"UPDATE events SET note = 'sửa trộm' WHERE seq = 2 AND case_id = (SELECT id FROM cases "
                    f"WHERE ref = '{ref}')")
    with pytest.raises(TamperingError) as caught:
        service.verify(site.settings(AUDITOR))
    finding = next(b for b in caught.value.fields["broken"] if b["case"] == ref and b["seq"] == 2)
    vi, en = service.render(finding["message"], "vi"), service.render(finding["message"], "en")
    assert vi != en and en == finding["problem"]  # a message of the catalogue, translated
    page = visible_text(run_verify(auditor))
    assert re.search(rf"{ref}\s+seq 2\s*:\s*{re.escape(vi)}", page) and en not in page
    assert '<html lang="en">' in auditor.get("/audit/proof?lang=en").text  # the reader picks English
    page = visible_text(run_verify(auditor))
    assert re.search(rf"{ref}\s+seq 2\s*:\s*{re.escape(en)}", page) and vi not in page


@pytest.mark.slow  # waits 1.8 s on purpose, then a check in a process of its own
def test_the_check_says_how_far_it_is_at_least_every_second_even_before_it_starts_counting(site):
    """The page hears from the check while the engine loads and the checkpoint is read, not only per chunk
    of events: the last report is said again after half a second of silence (web/verify_job.py)."""
    import json
    import subprocess
    import sys

    open_agreement(site.home, site.url)
    settings = site.settings()
    proc = subprocess.Popen([sys.executable, "-m", "agreeflow.web.verify_job"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, encoding="utf-8")
    assert proc.stdin is not None and proc.stdout is not None
    lines: list[tuple[float, dict]] = []
    start = time.monotonic()
    lines.append((time.monotonic() - start, json.loads(proc.stdout.readline())))
    while time.monotonic() - start < 1.8:  # the settings not sent yet: the check cannot begin
        lines.append((time.monotonic() - start, json.loads(proc.stdout.readline())))
    proc.stdin.write(json.dumps({"data_dir": str(settings.data_dir), "db_url": settings.url, "lang": "vi"}) + "\n")
    proc.stdin.close()
    lines += [(time.monotonic() - start, json.loads(line)) for line in proc.stdout]
    assert proc.wait(timeout=60) == 0
    waiting = [msg for at, msg in lines if at < 1.8]
    assert len(waiting) >= 3 and {m["phase"] for m in waiting} == {"starting"}, lines
    gaps = [b - a for (a, _), (b, _) in zip(lines, lines[1:]) if b < 1.8]  # while it waits (load-independent)
    assert max(gaps) < 1.0, gaps
    assert lines[-1][1]["phase"] == "done" and lines[-1][1]["result"]["broken"] == [], lines[-1]
    assert [m for _, m in lines].count(lines[-1][1]) == 1  # the verdict is said once, never again


def test_the_proof_downloads_checkpoints_and_the_export_that_the_standalone_verifier_accepts(site, tmp_path):
    from tests.standalone_verifier import read_csv, read_jsonl
    from tests.standalone_verifier import verify as outside_verify

    open_agreement(site.home, site.url)
    worker.tick(site.settings())  # the sweep writes a checkpoint
    c = site.client(AUDITOR)
    page = c.get("/audit/proof").text
    name = re.search(r'href="/audit/checkpoints/([^"]+\.json)"', page).group(1)
    cp = c.get(f"/audit/checkpoints/{name}")
    assert cp.status_code == 200 and '"root"' in cp.text
    for bad in ("..%2Fagreeflow.db", "nope.json", "%2Fetc%2Fpasswd"):
        assert c.get(f"/audit/checkpoints/{bad}").status_code == 404
    jsonl, csv_file = tmp_path / "log.jsonl", tmp_path / "log.csv"
    jsonl.write_bytes(c.get("/audit/export.jsonl").content)
    csv_file.write_bytes(c.get("/audit/export.csv").content)
    heads = outside_verify(read_jsonl(jsonl))
    assert heads == outside_verify(read_csv(csv_file)) and len(heads) == 6  # five cases and the system chain
    assert "docs/audit.md" in page and "sort_keys=True" in page


# ------------------------------------------------------------------ compliance, annual report
def test_compliance_draws_charts_counts_each_outcome_and_lists_the_rows_behind_a_bar(site):
    ref = open_agreement(site.home, site.url)
    clock.set_now("2024-03-20T09:00:00+07:00")  # the opinions' 13/03 deadline has passed
    worker.tick(site.settings())
    c = site.client(AUDITOR)
    html = c.get("/audit/compliance?start=2024-01-01&end=2024-12-31").text
    images = re.findall(r'<img src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(images) == 3
    import base64
    svg = base64.b64decode(images[0]).decode()
    assert "<svg" in svg and "Quá hạn" in svg and "<script" not in svg and "https://" not in svg.split("-->")[-1]
    link = re.search(r'href="(/audit/compliance\?[^"]*outcome=overdue[^"]*)"', html).group(1).replace("&amp;", "&")
    rows = c.get(link).text
    listed = re.findall(r'<tr class="out-(\w+)"><td><a href="/cases/([^"]+)"', rows)
    kids = {c["id"] for c in service.show_case(site.settings(), ref)["children"]}
    assert listed and {o for o, _ in listed} == {"overdue"} and {r for _, r in listed} <= kids | {ref}
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(c.get("/audit/compliance.xlsx?start=2024-01-01&end=2024-12-31").content))
    assert len(book.sheetnames) == 4 and book.worksheets[0]["A1"].value == "Đơn vị"


def test_the_annual_report_previews_its_sections_and_downloads_as_xlsx_and_docx(site):
    open_agreement(site.home, site.url)
    c = site.client(AUDITOR)
    page = visible_text(c.get("/audit/annual?year=2024").text)
    assert "Báo cáo" in page and "2024" in page and "Lấy ý kiến" in page
    from docx import Document
    from openpyxl import load_workbook
    xlsx = c.get("/audit/annual.xlsx?year=2024")
    assert xlsx.status_code == 200 and "bao-cao-doi-ngoai-2024.xlsx" in xlsx.headers["content-disposition"]
    assert len(load_workbook(io.BytesIO(xlsx.content)).sheetnames) == 4
    docx = Document(io.BytesIO(c.get("/audit/annual.docx?year=2024").content))
    assert any("2024" in p.text for p in docx.paragraphs)


# ------------------------------------------------------------------ the directory and the calendar as they were
def test_the_directory_as_it_was_takes_later_changes_back_and_shows_them(site, tmp_path):
    from agreeflow.engine.core.paths import DATA_DIR

    c = site.client(AUDITOR)
    data = yaml.safe_load((DATA_DIR / "directory-bac-giang-2024.yaml").read_text(encoding="utf-8"))
    person = next(p for p in data["people"] if p["email"] == OFFICER_SNGV)
    old_name, person["name"] = person["name"], "Trần Văn Mới"
    changed = tmp_path / "directory.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    clock.set_now("2024-05-02T09:00:00+07:00")
    service.load_directory(site.settings(ADMIN), changed)
    today = visible_text(c.get("/audit/directory").text)
    assert "Trần Văn Mới" in today and old_name not in today.split("Các lần thay đổi danh bạ")[0]
    before = visible_text(c.get("/audit/directory?on=2024-04-30").text)
    assert old_name in before and "Trần Văn Mới" not in before.split("Các lần thay đổi danh bạ")[0]
    assert f"{OFFICER_SNGV}: name «{old_name}» → «Trần Văn Mới»" in before
    assert "Danh bạ vào ngày 30/04/2024" in before
    assert "Sở Ngoại vụ" in today and "Department of Foreign Affairs" not in today  # a unit's name in the
    english = visible_text(c.get("/audit/directory?lang=en").text)                  # reader's language
    assert "Department of Foreign Affairs" in english and "Sở Ngoại vụ" not in english


def test_working_day_decisions_show_their_source_and_whether_confirmed_and_every_change(site):
    clock.set_now("2024-03-04T09:00:00+07:00")
    service.calendar_set_day(site.settings(ADMIN), "2024-09-03", "off", "Nghỉ bù Quốc khánh",
                             "Thông báo 123/TB-UBND")
    c = site.client(AUDITOR)
    text = visible_text(c.get("/audit/decisions?year=2024").text)
    assert "03/09/2024" in text and "Thông báo 123/TB-UBND" in text and "Nghỉ bù Quốc khánh" in text
    assert "Giỗ Tổ Hùng Vương" in text and "Đã xác nhận" in text
    assert date(2024, 9, 3).strftime("%d/%m/%Y") in text.split("Thay đổi do quản trị viên thực hiện")[1]
