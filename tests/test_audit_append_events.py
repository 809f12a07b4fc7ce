"""A batch of events appended at once is the very chain the same events appended one by one make.

The dispatcher logs a batch's ``reminder_sent`` events with
``audit.append_events`` (heads read in one query, one executemany INSERT);
the log promises the same as ``append_event`` per message: every event in
its case's chain, in order, with the same hashes, and ``audit verify`` holds.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from agreeflow.engine.core import audit, clock, db
from agreeflow.engine.core.kinds import EventKind
from agreeflow.engine.core.store import Case, Event


def open_task(af: Any, title: str) -> str:
    return af("case", "open", "task", "--title", title, "--field", "lead_unit=CA", "--field",
              "due_phrase=hoàn thành trong tháng 7/2024", "--field", "assigned_on=2024-06-21",
              now="2024-06-21T09:00:00+07:00", ok=True).stdout.strip()


def appended(af: Any, refs: list[str], batch: bool, rec: audit.Recording) -> list[tuple[Any, ...]]:
    """The rows the events of ``refs`` (interleaved, several per case) get; committed only when ``batch``."""
    at = clock.parse_instant("2024-07-24T08:00:00+07:00")
    with Session(db.get_engine(af.url)) as s:
        audit.start_recording(s, rec)
        cases = {c.ref: c for c in s.exec(select(Case).where(col(Case.ref).in_(refs)).order_by(col(Case.id))
                                          .with_for_update()).all()}
        todo = [(cases[ref], {"idem_key": f"k{i}", "recipient": f"u{i}@bacgiang.example", "note": "Thư nhắc"})
                for i, ref in enumerate(refs * 3)]
        if batch:
            assert audit.append_events(s, todo, EventKind.REMINDER_SENT, at=at, actor="agreeflow",
                                       role="system") == len(todo)
        else:
            for case, payload in todo:
                audit.append_event(s, case, EventKind.REMINDER_SENT, at=at, actor="agreeflow", role="system",
                                   payload=payload)
        rows = s.exec(select(Event.case_id, Event.seq, Event.kind, Event.payload, Event.prev_hash,  # type: ignore[call-overload]
                             Event.hash, Event.recorded_at, Event.origin)
                      .where(Event.kind == EventKind.REMINDER_SENT).order_by(col(Event.case_id), col(Event.seq))
                      ).all()
        if batch:
            s.commit()
        else:
            s.rollback()
    return [tuple(r) for r in rows]


def test_a_batch_appends_what_one_by_one_appends_and_verifies(af: Any) -> None:
    refs = [open_task(af, "Báo cáo tình hình người nước ngoài"), open_task(af, "Hướng dẫn bảo đảm an ninh")]
    rec = audit.Recording(at=clock.real_now(), origin="test:batch")
    one_by_one = appended(af, refs, batch=False, rec=rec)
    batch = appended(af, refs, batch=True, rec=rec)
    assert len(batch) == 6 and batch == one_by_one
    first = batch[0][1]  # each case's three events follow its chain's head, in the order given
    assert [seq for _, seq, *_ in batch[:3]] == [seq for _, seq, *_ in batch[3:]] == [first, first + 1, first + 2]
    assert [p["idem_key"] for *_, p, _, _, _, _ in batch] == ["k0", "k2", "k4", "k1", "k3", "k5"]
    assert af("audit", "verify", ok=True).exit_code == 0
    with db.get_engine(af.url).connect() as conn:  # each one an event of its own
        assert conn.execute(sa.select(sa.func.count()).select_from(Event)
                            .where(Event.kind == EventKind.REMINDER_SENT)).scalar_one() == 6
