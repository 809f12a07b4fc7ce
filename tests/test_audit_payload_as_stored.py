"""A payload is hashed as it is stored: verify, the export and the standalone verifier agree on every row.

agreeflow writes each event's payload as its canonical text, so the hashed
text is the canonical text of the other columns with the payload's stored text
in place, and ``audit verify`` hashes that text without re-encoding it
(docs/audit.md section 5).  A stored hash is accepted when it is the hash of
that text or of the payload re-encoded (events written before); the export
carries ``hashed`` wherever the text hashed is not the canonical one, so the
documented procedure accepts exactly what ``audit verify`` accepts.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel

from agreeflow.engine.core import audit, verification
from agreeflow.engine.core.store import Case, Event
from tests.conftest import AUDITOR, COORD, ROOT
from tests.standalone_verifier import Broken, read_csv, read_jsonl, verify

NOW = "2024-06-21T09:00:00+07:00"
DROP = {"sqlite": ["DROP TRIGGER IF EXISTS events_no_update", "DROP TRIGGER IF EXISTS events_no_delete"],
        "postgresql": ["DROP TRIGGER IF EXISTS events_no_update_delete ON events"]}


def open_task(af) -> str:
    return af("case", "open", "task", "--title", "Hướng dẫn “ký kết” thỏa thuận quốc tế", "--field",
              "lead_unit=SNGV", "--field", "due_phrase=hoàn thành trong tháng 7/2024", "--field",
              "assigned_on=2024-06-21", user=COORD, now=NOW, ok=True).stdout.strip()


def stored_payloads(af, ref: str) -> dict[int, str]:
    with af.raw_connection() as con:
        rows = con.execute("SELECT e.seq, CAST(e.payload AS TEXT) FROM events e JOIN cases c ON c.id = e.case_id "
                           f"WHERE c.ref = '{ref}' ORDER BY e.seq").fetchall()
    return {seq: text for seq, text in rows}


def sql(af, *statements: tuple[str, tuple[object, ...]]) -> None:
    mark = "?" if af.dialect == "sqlite" else "%s"
    with af.raw_connection() as con:
        for statement in DROP[af.dialect]:
            con.execute(statement)
        for statement, params in statements:
            con.execute(statement.replace("?", mark), params)


def export(af, tmp_path, name: str = "log.jsonl") -> list[dict]:
    af("audit", "export", "-o", str(tmp_path / name), user=AUDITOR, ok=True)
    return read_jsonl(tmp_path / name)


def store_chain(af, ref: str, chain: list[dict], texts: dict[int, str]) -> None:
    """Write ``chain``'s hashes (and the payload texts given) over the case's events, as the database's owner can."""
    where = "WHERE case_id = (SELECT id FROM cases WHERE ref = ?) AND seq = ?"
    sql(af, *[(f"UPDATE events SET prev_hash = ?, hash = ? {where}", (ev["prev_hash"], ev["hash"], ref, ev["seq"]))
              for ev in chain],
        *[(f"UPDATE events SET payload = ? {where}", (text, ref, seq)) for seq, text in texts.items()])


def as_stored(ev: dict, text: str) -> str:
    """The text hashed for an exported event whose payload is stored as ``text``."""
    return audit.hashed_text(ev["case"], ev["seq"], ev["at"], ev["actor"], ev["role"], ev["kind"], ev["from"], ev["to"],
                             ev["trigger"], ev["note"], text, ev["prev_hash"], ev.get("recorded_at"),
                             ev.get("recorded_by", ""), ev.get("origin", ""))


def doc_procedure(tmp_path, export_name: str) -> subprocess.CompletedProcess[str]:
    doc = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    (tmp_path / "doc_verifier.py").write_text(re.search(r"```python\n(.*?)```", doc, re.S)[1], encoding="utf-8")
    return subprocess.run([sys.executable, "doc_verifier.py", export_name], capture_output=True, text=True,
                          cwd=tmp_path)


# ------------------------------------------------------------------ what agreeflow writes
def test_every_payload_is_stored_as_its_canonical_text_and_the_export_needs_no_hashed_key(af, tmp_path):
    ref = open_task(af)
    af("case", "fire", ref, "start", user="chuyenvien.sngv@bacgiang.example", now="2024-07-01T08:00:00+07:00",
       ok=True)
    texts = stored_payloads(af, ref)
    assert len(texts) >= 3 and any(not t.isascii() for t in texts.values())  # Vietnamese kept as itself
    for text in texts.values():
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    events = export(af, tmp_path)
    assert not any("hashed" in e for e in events)
    verify(events)
    af("audit", "verify", user=AUDITOR, ok=True)


def test_an_event_whose_payload_was_stored_the_old_way_still_verifies_by_re_encoding(af, tmp_path):
    """Before payloads were stored canonical they were json.dumps's text: spaces, \\u escapes, keys as given."""
    ref = open_task(af)
    old = {seq: json.dumps(dict(reversed(json.loads(t).items()))) for seq, t in stored_payloads(af, ref).items()}
    assert any(": " in t and "\\u" in t for t in old.values())
    sql(af, *[("UPDATE events SET payload = ? WHERE case_id = (SELECT id FROM cases WHERE ref = ?) AND seq = ?",
               (text, ref, seq)) for seq, text in old.items()])
    assert stored_payloads(af, ref) == old
    af("audit", "verify", user=AUDITOR, ok=True)
    events = export(af, tmp_path)
    assert not any("hashed" in e for e in events)  # the hashed text is the canonical one: the old procedure holds
    assert doc_procedure(tmp_path, "log.jsonl").returncode == 0


# ------------------------------------------------------------------ a payload hashed as stored, not spelt canonically
def test_a_payload_hashed_as_stored_in_another_spelling_passes_verify_and_the_standalone_verifier_alike(af, tmp_path):
    ref = open_task(af)
    chain = [e for e in export(af, tmp_path, "before.jsonl") if e["case"] == ref]
    first = chain[0]
    respelt = json.dumps(dict(reversed(list(first["payload"].items()))), ensure_ascii=False, indent=1)
    prev = "0" * 64
    for ev in chain:  # event 1 hashed as stored in the new spelling, every hash after it recomputed
        ev["prev_hash"] = prev
        ev["hash"] = prev = hashlib.sha256((as_stored(ev, respelt) if ev is first else
                                            as_stored(ev, audit.canonical_json(ev["payload"]))).encode()).hexdigest()
    store_chain(af, ref, chain, {1: respelt})
    af("audit", "verify", user=AUDITOR, ok=True)
    af("audit", "verify", "--case", ref, user=AUDITOR, ok=True)

    events = export(af, tmp_path)
    line = next(e for e in events if e["case"] == ref and e["seq"] == 1)
    assert line["hashed"] == as_stored(line, respelt) and line["payload"] == first["payload"]
    assert not any("hashed" in e for e in events if e is not line)
    verify(events)
    assert doc_procedure(tmp_path, "log.jsonl").returncode == 0
    af("audit", "export", "--format", "csv", "-o", str(tmp_path / "log.csv"), user=AUDITOR, ok=True)
    assert read_csv(tmp_path / "log.csv") == events
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "standalone_verifier.py"), str(tmp_path / "log.csv")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr

    # The line's columns must say what its hashed text says: an export edited there is broken for both.
    line["payload"] = {**line["payload"], "title": "Một tiêu đề khác"}
    try:
        verify(events)
    except Broken as exc:
        assert "'hashed' does not say what the line says" in str(exc)
    else:
        raise AssertionError("an export line whose payload differs from its hashed text was accepted")


def test_a_payload_edited_in_the_table_is_named_whatever_its_spelling(af):
    ref = open_task(af)
    text = stored_payloads(af, ref)[1]
    edited = text.replace("Hướng dẫn", "Hủy bỏ")
    assert edited != text
    sql(af, ("UPDATE events SET payload = ? WHERE case_id = (SELECT id FROM cases WHERE ref = ?) AND seq = 1",
             (edited, ref)))
    res = af("audit", "verify", "--lang", "en", user=AUDITOR)
    assert res.exit_code == 4 and f"{ref} seq 1: hash does not match the event's content" in res.stderr


def test_a_payload_that_is_not_json_fails_however_its_hash_was_made(af, tmp_path):
    """Hashed as stored, a text that is not one JSON object would say nothing the export can show: refused."""
    ref = open_task(af)
    chain = [e for e in export(af, tmp_path) if e["case"] == ref]
    broken = audit.canonical_json(chain[0]["payload"])[:-1]  # the closing brace cut off
    prev = "0" * 64
    for ev in chain:
        ev["prev_hash"] = prev
        ev["hash"] = prev = hashlib.sha256((as_stored(ev, broken) if ev["seq"] == 1 else
                                            as_stored(ev, audit.canonical_json(ev["payload"]))).encode()).hexdigest()
    if af.dialect == "postgresql":  # its json type refuses the text outright
        try:
            store_chain(af, ref, chain, {1: broken})
        except Exception as exc:  # psycopg's InvalidTextRepresentation
            assert "json" in str(exc).lower()
            return
        raise AssertionError("PostgreSQL stored a payload that is not JSON")
    store_chain(af, ref, chain, {1: broken})
    res = af("audit", "verify", "--lang", "en", user=AUDITOR)
    assert res.exit_code == 4 and f"{ref} seq 1: hash does not match the event's content" in res.stderr


# ------------------------------------------------------------------ the fast path is the reference
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8) | st.sampled_from(
    ["", "%s", "%", "\"", "\\", "\n", "\x1f", "\u2028", "Đã giao", "transition", '": '])
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=6)


@st.composite
def stored_texts(draw: st.DrawFn) -> str:
    value = draw(st.dictionaries(texts, json_values, max_size=4) | json_values)
    spelling = draw(st.sampled_from(["canonical", "old", "indent", "garbage", "padded"]))
    if spelling == "canonical":
        return audit.canonical_json(value)
    if spelling == "old":
        return json.dumps(value)
    if spelling == "indent":
        return json.dumps(value, indent=1, ensure_ascii=False)
    if spelling == "padded":
        return " " + audit.canonical_json(value)
    return draw(st.sampled_from(["{", "", "null", "{}x", "{\"a\":1}{}", "[1]", "\"text\""]))


@st.composite
def rows(draw: st.DrawFn) -> dict[str, object]:
    text = draw(stored_texts())
    row: dict[str, object] = {"actor": draw(texts), "role": draw(texts), "kind": draw(texts | st.just("transition")),
                              "from_state": draw(st.none() | texts), "to_state": draw(st.none() | texts),
                              "trigger": draw(st.none() | texts), "note": draw(st.none() | texts),
                              "recorded": draw(st.booleans()), "recorded_by": draw(texts), "origin": draw(texts),
                              "text": text}
    row["hash_of"] = draw(st.sampled_from(["as stored", "re-encoded", "other"]))
    return row


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(rows(), min_size=1, max_size=6))
def test_the_verifier_accepts_exactly_the_rows_the_reference_accepts(events) -> None:
    """Each row its own case (seq 1): verify names a broken hash exactly where audit.matching_text finds none."""
    engine = sa.create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    at = datetime(2024, 7, 1, 1, 2, 3, 456789, tzinfo=UTC)
    at_text = audit.fmt_at(at)
    expected: set[str] = set()
    with Session(engine) as s:
        for n, r in enumerate(events):
            ref = f"T-{n}"
            case = Case(ref=ref, workflow="_system", version=1, state="", title="t", opened_at=at, updated_at=at)
            s.add(case)
            s.flush()
            rec_text = at_text if r["recorded"] else None
            head = (ref, 1, at_text, r["actor"], r["role"], r["kind"], r["from_state"], r["to_state"], r["trigger"],
                    r["note"])
            tail = (rec_text, r["recorded_by"], r["origin"])
            obj = audit.stored_object(r["text"])
            if r["hash_of"] == "as stored" and obj is not None:
                digest = hashlib.sha256(audit.hashed_text(*head, r["text"], audit.GENESIS, *tail).encode()).hexdigest()
            elif r["hash_of"] == "re-encoded":
                try:
                    value = json.loads(r["text"]) or {}
                except ValueError:
                    value = {}
                digest = hashlib.sha256(audit.canonical_bytes(*head, value, audit.GENESIS, *tail)).hexdigest()
            else:
                digest = "f" * 64
            s.add(Event(case_id=case.id, seq=1, at=at, actor=r["actor"], role=r["role"], kind=r["kind"],
                        from_state=r["from_state"], to_state=r["to_state"], trigger=r["trigger"], note=r["note"],
                        payload={}, prev_hash=audit.GENESIS, hash=digest, recorded_at=at if r["recorded"] else None,
                        recorded_by=r["recorded_by"], origin=r["origin"]))
            s.flush()
            s.connection().execute(sa.text("UPDATE events SET payload = :t WHERE case_id = :c"),
                                   {"t": r["text"], "c": case.id})
            stored = s.connection().execute(sa.text("SELECT CAST(payload AS TEXT) FROM events WHERE case_id = :c"),
                                            {"c": case.id}).scalar()  # SQLite keeps '1.0' in a JSON column as 1
            text, _ = audit.matching_text(*head, stored, audit.GENESIS, *tail, digest)
            if text is None:
                expected.add(ref)
        s.commit()
        found = verification.scan(s, *verification.id_range(s))
    assert {b.case for b in found.breaks if b.problem == audit.BAD_HASH} == expected
