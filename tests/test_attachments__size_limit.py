"""Attachments are checked before anything is stored: the size limit (AGREEFLOW_MAX_ATTACHMENT_MB, default
20 MB) is exit 2 naming the file, its size and the limit; a refused person stores nothing; the database and
the attachment folder are unchanged by either."""

from __future__ import annotations

from pathlib import Path

import pytest

from agreeflow.engine.core.settings import MB, Settings
from tests.conftest import AUDITOR, COORD

OFFICER_LNG = "chuyenvien.lng@bacgiang.example"
T0 = "2024-06-21T09:00"


def open_task(af) -> str:
    return af("case", "open", "task", "--title", "Kế hoạch triển khai thỏa thuận", "--field", "lead_unit=LNG",
              "--field", "due_phrase=trong Quý III năm 2024", "--field", "assigned_on=2024-06-21",
              now=T0, ok=True).stdout.strip()


def blob_files(af) -> list[Path]:
    folder = af.home / "files"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def sized(tmp_path: Path, name: str, size: int) -> Path:
    path = tmp_path / name
    with path.open("wb") as fh:
        fh.truncate(size)  # sparse: a large file costs no disk
    return path


def report(af, ref: str, path: Path, user: str = OFFICER_LNG, lang: str | None = None):
    return af("case", "fire", ref, "report", "--field", "result_document=Kế hoạch 245/KH-UBND",
              "--attach", f"result={path}", user=user, now="2024-07-01T09:00", lang=lang)


def test_a_file_over_the_limit_is_exit_2_naming_file_size_and_limit_and_nothing_changes(af, tmp_path):
    af.env["AGREEFLOW_MAX_ATTACHMENT_MB"] = "1"
    ref = open_task(af)
    big = sized(tmp_path, "ke-hoach-scan.pdf", MB + 1)
    before = af.snapshot()
    result = report(af, ref, big)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Tệp '{big}' có dung lượng 1 MB (1.048.577 byte), vượt giới hạn 1 MB (1.048.576 byte) cho một tệp đính kèm; chưa lưu gì. "
        "Hãy gửi tệp nhỏ hơn (nén hoặc tách tệp), hoặc đề nghị quản trị viên nâng AGREEFLOW_MAX_ATTACHMENT_MB.")
    assert af.snapshot() == before
    assert blob_files(af) == []
    english = report(af, ref, sized(tmp_path, "scan-2.pdf", 3 * MB // 2), lang="en")
    assert english.exit_code == 2
    assert "is 1.5 MB (1,572,864 bytes), over the limit of 1 MB (1,048,576 bytes) for an attachment; nothing was stored" in english.stderr
    assert af.snapshot() == before and blob_files(af) == []


def test_a_file_of_exactly_the_limit_is_stored_once_the_step_is_accepted(af, tmp_path):
    af.env["AGREEFLOW_MAX_ATTACHMENT_MB"] = "0.5"
    ref = open_task(af)
    assert report(af, ref, sized(tmp_path, "ke-hoach.pdf", MB // 2)).exit_code == 0
    docs = af.json("case", "show", ref)["documents"]["result"]
    assert [(d["name"], d["size"]) for d in docs] == [("ke-hoach.pdf", MB // 2)]
    assert [p.name for p in blob_files(af)] == [docs[0]["sha256"]]


def test_a_refused_person_stores_nothing_even_under_the_limit(af, tmp_path):
    ref = open_task(af)
    small = tmp_path / "bao-cao.pdf"
    small.write_bytes(b"%PDF-1.4 bao cao")
    before = af.snapshot(but=("events",))
    refused = report(af, ref, small, user=AUDITOR)
    assert refused.exit_code == 3
    assert blob_files(af) == []
    assert af.snapshot(but=("events",)) == before  # the refusal is logged on the case, nothing else
    assert af.json("case", "history", ref)[-1]["kind"] == "refused"
    unknown = report(af, ref, small, user="nobody@evil.example")
    assert unknown.exit_code == 2 and blob_files(af) == []


@pytest.mark.parametrize("value", ["garbage", "0", "-5", "nan", "inf", "1e400"])
def test_a_bad_limit_in_the_environment_is_exit_2_before_any_work(af, tmp_path, value):
    ref = open_task(af)
    af.env["AGREEFLOW_MAX_ATTACHMENT_MB"] = value
    small = tmp_path / "a.pdf"
    small.write_bytes(b"x")
    before = af.snapshot()
    result = report(af, ref, small, lang="en")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"Option AGREEFLOW_MAX_ATTACHMENT_MB: '{value}' is not valid. "
                                     "Give a number of MB above 0, e.g. 20 or 2.5 (default 20).")
    assert af.snapshot() == before and blob_files(af) == []


def test_the_default_limit_is_20_mb(monkeypatch):
    monkeypatch.delenv("AGREEFLOW_MAX_ATTACHMENT_MB", raising=False)
    assert Settings.from_env().max_attachment_bytes == 20 * MB
    monkeypatch.setenv("AGREEFLOW_MAX_ATTACHMENT_MB", "2,5")  # a Vietnamese decimal comma is read too
    assert Settings.from_env().max_attachment_bytes == 5 * MB // 2


def test_a_folder_given_as_attachment_is_exit_2(af, tmp_path):
    ref = open_task(af)
    result = report(af, ref, tmp_path, lang="en")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"File '{tmp_path}': it is a folder, not a file"
    assert blob_files(af) == []


def test_the_coordinator_can_still_attach_in_the_demo_flow(af, tmp_path):
    ref = open_task(af)
    doc = tmp_path / "huong-dan.txt"
    doc.write_text("Hướng dẫn số 15/HD-SNgV", encoding="utf-8")
    assert report(af, ref, doc, user=COORD).exit_code == 0
