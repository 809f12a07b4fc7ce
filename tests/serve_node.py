"""``agreeflow`` as a real process, with the reminder policy file of the test.

``python -m tests.serve_node serve --node-name n1 …`` runs the real CLI; only
``engine.reminders.POLICY_FILE`` points at ``AGREEFLOW_TEST_POLICIES``, so a
test can give the mail lease seconds instead of minutes and watch another
node take over a killed node's messages on the real clock.
"""

from __future__ import annotations

import faulthandler
import os
import signal
from pathlib import Path

from agreeflow.engine.legaltime import reminders

faulthandler.register(signal.SIGUSR1)  # a stuck node in a test can be asked for its stacks
reminders.POLICY_FILE = Path(os.environ["AGREEFLOW_TEST_POLICIES"])

from agreeflow import cli  # noqa: E402  (after the patch, which cli's imports must see)

if __name__ == "__main__":
    cli.main()
