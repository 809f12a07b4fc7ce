"""Letters and reports of the procedure in Decree 30/2020/NĐ-CP form, written from the demo's cases.

The demo's database (engine.service.demo.run) holds the Gifu MOU (consulted,
approved by the vice-chairman under the Chairman's delegation, signed,
reported) and the Xay Som Boun agreement of 2021, which the fixture then
carries through a termination (proposal, opinions, the Chairman's decision).
Every file is reopened with python-docx and read as an official would.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from docx import Document

from agreeflow.engine.core import clock
from agreeflow.engine.core.paths import LETTER_TEMPLATES_DIR
from agreeflow.engine.reports import decree30
from agreeflow.engine.service import demo
from tests.conftest import ADMIN, AUDITOR, COORD, OFFICER_CA, Agreeflow

GIFU, XAYSOMBOUN, TASK = "TTQT-2024-0001", "TTQT-2021-0001", "NV-2024-0001"
NOW = "2025-01-10T10:00:00+07:00"
DATED = "Bắc Giang, ngày 10 tháng 01 năm 2025"
NATION = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
CHAIRMAN, VICE = "chutich@bacgiang.example", "phochutich1@bacgiang.example"


@pytest.fixture(scope="module")
def demo_af(tmp_path_factory: pytest.TempPathFactory) -> Agreeflow:
    """The demo's database, with the 2021 agreement's termination decided on 06/01/2025."""
    home = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AGREEFLOW_USER", "AGREEFLOW_NOW", "AGREEFLOW_DB", "AGREEFLOW_SMTP", "AGREEFLOW_WORKFLOWS",
                    "AGREEFLOW_LANG", "AGREEFLOW_LETTER_TEMPLATES"):
            mp.delenv(var, raising=False)
        demo.run(data_dir=home)
        clock.set_now(None)
        af = Agreeflow(home=home, url=f"sqlite:///{home / 'agreeflow.db'}")
        af("case", "fire", XAYSOMBOUN, "propose_termination", "--field", "change_kind=terminate", "--field",
           "change_summary=Hai bên thỏa thuận chấm dứt trước thời hạn để ký thỏa thuận mới giai đoạn 2026–2030",
           user=COORD, now="2025-01-02T09:00:00+07:00", ok=True)
        af("case", "fire", XAYSOMBOUN, "send_for_opinions", "--field", "consulted_units=BNG,CA",
           user=COORD, now="2025-01-02T10:00:00+07:00", ok=True)
        for child in af.json("case", "show", XAYSOMBOUN, now="2025-01-03T09:00:00+07:00")["children"]:
            if child["state"] == "awaiting":
                af("case", "fire", child["id"], "agree", user=COORD, now="2025-01-03T09:00:00+07:00", ok=True)
        af("case", "fire", XAYSOMBOUN, "submit_to_chairman", "--field", "synthesis_doc=Báo cáo 05/BC-SNgV",
           user=COORD, now="2025-01-06T09:00:00+07:00", ok=True)
        af("case", "fire", XAYSOMBOUN, "approve_termination", "--field", "decision_no=Quyết định 12/QĐ-UBND",
           "--field", "end_effective_on=2025-01-06", user=CHAIRMAN, now="2025-01-06T15:00:00+07:00", ok=True)
        yield af


def letter(af: Agreeflow, tmp_path: Path, ref: str, kind: str, *args: str, user: str = COORD):
    out = tmp_path / f"{ref}-{kind}.docx"
    res = af("letter", ref, kind, "--out", str(out), *args, user=user, now=NOW)
    return res, out


def text_of(doc) -> str:
    """Every paragraph of the document, body and tables, one a line."""
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                lines += [p.text for p in cell.paragraphs]
    return "\n".join(lines)


def check_decree30_form(doc, issuer: list[str], symbol: str, number: str | None = None) -> dict:
    """A4, the decree's margins, heading, number line, place and date, Nơi nhận and signature; returns parts."""
    sec = doc.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)  # A4 (Word keeps twips)
    assert 20 <= round(sec.top_margin.mm) <= 25 and 20 <= round(sec.bottom_margin.mm) <= 25
    assert 30 <= round(sec.left_margin.mm) <= 35 and 15 <= round(sec.right_margin.mm) <= 20
    assert doc.styles["Normal"].font.name == "Times New Roman"
    assert sec.different_first_page_header_footer and "PAGE" in sec.header._element.xml  # numbers from page 2
    head = doc.tables[0]
    assert head.cell(0, 0).text.splitlines() == issuer
    assert head.cell(0, 1).text.splitlines() == NATION
    assert all(r.bold for p in head.cell(0, 1).paragraphs for r in p.runs)
    number_line = head.cell(1, 0).paragraphs[0].text
    assert re.fullmatch(rf"Số: ({re.escape(number) if number else ' {8}'})/{re.escape(symbol)}", number_line), \
        number_line
    assert head.cell(1, 1).text == DATED and head.cell(1, 1).paragraphs[0].runs[0].italic
    sign = doc.tables[-1]
    left, right = sign.rows[0].cells
    label = left.paragraphs[0]
    assert label.text == "Nơi nhận:" and label.runs[0].bold and label.runs[0].italic
    copies = [p.text for p in left.paragraphs[1:]]
    assert copies[0] == "- Như trên;" and copies[-1].startswith("- Lưu: VT, ") and copies[-1].endswith(".")
    assert all(c.startswith("- ") and c.endswith(";") for c in copies[:-1])
    signed = [p.text for p in right.paragraphs if p.text]
    assert all(r.bold for p in right.paragraphs for r in p.runs)
    text = text_of(doc)
    assert unicodedata.is_normalized("NFC", text)
    return {"copies": copies, "signature": signed, "text": text, "summary": head.cell(1, 0).text}


def test_the_request_for_opinions_goes_to_mofa_and_the_bodies_consulted(demo_af, tmp_path):
    res, out = letter(demo_af, tmp_path, GIFU, "opinions_request")
    assert res.exit_code == 0, res.stderr
    assert f"vào tệp {out}" in res.stdout
    parts = check_decree30_form(Document(str(out)), ["UBND TỈNH BẮC GIANG", "SỞ NGOẠI VỤ"], "SNgV-HTQT")
    assert parts["signature"] == ["GIÁM ĐỐC", "Lê Minh Tuấn"]
    assert "V/v đề nghị cho ý kiến về việc ký kết Bản ghi nhớ hợp tác hữu nghị giữa UBND tỉnh Bắc Giang và tỉnh " \
           "Gifu (Nhật Bản)" in parts["summary"]  # a công văn: its summary under the number
    text = parts["text"]
    assert "Kính gửi:\t- Bộ Ngoại giao;" in text and "- Sở Văn hóa, Thể thao và Du lịch." in text
    assert "trân trọng đề nghị Quý Bộ, Quý cơ quan cho ý kiến bằng văn bản" in text  # a ministry and peers
    assert "07 ngày làm việc kể từ ngày nhận được hồ sơ đầy đủ" in text and "chậm nhất ngày 24/07/2024" in text
    assert "Đầu mối liên hệ: Bà Nguyễn Thị Lan" in text and "0204 000 0210" in text
    assert "khẩn trương" not in text


def test_the_submission_to_the_chairman_reports_each_opinion(demo_af, tmp_path):
    res, out = letter(demo_af, tmp_path, GIFU, "submission", "--number", "5")
    assert res.exit_code == 0, res.stderr
    doc = Document(str(out))
    parts = check_decree30_form(doc, ["UBND TỈNH BẮC GIANG", "SỞ NGOẠI VỤ"], "TTr-SNgV", number="05")
    body = [p.text for p in doc.paragraphs]
    assert body[0] == "TỜ TRÌNH" and body[1].startswith("Về việc ký kết Bản ghi nhớ hợp tác hữu nghị")
    assert "Kính gửi: Chủ tịch Ủy ban nhân dân tỉnh Bắc Giang." in body
    assert "- Bộ Ngoại giao: nhất trí (văn bản trả lời ngày 29/07/2024)." in body
    assert "Sở Ngoại vụ kính trình Chủ tịch Ủy ban nhân dân tỉnh xem xét, quyết định./." in body
    assert parts["copies"] == ["- Như trên;", "- Lưu: VT, HTQT."] and parts["signature"] == ["GIÁM ĐỐC", "Lê Minh Tuấn"]


def test_the_report_to_the_prime_minister_is_signed_for_the_chairman_by_a_vice_chairman(demo_af, tmp_path):
    res, out = letter(demo_af, tmp_path, GIFU, "signing_report", "--signer", VICE, "--number", "7")
    assert res.exit_code == 0, res.stderr
    parts = check_decree30_form(Document(str(out)), ["ỦY BAN NHÂN DÂN", "TỈNH BẮC GIANG"], "BC-UBND", number="07")
    assert parts["signature"] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Hoàng Minh Đức"]
    assert "- Bộ Ngoại giao (kèm bản sao Thỏa thuận);" in parts["copies"]  # the copy to MOFA (art. 19(5))
    text = parts["text"]
    assert "Kính gửi: Thủ tướng Chính phủ." in text and "BÁO CÁO" in text
    assert "- Ngày ký: ngày 13 tháng 11 năm 2024, ký trực tiếp." in text
    assert "Quyết định 845/QĐ-UBND ngày 08/08/2024" in text
    res, out = letter(demo_af, tmp_path, GIFU, "signing_report")  # by default the Chairman signs himself
    assert check_decree30_form(Document(str(out)), ["ỦY BAN NHÂN DÂN", "TỈNH BẮC GIANG"], "BC-UBND")["signature"] \
        == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Phạm Quốc Bảo"]


def test_the_notice_of_termination_goes_to_mofa(demo_af, tmp_path):
    res, out = letter(demo_af, tmp_path, XAYSOMBOUN, "termination_notice")
    assert res.exit_code == 0, res.stderr
    parts = check_decree30_form(Document(str(out)), ["ỦY BAN NHÂN DÂN", "TỈNH BẮC GIANG"], "UBND-NgV")
    assert parts["summary"].endswith("V/v thông báo việc chấm dứt hiệu lực Thỏa thuận hợp tác giữa UBND tỉnh Bắc "
                                     "Giang và Chính quyền tỉnh Xay Som Boun (Lào) giai đoạn 2021–2025")
    text = parts["text"]
    assert "Kính gửi: Bộ Ngoại giao." in text and "Thực hiện Điều 34 Luật Thỏa thuận quốc tế" in text
    assert "ký ngày 09 tháng 8 năm 2021" in text and "kể từ ngày 06 tháng 01 năm 2025" in text
    assert "theo Quyết định 12/QĐ-UBND của Chủ tịch Ủy ban nhân dân tỉnh" in text
    assert parts["signature"] == ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Phạm Quốc Bảo"]
    res, out = letter(demo_af, tmp_path, XAYSOMBOUN, "submission")  # the tờ trình of the termination
    assert res.exit_code == 0, res.stderr
    assert "Về việc chấm dứt hiệu lực Thỏa thuận hợp tác" in text_of(Document(str(out)))


def test_the_annual_report_has_the_same_form(demo_af, tmp_path):
    out = tmp_path / "bao-cao-2024.docx"
    demo_af("report", "annual", "--year", "2024", "--docx", str(out), now=NOW, ok=True)
    doc = Document(str(out))
    parts = check_decree30_form(doc, ["UBND TỈNH BẮC GIANG", "SỞ NGOẠI VỤ"], "BC-SNgV")
    assert parts["signature"] == ["GIÁM ĐỐC", "Lê Minh Tuấn"]
    body = [p.text for p in doc.paragraphs]
    assert body[:2] == ["BÁO CÁO", "Kết quả công tác đối ngoại năm 2024"]
    assert "Kính gửi: Ủy ban nhân dân tỉnh Bắc Giang." in body and "I. THỎA THUẬN QUỐC TẾ" in body
    assert body.index("I. THỎA THUẬN QUỐC TẾ") < body.index("Sở Ngoại vụ kính báo cáo Ủy ban nhân dân tỉnh./.")
    assert any(t.cell(0, 0).text == "Chỉ tiêu" for t in doc.tables[1:-1])  # the numbers, between heading and signature


def test_an_attached_letter_is_among_the_case_documents_logged_and_kept(demo_af, tmp_path):
    before = demo_af.json("case", "show", GIFU, now=NOW)["lock_version"]
    res, out = letter(demo_af, tmp_path, GIFU, "signing_report", "--attach", "--number", "302")
    assert res.exit_code == 0 and "đính kèm vào hồ sơ" in res.stdout, res.stderr
    shown = demo_af.json("case", "show", GIFU, now=NOW)
    doc = shown["documents"]["signing_report"][-1]
    assert doc["name"] == out.name and doc["size"] == out.stat().st_size and shown["lock_version"] == before + 1
    kept = demo_af.home / "files" / doc["sha256"][:2] / doc["sha256"]
    assert kept.read_bytes() == out.read_bytes()
    event = demo_af.json("case", "history", GIFU, now=NOW)[-1]
    assert event["kind"] == "attached" and event["actor"] == COORD and event["payload"]["sha256"] == doc["sha256"]
    assert event["payload"]["number"] == 302
    verified = demo_af.json("audit", "verify", "--case", GIFU, now=NOW)  # the replay gives the documents back
    assert verified["broken"] == []


def test_who_may_write_letters(demo_af, tmp_path):
    res, out = letter(demo_af, tmp_path, GIFU, "submission", user=ADMIN)
    assert res.exit_code == 0, res.stderr
    out.unlink()
    for who in (OFFICER_CA, AUDITOR):
        res, out = letter(demo_af, tmp_path, GIFU, "submission", "--attach", user=who)
        assert res.exit_code == 3, res.stderr
        assert not out.exists()
        refused = demo_af.json("case", "history", GIFU, now=NOW)[-1]
        assert refused["kind"] == "refused" and refused["actor"] == who


def test_a_bad_kind_case_signer_or_path_exits_2_and_writes_nothing(demo_af, tmp_path):
    before = demo_af.snapshot()
    res, _ = letter(demo_af, tmp_path, GIFU, "submision")
    assert res.exit_code == 2
    assert "Không có loại văn bản 'submision'. Có phải 'submission'?" in res.stderr
    for kind in ("opinions_request", "submission", "signing_report", "termination_notice"):
        assert f"  {kind} — " in res.stderr
    assert "annual_report" not in res.stderr.split("(Báo cáo năm")[0]
    res = demo_af("letter", GIFU, "nope", "--lang", "en", now=NOW)
    assert res.exit_code == 2 and "There is no letter kind 'nope'." in res.stderr
    assert "  submission — Submission to the Chairman of the Provincial People's Committee" in res.stderr
    res, _ = letter(demo_af, tmp_path, "TTQT-2024-9999", "submission")
    assert res.exit_code == 2 and "Không tìm thấy hồ sơ 'TTQT-2024-9999'" in res.stderr
    res, _ = letter(demo_af, tmp_path, TASK, "submission")
    assert res.exit_code == 2 and "chỉ dùng cho hồ sơ quy trình agreement-province" in res.stderr
    res, _ = letter(demo_af, tmp_path, GIFU, "termination_notice")
    assert res.exit_code == 2 and "change_kind" in res.stderr  # the field's values in words, with the code to type
    assert "là một trong: Chấm dứt (terminate), Rút khỏi (withdraw), Tạm đình chỉ (suspend);" in res.stderr
    res, _ = letter(demo_af, tmp_path, GIFU, "signing_report", "--signer", "chuyenvien.sngv@bacgiang.example")
    assert res.exit_code == 2 and "Người có thể ký: Phạm Quốc Bảo <chutich@bacgiang.example>" in res.stderr
    res = demo_af("letter", GIFU, "submission", "--out", str(tmp_path / "no-such-folder" / "x.docx"), now=NOW)
    assert res.exit_code == 2 and "no-such-folder" in res.stderr
    res = demo_af("letter", GIFU, "submission", "--json", "--lang", "en", "--out", str(tmp_path / "nope" / "x.docx"),
                  now=NOW)
    assert res.exit_code == 2 and '"OutputPathError"' in res.stdout
    assert demo_af.snapshot() == before
    assert not list(tmp_path.glob("*.docx"))


def test_a_case_without_the_facts_of_a_letter_is_told_which(af, tmp_path):
    ref = af.json("case", "open", "agreement-province", "--title", "Bản ghi nhớ với tỉnh Chiba", "--field",
                  "proposing_unit=SNGV", "--field", "partner=Chính quyền tỉnh Chiba", now="2024-07-01T09:00")["id"]
    out = tmp_path / "r.docx"
    res = af("letter", ref, "signing_report", "--out", str(out), now="2024-07-01T10:00")
    assert res.exit_code == 2 and "signed_on (Ngày ký)" in res.stderr and f"agreeflow case show {ref}" in res.stderr
    assert not out.exists()
    # Before the bodies to consult are chosen, the request is addressed to MOFA, whom the Law names.
    af("letter", ref, "opinions_request", "--out", str(out), now="2024-07-01T10:00", ok=True)
    assert "Kính gửi: Bộ Ngoại giao." in text_of(Document(str(out)))


def test_an_operators_template_replaces_the_shipped_one_and_a_broken_one_is_named(demo_af, tmp_path, monkeypatch):
    own = tmp_path / "mau-van-ban"
    (own / "vi").mkdir(parents=True)
    shipped = (LETTER_TEMPLATES_DIR / "vi" / "submission.txt").read_text(encoding="utf-8")
    (own / "vi" / "submission.txt").write_text(
        shipped.replace("kính trình Chủ tịch Ủy ban nhân dân tỉnh xem xét, quyết định./.",
                        "kính trình Chủ tịch Ủy ban nhân dân tỉnh xem xét, phê duyệt./."), encoding="utf-8")
    monkeypatch.setenv("AGREEFLOW_LETTER_TEMPLATES", str(own))
    res, out = letter(demo_af, tmp_path, GIFU, "submission")
    assert res.exit_code == 0, res.stderr
    assert "Sở Ngoại vụ kính trình Chủ tịch Ủy ban nhân dân tỉnh xem xét, phê duyệt./." in text_of(Document(str(out)))
    res, out = letter(demo_af, tmp_path, GIFU, "signing_report")  # the others stay the shipped ones
    assert res.exit_code == 0, res.stderr
    (own / "vi" / "submission.txt").write_text(shipped.replace("{{ f.partner }}", "{{ f.partnr }}", 1),
                                               encoding="utf-8")
    res, _ = letter(demo_af, tmp_path, GIFU, "submission")
    assert res.exit_code == 2
    broken_line = next(n for n, line in enumerate(shipped.splitlines(), 1) if "{{ f.partner }}" in line)
    assert f"{own / 'vi' / 'submission.txt'}" in res.stderr and f"dòng {broken_line}:" in res.stderr
    assert "partnr" in res.stderr
    res, _ = letter(demo_af, tmp_path, GIFU, "submission", "--lang", "en")
    assert res.exit_code == 2 and f"line {broken_line}:" in res.stderr and "partnr" in res.stderr
    (own / "vi" / "submission.txt").write_text(shipped.replace("symbol: TTr-SNgV", "symbl: TTr-SNgV"),
                                               encoding="utf-8")
    res, _ = letter(demo_af, tmp_path, GIFU, "submission")
    assert res.exit_code == 2 and "khóa lạ 'symbl'" in res.stderr and "thiếu 'symbol'" in res.stderr
    res, _ = letter(demo_af, tmp_path, GIFU, "submission", "--lang", "en")
    assert res.exit_code == 2 and "unknown key 'symbl'" in res.stderr and "'symbol' is missing" in res.stderr


def test_dates_numbers_and_lists_follow_the_decree():
    from datetime import date
    assert decree30.place_and_date("Bắc Giang", date(2025, 1, 5), "vi") == "Bắc Giang, ngày 05 tháng 01 năm 2025"
    assert decree30.place_and_date("Bắc Giang", date(2024, 2, 29), "vi") == "Bắc Giang, ngày 29 tháng 02 năm 2024"
    assert decree30.place_and_date("Bắc Giang", date(2024, 8, 5), "vi") == "Bắc Giang, ngày 05 tháng 8 năm 2024"
    assert decree30.place_and_date("", date(2024, 12, 31), "vi") == "ngày 31 tháng 12 năm 2024"
    assert decree30.number_line(5, "TTr-SNgV", "vi") == "Số: 05/TTr-SNgV"
    assert decree30.number_line(123, "SNgV-HTQT", "vi") == "Số: 123/SNgV-HTQT"
    assert decree30.listed(["Như trên", "Bộ Ngoại giao;", "- Lưu: VT, HTQT."]) == \
        ["- Như trên;", "- Bộ Ngoại giao;", "- Lưu: VT, HTQT."]


def test_the_shipped_templates_are_packaged():
    import fnmatch
    import tomllib
    root = LETTER_TEMPLATES_DIR.parent.parent
    # the checkout's pyproject (tests/..), not the installed copy: CI installs without -e
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["agreeflow.engine"]
    shipped = [p.relative_to(root).as_posix() for p in LETTER_TEMPLATES_DIR.rglob("*.txt")]
    assert {"templates/letters/vi/submission.txt", "templates/letters/en/annual_report.txt"} <= set(shipped)
    assert [p for p in shipped if not any(fnmatch.fnmatch(p, g) for g in globs)] == []
