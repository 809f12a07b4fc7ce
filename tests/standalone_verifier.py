"""An outside verifier of agreeflow exports and checkpoints, written only from docs/audit.md.

It imports nothing from agreeflow on purpose: it is what an inspector would
write.  Run it as a script: ``python standalone_verifier.py EXPORT [CHECKPOINT]``.
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


def canonical_hash(event: dict[str, Any]) -> str:
    body = {k: v for k, v in event.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
            out.append(ev)
    return out


def verify(events: Iterable[dict[str, Any]], partial: bool = False) -> dict[str, tuple[int, str]]:
    """Steps 1–4 of docs/audit.md; returns each case's last (seq, hash).  Raises Broken."""
    last: dict[str, tuple[int, str]] = {}
    for n, ev in enumerate(events, 1):
        if canonical_hash(ev) != ev["hash"]:
            raise Broken(f"event {n}: {ev['case']} seq {ev['seq']}: hash does not match")
        if ev["case"] in last:
            seq, prev = last[ev["case"]]
            if ev["seq"] != seq + 1 or ev["prev_hash"] != prev:
                raise Broken(f"event {n}: {ev['case']} seq {ev['seq']}: chain broken")
        elif not partial and (ev["seq"] != 1 or ev["prev_hash"] != ZEROS):
            raise Broken(f"event {n}: {ev['case']} does not start at seq 1")
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


if __name__ == "__main__":
    export = Path(sys.argv[1])
    evs = read_csv(export) if export.suffix == ".csv" else read_jsonl(export)
    try:
        chains = verify(evs)
        if len(sys.argv) > 2:
            check_checkpoint(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")), evs)
    except Broken as exc:
        sys.exit(f"BROKEN: {exc}")
    print(f"ok: {len(evs)} events in {len(chains)} chains")
