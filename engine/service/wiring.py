"""Load the layers whose import registers effects, actions and guards with the case core.

The core (engine.core) imports nothing above it; what a transition does
beyond the log — deadlines, the suspension ledger, child cases, pending
deadlines, recurrence — and the workflow files' named guards are registered
by these modules when they are imported.  The service layer imports this
module first, so every entry point (command line, web, worker, demo, tests
through the service) runs with the same rules.
"""

from __future__ import annotations

import agreeflow.engine.legaltime.deadlines  # noqa: F401  (effects: timers close and open)
import agreeflow.engine.legaltime.suspension  # noqa: F401  (actions: suspend, resume)
import agreeflow.engine.procedures.fanout  # noqa: F401  (effect: spawn and fan in; action: close_children)
import agreeflow.engine.procedures.pending  # noqa: F401  (effects: event-started deadlines)
import agreeflow.engine.procedures.recurrence  # noqa: F401  (action: open_next_occurrence)
import agreeflow.workflows.guards  # noqa: F401  (the named guards of the workflow files)
