"""An outside verifier of agreeflow exports and checkpoints, written only from docs/audit.md.

It imports nothing from agreeflow on purpose: it is what an inspector would
write.  Run it as a script: ``python standalone_verifier.py EXPORT [CHECKPOINT [PUBLIC_KEY]]``.
With a public key (PEM, from ``agreeflow audit keygen``) the checkpoint's
Ed25519 signature is checked first, with the ``cryptography`` package.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ZEROS = "0" * 64


class Broken(Exception):
    pass


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hashed_text(event: dict[str, Any]) -> str:
    """What was hashed: ``hashed`` when the line has it (it must say exactly the other keys), else their canonical JSON."""
    body = {k: v for k, v in event.items() if k not in ("hash", "hashed")}
    given = event.get("hashed")
    if given is None:
        return canonical(body)
    try:
        said = canonical(json.loads(given))
    except ValueError:
        said = None
    if said != canonical(body):
        raise Broken(f"{event.get('case')} seq {event.get('seq')}: 'hashed' does not say what the line says")
    return str(given)


def canonical_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(hashed_text(event).encode("utf-8")).hexdigest()


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_csv(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            ev: dict[str, Any] = {k: (None if v == r"\N" else v) for k, v in row.items()}
            ev["seq"] = int(ev["seq"])
            ev["payload"] = json.loads(ev["payload"])
            if ev.get("recorded_at") is None:  # recorded before the two times: not part of its hash
                for key in ("recorded_at", "recorded_by", "origin"):
                    ev.pop(key, None)
            if ev.get("hashed") is None:  # the text hashed is the canonical one of the others
                ev.pop("hashed", None)
            out.append(ev)
    return out


def verify(events: Iterable[dict[str, Any]], partial: bool = False) -> dict[str, tuple[int, str]]:
    """Steps 1–4 of docs/audit.md and recorded times; returns each case's last (seq, hash).  Raises Broken."""
    last: dict[str, tuple[int, str]] = {}
    recorded: dict[str, str] = {}
    for n, ev in enumerate(events, 1):
        if canonical_hash(ev) != ev["hash"]:
            raise Broken(f"event {n}: {ev['case']} seq {ev['seq']}: hash does not match")
        if ev["case"] in last:
            seq, prev = last[ev["case"]]
            if ev["seq"] != seq + 1 or ev["prev_hash"] != prev:
                raise Broken(f"event {n}: {ev['case']} seq {ev['seq']}: chain broken")
        elif not partial and (ev["seq"] != 1 or ev["prev_hash"] != ZEROS):
            raise Broken(f"event {n}: {ev['case']} does not start at seq 1")
        if ev.get("recorded_at"):
            if ev["recorded_at"] < recorded.get(ev["case"], ""):
                raise Broken(f"event {n}: {ev['case']} seq {ev['seq']}: recorded_at goes backwards")
            recorded[ev["case"]] = ev["recorded_at"]
        last[ev["case"]] = (ev["seq"], ev["hash"])
    return last


def merkle_root(heads: list[dict[str, Any]]) -> str:
    leaves = [f"{h['case']}|{h['seq']}|{h['hash']}".encode() for h in sorted(heads, key=lambda h: h["case"])]

    def mth(d: list[bytes]) -> bytes:
        if not d:
            return hashlib.sha256(b"").digest()
        if len(d) == 1:
            return hashlib.sha256(b"\x00" + d[0]).digest()
        k = 1
        while k * 2 < len(d):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()
    return mth(leaves).hex()


def check_checkpoint(checkpoint: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """The root matches the heads, and each head's event is in the (verified) export with that hash."""
    if merkle_root(checkpoint["heads"]) != checkpoint["root"]:
        raise Broken("checkpoint root does not match its heads")
    verify(events)
    found = {(ev["case"], ev["seq"]): ev["hash"] for ev in events}
    for h in checkpoint["heads"]:
        if found.get((h["case"], h["seq"])) != h["hash"]:
            raise Broken(f"{h['case']} seq {h['seq']} differs from the checkpoint")


def check_signature(checkpoint: dict[str, Any], public_key_pem: bytes) -> str:
    """The checkpoint's Ed25519 signature over the canonical JSON of its other keys; returns the key id."""
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_public_key(public_key_pem)
    signature = checkpoint.get("signature")
    if not isinstance(signature, dict) or "value" not in signature:
        raise Broken("checkpoint is not signed")
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    signed = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    try:
        key.verify(base64.b64decode(signature["value"]), signed)  # type: ignore[union-attr]
    except InvalidSignature:
        raise Broken("checkpoint signature does not match: not signed by this key, or altered") from None
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


if __name__ == "__main__":
    export = Path(sys.argv[1])
    evs = read_csv(export) if export.suffix == ".csv" else read_jsonl(export)
    signed_by = ""
    try:
        if len(sys.argv) > 3:
            cp = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
            signed_by = check_signature(cp, Path(sys.argv[3]).read_bytes())
        chains = verify(evs)
        if len(sys.argv) > 2:
            check_checkpoint(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")), evs)
    except Broken as exc:
        sys.exit(f"BROKEN: {exc}")
    print(f"ok: {len(evs)} events in {len(chains)} chains" + (f"; signature valid (key {signed_by})" if signed_by
                                                               else ""))
