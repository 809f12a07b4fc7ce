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
    # audit, reports, exports, imports
    "audit_log": {"vi": "Nhật ký ({n} sự kiện)", "en": "Log ({n} events)"},
    "export_ok": {"vi": "Đã xuất {events} sự kiện của {cases} chuỗi hồ sơ ({format}) vào {file}.",
                  "en": "Exported {events} events of {cases} case chains ({format}) to {file}."},
    "checkpoint_ok": {"vi": "Đã lập mốc kiểm tra {file}: gốc Merkle {root} ({cases} chuỗi, {events} sự kiện). "
                            "Gửi tệp này cho cơ quan thanh tra và ghi gốc vào báo cáo năm.",
                      "en": "Checkpoint written to {file}: Merkle root {root} ({cases} chains, {events} events). "
                            "Send the file to the inspectorate and print the root in the annual report."},
    "checkpoint_holds": {"vi": "Mốc kiểm tra {root} (lập lúc {taken_at}): cả {heads} đầu chuỗi vẫn nguyên vẹn.",
                         "en": "Checkpoint {root} (taken {taken_at}): all {heads} chain heads still stand."},
    "ics_ok": {"vi": "Đã xuất {todos} thời hạn đang mở vào {file}.", "en": "Wrote {todos} open deadlines to {file}."},
    "import_ok": {"vi": "Đã mở {n} nhiệm vụ từ {file}", "en": "Opened {n} tasks from {file}"},
    "import_dry": {"vi": "Kiểm tra {file}: {n} nhiệm vụ hợp lệ (chưa ghi gì)",
                   "en": "Checked {file}: {n} tasks are valid (nothing written)"},
    # reports (engine/compliance.py, engine/annual.py)
    "outcome.on_time": {"vi": "Đúng hạn", "en": "On time"},
    "outcome.late": {"vi": "Trễ hạn", "en": "Done late"},
    "outcome.overdue": {"vi": "Quá hạn, chưa xong", "en": "Open, overdue"},
    "outcome.open": {"vi": "Đang thực hiện, còn hạn", "en": "Open, not yet due"},
    "outcome.no_due_date": {"vi": "Chưa có hạn (thường xuyên / chờ sự kiện)", "en": "No due date (ongoing / awaiting an event)"},
    "compliance_by_unit": {"vi": "Chấp hành thời hạn theo đơn vị", "en": "Deadlines kept, by unit"},
    "compliance_by_step": {"vi": "Chấp hành thời hạn theo bước", "en": "Deadlines kept, by step"},
    "compliance_detail": {"vi": "Từng thời hạn", "en": "Every deadline"},
    "total": {"vi": "Tổng", "en": "Total"},
    "step": {"vi": "Bước / nhiệm vụ", "en": "Step / task"},
    "done_on": {"vi": "Ngày hoàn thành", "en": "Done on"},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
    "wd": {"vi": "Ngày làm việc", "en": "Working days"},
    "annual_title": {"vi": "Báo cáo kết quả công tác đối ngoại năm {year}", "en": "Foreign affairs report for {year}"},
    "section.agreements": {"vi": "Thỏa thuận quốc tế", "en": "International agreements"},
    "section.delegations": {"vi": "Đoàn ra, đoàn vào", "en": "Delegations"},
    "section.consultations": {"vi": "Lấy ý kiến", "en": "Consultations"},
    "section.tasks": {"vi": "Nhiệm vụ được giao", "en": "Assigned tasks"},
    "indicator": {"vi": "Chỉ tiêu", "en": "Indicator"},
    "summary": {"vi": "Tổng hợp", "en": "Summary"},
    "case_list": {"vi": "Danh sách hồ sơ", "en": "Cases behind the numbers"},
    "level": {"vi": "Nhân danh", "en": "Signed in the name of"},
    "count": {"vi": "Số lượng", "en": "Count"},
    "measure.signed": {"vi": "Ký kết trong năm", "en": "Signed during the year"},
    "measure.in_force": {"vi": "Còn hiệu lực đến 31/12", "en": "In force on 31 December"},
    "measure.amended": {"vi": "Sửa đổi, bổ sung", "en": "Amended"},
    "measure.expired": {"vi": "Hết hiệu lực", "en": "Expired"},
    "measure.terminated": {"vi": "Chấm dứt", "en": "Terminated"},
    "level.province": {"vi": "Nhân danh tỉnh", "en": "In the name of the province"},
    "level.local": {"vi": "Nhân danh cơ quan, địa phương", "en": "In the name of agencies and localities"},
    "direction.outbound": {"vi": "Đoàn ra được phê duyệt", "en": "Outbound delegations approved"},
    "direction.inbound": {"vi": "Đoàn vào được phê duyệt", "en": "Inbound delegations approved"},
    "unapproved": {"vi": "Đoàn hoạt động không xin phép", "en": "Delegations without the required permission"},
    "direction": {"vi": "Loại đoàn", "en": "Direction"},
    "country": {"vi": "Quốc gia", "en": "Country"},
    "purpose": {"vi": "Mục đích", "en": "Purpose"},
    "partner": {"vi": "Đối tác", "en": "Partner"},
    "date": {"vi": "Ngày", "en": "Date"},
    "rounds_opened": {"vi": "Đợt lấy ý kiến mở trong năm", "en": "Consultation rounds opened"},
    "rounds_closed": {"vi": "Đợt lấy ý kiến kết thúc trong năm", "en": "Consultation rounds closed"},
    "answer": {"vi": "Ý kiến trả lời: {state}", "en": "Answers: {state}"},
}


def t(key: str, lang: str = "vi", **values: Any) -> str:
    entry = CATALOG.get(key)
    if entry is None:
        return key
    return (entry.get(lang) or entry.get("en") or key).format(**values)
