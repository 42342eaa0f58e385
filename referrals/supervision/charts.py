"""Small horizontal bar charts as SVG geometry, drawn server-side (no script, no library).

The numbers become rectangles here; ``templates/referrals/supervision/_chart.html`` writes them
out as inline SVG with presentation attributes and classes only (the CSP allows no inline
style). Each chart sits beside a table of the same figures, which is what screen readers and
printouts rely on; the chart's ``<title>`` names it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 720
LABEL_WIDTH: Final = 250  # the bars' labels, right-aligned to this x
PLOT_X: Final = LABEL_WIDTH + 10
PLOT_WIDTH: Final = 330  # leaves room for the value written after the longest bar
ROW_HEIGHT: Final = 26
BAR_HEIGHT: Final = 16
TOP: Final = 8
AXIS_HEIGHT: Final = 22
LABEL_CHARACTERS: Final = 32  # at 12px, Cyrillic included, within LABEL_WIDTH


@dataclass(frozen=True)
class Bar:
    """One figure: ``value`` sets the length, ``text`` is what is written beside it; ``marker``
    (optional) draws a tick on the same scale, e.g. the 90th percentile beside the median."""

    label: str
    value: float
    text: str
    marker: float | None = None
    tone: str = ""  # a CSS modifier: "", "warn", "danger", "P1" ...


@dataclass(frozen=True)
class DrawnBar:
    label: str
    full_label: str
    text: str
    y: float
    width: float
    text_x: float
    marker_x: float | None
    tone: str

    @property
    def label_y(self) -> float:
        return self.y + BAR_HEIGHT - 4

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    id: str
    title: str
    bars: tuple[DrawnBar, ...]
    ticks: tuple[Tick, ...]
    width: int
    height: int
    plot_x: int
    axis_y: float
    caption: str = ""  # shown under the chart: what the bar and the tick stand for

    @property
    def empty(self) -> bool:
        return not self.bars


def nice_maximum(value: float) -> float:
    """The next "round" number at or above ``value`` (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, maximum: float | None = None,
              tick_text: Sequence[str] | None = None, caption: str = "") -> BarChart:
    """Lay out ``bars`` top to bottom on one scale from 0 to ``maximum`` (default: a round
    number above the largest value or marker). ``tick_text`` labels the 0, middle and end
    ticks; by default the numbers themselves."""
    top = max([bar.value for bar in bars] + [bar.marker or 0 for bar in bars], default=0)
    scale_end = maximum if maximum is not None else nice_maximum(top)
    drawn = tuple(_draw(index, bar, scale_end) for index, bar in enumerate(bars))
    axis_y = TOP + len(bars) * ROW_HEIGHT
    texts = tick_text or [_number(scale_end * part) for part in (0, 0.5, 1)]
    ticks = tuple(Tick(PLOT_X + PLOT_WIDTH * part, text)
                  for part, text in zip((0, 0.5, 1), texts, strict=True))
    return BarChart(chart_id, title, drawn, ticks, WIDTH, int(axis_y + AXIS_HEIGHT), PLOT_X, axis_y,
                    caption)


def _draw(index: int, bar: Bar, scale_end: float) -> DrawnBar:
    width = _length(bar.value, scale_end)
    marker = None if bar.marker is None else PLOT_X + _length(bar.marker, scale_end)
    end = max(PLOT_X + width, marker or 0)
    label = bar.label if len(bar.label) <= LABEL_CHARACTERS else bar.label[:LABEL_CHARACTERS - 1] + "…"
    return DrawnBar(label=label, full_label=bar.label, text=bar.text, y=TOP + index * ROW_HEIGHT,
                    width=width, text_x=end + 6, marker_x=marker, tone=bar.tone)


def _length(value: float, scale_end: float) -> float:
    if value <= 0 or scale_end <= 0:
        return 0.0
    return round(min(value / scale_end, 1.0) * PLOT_WIDTH, 1)


def _number(value: float) -> str:
    return f"{value:g}"
