"""``audit verify`` events per second at 1 M events.

The database is made by ``agreeflow init``; 50 k cases with 20 chained events
each are added with ``executemany`` (every hash real, see dataset.py).  Timed:
``engine.service.verify`` over the whole log — what ``agreeflow audit verify``
runs — which must report every event and no break.  Baseline: ``hashlib.sha256``
over the same canonical bytes alone, i.e. the hashing no verifier can skip.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone

import common
import dataset

PER_CASE = 20


def run(quick: bool) -> list[common.Figure]:
    n_events = 100_000 if quick else 1_000_000
    n_cases = n_events // PER_CASE
    settings = common.init_database(common.fresh_dir("verify"))
    from engine import db, service

    common.say(f"writing {n_events:,} chained events ({n_cases:,} cases × {PER_CASE})")
    conn = dataset.connect(common.sqlite_path(settings))
    cases = dataset.add_cases(conn, n_cases)
    blobs: list[bytes] = []
    start = time.perf_counter()
    dataset.add_events(conn, dataset.chained_events(cases, PER_CASE, datetime(2024, 1, 2, tzinfo=timezone.utc),
                                                    keep_canonical=blobs))
    build_s = time.perf_counter() - start
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    db.dispose_all()

    common.say("agreeflow audit verify (engine.service.verify)")
    start = time.perf_counter()
    result = service.verify(settings)
    verify_s = time.perf_counter() - start
    if result["broken"] or result["events"] < n_events:
        raise RuntimeError(f"verify saw {result['events']} events and {len(result['broken'])} breaks")

    common.say("baseline: sha256 over the same canonical bytes")
    start = time.perf_counter()
    for blob in blobs:
        hashlib.sha256(blob).hexdigest()
    hash_s = time.perf_counter() - start

    total = result["events"]
    ours, base = common.rate(total, verify_s), common.rate(len(blobs), hash_s)
    return [common.Figure(
        name=f"audit verify at {total:,} events", value=ours, unit="events/s",
        baseline="hashlib sha256 over the canonical bytes alone", baseline_value=base,
        ratio=ours / base, ratio_meaning="× hash-only speed", goal="≥ 200,000 events/s",
        met=ours >= 200_000 if n_events >= 1_000_000 else None,
        details=[("events / cases", f"{total:,} / {result['cases']:,}"),
                 ("verify wall time", f"{verify_s:.2f} s"),
                 ("building the log (canonical JSON + sha256 + executemany)", f"{build_s:.1f} s")])]


if __name__ == "__main__":
    common.emit(run(common.arguments(__doc__ or "").quick))
