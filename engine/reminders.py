"""The reminder ladder: when the sweep next looks at a deadline.

Placeholder policy until the deadline-mail work lands: the first action is
08:00 local seven days before the due date (or the due day itself when that
is already past).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from engine import clock
from engine.store import Deadline


def first_action(d: Deadline) -> datetime | None:
    """When the sweep should first look at ``d``."""
    if d.due_date is None:
        return None
    return clock.local_at(d.due_date - timedelta(days=7), 8)
