"""Files agreeflow writes: one atomic write, and the content-addressed store of attachments.

:func:`atomic_write` writes to a temporary file in the target's folder, syncs
it and renames it over the target: a reader sees the old file or the new
one, never half of one, and a failed command leaves no partial file behind.
Every file agreeflow writes for a user (exports, reports, checkpoints, mail
in the ``.eml`` folder, caches) goes through it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO, TypeVar, overload

from agreeflow.engine.core.errors import InputFileError

T = TypeVar("T")


@overload
def atomic_write(path: Path, write: Callable[[TextIO], T], *, binary: Literal[False] = False,
                 sync: bool = True) -> T: ...
@overload
def atomic_write(path: Path, write: Callable[[BinaryIO], T], *, binary: Literal[True], sync: bool = True) -> T: ...
def atomic_write(path: Path, write: Callable[[Any], T], *, binary: bool = False, sync: bool = True) -> T:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it to ``path``.

    ``write`` gets a text handle (UTF-8, newlines as written), or a binary one
    with ``binary=True``.  Returns what ``write`` returned.  Raises OSError
    (the folder cannot be written, ``path`` is a directory, a device such as
    ``/dev/null`` or a socket, …) with nothing left behind.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # never rename over a device (/dev/null as root), socket or folder
        raise IsADirectoryError(f"{path} exists and is not a regular file") if path.is_dir() else \
            OSError(f"{path} exists and is not a regular file")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            result = write(out)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result


def write_bytes(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda out: out.write(data), binary=True, sync=sync)


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
