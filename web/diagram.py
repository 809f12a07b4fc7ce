"""A workflow's state diagram as HTML: the Mermaid text the service writes, laid out in rows.

The service describes a workflow as a Mermaid ``stateDiagram-v2``
(:func:`agreeflow.engine.service.workflow_graph`, the same text ``agreeflow
workflows graph`` prints).  Pages load no script from outside, so the web
draws it itself: states are placed in rows by their distance from the
initial state (a breadth-first walk), the case's current state is marked,
the states it can move to next are outlined, and the states the case has
already been in are tinted.  Plain HTML and CSS: it reflows on a phone.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

_STATE = re.compile(r'^\s*state "(?P<label>.*)" as (?P<id>\w+)\s*$')
_EDGE = re.compile(r"^\s*(?P<src>\[\*\]|\w+) --> (?P<dst>\[\*\]|\w+)(?::\s*(?P<label>.*))?$")
_CLASS = re.compile(r"^\s*class (?P<id>\w+) current\s*$")
_TRIGGER = re.compile(r"^\S+ \((?P<label>.*)\)$")


@dataclass
class Node:
    id: str
    label: str
    terminal: bool = False
    current: bool = False
    next: bool = False
    visited: bool = False


@dataclass
class Diagram:
    rows: list[list[Node]] = field(default_factory=list)
    moves: list[tuple[str, str]] = field(default_factory=list)
    """From the current state: (what the step is called, the state it leads to)."""


def parse(text: str, visited: set[str] | None = None) -> Diagram:
    """Lay out the Mermaid text of :func:`engine.core.machine.mermaid` (state names as its ids)."""
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str, str]] = []
    initial, current = "", ""
    for line in text.splitlines():
        if m := _STATE.match(line):
            nodes[m["id"]] = Node(m["id"], m["label"])
        elif m := _CLASS.match(line):
            current = m["id"]
        elif m := _EDGE.match(line):
            src, dst, label = m["src"], m["dst"], m["label"] or ""
            if src == "[*]":
                initial = dst
            elif dst == "[*]":
                if src in nodes:
                    nodes[src].terminal = True
            else:
                step = _TRIGGER.match(label)
                edges.append((src, dst, step["label"] if step else label))
    for name in visited or set():
        key = name.replace("-", "_")
        if key in nodes:
            nodes[key].visited = True
    out = Diagram()
    if current in nodes:
        nodes[current].current = True
        for src, dst, label in edges:
            if src == current and dst in nodes:
                nodes[dst].next = dst != current
                out.moves.append((label, nodes[dst].label))
    depth = _depths(initial, edges, nodes)
    for d in sorted(set(depth.values())):
        out.rows.append([nodes[n] for n in nodes if depth[n] == d])
    return out


def _depths(initial: str, edges: list[tuple[str, str, str]], nodes: dict[str, Node]) -> dict[str, int]:
    """Breadth-first distance from the initial state; states it cannot reach go in a last row."""
    depth = {initial: 0} if initial in nodes else {}
    queue = deque(depth)
    while queue:
        here = queue.popleft()
        for src, dst, _ in edges:
            if src == here and dst in nodes and dst not in depth:
                depth[dst] = depth[here] + 1
                queue.append(dst)
    last = max(depth.values(), default=-1) + 1
    return {n: depth.get(n, last) for n in nodes}
