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

from agreeflow.engine.core import audit, verification

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
