"""Run agreeflow's benchmarks and write bench/results.md.

    python bench/run.py            # the full run (1 M rows; about 15 minutes on 2 cores)
    python bench/run.py --quick    # a smaller smoke run (about 2 minutes)
    python bench/run.py --only verify --only sweep
    python bench/run.py --only fire --update   # rewrite only fire's rows and sections of results.md

Each benchmark runs as its own process (see common.py) and reports figures:
agreeflow's number, a baseline measured in the same run, their ratio and the
goal.  The machine's description (CPU, cores, RAM, Python, SQLite, versions,
load average) heads the file, because absolute numbers mean little without it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from common import BENCH_DIR, FIGURES_MARK, ROOT, WORK

BENCHMARKS = ("startup", "fire", "flow", "sweep", "mail", "verify", "memory", "web", "web_audit")
"""In the order they run: the start-up timings first, while nothing else has warmed or loaded the machine."""
PACKAGES = ("SQLAlchemy", "sqlmodel", "transitions", "holidays", "Jinja2", "aiosmtpd", "SpiffWorkflow",
            "python-statemachine", "psutil", "starlette", "uvicorn", "httpx")


def machine() -> list[tuple[str, str]]:
    """What the numbers were measured on."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    return [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")),
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("RAM", f"{mem_kb / 2**20:.1f} GiB"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("packages", ", ".join(versions)),
        ("agreeflow commit", commit + (" (plus uncommitted changes)" if _dirty() else "")),
    ]


def _dirty() -> bool:
    out = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                         capture_output=True, text=True).stdout
    return bool(out.strip())


def run_one(name: str, quick: bool) -> tuple[list[dict[str, Any]], float, str]:
    """Run ``<name>_bench.py``; its figures, seconds taken and the load average around it."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    cmd = [sys.executable, str(BENCH_DIR / f"{name}_bench.py")] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    load = f"{load_before:.2f} → {os.getloadavg()[0]:.2f}"
    lines = [line for line in done.stdout.splitlines() if line.startswith(FIGURES_MARK)]
    if done.returncode != 0 or not lines:
        failed = {"name": f"{name} benchmark", "value": 0, "unit": "", "baseline": "", "baseline_value": 0,
                  "ratio": 0, "ratio_meaning": "", "goal": "", "met": False,
                  "notes": f"FAILED (exit code {done.returncode}); run `python bench/{name}_bench.py` to see why",
                  "details": []}
        return [failed], seconds, load
    return json.loads(lines[-1][len(FIGURES_MARK):]), seconds, load


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _met(figure: dict[str, Any]) -> str:
    if figure["notes"].startswith("pending"):
        return "pending"
    return {True: "yes", False: "**no**", None: "—"}[figure["met"]]


def render(results: list[tuple[str, list[dict[str, Any]], float, str]], quick: bool, total_s: float) -> str:
    out = ["# agreeflow benchmarks", "",
           "Written by `python bench/run.py`" + (" --quick (smoke sizes: not the figures to quote)" if quick else "")
           + f" in {total_s / 60:.1f} min. Every figure is a ratio against a baseline measured in the same run,"
           " with both absolute numbers. The code of each is `bench/<name>_bench.py`; its docstring says exactly"
           " what is timed.", "", "## Machine", ""]
    out += [f"- **{k}**: {v}" for k, v in machine()]
    peak_load = max(float(x) for _, _, _, load in results for x in load.split(" → "))
    if peak_load > (os.cpu_count() or 1):
        out += ["", f"The machine was shared during this run (load average up to {peak_load:.1f} on "
                    f"{os.cpu_count()} cores; each benchmark's load is under Details): absolute numbers are "
                    "pessimistic, the ratios — both sides measured in the same process, minutes apart at most — "
                    "hold better."]
    out += ["", "## Figures", "",
            "| figure | agreeflow | baseline | ratio | goal | met |", "|---|---|---|---|---|---|"]
    for _, figures, _, _ in results:
        for f in figures:
            if f["notes"].startswith(("pending", "FAILED")):
                out.append(f"| {f['name']} | — | — | — | {f['goal']} | {_met(f)} |")
                continue
            out.append(f"| {f['name']} | {_num(f['value'])} {f['unit']} | {_num(f['baseline_value'])} "
                       f"({f['baseline']}) | {f['ratio']:.3g} {f['ratio_meaning']} | {f['goal']} | {_met(f)} |")
    out += ["", "## Details", ""]
    for name, figures, seconds, load in results:
        out += [f"### {name} (`bench/{name}_bench.py`, {seconds:.0f} s, load average {load})", ""]
        for f in figures:
            out.append(f"**{f['name']}**")
            out.append("")
            out += [f"- {label}: {value}" for label, value in f["details"]]
            if f["notes"]:
                out.append(f"- note: {f['notes']}")
            out.append("")
    missed = [f for _, figures, _, _ in results for f in figures if f["met"] is False]
    out += ["## Goals missed", ""]
    if not missed:
        out.append("None.")
    for f in missed:
        out.append(f"- **{f['name']}** ({f['goal']}): {f.get('why_missed') or f['notes'] or 'see the details above'}")
    pending = [f for _, figures, _, _ in results for f in figures if _met(f) == "pending"]
    for f in pending:
        out.append(f"- **{f['name']}**: {f['notes']}")
    return "\n".join(out) + "\n"


def _sections(text: str) -> tuple[list[str], list[str], dict[str, list[str]], list[str]]:
    """A results.md cut up: (lines before the table rows, table rows, Details sections by name, missed bullets)."""
    lines = text.splitlines()
    table = [i for i, line in enumerate(lines) if line.startswith("| ") and not line.startswith("| figure ")]
    head, rows = lines[:table[0]], lines[table[0]:table[-1] + 1]
    details_at, missed_at = lines.index("## Details"), lines.index("## Goals missed")
    sections: dict[str, list[str]] = {}
    name = ""
    for line in lines[details_at + 2:missed_at]:
        if line.startswith("### "):
            name = line[4:].split(" ", 1)[0]
            sections[name] = []
        if name:
            sections[name].append(line)
    missed = [line for line in lines[missed_at + 2:] if line.startswith("- **")]
    return head, rows, sections, missed


def update(previous: str, fresh: str, names: list[str]) -> str:
    """``previous`` with the rows, Details sections and missed goals of benchmarks ``names`` taken from ``fresh``.

    The other benchmarks' figures stay as they were measured (each section says
    when and on what); the regenerated sections get the machine line of this run.
    """
    old_head, old_rows, old_sections, old_missed = _sections(previous)
    _, new_rows, new_sections, new_missed = _sections(fresh)
    figure = lambda row: row.split(" | ", 1)[0][2:]  # noqa: E731
    bullet = lambda line: line[4:].split("**", 1)[0]  # noqa: E731
    new_names = {figure(r) for r in new_rows}
    stamp = dict(machine())
    where = (f"machine of this run (only the {', '.join(names)} {'sections were' if len(names) > 1 else 'section was'} "
             "regenerated): "
             + "; ".join(f"{k}: {stamp[k]}" for k in ("date", "CPU", "RAM", "Python", "SQLite", "agreeflow commit")))
    for name in names:
        body = new_sections[name]
        while body and not body[-1].strip():
            body.pop()
        new_sections[name] = body + [f"- {where}", ""]
    rows, placed = [], set()
    for row in old_rows:  # a regenerated benchmark's rows go where its first old row was
        section = next((n for n in names if figure(row) in _figures_of(previous, n)), None)
        if section is None:
            rows.append(row)
        elif section not in placed:
            placed.add(section)
            rows += [r for r in new_rows if figure(r) in _figures_of(fresh, section)]
    rows += [r for n in names if n not in placed for r in new_rows if figure(r) in _figures_of(fresh, n)]
    sections = {n: new_sections[n] if n in names else body for n, body in old_sections.items()}
    sections.update({n: new_sections[n] for n in names if n not in old_sections})
    missed = [m for m in old_missed if bullet(m) not in new_names
              and not any(bullet(m) in _figures_of(previous, n) for n in names)] + new_missed
    order = [figure(r) for r in rows]
    missed.sort(key=lambda m: order.index(bullet(m)) if bullet(m) in order else len(order))
    note = ("Some sections were regenerated later with `--only … --update`; each of those ends with the machine, "
            "date and commit of its own run.")
    if note not in old_head:
        at = old_head.index("## Machine")
        old_head = old_head[:at] + [note, ""] + old_head[at:]
    out = old_head + rows + ["", "## Details", ""]
    for body in sections.values():
        out += body
    out += ["## Goals missed", ""] + (missed or ["None."])
    return "\n".join(out) + "\n"


def _figures_of(text: str, name: str) -> set[str]:
    """The figure names under ``### name`` in a results.md's Details."""
    _, _, sections, _ = _sections(text)
    return {line[2:-2] for line in sections.get(name, []) if line.startswith("**") and line.endswith("**")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a smoke run")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these (repeatable)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md", help="where to write the results")
    parser.add_argument("--update", action="store_true",
                        help="with --only: replace only those benchmarks' rows and sections of the existing output")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = []
    for name in [b for b in BENCHMARKS if not args.only or b in args.only]:
        print(f"{name}:", file=sys.stderr, flush=True)
        figures, seconds, load = run_one(name, args.quick)
        results.append((name, figures, seconds, load))
        for f in figures:
            print(f"  = {f['name']}: {_num(f['value'])} {f['unit']}, {f['ratio']:.3g} {f['ratio_meaning']}"
                  f" (goal {f['goal']}: {_met(f)}) [{seconds:.0f} s]", file=sys.stderr, flush=True)
    text = render(results, args.quick, time.perf_counter() - start)
    if args.update and args.only and args.output.exists():
        text = update(args.output.read_text(encoding="utf-8"), text, [name for name, *_ in results])
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
