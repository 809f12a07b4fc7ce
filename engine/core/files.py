"""Files agreeflow writes: the content-addressed store of attachments, and (from engine.core.atomic) the one
atomic write, ``atomic_write`` / ``write_bytes``, which every file agreeflow writes goes through.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from agreeflow.engine.core.atomic import write_bytes
from agreeflow.engine.core.errors import InputFileError


def read_input(path: Path, limit: int) -> bytes:
    """The bytes of a file a user named (a checkpoint, a key, a plan), read only when it is a regular file of
    at most ``limit`` bytes.

    A folder, a device (``/dev/zero`` never ends) or a pipe (it would wait for a writer), a missing or
    unreadable file, or one over the limit is InputFileError (exit 2) — before it is read in full.
    """
    from agreeflow.engine.core.i18n import N_, Msg

    def refuse(problem: Msg) -> InputFileError:
        return InputFileError(path=str(path), problem=problem)
    try:
        if path.is_dir():
            raise refuse(Msg(N_("it is a folder, not a file")))
        if not path.is_file():
            raise refuse(Msg(N_("file not found")) if not path.exists()
                         else Msg(N_("not a regular file (a device or a pipe)")))
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise refuse(Msg(N_("cannot read it: {reason}"), reason=exc.strerror or type(exc).__name__)) from None
    if len(data) > limit:
        raise refuse(Msg(N_("larger than the {limit} bytes such a file may have"), limit=f"{limit:,}"))
    return data


def blob_path(store: Path, sha256: str) -> Path:
    """Where the store keeps the content whose SHA-256 is ``sha256``."""
    return Path(store) / sha256[:2] / sha256


def put_blob(store: Path, data: bytes) -> str:
    """Keep ``data`` in the content-addressed store (once); returns its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    target = blob_path(store, sha)
    if not target.exists():
        write_bytes(target, data)
    return sha
