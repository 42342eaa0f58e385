"""What the engine's tests route with: the bundled data files, the deployment's time zone, the
2026.1 document (in force for its own decisions), and a Hypothesis strategy of facts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from referrals.routing import (
    ChildFacts,
    Facts,
    Geography,
    LabelKind,
    WorkingCalendar,
    bundled_algorithm,
)

DATA = Path(__file__).resolve().parents[3] / "core" / "data"
TZ = ZoneInfo("Asia/Almaty")
ALGORITHM = bundled_algorithm("2026.1")  # 2026.1 stays in force for its decisions; 2026.2: test_routing_2026_2.py
CALENDAR = WorkingCalendar.from_csv(DATA / "holidays-KZ.csv")
GEOGRAPHY = Geography.from_csv(DATA / "regions.csv", DATA / "districts-KZ-27.csv")


def codes(kind: LabelKind, max_size: int = 3) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(ALGORITHM.codes(kind)), max_size=max_size,
                    unique=True).map(tuple)


@st.composite
def facts(draw: st.DrawFn) -> Facts:
    flags = draw(codes("flag", 4))
    urgency = draw(st.sampled_from(["P1", "P2", "P3"] if "immediate_danger" in flags
                                   else ["P1", "P2", "P3", "P4"]))
    return Facts(
        contact_type=draw(st.sampled_from(["child_self", "third_party", "follow_up",
                                           "information"])),
        urgency=urgency,
        categories=draw(codes("category", 4)),
        child=ChildFacts(
            age=draw(st.none() | st.integers(0, 17)),
            region=draw(st.sampled_from(["KZ-27", "KZ-75"])),
            flags=draw(codes("child_flag", 2)),
        ),
        perpetrator_relation=draw(st.sampled_from(ALGORITHM.codes("relation"))),
        flags=flags,
        place=draw(st.sampled_from(ALGORITHM.codes("place"))),
        submitted_at=draw(st.datetimes(datetime(2024, 1, 1), datetime(2032, 12, 31),
                                       timezones=st.just(UTC))),
    )
