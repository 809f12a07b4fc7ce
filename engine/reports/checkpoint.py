"""Checkpoints: pin every chain's head outside the database, so a rewrite or a cut is caught.

Why: a hash chain alone only catches someone who edits an event and does not
recompute the hashes after it.  Whoever controls the database can rewrite an
event AND recompute every later hash — the chain verifies again — or simply
delete a chain's last events, or a whole case.  A checkpoint is a small JSON
file, kept where the database's owner cannot reach (written by every sweep
to a folder outside the database, e-mailed to the inspectorate, its root
printed in the annual report), that records each chain's head ``(case, seq,
hash)``, the security log's head, and one Merkle root over the chain heads.
Later, for every head, the event at that seq must still exist with that
hash and the chain up to it must verify: nothing recorded before the
checkpoint can then have been changed, removed or reordered.

Merkle root (RFC 6962 §2.1, SHA-256), documented in docs/audit.md:
leaves are the UTF-8 bytes ``"<case>|<seq>|<hash>"`` of the heads sorted by
case ref (code-point order); ``MTH({}) = SHA256()``;
``MTH({d}) = SHA256(0x00 || d)``; for n > 1, with k the largest power of two
below n, ``MTH(D) = SHA256(0x01 || MTH(D[:k]) || MTH(D[k:]))``.

Signature (optional, Ed25519): ``signature = {"alg": "ed25519", "key_id",
"value"}``; ``value`` is the base64 signature of the canonical JSON (sorted
keys, no spaces, UTF-8) of every other key of the file.  The private key
stays outside the database (``AGREEFLOW_SIGNING_KEY``); an inspector checks
with the public key alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, files, seclog
from agreeflow.engine.core.errors import InputFileError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.store import Case, Event, SecurityEvent

FORMAT = "agreeflow-checkpoint/1"
SUFFIX = ".json"
PRIVATE_KEY = "checkpoint-signing.key"
PUBLIC_KEY = "checkpoint-signing.pub"
MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024
"""Largest checkpoint file read (64 MiB: the heads of half a million cases); a bigger one is not ours."""
MAX_KEY_BYTES = 64 * 1024
"""Largest key file read (a PEM Ed25519 key is about 120 bytes)."""


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


def security_head(s: Session) -> dict[str, Any] | None:
    """The security log's last entry ``{seq, hash}`` (None while it is empty)."""
    row = s.exec(select(SecurityEvent.seq, SecurityEvent.hash).order_by(col(SecurityEvent.seq).desc())
                 .limit(1)).first()
    return {"seq": row[0], "hash": row[1]} if row else None


def take(s: Session, now: datetime, recorded: datetime | None = None, database: str | None = None,
         events: int | None = None) -> dict[str, Any]:
    """The checkpoint of the log as it is now (heads, their root, the security log's head).

    ``now`` is when it is taken (the command's instant), ``recorded`` the real
    time (the file is named by it); ``events`` defaults to the sum of the
    heads' seqs, which is the number of events of sound chains.
    """
    heads: list[dict[str, Any]] = sorted(({"case": r, "seq": q, "hash": h} for r, q, h in audit.heads(s)),
                                         key=lambda h: str(h["case"]))
    cp: dict[str, Any] = {"format": FORMAT, "taken_at": audit.fmt_at(now),
                          "events": events if events is not None else sum(h["seq"] for h in heads),
                          "cases": len(heads), "root": root_of(heads)}
    if recorded is not None:
        cp["recorded_at"] = audit.fmt_at(recorded)
    if database is not None:
        cp["database"] = database
    cp["security_log"] = security_head(s)
    cp["heads"] = heads
    return cp


def file_name(recorded: datetime) -> str:
    """``YYYYMMDDTHHMMSS.ffffffZ.json`` of the real UTC time: names sort in time order."""
    return audit.fmt_at(recorded).replace("-", "").replace(":", "") + SUFFIX


def newest(folder: Path) -> Path | None:
    """The newest checkpoint file of ``folder`` by name (None when there is none).

    Raises:
        InputFileError (exit 2): the folder cannot be read (no permission, a name too long, …).
    """
    try:
        if not folder.is_dir():
            return None
        found = sorted(p for p in folder.iterdir() if p.suffix == SUFFIX and p.name[:8].isdigit() and p.is_file())
    except OSError as exc:
        raise InputFileError(path=str(folder), problem=exc.strerror or type(exc).__name__) from None
    return found[-1] if found else None


def same_pins(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two checkpoints pin the same heads and security-log head (nothing was written between)."""
    return bool(a.get("root") == b.get("root") and a.get("security_log") == b.get("security_log"))


def still_held(s: Session, cp: dict[str, Any]) -> list[str]:
    """What of an earlier checkpoint the database no longer holds (before pinning a new one), in English.

    Cheap enough for every sweep: the heads are read once, and only chains
    that grew since are looked into.
    """
    now = {r: (q, h) for r, q, h in audit.heads(s)}
    problems = []
    for h in cp["heads"]:
        seq, found = now.get(h["case"], (0, None))
        if seq < h["seq"]:
            problems.append(f"{h['case']}: the log ends at seq {seq}, the checkpoint pinned seq {h['seq']}")
        elif seq == h["seq"] and found != h["hash"] or seq > h["seq"] and s.exec(
                select(Event.hash).join(Case, col(Case.id) == col(Event.case_id))
                .where(Case.ref == h["case"], Event.seq == h["seq"])).first() != h["hash"]:
            problems.append(f"{h['case']} seq {h['seq']} differs from the checkpoint")
    pinned, head = cp.get("security_log"), security_head(s)
    if pinned and (head is None or head["seq"] < pinned["seq"] or seclog_hash(s, pinned["seq"]) != pinned["hash"]):
        problems.append(f"security log seq {pinned['seq']} differs from the checkpoint or is missing")
    return problems


def seclog_hash(s: Session, seq: int) -> str | None:
    return s.exec(select(SecurityEvent.hash).where(SecurityEvent.seq == seq)).first()


def security_breaks(s: Session, cp: dict[str, Any]) -> list[audit.Break]:
    """The security log against the checkpoint's pin of it: nothing recorded before it gone or changed."""
    pinned = cp.get("security_log")
    if not pinned:
        return []
    head = security_head(s)
    last = head["seq"] if head else 0
    taken = cp.get("taken_at")
    if last < pinned["seq"]:
        return [audit.Break(seclog.NAME, last + 1,
                            Msg(N_("entries {span} recorded before checkpoint {taken} are missing"),
                                span=f"{last + 1}–{pinned['seq']}", taken=taken))]
    if seclog_hash(s, pinned["seq"]) != pinned["hash"]:
        return [audit.Break(seclog.NAME, pinned["seq"], Msg(N_("differs from the checkpoint {taken}"), taken=taken))]
    return []


def dumps(cp: dict[str, Any]) -> str:
    """The file's text: the summary fields, then one head per line (short enough to print)."""
    top = ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in cp.items() if k != "heads")
    heads = ",\n".join("  " + json.dumps(h, ensure_ascii=False, separators=(",", ":")) for h in cp["heads"])
    return "{\n" + top + ',\n "heads": [\n' + heads + "\n ]\n}\n"


# ------------------------------------------------------------------ reading and checking a file
def load(path: Path) -> Any:
    """The JSON of a checkpoint file, not yet checked (exit 2 when it cannot be read or is not JSON)."""
    data = files.read_input(Path(path), MAX_CHECKPOINT_BYTES)
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        raise InputFileError(path=str(path), problem=Msg(N_("not JSON: {problem}"), problem=str(exc)[:200])) from None


def check(path: Path, cp: Any) -> dict[str, Any]:
    """The checkpoint ``cp`` read from ``path``, checked whole: its format, and its root against its heads."""
    heads = cp.get("heads") if isinstance(cp, dict) else None
    if not isinstance(cp, dict) or cp.get("format") != FORMAT or not isinstance(heads, list) or not all(
            isinstance(h, dict) and isinstance(h.get("case"), str) and isinstance(h.get("seq"), int)
            and isinstance(h.get("hash"), str) for h in heads):
        raise InputFileError(path=str(path), problem=Msg(N_("not an {format} file (needs format, root, heads: "
                                                            "[case, seq, hash])"), format=FORMAT))
    if root_of(heads) != cp.get("root"):
        raise InputFileError(path=str(path), problem=Msg(N_("the Merkle root does not match the heads: the checkpoint "
                                                            "file was altered — use the copy that was sent out")))
    pin = cp.get("security_log")
    if pin is not None and not (isinstance(pin, dict) and isinstance(pin.get("seq"), int)
                                and isinstance(pin.get("hash"), str)):
        raise InputFileError(path=str(path), problem=Msg(N_("security_log must be (seq, hash)")))
    return cp


def read(path: Path) -> dict[str, Any]:
    """Load a checkpoint file and check it is whole (its root matches its heads)."""
    return check(path, load(path))


# ------------------------------------------------------------------ signing (Ed25519, the cryptography package)
def signed_bytes(cp: dict[str, Any]) -> bytes:
    """What the signature covers: canonical JSON of every key but ``signature``."""
    body = {k: v for k, v in cp.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key_id(public_raw: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def new_key_pair() -> tuple[bytes, bytes, str]:
    """A fresh Ed25519 key pair as (private PEM, public PEM, key id)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public, key_id(raw)


def load_private_key(path: Path) -> Any:
    """The Ed25519 private key in ``path`` (exit 2 when it cannot be read or is no such key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(files.read_input(Path(path), MAX_KEY_BYTES), password=None)
    except OSError as exc:
        raise InputFileError(path=str(path), problem=Msg(N_("cannot read the signing key: {problem}"),
                                                         problem=exc.strerror)) from None
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputFileError(path=str(path), problem=Msg(N_("not an Ed25519 private key (PEM): make one with "
                                                            "agreeflow audit keygen")))
    return key


def sign(cp: dict[str, Any], private_key: Any) -> dict[str, Any]:
    """``cp`` with its ``signature`` (replacing any earlier one)."""
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = {k: v for k, v in cp.items() if k != "signature"}
    value = base64.b64encode(private_key.sign(signed_bytes(body))).decode("ascii")
    return {**body, "signature": {"alg": "ed25519", "key_id": key_id(raw), "value": value}}


def check_signature(path: Path, cp: Any, public_key_path: Path) -> str:
    """Raise InputFileError (exit 2) unless ``cp`` is signed by the key in ``public_key_path``; the key id."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(files.read_input(Path(public_key_path), MAX_KEY_BYTES))
    except OSError as exc:
        raise InputFileError(path=str(public_key_path), problem=Msg(N_("cannot read the public key: {problem}"),
                                                                    problem=exc.strerror)) from None
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise InputFileError(path=str(public_key_path), problem=Msg(N_("not an Ed25519 public key (PEM)")))
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    sig = cp.get("signature") if isinstance(cp, dict) else None
    value = sig.get("value") if isinstance(sig, dict) else None
    if not isinstance(value, str):
        raise InputFileError(path=str(path), problem=Msg(N_("the checkpoint is not signed: it is not signed by this "
                                                            "key or was altered")))
    try:
        key.verify(base64.b64decode(value, validate=True), signed_bytes(cp))
    except (InvalidSignature, ValueError):
        named = sig.get("key_id") if isinstance(sig, dict) else None
        raise InputFileError(path=str(path), problem=Msg(N_(
            "the signature does not match: the checkpoint is not signed by this key (key {key}; the file names "
            "{named}) or was altered — use the copy that was sent out"), key=key_id(raw), named=named)) from None
    return key_id(raw)
