"""The SMTP server of the mail benchmark, in a process of its own (the test suite's SmtpSink).

A separate process, as a real relay would be: the sending side gets its own
core and its own interpreter lock.  Prints the port, serves until its standard
input closes, then prints how many messages arrived.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.smtp_server import SmtpSink  # noqa: E402  (needs the repository root on the path)


def main() -> None:
    sink = SmtpSink()
    sink.start()
    print(sink.port, flush=True)
    sys.stdin.read()
    sink.stop()
    print(len(sink.received), flush=True)


if __name__ == "__main__":
    main()
