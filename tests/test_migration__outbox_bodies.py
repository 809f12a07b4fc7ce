"""Migration 0006 moves a queued message's bodies out of its outbox row into ``outbox_bodies`` (same id), and
back on the way down; the messages queued before it go out with the words they were queued with."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from smtp_server import SmtpSink  # pytest puts tests/ on sys.path: it has no __init__.py

from agreeflow.engine.core import db
from tests.test_reminder_dispatch import WEEK_BEFORE, open_tasks, parts


def _bodies(af: Any, table: str) -> dict[int, tuple[str, str]]:
    with db.get_engine(af.url).connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(sa.text(f"SELECT id, body_text, body_html FROM {table}"))}


def test_queued_bodies_move_to_their_own_table_and_back_and_still_go_out(af: Any) -> None:
    open_tasks(af)
    queued = af.json("tick", "--no-dispatch", now=WEEK_BEFORE)["queued"]
    new = _bodies(af, "outbox_bodies")
    assert len(new) == queued and all(text and html for text, html in new.values())
    with db.get_engine(af.url).connect() as conn:
        held = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status = 'bundled'")).scalar_one()
        assert "body_text" not in {c["name"] for c in sa.inspect(conn).get_columns("outbox")}

    cfg = db.alembic_config(af.url)
    db.dispose_all()
    command.downgrade(cfg, "0005")
    old = {row_id: bodies for row_id, bodies in _bodies(af, "outbox").items() if bodies != ("", "")}
    assert old == new  # the rungs folded into them (held, then bundled) have none, before as after
    with db.get_engine(af.url).connect() as conn:
        assert "outbox_bodies" not in sa.inspect(conn).get_table_names()
        assert conn.execute(sa.text("SELECT count(*) FROM outbox")).scalar_one() == queued + held

    db.dispose_all()
    command.upgrade(cfg, "head")
    assert _bodies(af, "outbox_bodies") == new
    with SmtpSink() as server:
        af.env["AGREEFLOW_SMTP"] = server.url()
        assert af.json("tick", now=WEEK_BEFORE)["sent"] == queued
        texts = {parts(m.message())["text/plain"] for m in server.received}
    assert texts == {" ".join(text.split()) for text, _ in new.values()}
