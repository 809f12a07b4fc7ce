"""The log leaves agreeflow in a form an outsider can verify, and checkpoints catch a full rewrite."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.conftest import APPROVER, AUDITOR, COORD, OFFICER_SNGV, ROOT
from tests.standalone_verifier import (
    Broken,
    canonical_hash,
    check_checkpoint,
    merkle_root,
    read_csv,
    read_jsonl,
    verify,
)

NOW = "2024-06-21T09:00:00+07:00"
DROP_TRIGGER = {"sqlite": "DROP TRIGGER events_no_update",
                "postgresql": "DROP TRIGGER events_no_update_delete ON events"}


def some_activity(af) -> list[str]:
    refs = []
    for unit, phrase in (("SNGV", "hoàn thành trong tháng 7/2024"), ("CA", "trong Quý III năm 2024")):
        refs.append(af("case", "open", "task", "--title", f"Nhiệm vụ “{unit}” — thử", "--field", f"lead_unit={unit}",
                       "--field", f"due_phrase={phrase}", "--note", "Ghi chú có dấu: đ, ư, ơ", now=NOW,
                       ok=True).stdout.strip())
    af("case", "fire", refs[0], "start", user=OFFICER_SNGV, now="2024-07-01T08:00:00+07:00", ok=True)
    af.home.mkdir(parents=True, exist_ok=True)
    (af.home / "huong-dan.pdf").write_bytes(b"%PDF-1.4 guidance")
    af("case", "fire", refs[0], "report", "--field", "result_document=Hướng dẫn 12/HD-SNgV",
       "--attach", f"result={af.home / 'huong-dan.pdf'}", user=OFFICER_SNGV, now="2024-07-25T10:00:00+07:00", ok=True)
    af("case", "fire", refs[0], "accept", user=APPROVER, now="2024-07-26T10:00:00+07:00", ok=True)
    af("case", "fire", refs[1], "accept", user=APPROVER, now="2024-07-26T11:00:00+07:00")  # refused: logged
    return refs


def test_export_verifies_with_an_independent_script_in_both_formats(af, tmp_path):
    some_activity(af)
    said = af("audit", "export", "-o", str(tmp_path / "log.jsonl"), ok=True).stdout
    assert "Cơ sở dữ liệu: MÔ PHỎNG" in said  # the export says which kind of database it came from
    af("audit", "export", "--format", "csv", "-o", str(tmp_path / "log.csv"), user=AUDITOR, ok=True)
    assert "SIMULATION" in af("audit", "export", "--lang", "en", user=AUDITOR, ok=True).stderr
    jsonl, rows = read_jsonl(tmp_path / "log.jsonl"), read_csv(tmp_path / "log.csv")
    assert jsonl == rows  # the same events, every chain field, in both formats
    assert set(jsonl[0]) == {"case", "seq", "at", "actor", "role", "kind", "from", "to", "trigger", "note",
                             "payload", "prev_hash", "hash", "recorded_at", "recorded_by", "origin"}
    chains = verify(jsonl)
    assert len(chains) == 3 and sum(seq for seq, _ in chains.values()) == len(jsonl)
    assert {e["kind"] for e in jsonl} >= {"opened", "transition", "refused", "deadline_set", "directory_loaded"}
    for export in ("log.jsonl", "log.csv"):
        run = subprocess.run([sys.executable, str(ROOT / "tests" / "standalone_verifier.py"), str(tmp_path / export)],
                             capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 0 and run.stdout.startswith(f"ok: {len(jsonl)} events in 3 chains"), run.stderr


def test_the_procedure_printed_in_docs_audit_md_accepts_an_export_and_rejects_an_edit(af, tmp_path):
    some_activity(af)
    af("audit", "export", "-o", str(tmp_path / "log.jsonl"), ok=True)
    doc = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    (tmp_path / "doc_verifier.py").write_text(re.search(r"```python\n(.*?)```", doc, re.S)[1], encoding="utf-8")
    run = subprocess.run([sys.executable, "doc_verifier.py", "log.jsonl"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "ok: 3 chains", run.stderr
    lines = (tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[3])
    edited["actor"] = "someone.else@bacgiang.example"
    lines[3] = json.dumps(edited, ensure_ascii=False)
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "doc_verifier.py", "log.jsonl"], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1 and f"line 4: {edited['case']} seq {edited['seq']} is broken" in run.stderr


def test_export_limited_to_a_period_holds_only_its_events_and_still_verifies(af, tmp_path):
    some_activity(af)
    out = tmp_path / "july.jsonl"
    af("audit", "export", "--from", "2024-07-01", "--to", "2024-07-25", "-o", str(out), ok=True)
    events = read_jsonl(out)
    assert events and all("2024-07-01" <= e["at"][:10] <= "2024-07-25" for e in events)
    assert {e["at"][:10] for e in events} == {"2024-07-01", "2024-07-25"}  # 08:00 and 10:00 local are UTC that day
    verify(events, partial=True)
    af("audit", "export", "--from", "01/07/2024", "-o", str(tmp_path / "dmy.jsonl"), ok=True)  # as officials write it
    assert min(e["at"] for e in read_jsonl(tmp_path / "dmy.jsonl"))[:10] == "2024-07-01"
    res = af("audit", "export", "--from", "32/07/2024", "-o", str(tmp_path / "bad.jsonl"))
    assert res.exit_code == 2 and "--from" in res.stderr and not (tmp_path / "bad.jsonl").exists()


def rewrite_with_recomputed_hashes(af, export: list[dict], case: str, seq: int, actor: str) -> None:
    """What someone who owns the database can do: edit an event and recompute every hash after it."""
    chain = [dict(e) for e in export if e["case"] == case]
    chain[seq - 1]["actor"] = actor
    prev = "0" * 64
    for ev in chain:
        ev["prev_hash"] = prev
        ev["hash"] = prev = canonical_hash(ev)
    with af.raw_connection() as con:
        con.execute(DROP_TRIGGER[af.dialect])
        for ev in chain[seq - 1:]:
            con.execute(f"UPDATE events SET actor = '{ev['actor']}', prev_hash = '{ev['prev_hash']}', "
                        f"hash = '{ev['hash']}' WHERE seq = {ev['seq']} AND "
                        f"case_id = (SELECT id FROM cases WHERE ref = '{case}')")


def test_checkpoint_catches_a_rewrite_whose_author_recomputed_every_hash(af, tmp_path):
    refs = some_activity(af)
    cp_file = tmp_path / "checkpoint.json"
    res = af("audit", "checkpoint", "-o", str(cp_file), user=AUDITOR, now="2024-12-31T17:00:00+07:00", ok=True)
    cp = json.loads(cp_file.read_text(encoding="utf-8"))
    assert cp["root"] in res.stdout and cp["taken_at"] == "2024-12-31T10:00:00.000000Z"
    af("audit", "export", "-o", str(tmp_path / "before.jsonl"), ok=True)
    before = read_jsonl(tmp_path / "before.jsonl")
    check_checkpoint(cp, before)  # an outsider agrees with the checkpoint, root included
    assert merkle_root(cp["heads"]) == cp["root"]
    assert af.json("audit", "verify", "--checkpoint", str(cp_file))["checkpoint"]["heads"] == 3

    rewrite_with_recomputed_hashes(af, before, refs[0], 2, "someone.else@bacgiang.example")

    assert af("audit", "verify").exit_code == 0  # the chain alone cannot see it: every hash was recomputed
    res = af("audit", "verify", "--checkpoint", str(cp_file), "--lang", "en")
    assert res.exit_code == 4
    assert f"{refs[0]} seq {cp['heads'][1]['seq']}" in res.stderr and "differs from the checkpoint" in res.stderr
    assert refs[1] not in res.stderr
    assert af("audit", "verify", "--checkpoint", str(cp_file), "--case", refs[1]).exit_code == 0
    af("audit", "export", "-o", str(tmp_path / "after.jsonl"), ok=True)
    try:
        check_checkpoint(cp, read_jsonl(tmp_path / "after.jsonl"))
        raise AssertionError("the outside verifier should have found the rewrite")
    except Broken as exc:
        assert refs[0] in str(exc)


def test_checkpoint_names_a_case_whose_events_were_removed(af, tmp_path):
    refs = some_activity(af)
    cp_file = tmp_path / "checkpoint.json"
    af("audit", "checkpoint", "-o", str(cp_file), ok=True)
    with af.raw_connection() as con:
        con.execute({"sqlite": "DROP TRIGGER events_no_delete",
                     "postgresql": "DROP TRIGGER events_no_update_delete ON events"}[af.dialect])
        con.execute(f"DELETE FROM events WHERE case_id = (SELECT id FROM cases WHERE ref = '{refs[1]}') AND seq > 1")
    res = af("audit", "verify", "--checkpoint", str(cp_file), "--lang", "en")
    assert res.exit_code == 4 and f"{refs[1]} seq" in res.stderr and "missing" in res.stderr


def test_a_checkpoint_file_that_was_altered_or_is_not_one_is_refused_with_exit_2(af, tmp_path):
    some_activity(af)
    cp_file = tmp_path / "checkpoint.json"
    af("audit", "checkpoint", "-o", str(cp_file), ok=True)
    cp = json.loads(cp_file.read_text(encoding="utf-8"))
    cp["heads"][1]["seq"] += 1
    cp_file.write_text(json.dumps(cp), encoding="utf-8")
    res = af("audit", "verify", "--checkpoint", str(cp_file), "--lang", "en")
    assert res.exit_code == 2 and "the Merkle root does not match the heads" in res.stderr
    (tmp_path / "junk.json").write_text("[1, 2]", encoding="utf-8")
    res = af("audit", "verify", "--checkpoint", str(tmp_path / "junk.json"))
    assert res.exit_code == 2 and "agreeflow-checkpoint/1" in res.stderr
    assert af("audit", "verify", "--checkpoint", str(tmp_path / "missing.json")).exit_code == 2


def test_audit_log_filters_by_case_actor_unit_kind_and_period(af):
    refs = some_activity(af)
    everything = af.json("audit", "log", user=AUDITOR)
    assert [e["at"] for e in everything] == sorted(e["at"] for e in everything)
    assert {e["case"] for e in af.json("audit", "log", "--case", refs[0])} == {refs[0]}
    mine = af.json("audit", "log", "--actor", OFFICER_SNGV)
    assert mine and {e["actor"] for e in mine} == {OFFICER_SNGV} and {e["case"] for e in mine} == {refs[0]}
    assert {e["case"] for e in af.json("audit", "log", "--unit", "CA")} == {refs[1]}
    refused = af.json("audit", "log", "--kind", "refused")
    assert [(e["case"], e["actor"]) for e in refused] == [(refs[1], APPROVER)]
    july = af.json("audit", "log", "--from", "2024-07-01", "--to", "2024-07-25", "--kind", "transition")
    assert [(e["case"], e["trigger"]) for e in july] == [(refs[0], "start"), (refs[0], "report")]
    table = af("audit", "log", "--case", refs[0], "--kind", "transition", ok=True).stdout
    assert "Đã giao → Đang thực hiện" in table and "01/07/2024 08:00" in table and COORD not in table
    assert "assigned" not in table and "in_progress" not in table  # states in words, not their ids
    for args, text in ((["--kind", "transiton"], "Có phải 'transition'?"), (["--unit", "CAA"], "Có phải 'CA'?"),
                       (["--to", "2024-13-01"], "--to"), (["--case", "NV-2099-0001"], "NV-2099-0001")):
        res = af("audit", "log", *args)
        assert res.exit_code == 2 and text in res.stderr
