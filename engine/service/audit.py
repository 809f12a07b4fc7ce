"""The log for auditors: verify the chains and the tables, query, export, checkpoints and their keys.

``verify`` checks in one pass per case what engine.core.verification lists
(chains, recorded times, the replay against the tables, a checkpoint), then
the security log.  The checkpoint is the one given (``--checkpoint``) or the
newest the sweeps wrote to the checkpoints folder; with ``--public-key`` its
signature is checked before anything else.  A large log is shared between
processes, each reading a range of case ids in a transaction of its own:
the chains are per case, so the parts need no common snapshot.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from sqlmodel import Session

from agreeflow.engine.core import atomic, audit, cases, clock, db, seclog, verification
from agreeflow.engine.core.errors import InputFileError, OutputPathError, TamperingError
from agreeflow.engine.core.i18n import N_, Msg
from agreeflow.engine.core.settings import Settings
from agreeflow.engine.legaltime import reminders
from agreeflow.engine.reports import auditlog, checkpoint
from agreeflow.engine.reports import common as reports
from agreeflow.engine.service import base
from agreeflow.engine.service.base import now, reading, reading_for, writing
from agreeflow.engine.service.cases import label_events
from agreeflow.engine.service.present import recorded_text
from agreeflow.notifications import compose

log = logging.getLogger("agreeflow.checkpoint")
PARALLEL_FROM = 150_000
"""Events from which verify shares the log between processes (below, starting them costs more than it saves)."""
CHUNKS_PER_WORKER = 8
PROGRESS_CHUNK = 10_000
"""Events per chunk when verify reports its progress: a chunk takes a fraction of a second, so a progress
report comes more often than once a second (the web's "Kiểm tra toàn vẹn" shows it)."""
Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: ``phase`` is ``chains`` (``done`` events of about ``total`` checked) or
``security_log`` (the chains are done); called from the verifying process, never from its helpers."""


# ------------------------------------------------------------------ verify
def verify(settings: Settings, case_ref: str | None = None, checkpoint_file: Path | None = None,
           public_key: Path | None = None, workers: int | None = None,
           progress: Progress | None = None) -> dict[str, Any]:
    """Check the log (see the module docstring); TamperingError (exit 4) lists every finding.

    ``progress`` (see :data:`Progress`) is told how far the check has come; the log is then read in
    smaller chunks, and the findings and counts are the same as without it.

    Raises:
        InputFileError (exit 2): the checkpoint cannot be read, is not one, was
            altered, or (with ``public_key``) is unsigned or not signed by that key.
        TamperingError (exit 4): a broken chain, a table that disagrees with the
            log, a time that goes backwards, or something the checkpoint pinned
            that is gone or changed — each named with its case.
    """
    used = _checkpoint(settings, checkpoint_file, public_key)
    cp = used.cp if used is not None else None
    pinned = verification.Pinned({h["case"]: (h["seq"], h["hash"]) for h in cp["heads"]}, cp["taken_at"]) \
        if cp is not None else None
    with reading_for(settings, "audit verify", case=case_ref) as s:
        if case_ref:
            case_id = cases.find(s, case_ref).id or 0
            if pinned is not None:
                pinned = verification.Pinned({k: v for k, v in pinned.heads.items() if k == case_ref}, pinned.taken)
            found = verification.scan(s, case_id, case_id, pinned)
            n_security = None
        else:
            found = _scan_all(settings, s, pinned, workers, progress)
            if progress is not None:
                progress("security_log", found.events, found.events)
            n_security, problems = seclog.verify(s)
            found.breaks += [audit.Break(seclog.NAME, None, p) for p in problems]
            if cp is not None and not problems:
                found.breaks += checkpoint.security_breaks(s, cp)
    if pinned is not None:
        found.breaks += verification.missing_cases(pinned, found.refs)
    breaks = sorted(found.breaks, key=lambda b: (b.case, b.seq or 0))
    result: dict[str, Any] = {"events": found.events, "cases": found.cases, "broken": [b.to_json() for b in breaks]}
    if n_security is not None:
        result["security_log"] = n_security
    result["checkpoint"] = used.view() if used is not None else None
    result["checkpoints_dir"] = str(settings.checkpoints_dir)
    if breaks:
        raise TamperingError(listing=audit.listing(breaks), broken=result["broken"], events=found.events,
                             cases=found.cases)
    return result


@dataclass
class _Used:
    """The checkpoint a verify holds the log against."""

    cp: dict[str, Any]
    path: Path
    automatic: bool
    key_id: str | None

    def view(self) -> dict[str, Any]:
        return {"file": str(self.path), "root": self.cp["root"], "taken_at": self.cp.get("taken_at"),
                "heads": len(self.cp["heads"]), "events": self.cp.get("events"), "automatic": self.automatic,
                "signed": "signature" in self.cp, "signature_checked_with": self.key_id}


def _checkpoint(settings: Settings, given: Path | None, public_key: Path | None) -> _Used | None:
    """The checkpoint given, else the newest automatic one; its signature checked first when a key is given."""
    path = given or checkpoint.newest(settings.checkpoints_dir)
    if path is None:
        if public_key is not None:
            raise InputFileError(path=str(settings.checkpoints_dir),
                                 problem=Msg(N_("no checkpoint to check the signature of (give --checkpoint FILE)")))
        return None
    raw = checkpoint.load(path)
    key = checkpoint.check_signature(path, raw, public_key) if public_key is not None else None
    return _Used(checkpoint.check(path, raw), path, given is None, key)


def _scan_all(settings: Settings, s: Session, pinned: verification.Pinned | None,
              workers: int | None, progress: Progress | None = None) -> verification.Scan:
    """Every case, in this process or shared with ``workers - 1`` others (default: by the log's size)."""
    lo, hi = verification.id_range(s)
    size = s.connection().execute(sa.text("SELECT max(id) FROM events")).scalar() or 0
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if size >= PARALLEL_FROM else 1
    n = workers * CHUNKS_PER_WORKER
    if progress is not None:  # chunks of about PROGRESS_CHUNK events (case ids spread the log evenly enough)
        n = max(n, size // PROGRESS_CHUNK, 1)
        progress("chains", 0, size)
    if (workers <= 1 or hi - lo + 1 < workers) and progress is None:
        return verification.scan(s, lo, hi, pinned)
    step = max((hi - lo + 1 + n - 1) // n, 1)
    chunks = [(a, min(a + step - 1, hi)) for a in range(lo, hi + 1, step)]
    if workers <= 1 or hi - lo + 1 < workers:
        out = verification.Scan()
        for a, b in chunks:
            out.add(verification.scan(s, a, b, pinned))
            if progress is not None:
                progress("chains", out.events, size)
        return out
    methods = multiprocessing.get_all_start_methods()
    # fork: the children start at once with everything imported; they open connections of their own
    # (db.after_fork).  spawn where there is no fork.
    ctx: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    counter, done = ctx.Value("i", 0), ctx.Value("q", 0)
    results: Any = ctx.Queue()
    procs = [ctx.Process(target=_part, args=(settings.url, chunks, pinned, counter, results, done), daemon=True)
             for _ in range(workers - 1)]
    gc.freeze()  # the children would otherwise copy every page the collector touches
    try:
        for p in procs:
            p.start()
    finally:
        gc.unfreeze()
    report = (lambda: progress("chains", done.value, size)) if progress is not None else None
    total = _take(s, chunks, pinned, counter, done, report)
    got = 0
    while got < len(procs):
        if report is not None:
            report()
        try:
            part = results.get(timeout=1.0 if report is None else 0.25)
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                try:
                    part = results.get(timeout=1.0)
                except queue.Empty:
                    raise RuntimeError("a verify process ended without its result") from None
            else:
                continue
        if isinstance(part, BaseException):
            raise part
        total.add(part)
        got += 1
    for p in procs:
        p.join()
    return total


def _take(s: Session, chunks: list[tuple[int, int]], pinned: verification.Pinned | None,
          counter: Any, done: Any = None, report: Callable[[], None] | None = None) -> verification.Scan:
    """Scan chunks until none is left (each process takes the next free one); ``done`` counts the events
    every process has checked, ``report`` (the verifying process only) passes it on after each chunk."""
    out = verification.Scan()
    while True:
        with counter.get_lock():
            i = counter.value
            counter.value += 1
        if i >= len(chunks):
            return out
        part = verification.scan(s, chunks[i][0], chunks[i][1], pinned)
        out.add(part)
        if done is not None:
            with done.get_lock():
                done.value += part.events
        if report is not None:
            report()


def _part(url: str, chunks: list[tuple[int, int]], pinned: verification.Pinned | None, counter: Any,
          results: Any, done: Any = None) -> None:
    """A verify process: its share of the chunks, in one read transaction of its own."""
    try:
        db.after_fork()
        with db.read(Settings(db_url=url)) as s:
            results.put(_take(s, chunks, pinned, counter, done))
    except Exception as exc:  # handed to the parent, which raises it
        results.put(RuntimeError(f"verify process: {type(exc).__name__}: {exc}"))


# ------------------------------------------------------------------ reading and exporting
def audit_log(settings: Settings, start: str | None = None, end: str | None = None, **filters: str | None
              ) -> list[dict[str, Any]]:
    """Events matching ``case``/``actor``/``unit``/``kind`` in the period, oldest first."""
    w = reports.window(start, end)
    with reading_for(settings, "audit log", start=start, end=end, **filters) as s:
        rows = label_events(s, auditlog.query(s, w, **filters), settings.lang)
    return [r | {"recorded": recorded_text(r, settings.lang)} for r in rows]


def audit_export(settings: Settings, fmt: str, out: TextIO, start: str | None = None, end: str | None = None
                 ) -> dict[str, Any]:
    """Write every chain field of every event (in the period) to ``out`` as jsonl or csv.

    The result says which kind of database it came from (``simulation``: made with ``init --simulation``,
    its times simulated); the command prints it beside the file.
    """
    w = reports.window(start, end)
    with reading_for(settings, "audit export", start=start, end=end) as s:
        return {"format": fmt, **auditlog.write(auditlog.export_rows(s, w), out, fmt),
                "simulation": base.is_simulation(s, settings)}


def security_log(settings: Settings, start: str | None = None, end: str | None = None, kind: str | None = None,
                 actor: str | None = None) -> list[dict[str, Any]]:
    """Entries of the security log (sign-ins, refusals with no case, reads, settings), oldest first."""
    w = reports.window(start, end)
    with reading_for(settings, "audit security-log", start=start, end=end, kind=kind, actor=actor) as s:
        return auditlog.security_query(s, w, kind, actor, settings.lang)


def set_access_log(settings: Settings, on: bool) -> dict[str, Any]:
    """Keep (or stop keeping) an access log of reads (admin); the switch itself goes to the security log.

    Raises:
        RoleRefusedError / ReadOnlyError (exit 3): not an admin (logged in the security log).
    """
    def work(s: Session) -> dict[str, Any]:
        who = base.writer(s, settings, admin=True, action="audit access-log")
        before = base.access_log_on(s)
        if before != on:
            base.set_meta(s, base.ACCESS_LOG_KEY, "true" if on else "false")
            seclog.append(s, seclog.SecurityKind.SETTING_CHANGED, actor=who.email, origin=settings.origin,
                          at=clock.real_now(), detail={"setting": base.ACCESS_LOG_KEY,
                                                       "before": "on" if before else "off",
                                                       "after": "on" if on else "off"})
        return {"access_log": "on" if on else "off", "changed": before != on, "by": who.email}
    return base.refused(settings, "audit access-log", work)


# ------------------------------------------------------------------ checkpoints
def audit_checkpoint(settings: Settings) -> dict[str, Any]:
    """Verify the log, then pin every chain's head and their Merkle root (exit 4 if already broken).

    Signed when ``AGREEFLOW_SIGNING_KEY`` names a key.
    """
    key = checkpoint.load_private_key(settings.signing_key) if settings.signing_key else None
    result = verify(settings)
    with reading(settings) as s:
        cp = checkpoint.take(s, now(), recorded=clock.real_now(), database=db.safe_url(settings.url),
                             events=result["events"])
    return checkpoint.sign(cp, key) if key is not None else cp


def checkpoint_text(cp: dict[str, Any]) -> str:
    """A checkpoint as the file that is kept outside the database."""
    return checkpoint.dumps(cp)


def sweep_checkpoint(settings: Settings, at: Any) -> dict[str, Any] | None:
    """The automatic checkpoint of a sweep: written (signed), and queued for the inspectorate.

    Nothing is written when nothing was pinned since the newest checkpoint.
    Nor when the log no longer holds the newest checkpoint — a cut or a
    rewrite since — so that the next ``audit verify`` still holds the log
    against that one and names what is gone; the refusal is logged as an
    error.  Returns ``{"file", "root", "mailed"}``, ``{"problems"}`` or None.

    Raises:
        InputFileError (exit 2): the signing key cannot be read.
        OutputPathError (exit 2): the folder cannot be written.
    """
    key = checkpoint.load_private_key(settings.signing_key) if settings.signing_key else None
    folder = settings.checkpoints_dir
    last_path = checkpoint.newest(folder)
    last = checkpoint.read(last_path) if last_path is not None else None
    recorded = clock.real_now()
    with reading(settings) as s:
        cp = checkpoint.take(s, at, recorded=recorded, database=db.safe_url(settings.url))
        if last is not None and checkpoint.same_pins(last, cp):
            return None
        problems = checkpoint.still_held(s, last) if last is not None else []
    if problems:
        log.error("no checkpoint written: the log no longer holds %s (%s); run agreeflow audit verify",
                  last_path, "; ".join(problems[:5]))
        return {"problems": problems}
    if last_path is not None and last is not None:
        cp["previous"] = {"file": last_path.name, "root": last["root"]}
    if key is not None:
        cp = checkpoint.sign(cp, key)
    path = folder / checkpoint.file_name(recorded)
    text = checkpoint.dumps(cp)
    try:
        atomic.atomic_write(path, lambda fh: fh.write(text))
    except OSError as exc:
        raise OutputPathError(path=str(path), problem=exc.strerror or str(exc)) from None
    mailed = 0
    addresses = [a.strip() for a in (settings.inspectorate or "").split(",") if a.strip()]
    if addresses:
        rows = compose.checkpoint_rows(cp, text, path.name, addresses, reminders.load(), at)
        with writing(settings) as s:
            mailed = len(compose.queue(s, rows))
    return {"file": str(path), "root": cp["root"], "mailed": mailed}


def keygen(out: Path) -> dict[str, Any]:
    """Write a new Ed25519 key pair for signing checkpoints into folder ``out`` (private key mode 0600).

    Refuses (exit 2) to overwrite a key: checkpoints signed with it could no longer be checked.
    """
    private_path, public_path = Path(out) / checkpoint.PRIVATE_KEY, Path(out) / checkpoint.PUBLIC_KEY
    for p in (private_path, public_path):
        try:
            there = p.exists()
        except OSError as exc:  # a name too long for the file system, a component that is a file, …
            raise OutputPathError(path=str(out), problem=exc.strerror or str(exc)) from None
        if there:
            raise OutputPathError(path=str(p), problem=Msg(N_("a key file is already there; it is not overwritten "
                                                              "(checkpoints signed with it could no longer be "
                                                              "checked)")))
    private, public, key_id = checkpoint.new_key_pair()
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        atomic.atomic_write(private_path, lambda fh: fh.write(private), binary=True, exclusive=True)  # 0600
        atomic.write_bytes(public_path, public)
    except OSError as exc:
        raise OutputPathError(path=str(out), problem=exc.strerror or str(exc)) from None
    return {"private_key": str(private_path), "public_key": str(public_path), "key_id": key_id}
