"""The one atomic write: every file agreeflow writes goes through it.

:func:`atomic_write` writes to a temporary file in the target's folder, syncs
it and renames it over the target: a reader sees the old file or the new
one, never half of one, and a failed command leaves no partial file behind.
Exports, reports, checkpoints, mail in the ``.eml`` folder, letters and the
caches (parsed YAML, the holiday table, compiled catalogues) all use it.

It imports nothing of agreeflow, so that every module can use it —
engine.core.i18n too, whose messages engine.core.errors (and so
engine.core.files) needs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Literal, TextIO, TypeVar, overload

T = TypeVar("T")


@overload
def atomic_write(path: Path, write: Callable[[TextIO], T], *, binary: Literal[False] = False,
                 sync: bool = True, exclusive: bool = False) -> T: ...
@overload
def atomic_write(path: Path, write: Callable[[BinaryIO], T], *, binary: Literal[True], sync: bool = True,
                 exclusive: bool = False) -> T: ...
def atomic_write(path: Path, write: Callable[[Any], T], *, binary: bool = False, sync: bool = True,
                 exclusive: bool = False) -> T:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it to ``path``.

    ``write`` gets a text handle (UTF-8, newlines as written), or a binary one
    with ``binary=True``.  Returns what ``write`` returned.  Raises OSError
    (the folder cannot be written, ``path`` is a directory, a device such as
    ``/dev/null`` or a socket, …) with nothing left behind.  The file is
    readable by its owner only (0600, as ``mkstemp`` makes it).  With
    ``exclusive`` a file already at ``path`` is never replaced
    (FileExistsError): keys and secrets, which another process may be making
    at the same moment.
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
        if exclusive:
            os.link(tmp, path)  # fails if the name exists; the whole file appears at once, or nothing
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result


def write_bytes(path: Path, data: bytes, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically."""
    atomic_write(path, lambda out: out.write(data), binary=True, sync=sync)
