"""Checkpoints: pin every chain's head outside the database, so a rewrite is caught.

Why: a hash chain alone only catches someone who edits an event and does not
recompute the hashes after it.  Whoever controls the database can rewrite an
event AND recompute every later hash — the chain verifies again.  A
checkpoint is a small JSON file, kept where the database's owner cannot reach
(e-mailed to the inspectorate, its root printed in the annual report), that
records each chain's head ``(case, seq, hash)`` and one Merkle root over all
heads.  Later, for every head, the event at that seq must still exist with
that hash and the chain up to it must verify: nothing recorded before the
checkpoint can then have been changed, removed or reordered.

Merkle root (RFC 6962 §2.1, SHA-256), documented in docs/audit.md:
leaves are the UTF-8 bytes ``"<case>|<seq>|<hash>"`` of the heads sorted by
case ref (code-point order); ``MTH({}) = SHA256()``;
``MTH({d}) = SHA256(0x00 || d)``; for n > 1, with k the largest power of two
below n, ``MTH(D) = SHA256(0x01 || MTH(D[:k]) || MTH(D[k:]))``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from agreeflow.engine.core import audit
from agreeflow.engine.core.errors import InputFileError, TamperingError
from agreeflow.engine.core.store import Case, Event

FORMAT = "agreeflow-checkpoint/1"


def leaf_bytes(ref: str, seq: int, head_hash: str) -> bytes:
    return f"{ref}|{seq}|{head_hash}".encode()


def merkle_root(leaves: list[bytes]) -> str:
    """RFC 6962 Merkle Tree Hash of ``leaves`` (already in order), as hex."""
    def mth(items: list[bytes]) -> bytes:
        if not items:
            return hashlib.sha256(b"").digest()
        if len(items) == 1:
            return hashlib.sha256(b"\x00" + items[0]).digest()
        k = 1
        while k * 2 < len(items):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(items[:k]) + mth(items[k:])).digest()
    return mth(leaves).hex()


def root_of(heads: list[dict[str, Any]]) -> str:
    ordered = sorted(heads, key=lambda h: h["case"])
    return merkle_root([leaf_bytes(h["case"], h["seq"], h["hash"]) for h in ordered])


def take(s: Session, now: datetime) -> dict[str, Any]:
    """The checkpoint of the log as it is now; refuses (exit 4) to pin a log that is already broken."""
    n_events, n_cases, breaks = audit.verify_log(s)
    if breaks:
        raise TamperingError(listing="\n".join(f"  - {b.case} seq {b.seq}: {b.problem}" for b in breaks),
                             broken=[b.to_json() for b in breaks], events=n_events, cases=n_cases)
    heads: list[dict[str, Any]] = sorted(({"case": r, "seq": q, "hash": h} for r, q, h in audit.heads(s)),
                                         key=lambda h: str(h["case"]))
    return {"format": FORMAT, "taken_at": audit.fmt_at(now), "events": n_events, "cases": len(heads),
            "root": root_of(heads), "heads": heads}


def dumps(cp: dict[str, Any]) -> str:
    """The file's text: the summary fields, then one head per line (short enough to print)."""
    top = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in cp.items() if k != "heads")
    heads = ",\n".join("  " + json.dumps(h, ensure_ascii=False, separators=(",", ":")) for h in cp["heads"])
    return "{\n" + top + ',\n "heads": [\n' + heads + "\n ]\n}\n"


def read(path: Path) -> dict[str, Any]:
    """Load a checkpoint file and check it is whole (its root matches its heads)."""
    try:
        cp = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(path=str(path), problem=f"không đọc được / cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise InputFileError(path=str(path), problem=f"không phải JSON / not JSON: {exc}") from None
    heads = cp.get("heads") if isinstance(cp, dict) else None
    if not isinstance(cp, dict) or cp.get("format") != FORMAT or not isinstance(heads, list) or not all(
            isinstance(h, dict) and isinstance(h.get("case"), str) and isinstance(h.get("seq"), int)
            and isinstance(h.get("hash"), str) for h in heads):
        raise InputFileError(path=str(path), problem=f"không phải tệp mốc kiểm tra / not an {FORMAT} file "
                                                     "(needs format, root, heads: [{case, seq, hash}])")
    if root_of(heads) != cp.get("root"):
        raise InputFileError(path=str(path), problem="gốc Merkle không khớp danh sách đầu chuỗi: tệp mốc đã bị sửa "
                                                     "/ the Merkle root does not match the heads: the checkpoint file "
                                                     "was altered — use the copy that was sent out")
    return cp


def breaks(s: Session, cp: dict[str, Any]) -> list[audit.Break]:
    """Heads of the checkpoint that the database no longer holds as recorded.

    The chains themselves (seq 1..n, every hash) are checked by ``audit.verify_rows``;
    together the two prove the recorded prefix of every chain is unchanged.
    """
    out = []
    for h in cp["heads"]:
        case = s.exec(select(Case).where(Case.ref == h["case"])).first()
        if case is None:
            out.append(audit.Break(h["case"], h["seq"], "case recorded in the checkpoint is missing (removed)"))
            continue
        found = s.exec(select(Event.hash).where(Event.case_id == case.id, Event.seq == h["seq"])).first()
        if found is None:
            out.append(audit.Break(h["case"], h["seq"], f"event seq {h['seq']} recorded in the checkpoint is missing"))
        elif found != h["hash"]:
            out.append(audit.Break(h["case"], h["seq"], "differs from the checkpoint: an event up to here was "
                                                        "changed, removed or reordered (hashes recomputed)"))
    return out
