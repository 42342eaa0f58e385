"""What the report page draws: its charts (the supervision package's SVG bar charts), each
comparing the period with the previous one, and the figures' changes."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from referrals.reports import indicators
from referrals.supervision import charts, dashboard, display


@dataclass(frozen=True)
class Compared:
    """A figure beside the previous period's."""

    current: int
    previous: int

    @property
    def change(self) -> float | None:
        return indicators.change(self.current, self.previous)

    @property
    def change_text(self) -> str:
        value = self.change
        if value is None:
            return "—"
        return ("+" if value > 0 else "") + display.rate(value)


def compared(mine: dict[str, int], theirs: dict[str, int]) -> list[tuple[str, Compared]]:
    """Codes with either period's count, largest first."""
    codes = sorted(set(mine) | set(theirs), key=lambda code: (-mine.get(code, 0), code))
    return [(code, Compared(mine.get(code, 0), theirs.get(code, 0))) for code in codes]


def _comparison_chart(chart_id: str, title: str, rows: list[tuple[str, Compared]],
                      kind: str) -> charts.BarChart:
    bars = [charts.Bar(display.code_label(kind, code), figure.current,
                       dashboard.pair(display.count(figure.current), display.count(figure.previous)),
                       marker=figure.previous)
            for code, figure in rows]
    end = max(2.0, charts.nice_maximum(max([b.value for b in bars] + [b.marker or 0 for b in bars],
                                           default=0)))
    middle = end / 2
    ticks = ["0", display.count(int(middle)) if middle.is_integer() else "", display.count(int(end))]
    return charts.bar_chart(chart_id, title, bars, maximum=end, tick_text=ticks,
                            caption=_("Bar: this period; tick: the previous period."))


def build_charts(report: indicators.Report) -> dict[str, charts.BarChart]:
    now, before = report.current, report.previous
    timing = list(now.timing.values())
    return {
        "channels": _comparison_chart("chart-channels", _("Contacts by channel"),
                                      compared(now.channels, before.channels), "channel"),
        "categories": _comparison_chart("chart-categories", _("Contacts by category"),
                                        compared(now.categories, before.categories), "category_group"),
        "agencies": _comparison_chart("chart-agencies", _("Referrals by agency"),
                                      compared(now.referrals, before.referrals), "agency"),
        "acknowledge": _timing_chart(timing),
        "breaches": _breach_chart(now),
    }


def _timing_chart(rows: list[indicators.Timing]) -> charts.BarChart:
    bars = [charts.Bar(display.code_label("agency", row.agency), row.acknowledge_p50 or 0,
                       dashboard.pair(display.duration(row.acknowledge_p50),
                                      display.duration(row.acknowledge_p90)),
                       marker=row.acknowledge_p90)
            for row in rows]
    top = max([row.acknowledge_p90 or row.acknowledge_p50 or 0 for row in rows], default=0)
    end = charts.nice_maximum(top / 3600) * 3600 if top else 3600
    return charts.bar_chart("chart-acknowledge", _("Time to acknowledge by agency"), bars,
                            caption=_("Bar: median; tick: 90th percentile."), maximum=end,
                            tick_text=[display.duration(end * part) if part else "0"
                                       for part in (0, 0.5, 1)])


def breach_rate(figures: indicators.Figures, agency: str, kind: str) -> float | None:
    row = figures.breaches.get(agency, {})
    due = row.get(f"{kind}_due", 0)
    return row.get(f"{kind}_breached", 0) / due if due else None


def _breach_chart(figures: indicators.Figures) -> charts.BarChart:
    bars = []
    for agency in sorted(figures.breaches):
        ack, action = breach_rate(figures, agency, "ack"), breach_rate(figures, agency, "action")
        bars.append(charts.Bar(display.code_label("agency", agency), ack or 0,
                               dashboard.pair(display.rate(ack), display.rate(action)),
                               marker=action, tone="warn"))
    return charts.bar_chart("chart-breaches", _("Deadlines missed by agency"), bars,
                            caption=_("Bar: acknowledgement deadlines; tick: action deadlines."),
                            maximum=1.0, tick_text=["0%", "50%", "100%"])
