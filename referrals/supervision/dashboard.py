"""The supervisor's home (issue 8 item 6): what the page shows, gathered in one place so the
view stays a few lines and the benchmark times exactly what a supervisor waits for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from referrals.supervision import charts, display, snapshots, stats

DEFAULT_DAYS: Final = 7  # the live view; longer periods are the supervisor's choice
MAX_DAYS: Final = 366 * 2


SHORTCUT_DAYS: Final = (7, 30, 90, 365)


@dataclass(frozen=True)
class PeriodChoice:
    """The period the supervisor chose, as local dates (both inclusive), and its UTC span."""

    first: date
    last: date
    period: stats.Period
    error: str | None = None

    def shortcuts(self, today: date) -> list[tuple[int, date, date]]:
        """(days, first, last) of the usual periods up to today, for links."""
        return [(days, today - timedelta(days=days - 1), today) for days in SHORTCUT_DAYS]


def choose_period(args: Mapping[str, str], today: date, tz: ZoneInfo) -> PeriodChoice:
    """``from`` and ``to`` (YYYY-MM-DD, local), default the last seven days up to today."""
    default_first = today - timedelta(days=DEFAULT_DAYS - 1)
    try:
        first = date.fromisoformat(args["from"]) if args.get("from") else default_first
        last = date.fromisoformat(args["to"]) if args.get("to") else today
    except ValueError:
        return _period(default_first, today, tz, _("Dates are written as YYYY-MM-DD."))
    if last < first:
        return _period(default_first, today, tz, _("The period must end on or after its first day."))
    if (last - first).days >= MAX_DAYS:
        return _period(default_first, today, tz, _("Choose a period of at most two years."))
    return _period(first, last, tz)


def _period(first: date, last: date, tz: ZoneInfo, error: str | None = None) -> PeriodChoice:
    start = datetime.combine(first, time.min, tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tz)
    return PeriodChoice(first, last, stats.Period(start, end), error)


@dataclass(frozen=True)
class Dashboard:
    queues: stats.Queues
    totals: list[stats.Timing]  # per agency over every region in scope
    regions: list[stats.Timing]  # per agency and region
    recent_break_glass: list[stats.BreakGlassEntry]
    charts: dict[str, charts.BarChart]
    timing_as_of: datetime | None = None  # the snapshot's moment (long periods); None: live


def build(scope: stats.Scope, choice: PeriodChoice, now: datetime) -> Dashboard:
    """The five statements of the dashboard (four over a long period whose figures a snapshot
    holds, see ``snapshots``), then its charts (no further queries)."""
    stats.prepare_for_reports()
    queues = stats.queues(scope, now)
    figures = snapshots.timing(scope, choice.period, now)
    totals = [row for row in figures.rows if row.total]
    return Dashboard(
        queues=queues, totals=totals, regions=[row for row in figures.rows if not row.total],
        recent_break_glass=stats.recent_break_glass(now),
        charts=build_charts(queues, totals), timing_as_of=figures.as_of,
    )


def build_charts(queues: stats.Queues, totals: Sequence[stats.Timing]) -> dict[str, charts.BarChart]:
    return {
        "urgency": _count_chart(
            "chart-urgency", _("Open cases by urgency"),
            [charts.Bar(code or _("none"), value, display.count(value), tone=code)
             for code, value in queues.open_by_urgency.items()]),
        "overdue": _count_chart(
            "chart-overdue", _("Overdue referrals by agency"),
            [charts.Bar(display.code_label("agency", row.agency), row.ack_overdue + row.action_overdue,
                        display.count(row.ack_overdue + row.action_overdue), tone="danger")
             for row in queues.agencies],
            caption=_("Bars: referrals past their acknowledgement or action deadline.")),
        "acknowledge": _duration_chart(totals),
        "breaches": _breach_chart(totals),
    }


def _count_chart(chart_id: str, title: str, bars: list[charts.Bar],
                 caption: str = "") -> charts.BarChart:
    """Whole numbers on the scale: it ends at an even round number, its middle tick is whole."""
    end = max(2.0, charts.nice_maximum(max((bar.value for bar in bars), default=0)))
    middle = end / 2
    ticks = ["0", display.count(int(middle)) if middle.is_integer() else "", display.count(int(end))]
    return charts.bar_chart(chart_id, title, bars, maximum=end, tick_text=ticks, caption=caption)


def pair(bar: str, tick: str) -> str:
    """A bar's value label, "bar / tick" (the caption under the chart says which is which)."""
    return f"{bar} / {tick}"


def _duration_chart(totals: Sequence[stats.Timing]) -> charts.BarChart:
    bars = [charts.Bar(display.code_label("agency", row.agency), row.acknowledge.p50 or 0,
                       pair(display.duration(row.acknowledge.p50),
                            display.duration(row.acknowledge.p90)),
                       marker=row.acknowledge.p90)
            for row in totals]
    top = max([row.acknowledge.p90 or row.acknowledge.p50 or 0 for row in totals], default=0)
    end = charts.nice_maximum(top / 3600) * 3600 if top else 3600
    return charts.bar_chart("chart-acknowledge", _("Time to acknowledge by agency"), bars,
                            caption=_("Bar: median; tick: 90th percentile."), maximum=end,
                            tick_text=[display.duration(end * part) if part else "0"
                                       for part in (0, 0.5, 1)])


def _breach_chart(totals: Sequence[stats.Timing]) -> charts.BarChart:
    bars = [charts.Bar(display.code_label("agency", row.agency), row.ack_breach_rate or 0,
                       pair(display.rate(row.ack_breach_rate),
                            display.rate(row.action_breach_rate)),
                       marker=row.action_breach_rate, tone="warn")
            for row in totals]
    return charts.bar_chart("chart-breaches", _("Deadlines missed by agency"), bars,
                            caption=_("Bar: acknowledgement deadlines; tick: action deadlines."),
                            maximum=1.0, tick_text=["0%", "50%", "100%"])
