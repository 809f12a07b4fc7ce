"""``audit verify`` holds the tables to the log and the log to its checkpoints, and names what does not hold.

Each test does what someone who owns the database can do — plain SQL after
dropping the append-only triggers — and expects exit 4 naming the case and
the column or the events, or exit 2 for a checkpoint file that is not what
was signed.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import stat
import subprocess
import sys

from tests.conftest import APPROVER, AUDITOR, COORD, OFFICER_SNGV, ROOT
from tests.standalone_verifier import canonical_hash, read_jsonl

NOW = "2024-06-21T09:00:00+07:00"
DROP = {"sqlite": ["DROP TRIGGER IF EXISTS events_no_update", "DROP TRIGGER IF EXISTS events_no_delete"],
        "postgresql": ["DROP TRIGGER IF EXISTS events_no_update_delete ON events"]}


def open_task(af, unit: str = "SNGV") -> str:
    return af("case", "open", "task", "--title", "Ban hành hướng dẫn trình tự ký kết TTQT", "--field",
              f"lead_unit={unit}", "--field", "due_phrase=hoàn thành trong tháng 7/2024", "--field",
              "assigned_on=2024-06-21", now=NOW, ok=True).stdout.strip()


def started_task(af, unit: str = "SNGV") -> str:
    ref = open_task(af, unit)
    af("case", "fire", ref, "start", user=OFFICER_SNGV if unit == "SNGV" else COORD, now="2024-07-01T08:00:00+07:00",
       ok=True)
    return ref


def sql(af, *statements: str) -> None:
    with af.raw_connection() as con:
        for statement in [*DROP[af.dialect], *statements]:
            con.execute(statement)


def case_id(ref: str) -> str:
    return f"(SELECT id FROM cases WHERE ref = '{ref}')"


def verify(af, *args: str):
    return af("audit", "verify", *args, "--lang", "en", user=AUDITOR)


def history(af, ref: str) -> list[dict]:
    return af.json("case", "history", ref)


# ------------------------------------------------------------------ the tables against the log
def test_a_state_edited_in_the_cases_table_is_named_with_its_column(af):
    ref, other = started_task(af), open_task(af, "CA")
    af("audit", "verify", ok=True)
    sql(af, f"UPDATE cases SET state = 'reported' WHERE ref = '{ref}'")
    res = verify(af)
    assert res.exit_code == 4
    assert f"{ref}: cases.state is 'reported' but the log says 'in_progress'" in res.stderr
    assert other not in res.stderr


def test_an_update_of_the_state_followed_by_a_legal_looking_accept_is_caught(af):
    ref = started_task(af)
    sql(af, f"UPDATE cases SET state = 'reported' WHERE ref = '{ref}'")
    af("case", "fire", ref, "accept", user=APPROVER, now="2024-07-26T10:00:00+07:00", ok=True)  # the engine believed it
    accept = next(e for e in history(af, ref) if e["trigger"] == "accept" and e["kind"] == "transition")
    res = verify(af)
    assert res.exit_code == 4
    assert (f"{ref} seq {accept['seq']}: the transition starts from 'reported' but the log left the case in "
            f"'in_progress'") in res.stderr
    assert af.json("case", "show", ref)["state"] == "accepted"  # the rows agree with the last event: only the log tells


def test_a_field_edited_in_the_cases_table_is_named(af):
    ref = started_task(af)
    edit = {"sqlite": f"UPDATE cases SET fields = json_set(fields, '$.lead_unit', 'CA') WHERE ref = '{ref}'",
            "postgresql": f"UPDATE cases SET fields = jsonb_set(fields::jsonb, '{{lead_unit}}', '\"CA\"')::json "
                          f"WHERE ref = '{ref}'"}[af.dialect]
    sql(af, edit)
    res = verify(af)
    assert res.exit_code == 4 and f"{ref}: cases.fields['lead_unit'] is 'CA' but the log says 'SNGV'" in res.stderr


def test_a_deadline_whose_due_date_or_status_was_edited_is_named(af):
    ref = started_task(af)
    (row,) = [d for d in af.json("case", "show", ref)["deadlines"] if d["key"] == "timer:assigned:due"]
    sql(af, f"UPDATE deadlines SET due_date = '2024-12-31' WHERE case_id = {case_id(ref)}")
    res = verify(af)
    assert res.exit_code == 4
    assert f"{ref}: deadlines 'timer:assigned:due'" in res.stderr
    assert f".due_date is '2024-12-31' but the log says '{row['due_date']}'" in res.stderr
    sql(af, f"UPDATE deadlines SET due_date = '{row['due_date']}', status = 'met' WHERE case_id = {case_id(ref)}")
    res = verify(af)
    assert res.exit_code == 4 and ".status is 'met' but the log says 'open'" in res.stderr
    assert "due_date" not in res.stderr


# ------------------------------------------------------------------ cut off, removed, reordered, backdated
def tick(af, when: str = "2024-07-02T08:00:00+07:00"):
    return af.json("tick", "--no-dispatch", now=when)


def newest_checkpoint(af) -> dict:
    files = sorted((af.home / "checkpoints").glob("*.json"))
    assert files, "the sweep wrote no checkpoint"
    return json.loads(files[-1].read_text(encoding="utf-8"))


def test_tick_writes_a_checkpoint_and_plain_verify_holds_the_log_against_the_newest(af):
    res = verify(af)
    assert res.exit_code == 0 and "No checkpoint in" in res.stdout and "cannot be ruled out" in res.stdout
    ref = started_task(af)
    assert tick(af)["checkpoints"] == 1
    cp = newest_checkpoint(af)
    assert cp["format"] == "agreeflow-checkpoint/1" and {"case": ref, "seq": len(history(af, ref)),
                                                         "hash": history(af, ref)[-1]["hash"]} in cp["heads"]
    assert tick(af)["checkpoints"] == 0  # nothing pinned since: no new file
    res = verify(af)
    assert res.exit_code == 0 and "Held against the newest checkpoint" in res.stdout and cp["root"] in res.stdout


def test_the_last_events_of_a_chain_removed_after_a_checkpoint_are_named(af):
    ref = started_task(af)
    af("case", "fire", ref, "accept", user=APPROVER, now="2024-07-01T09:00:00+07:00")  # refused: one more event
    n = len(history(af, ref))
    tick(af)
    taken = newest_checkpoint(af)["taken_at"]
    sql(af, f"DELETE FROM events WHERE case_id = {case_id(ref)} AND seq > {n - 2}")
    res = verify(af)
    assert res.exit_code == 4
    assert f"{ref} seq {n - 1}: events {n - 1}–{n} recorded before checkpoint {taken} are missing" in res.stderr



def test_verify_says_how_many_events_came_after_the_checkpoint_it_holds_to(af):
    """A checkpoint pins only what existed when it was taken; events written since can be removed unseen (all of
    them leave no trace until the next sweep), so verify says how many there are rather than only "all chain
    heads still stand"."""
    ref = started_task(af)
    tick(af)
    assert "not pinned by it" not in verify(af).stdout
    af("case", "fire", ref, "accept", user=APPROVER, now="2024-07-01T09:00:00+07:00")  # refused: one more event
    res = verify(af)
    assert res.exit_code == 0 and "all 2 chain heads still stand" in res.stdout
    assert "1 event(s) recorded after this checkpoint are not pinned by it" in res.stdout

def test_a_whole_case_removed_after_a_checkpoint_is_named(af):
    ref, other = started_task(af), open_task(af, "CA")
    tick(af)
    sql(af, f"DELETE FROM events WHERE case_id = {case_id(other)}", f"DELETE FROM outbox WHERE case_id = {case_id(other)}",
        f"DELETE FROM deadlines WHERE case_id = {case_id(other)}", f"DELETE FROM cases WHERE ref = '{other}'")
    res = verify(af)
    assert res.exit_code == 4
    assert f"{other}: is in the checkpoint" in res.stderr and "but not in the database" in res.stderr
    assert f"{ref}:" not in res.stderr and f"{ref} seq" not in res.stderr


def test_events_whose_order_was_swapped_break_the_chain_at_the_first_of_them(af):
    ref = started_task(af)
    sql(af, f"UPDATE events SET seq = 1000 WHERE case_id = {case_id(ref)} AND seq = 2",
        f"UPDATE events SET seq = 2 WHERE case_id = {case_id(ref)} AND seq = 3",
        f"UPDATE events SET seq = 3 WHERE case_id = {case_id(ref)} AND seq = 1000")
    res = verify(af)
    assert res.exit_code == 4 and f"{ref} seq 2: prev_hash does not match the previous event's hash" in res.stderr


def rewrite(af, tmp_path, ref: str, seq: int, **changes: str) -> None:
    """Edit event ``seq`` of ``ref`` and recompute every hash after it, as the database's owner can."""
    af("audit", "export", "-o", str(tmp_path / "log.jsonl"), ok=True)
    chain = [e for e in read_jsonl(tmp_path / "log.jsonl") if e["case"] == ref]
    chain[seq - 1].update(changes)
    prev = "0" * 64
    for ev in chain:
        ev["prev_hash"] = prev
        ev["hash"] = prev = canonical_hash(ev)
    stored = {k: v.replace("T", " ").rstrip("Z") for k, v in changes.items()}  # the tables' time text
    statements = []
    for ev in chain[seq - 1:]:
        sets = "".join(f", {k} = '{stored[k]}'" for k in stored if ev["seq"] == seq)
        statements.append(f"UPDATE events SET prev_hash = '{ev['prev_hash']}', hash = '{ev['hash']}'{sets} "
                          f"WHERE case_id = {case_id(ref)} AND seq = {ev['seq']}")
    sql(af, *statements)


def test_a_recorded_time_that_goes_backwards_is_named_even_with_every_hash_recomputed(af, tmp_path):
    ref = started_task(af)
    events = history(af, ref)
    last = events[-1]
    rewrite(af, tmp_path, ref, last["seq"], recorded_at="2020-01-01T00:00:00.000000Z")
    res = verify(af)
    assert res.exit_code == 4
    assert (f"{ref} seq {last['seq']}: recorded_at 2020-01-01T00:00:00.000000Z is earlier than "
            f"{events[-2]['recorded_at']} of seq {last['seq'] - 1}: recorded times go backwards") in res.stderr


# ------------------------------------------------------------------ signed checkpoints
def keys(af, tmp_path, name: str = "keys"):
    folder = tmp_path / name
    res = af.json("audit", "keygen", "--out", str(folder), user=None)
    assert stat.S_IMODE(os.stat(res["private_key"]).st_mode) == 0o600
    return folder / "checkpoint-signing.key", folder / "checkpoint-signing.pub"


def test_a_signed_checkpoint_is_verified_with_the_public_key_alone(af, tmp_path):
    private, public = keys(af, tmp_path)
    af.env["AGREEFLOW_SIGNING_KEY"] = str(private)
    started_task(af)
    tick(af)
    (cp_file,) = (af.home / "checkpoints").glob("*.json")
    cp = json.loads(cp_file.read_text(encoding="utf-8"))
    assert cp["signature"]["alg"] == "ed25519"
    res = af("audit", "verify", "--checkpoint", str(cp_file), "--public-key", str(public), "--lang", "en",
             user=AUDITOR, ok=True)
    assert f"signed by the key {cp['signature']['key_id']}" in res.stdout
    af("audit", "export", "-o", str(tmp_path / "log.jsonl"), ok=True)
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "standalone_verifier.py"), str(tmp_path / "log.jsonl"),
                          str(cp_file), str(public)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0 and "signature valid" in run.stdout, run.stderr


def test_a_modified_an_unsigned_or_another_keys_checkpoint_is_refused_with_exit_2(af, tmp_path):
    private, public = keys(af, tmp_path)
    _, other_public = keys(af, tmp_path, "other")
    af.env["AGREEFLOW_SIGNING_KEY"] = str(private)
    started_task(af)
    tick(af)
    (cp_file,) = (af.home / "checkpoints").glob("*.json")
    cp = json.loads(cp_file.read_text(encoding="utf-8"))

    res = af("audit", "verify", "--checkpoint", str(cp_file), "--public-key", str(other_public), "--lang", "en")
    assert res.exit_code == 2 and "not signed by this key" in res.stderr

    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps({**cp, "taken_at": "2024-12-31T10:00:00.000000Z"}), encoding="utf-8")
    res = af("audit", "verify", "--checkpoint", str(altered), "--public-key", str(public), "--lang", "en")
    assert res.exit_code == 2 and "not signed by this key" in res.stderr and "or was altered" in res.stderr
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "standalone_verifier.py"), "/dev/null", str(altered),
                          str(public)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 1 and "signature" in run.stderr

    del af.env["AGREEFLOW_SIGNING_KEY"]
    unsigned = tmp_path / "unsigned.json"
    af("audit", "checkpoint", "-o", str(unsigned), ok=True)
    res = af("audit", "verify", "--checkpoint", str(unsigned), "--public-key", str(public), "--lang", "en")
    assert res.exit_code == 2 and "the checkpoint is not signed" in res.stderr


def test_keygen_does_not_overwrite_a_key(af, tmp_path):
    keys(af, tmp_path)
    res = af("audit", "keygen", "--out", str(tmp_path / "keys"), "--lang", "en", user=None)
    assert res.exit_code == 2 and "not overwritten" in res.stderr


def test_each_new_checkpoint_is_mailed_to_the_inspectorate_once(af):
    af.env["AGREEFLOW_INSPECTORATE"] = "thanhtra.tinh@bacgiang.example"
    started_task(af)
    counts = af.json("tick", now="2024-07-02T08:00:00+07:00")
    cp = newest_checkpoint(af)
    assert counts["checkpoints"] == 1 and counts["sent"] >= 1
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (af.home / "mail").glob("*.eml")]
    (mail,) = [m for m in mails if m["To"] == "thanhtra.tinh@bacgiang.example"]
    assert mail["Subject"].startswith("[Mốc kiểm tra nhật ký] ")
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert cp["root"] in body and json.loads(body.split(".json -----\n", 1)[1].rsplit("----- hết", 1)[0]) == cp
    assert af.json("tick", now="2024-07-02T09:00:00+07:00")["sent"] == 0  # nothing new pinned: nothing mailed


def test_a_verify_shared_between_processes_finds_exactly_what_one_process_finds(af):
    from agreeflow.engine import service
    from agreeflow.engine.core.errors import TamperingError
    from agreeflow.engine.core.settings import Settings

    refs = [started_task(af) for _ in range(3)] + [open_task(af, "CA") for _ in range(3)]
    sql(af, f"UPDATE cases SET state = 'reported' WHERE ref = '{refs[1]}'",
        f"DELETE FROM events WHERE case_id = {case_id(refs[4])} AND seq = 2")
    settings = Settings(data_dir=af.home, db_url=af.url)
    found = []
    for workers in (1, 2, 3):
        try:
            service.verify(settings, workers=workers)
            raise AssertionError("tampering not found")
        except TamperingError as err:
            found.append((err.fields["events"], err.fields["cases"], err.fields["broken"]))
    assert found[0] == found[1] == found[2]
    assert {b["case"] for b in found[0][2]} == {refs[1], refs[4]}


def test_the_replay_reads_the_late_report_mark_by_the_name_the_deadlines_write():
    from agreeflow.engine.core import replay
    from agreeflow.engine.legaltime import deadlines
    assert replay.LATE_REPORT == deadlines.LATE_REPORT  # the core may not import legaltime: the name is repeated
