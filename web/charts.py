"""Charts of the compliance page: server-rendered SVG drawn by pygal (a charting library, not by hand).

Why pygal: pure Python with no dependencies (no numpy, no image library),
imported in a few tens of milliseconds, and it writes SVG natively — text
stays text, so Vietnamese is drawn by the reader's fonts.  Each chart is an
SVG document shown as an ``<img>`` (a ``data:`` URL, which the page's
Content-Security-Policy allows for images): inside an image nothing runs
and nothing is loaded, so pygal's own stylesheet needs no exception to the
policy, and its tooltip script (fetched from outside by default) is turned
off.  The numbers behind each bar are in the table under the chart, each a
link to the list of rows it counts.
"""

from __future__ import annotations

import base64
import re
import sys
from typing import Any

import pygal
from pygal.style import Style

from agreeflow.web.render import Words

# pygal (3.1.3) appends to sys.meta_path a finder for its map plugins (pygal.maps.*, not used here) that has
# only the legacy find_module: Python 3.11 then warns (ImportWarning) on every import anywhere that misses,
# and 3.12 ignores such a finder.  Taken out again, so importing the charts changes nothing else.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

COLOURS = {"on_time": "#1a7f37", "late": "#d97706", "overdue": "#b3261e", "open": "#2563eb", "no_due_date": "#9ca3af",
           "no_reply": "#6b21a8", "deemed_agreed": "#0f766e", "not_done": "#7c2d12"}
"""One colour per outcome, the same in every chart (green on time, amber late, red overdue…)."""
FONT = "'Noto Sans', 'Segoe UI', 'DejaVu Sans', Arial, sans-serif"


def _style(outcomes: list[str]) -> Style:
    return Style(font_family=FONT, background="white", plot_background="white", foreground="#1f2937",
                 foreground_strong="#111827", foreground_subtle="#6b7280", colors=tuple(COLOURS[o] for o in outcomes),
                 title_font_size=16, legend_font_size=12, label_font_size=11, major_label_font_size=11,
                 value_font_size=10, tooltip_font_size=11, opacity=".95", opacity_hover=".95")


LEGEND_COLUMNS = 2
"""Legend entries per row under a chart: the longest outcome ("Coi như nhất trí (theo văn bản xin ý kiến)")
fits in half the plot's width, not in a third."""


def _config(chart: Any, title: str, outcomes: list[str], height: int) -> Any:
    rows = -(-len(outcomes) // LEGEND_COLUMNS)
    # pygal leaves room for one row of legend: each further row gets its own (else the SVG cuts it off)
    return chart(style=_style(outcomes), js=[], title=title, height=height + 20 * (rows - 1),
                 width=960, legend_at_bottom=True, legend_at_bottom_columns=LEGEND_COLUMNS, print_values=False,
                 show_y_guides=True, truncate_label=-1, truncate_legend=-1, margin=12,
                 margin_bottom=12 + 20 * (rows - 1), spacing=8, explicit_size=True, no_data_text="—")


def _used(groups: list[dict[str, Any]], outcomes: list[str]) -> list[str]:
    """The outcomes that occur at least once (a legend of empty series says nothing)."""
    return [o for o in outcomes if any(g.get(o) for g in groups)] or outcomes[:1]


_SCRIPT = re.compile(rb"<script\b.*?</script>", re.S)


def data_url(svg: bytes | str) -> str:
    """The SVG as a ``data:`` URL, without pygal's configuration script (an image runs none anyway)."""
    raw = _SCRIPT.sub(b"", svg.encode("utf-8") if isinstance(svg, str) else svg)
    return "data:image/svg+xml;base64," + base64.b64encode(raw).decode("ascii")


def by_unit(data: dict[str, Any], w: Words) -> str:
    """Bars per unit, one segment per outcome (a ``data:`` URL of the SVG)."""
    groups = data["by_unit"]
    return _stacked(pygal.HorizontalStackedBar, w("Deadlines by unit and outcome"), data, groups,
                    [g["name"] for g in groups], max(260, 90 + 34 * len(groups)), w)


def by_month(data: dict[str, Any], w: Words) -> str:
    """The monthly trend: per month of the due date, how the deadlines stood."""
    groups = data["months"]
    return _stacked(pygal.StackedBar, w("Deadlines by month of the due date"), data, groups,
                    [f"{g['month'][5:]}/{g['month'][:4]}" for g in groups], 380, w)


def by_step(data: dict[str, Any], w: Words) -> str:
    """Bars per legal step (the step's label and its procedure), one segment per outcome."""
    groups = data["by_step"]
    return _stacked(pygal.HorizontalStackedBar, w("Deadlines by legal step and outcome"), data, groups,
                    [g["step"] for g in groups], max(260, 90 + 34 * len(groups)), w)


def _stacked(kind: Any, title: str, data: dict[str, Any], groups: list[dict[str, Any]], labels: list[str],
             height: int, w: Words) -> str:
    """One stacked bar per group, a segment per outcome that occurs (a ``data:`` URL of the SVG)."""
    outcomes = _used(groups, data["outcomes"])
    chart = _config(kind, title, outcomes, height)
    chart.x_labels = labels
    for o in outcomes:
        chart.add(w.outcome(o), [g[o] or None for g in groups])
    return data_url(chart.render())
