"""User-facing words outside error messages, in Vietnamese (default) and English.

``t(key, lang, **values)``; a missing key falls back to English, then to the key
itself, so a forgotten translation shows up in review rather than crashing.
"""

from __future__ import annotations

from typing import Any

CATALOG: dict[str, dict[str, str]] = {
    "case": {"vi": "Hồ sơ", "en": "Case"},
    "workflow": {"vi": "Quy trình", "en": "Workflow"},
    "version": {"vi": "Phiên bản", "en": "Version"},
    "state": {"vi": "Bước hiện tại", "en": "State"},
    "title": {"vi": "Tiêu đề", "en": "Title"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "fields": {"vi": "Thông tin", "en": "Fields"},
    "documents": {"vi": "Văn bản đính kèm", "en": "Documents"},
    "next_steps": {"vi": "Thao tác bạn có thể thực hiện", "en": "What you can do next"},
    "deadlines": {"vi": "Thời hạn", "en": "Deadlines"},
    "due": {"vi": "Hạn", "en": "Due"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "citation": {"vi": "Căn cứ", "en": "Legal basis"},
    "unconfirmed": {"vi": "CHƯA XÁC NHẬN (cần cán bộ kiểm tra lại căn cứ)", "en": "UNCONFIRMED (to be checked by an officer)"},
    "opened": {"vi": "Đã mở hồ sơ {ref}", "en": "Opened case {ref}"},
    "fired": {"vi": "Hồ sơ {ref}: {from_} → {to}", "en": "Case {ref}: {from_} → {to}"},
    "verify_ok": {"vi": "Nhật ký toàn vẹn: {events} sự kiện trong {cases} chuỗi hồ sơ đã được kiểm tra.",
                  "en": "Log intact: {events} events in {cases} case chains verified."},
    "init_ok": {"vi": "Đã khởi tạo cơ sở dữ liệu {db} (phiên bản lược đồ {rev}).",
                "en": "Database {db} initialised (schema revision {rev})."},
    "directory_ok": {"vi": "Đã nạp danh bạ: {units} đơn vị, {people} người ({units_retired} đơn vị thôi hoạt động, {people_deactivated} người ngừng).",
                     "en": "Directory loaded: {units} units, {people} people ({units_retired} units retired, {people_deactivated} people deactivated)."},
    "lint_ok": {"vi": "Hợp lệ: {ok}", "en": "Valid: {ok}"},
    "lint_unconfirmed": {"vi": "Cảnh báo — mục chưa xác nhận trong {wf}:", "en": "Warning — unconfirmed items in {wf}:"},
    "none": {"vi": "(không có)", "en": "(none)"},
    "seq": {"vi": "STT", "en": "Seq"},
    "at": {"vi": "Thời điểm", "en": "At"},
    "actor": {"vi": "Người thực hiện", "en": "Actor"},
    "kind": {"vi": "Loại", "en": "Kind"},
    "note": {"vi": "Ghi chú", "en": "Note"},
    "open_cases": {"vi": "Hồ sơ đang mở", "en": "Open cases"},
    "left": {"vi": "còn {n} ngày làm việc", "en": "{n} working days left"},
    "overdue_by": {"vi": "quá hạn {n} ngày làm việc", "en": "overdue by {n} working days"},
    "suspended_since": {"vi": "Đang tạm dừng tính hạn từ {since}", "en": "Legal clock suspended since {since}"},
}


def t(key: str, lang: str = "vi", **values: Any) -> str:
    entry = CATALOG.get(key)
    if entry is None:
        return key
    return (entry.get(lang) or entry.get("en") or key).format(**values)
