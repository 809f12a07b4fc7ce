"""Run several mail sessions' work in one thread, each resumed when what it waits for has come.

A task is a generator that yields what it waits for:

- ``Readable(sock, deadline)``: bytes from the server on ``sock``; past ``deadline``
  (``time.monotonic()``) a ``TimeoutError`` is thrown into the task instead, as a
  socket's own time-out would raise it;
- ``GATE_TURN``: its turn at the shared gate (mailer.TransportSession): the task is
  resumed only while no task is inside the gate.  It then enters the gate before it
  yields again (to end a message), or does what must not happen while a message is
  inside (what may block the thread: opening a session, a write to the database);
- a ``Signal``: until somebody sets it.

``interleave`` runs the tasks until each has ended and returns what they raised.

The trap it avoids: one thread per session.  Every reply from the server woke a
thread that then waited for the interpreter lock, held by another session building
its next message; four sessions cost a third more CPU per message than one, on the
process that also renders, queues and records the mail (docs/mail.md).  Here the
sockets are watched by one ``poll`` loop, and nothing waits for a lock.

A task that blocks the thread delays every other, and a message inside the gate most:
its answer waits to be read and marked while its claim runs.  So what can block for
long (connecting, TLS, login, a write that may wait for the database) waits for the
gate's turn.  What is left: sending a command or a message's text, which blocks only
when the server has stopped reading a whole socket buffer's worth (far more than a
message here), and, on TLS, reading a record whose rest is late; each up to the
socket's time-out.  Driven without ``interleave`` (``drive``), a task's waits are
passed over and its blocking socket calls wait instead; its gate is a real lock.
"""

from __future__ import annotations

import math
import select
import socket
import time
from collections import deque
from collections.abc import Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Readable:
    """Wait for bytes on ``sock`` until ``deadline`` (time.monotonic())."""

    sock: socket.socket
    deadline: float


class _GateTurn:
    def __repr__(self) -> str:
        return "GATE_TURN"


GATE_TURN = _GateTurn()
"""Wait until no other task is inside the gate."""


class Signal:
    """A flag that tasks of one ``interleave`` wait for (``yield signal``)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set


Wait = Readable | _GateTurn | Signal
Task = Generator[Wait, None, None]
"""Steps that yield what they wait for (a session's message, a dispatcher's share of a batch)."""


class Gate(AbstractContextManager[None]):
    """The gate of sessions run by ``interleave``: entered by one task at a time (its ``GATE_TURN`` says when).

    ``refuse()`` may close it (then entering raises what it returns); ``left(exc)`` hears how each visit ended.
    """

    def __init__(self) -> None:
        self.inside = False

    def refuse(self) -> BaseException | None:
        """An exception to refuse the entry with, or None to let the task in."""
        return None

    def left(self, exc: BaseException | None) -> None:
        """The task inside left, by ``exc`` or normally (None)."""

    def __enter__(self) -> None:
        if self.inside:
            raise RuntimeError("two tasks inside one gate: enter it only after yielding GATE_TURN")
        refusal = self.refuse()
        if refusal is not None:
            raise refusal
        self.inside = True

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self.inside = False
        self.left(exc)


def drive(task: Task) -> None:
    """Run one task to its end in this thread, blocking where it waits (its socket's time-out bounds each)."""
    for wait in task:
        if isinstance(wait, Signal) and not wait.is_set():
            raise RuntimeError("a task driven alone waits for a signal nobody can set")


def interleave(tasks: list[Task], gate: Gate) -> list[BaseException]:
    """Run ``tasks`` in this thread until each has ended; returns what they raised, in the order they raised it.

    A task that raised is not resumed again; the others go on.  Stopped itself (Ctrl-C while it waits), it
    closes the tasks not yet ended (GeneratorExit where each waits) and raises.
    """
    try:
        return _run(tasks, gate)
    except BaseException:
        for task in tasks:
            try:
                task.close()  # an ended task ignores it
            except Exception:  # what stopped the loop is the error to raise; the other tasks still close
                continue
        raise


def _run(tasks: list[Task], gate: Gate) -> list[BaseException]:
    ready: deque[tuple[Task, BaseException | None]] = deque((task, None) for task in tasks)
    turns: deque[Task] = deque()
    signalled: list[tuple[Task, Signal]] = []
    reading: dict[Task, Readable] = {}
    errors: list[BaseException] = []
    watch = select.poll()
    by_fd: dict[int, Task] = {}
    while True:
        while ready:
            task, throw = ready.popleft()
            try:
                wait = task.throw(throw) if throw is not None else next(task)
            except StopIteration:
                continue
            except BaseException as exc:  # noqa: B036 (a task's error of any kind is the caller's to see)
                errors.append(exc)
                continue
            if wait is GATE_TURN:
                turns.append(task)
            elif isinstance(wait, Signal):
                signalled.append((task, wait))
            elif isinstance(wait, Readable):
                reading[task] = wait
                by_fd[wait.sock.fileno()] = task
                watch.register(wait.sock, select.POLLIN)
            else:
                errors.append(TypeError(f"a task yielded {wait!r}, which is not a wait"))
                task.close()
        if turns and not gate.inside:
            ready.append((turns.popleft(), None))
        for pair in [p for p in signalled if p[1].is_set()]:
            signalled.remove(pair)
            ready.append((pair[0], None))
        if ready:
            continue
        if not reading:
            for task in [*turns, *(t for t, _ in signalled)]:  # waiting for what can no longer come
                ready.append((task, RuntimeError("a mail session waits for something no other can give")))
            turns.clear()
            signalled.clear()
            if ready:
                continue
            return errors
        left = min(w.deadline for w in reading.values()) - time.monotonic()
        for fd, _ in watch.poll(max(0, math.ceil(left * 1000))):  # a hang-up or an error is read as such
            task = by_fd.pop(fd)
            watch.unregister(fd)
            del reading[task]
            ready.append((task, None))
        now = time.monotonic()
        for task in [t for t, w in reading.items() if w.deadline <= now]:
            fd = reading.pop(task).sock.fileno()
            del by_fd[fd]
            watch.unregister(fd)
            ready.append((task, TimeoutError("timed out")))
