"""An output path that is not a regular file is refused before anything is written, and left as it was.

Found when a fuzzer's ``-o /dev/null``, run as root, renamed a file over the
device: every later ``> /dev/null`` on the machine then failed.  A pipe stands
in for the device here, so that a regression cannot break the machine running
the tests.
"""

from __future__ import annotations

import os
import stat

import pytest

from agreeflow.engine.core import atomic
from tests.conftest import AUDITOR


def test_audit_export_to_a_pipe_is_exit_2_and_the_pipe_stays_a_pipe(af, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    res = af("audit", "export", "-o", str(fifo), "--lang", "en", user=AUDITOR)
    assert res.exit_code == 2
    assert "it is not a regular file" in res.stderr + res.stdout
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pipe")] == []  # no temporary file left


def test_the_one_atomic_write_never_renames_over_a_device_or_a_pipe(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        atomic.write_bytes(fifo, b"x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
