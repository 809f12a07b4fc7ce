"""One sweep, one instant: a transition the sweep fires and every event it writes carry the sweep's time."""

from __future__ import annotations

from datetime import timedelta

from agreeflow.engine.core import clock
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.service import worker
from tests.test_consultation_rounds import DISTRICTS, SILENT, children, officer, open_round


def test_the_deemed_agreed_transition_and_its_events_carry_the_sweep_instant(af):
    ref = open_round(af)
    kids = children(af, ref)
    for unit in DISTRICTS:
        if unit not in SILENT:
            af("case", "fire", kids[unit], "agree", user=officer(unit), now="2021-04-02T10:00:00+07:00", ok=True)
    seen = {k: len(af.json("case", "history", kids[k])) for k in SILENT}

    # The sweep runs at a moment far from the real clock (which is free): nothing may read the clock instead.
    at = clock.parse_instant("2021-04-08T08:00:00+07:00") + timedelta(microseconds=123457)
    clock.set_now(None)
    counts = worker.sweep(Settings(data_dir=af.home, db_url=af.url), at)

    assert counts["errors"] == 0 and counts["missed"] == len(SILENT)
    for unit in SILENT:
        written = af.json("case", "history", kids[unit])[seen[unit]:]
        kinds = [e["kind"] for e in written]
        assert "transition" in kinds and "deemed_agreed" in kinds, kinds
        assert {e["at"] for e in written} == {"2021-04-08T01:00:00.123457Z"}, written
    parent = af.json("case", "history", ref)
    fan_in = next(e for e in parent if e["kind"] == "transition" and e["trigger"] == "close")
    assert fan_in["at"] == "2021-04-08T01:00:00.123457Z"
