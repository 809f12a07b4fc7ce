"""The verifier's fast canonical form is the reference's, byte for byte, or it steps aside.

``audit verify`` assembles each event's canonical text by hand and re-encodes
payloads with a reused C encoder (engine.core.verification); whenever it
gives a text, that text must be exactly what ``audit.canonical_bytes`` — the
documented form — gives, for any value the columns may hold (a database's
owner can store anything in them).
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from agreeflow.engine.core import audit, replay, verification

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["", "%s", "%", "\"", "\\", "\n", "\u2028", "Đã giao", "transition"])
maybe_text = st.none() | texts
odd = st.none() | texts | st.integers(-3, 3) | st.booleans() | st.floats(allow_nan=False)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | texts,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(ref=texts, seq=st.integers(1, 10**6) | st.booleans() | st.floats(1, 9), at=texts | st.integers(),
       actor=odd, role=odd, kind=odd, frm=maybe_text | st.integers(), to=maybe_text, trig=maybe_text, note=odd,
       payload=json_values, rec=st.none() | texts | st.integers(), rby=odd, origin=odd)
def test_canonical_text_is_the_reference_or_none(ref, seq, at, actor, role, kind, frm, to, trig, note, payload, rec,
                                                 rby, origin) -> None:
    prev = "ab" * 32
    payload_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(payload)
    fast = audit.CanonicalText()
    for _ in range(2):  # the second call takes the cached form
        got = fast(json.encoder.encode_basestring(ref), seq, at, actor, role, kind, frm, to, trig, note, payload_json,
                   prev, rec, rby, origin)
        if got is not None:
            assert got.encode() == audit.canonical_bytes(ref, seq, at, actor, role, kind, frm, to, trig, note, payload,
                                                         prev, rec, rby, origin)
    if type(seq) is int and all(isinstance(v, str) for v in (at, actor, role, kind, rby, origin)) \
            and all(v is None or isinstance(v, str) for v in (frm, to, trig, note, rec)):
        assert got is not None  # the columns' own types always take the fast path


@settings(max_examples=400, deadline=None)
@given(payload=json_values, spaced=st.booleans(), ascii_only=st.booleans())
def test_the_reused_payload_encoder_writes_what_json_dumps_writes(payload, spaced, ascii_only) -> None:
    stored = json.dumps(payload, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":"))
    obj, end = verification.scan_payload(stored, 0)
    assert end == len(stored)
    reference = json.dumps(json.loads(stored) or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "".join(verification.encode_payload(obj or {}, 0)) == reference


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(texts, json_values, max_size=4), spaced=st.booleans(), ascii_only=st.booleans(),
       actor=texts, note=maybe_text, rec=st.none() | texts)
def test_a_payload_hashed_as_stored_is_spelt_alike_by_the_fast_path_and_the_reference(payload, spaced, ascii_only,
                                                                                        actor, note, rec) -> None:
    """Whatever the stored text's spelling, CanonicalText splices it as hashed_text does; canonical text, same bytes."""
    stored = json.dumps(payload, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":"))
    prev = "cd" * 32
    got = audit.CanonicalText()(json.encoder.encode_basestring("NV-1"), 3, "2024-07-01T00:00:00.000000Z", actor,
                                "officer", "transition", "a", "b", "go", note, stored, prev, rec, "", "cli:x@y")
    reference = audit.hashed_text("NV-1", 3, "2024-07-01T00:00:00.000000Z", actor, "officer", "transition", "a", "b",
                                  "go", note, stored, prev, rec, "", "cli:x@y")
    assert got == reference
    said = audit.canonical_json(json.loads(reference)["payload"])
    assert said == audit.canonical_json(payload)  # the text says the same payload (NaN compared as text)
    canonical = audit.canonical_json(payload)
    assert audit.hashed_text("NV-1", 3, "2024-07-01T00:00:00.000000Z", actor, "officer", "transition", "a", "b", "go",
                             note, canonical, prev, rec, "", "cli:x@y").encode() == audit.canonical_bytes(
        "NV-1", 3, "2024-07-01T00:00:00.000000Z", actor, "officer", "transition", "a", "b", "go", note, payload, prev,
        rec, "", "cli:x@y")


deadline_rows = st.lists(st.tuples(st.sampled_from(["timer:a", "timer:b"]), st.sampled_from(["open", "met", "missed"]),
                                   st.sampled_from([None, "2024-07-01", "2024-07-02"])), max_size=5)


@settings(max_examples=400, deadline=None)
@given(logged=deadline_rows, stored=deadline_rows)
def test_a_case_s_deadline_rows_pass_exactly_when_each_key_s_rows_are_what_its_log_set(logged, stored) -> None:
    """The replay's shortcut for deadlines that agree (engine.core.replay) never hides a row that does not."""
    r = replay.CaseReplay()
    for seq, (key, status, due) in enumerate(logged, 1):
        r.feed(seq, "deadline_set", None, None, "2024-07-01T00:00:00.000000Z",
               {"deadline": key, "status": status, "due_date": due})
    found = r.compare(replay.SYSTEM_WORKFLOW, "", {}, None, [(i, *row) for i, row in enumerate(stored, 1)])
    agree = all([(s, d) for k, s, d in logged if k == key] == [(s, d) for k, s, d in stored if k == key]
                for key in ("timer:a", "timer:b"))
    assert (found == []) == agree
