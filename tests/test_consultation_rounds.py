"""Consultation rounds (seed 001) through the CLI: one child case per addressee, replies, silence at the
deadline recorded with the rule that made it so, the summary, and a follow-up round to the non-responders."""

from __future__ import annotations

from sqlmodel import select

from agreeflow.engine import service
from agreeflow.engine.core import clock
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.core.store import Case
from agreeflow.engine.procedures import fanout
from tests.conftest import APPROVER, COORD
from tests.test_audit_verify__tables_and_truncation import sql

DISTRICTS = ["TPBG", "VY", "YD", "LG", "LN", "LNG", "SD", "YT", "TY", "HH"]
SILENT = ["VY", "YD", "LG", "SD"]            # Việt Yên, Yên Dũng, Lạng Giang, Sơn Động never answered
SENT = "2021-03-29T09:00:00+07:00"           # letter 169/SNgV-HTQT
WORDING = ("Sau thời gian trên, nếu các huyện, thành phố không có ý kiến phản hồi được coi như nhất trí "
           "với các nội dung Sở xin ý kiến")


def officer(unit: str) -> str:
    return f"chuyenvien.{unit.lower()}@bacgiang.example"


def open_round(af, units=DISTRICTS, on_silence="deemed_agreed", reply_by="7 ngày làm việc", now=SENT) -> str:
    ref = af("case", "open", "consultation", "--title", "Xin ý kiến dự thảo Đề án hợp tác với địa phương nước ngoài",
             "--field", "lead_unit=SNGV", "--field", "document=Dự thảo Đề án giai đoạn 2021–2025",
             "--field", f"units={','.join(units)}", "--field", "sent_on=2021-03-29",
             "--field", f"reply_by={reply_by}", "--field", f"on_silence={on_silence}",
             "--field", "letter_no=169/SNgV-HTQT", "--field", f"silence_rule={WORDING}", now=now, ok=True).stdout.strip()
    af("case", "fire", ref, "send", now=now, ok=True)
    return ref


def children(af, ref: str) -> dict[str, str]:
    return {c["unit"]: c["id"] for c in af.json("case", "show", ref)["children"]}


def test_seed_001_round_1_six_agree_four_silent_are_deemed_agreed_and_round_2_asks_only_them(af):
    ref = open_round(af)
    kids = children(af, ref)
    assert list(kids) == DISTRICTS
    reply = af.json("case", "show", kids["SD"])
    assert reply["parent"] == ref and reply["state"] == "awaiting"
    assert reply["deadlines"][0]["due_date"] == "2021-04-07" and reply["deadlines"][0]["unit"] == "SD"
    for unit in DISTRICTS:
        if unit not in SILENT:
            af("case", "fire", kids[unit], "agree", "--field", "reply_no=12/UBND", user=officer(unit),
               now="2021-04-02T10:00:00+07:00", ok=True)

    early = af.json("consultation", "close-round", ref, now="2021-04-07T16:00:00+07:00")
    assert {r["unit"]: r["result"] for r in early["results"] if r["unit"] in SILENT} == {u: "waiting" for u in SILENT}
    assert af.json("case", "show", ref)["state"] == "open"

    af("consultation", "close-round", ref, now="2021-04-08T08:30:00+07:00", ok=True)
    summary = af.json("consultation", "summary", ref, now="2021-04-08T09:00:00+07:00")
    status = {r["unit"]: r["status"] for r in summary["replies"]}
    assert status == {u: "deemed_agreed" if u in SILENT else "agreed" for u in DISTRICTS}
    assert summary["counts"] == {"agreed": 6, "deemed_agreed": 4}
    deemed = next(r for r in summary["replies"] if r["unit"] == "SD")
    assert deemed["rule"]["rule"] == "on_silence=deemed_agreed" and deemed["rule"]["wording"] == WORDING
    assert deemed["rule"]["deadline"] == "2021-04-07" and not deemed["answered"]
    assert summary["non_responders"] == SILENT
    assert af.json("case", "show", ref)["state"] == "closed"  # fan-in: the round closed itself
    history = af.json("case", "history", kids["SD"])
    assert [e["kind"] for e in history if e["kind"] in ("transition", "deemed_agreed")] == ["transition", "deemed_agreed"]
    assert next(e for e in history if e["kind"] == "transition")["actor"] == "system"

    second = af.json("consultation", "follow-up", ref, "--reply-by", "trước ngày 09/8/2021", "--sent-on",
                     "2021-07-30", "--send", now="2021-07-30T09:00:00+07:00")
    assert second["fields"]["units"] == SILENT
    assert second["fields"]["previous_round"] == ref and second["fields"]["round"] == 2
    assert second["state"] == "open" and [c["unit"] for c in second["children"]] == SILENT
    due = af.json("case", "show", second["children"][0]["id"])["deadlines"][0]
    assert due["due_date"] == "2021-08-08"  # "trước ngày 09/8/2021": the end of the day before
    af("audit", "verify", ok=True)
    # The log says who was deemed to agree: reopening one of those replies in the table is tampering.
    sql(af, "UPDATE deadlines SET status = 'open' WHERE status = 'deemed_agreed'")
    res = af("audit", "verify", "--lang", "en")
    assert res.exit_code == 4 and "status is 'open' but the log says 'deemed_agreed'" in res.stderr


def test_summary_tells_who_commented_what_and_who_is_overdue(af, tmp_path):
    ref = open_round(af, units=["TPBG", "LG", "YD"], on_silence="overdue")
    kids = children(af, ref)
    letter = tmp_path / "gop-y.pdf"
    letter.write_bytes(b"%PDF comments")
    af("case", "fire", kids["TPBG"], "comment", "--field", "comment=Bổ sung nội dung hợp tác nông nghiệp",
       "--attach", f"reply={letter}", user=officer("TPBG"), now="2021-04-01T09:00:00+07:00", ok=True)
    af("case", "fire", kids["LG"], "agree", user=officer("LG"), now="2021-04-01T09:00:00+07:00", ok=True)
    af("consultation", "close-round", ref, now="2021-04-09T09:00:00+07:00", ok=True)
    summary = af.json("consultation", "summary", ref, now="2021-04-09T09:00:00+07:00", lang="en")
    by_unit = {r["unit"]: r for r in summary["replies"]}
    assert by_unit["TPBG"]["status"] == "commented" and by_unit["TPBG"]["documents"] == ["gop-y.pdf"]
    assert by_unit["TPBG"]["comment"] == "Bổ sung nội dung hợp tác nông nghiệp"
    assert by_unit["YD"]["status"] == "overdue" and by_unit["YD"]["rule"] is None  # silence is not consent
    assert af.json("case", "show", kids["YD"])["state"] == "awaiting"
    assert af.json("case", "show", ref)["state"] == "open"
    text = af("consultation", "summary", ref, now="2021-04-09T09:00:00+07:00", ok=True).stdout
    assert "có ý kiến góp ý: 1" in text and "không trả lời, quá hạn: 1" in text  # the statuses in words
    assert "commented" not in text and "overdue" not in text


def test_apply_silence_as_the_sweep_calls_it_deems_only_due_replies_and_is_idempotent(af):
    ref = open_round(af, units=["SD", "LG"])
    settings = Settings.from_env(db_url=af.url, user=COORD)

    def run(at: str) -> list[dict]:
        def body(s):
            case = s.exec(select(Case).where(Case.ref == ref)).one()
            return fanout.apply_silence(s, case, clock.parse_instant(at))
        return service.with_session(settings, body)

    assert [r["result"] for r in run("2021-04-07T23:00:00+07:00")] == ["waiting", "waiting"]
    assert [r["result"] for r in run("2021-04-08T00:00:00+07:00")] == ["deemed_agreed", "deemed_agreed"]
    assert [r["result"] for r in run("2021-04-09T00:00:00+07:00")] == ["deemed_agreed", "deemed_agreed"]
    sd = children(af, ref)["SD"]
    assert [e["kind"] for e in af.json("case", "history", sd)].count("deemed_agreed") == 1
    assert af.json("case", "show", ref)["state"] == "closed"


def test_a_late_reply_after_being_deemed_is_refused_as_wrong_state(af):
    ref = open_round(af, units=["SD"])
    af("consultation", "close-round", ref, now="2021-04-08T09:00:00+07:00", ok=True)
    sd = children(af, ref)["SD"]
    res = af("case", "fire", sd, "agree", "--lang", "en", user=officer("SD"), now="2021-04-09T09:00:00+07:00")
    assert res.exit_code == 3 and "Deemed agreed" in res.stderr and "(none)" in res.stderr


def test_deeming_by_hand_before_the_deadline_or_without_the_letter_rule_is_refused(af):
    ref = open_round(af, units=["SD", "LG"], on_silence="overdue")
    kids = children(af, ref)
    res = af("case", "fire", kids["SD"], "deem_agreed", "--lang", "en", now="2021-04-02T09:00:00+07:00")
    assert res.exit_code == 3 and "did not say that no reply means agreement" in res.stderr
    lenient = children(af, open_round(af, units=["YD"]))["YD"]
    res = af("case", "fire", lenient, "deem_agreed", "--lang", "en", now="2021-04-07T09:00:00+07:00")
    assert res.exit_code == 3 and "has not run out: it ends on 07/04/2021" in res.stderr
    res = af("case", "fire", kids["LG"], "agree", user=officer("SD"), now="2021-04-02T09:00:00+07:00")
    assert res.exit_code == 3  # another district's officer may not answer for Lạng Giang
    res = af("case", "fire", kids["LG"], "comment", "--field", "comment=x", now="2021-04-02T09:00:00+07:00")
    assert res.exit_code == 2 and "--attach reply=" in res.stderr  # comments need the reply letter
    res = af("consultation", "close-round", ref, user=officer("SD"))
    assert res.exit_code == 3
    res = af("consultation", "follow-up", ref, "--reply-by", "2021-05-01", user=APPROVER, now="2021-04-20T09:00")
    assert res.exit_code == 3  # the Chairman decides; he does not open consultation rounds


def test_summary_of_a_case_that_is_not_a_sent_round_exits_2(af):
    ref = af("case", "open", "consultation", "--title", "Chưa gửi", "--field", "lead_unit=SNGV", "--field",
             "document=x", "--field", "units=SD", "--field", "reply_by=2021-05-01", now=SENT, ok=True).stdout.strip()
    res = af("consultation", "summary", ref, "--lang", "en")
    assert res.exit_code == 2 and "not a consultation round that was sent" in res.stderr
