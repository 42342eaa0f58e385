"""What intake needs from the referrals side, as an interface.

Intake may import the pure engine but not the referrals application code (architecture.md:
referrals imports intake, never the reverse). The referrals package registers an object with
these methods as ``app.extensions["senim.routing"]`` in its ``init_app``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from flask import current_app

from core.models import AgencyUnit
from referrals.routing import Algorithm, Decision


class RoutingPort(Protocol):
    def algorithm(self) -> Algorithm: ...

    def decide(self, facts: Mapping[str, Any], now: datetime) -> Decision:
        """Route the facts with the current algorithm; raises ``FactsError``."""

    def decision_json(self, decision: Decision) -> dict[str, Any]: ...

    def unit_for(self, service: str, region: str | None, district: str | None) -> AgencyUnit | None:
        """The unit a referral for ``service`` would reach (routing.md §5), or None."""

    def units_for(self, services: Sequence[str], region: str | None,
                  district: str | None) -> dict[str, AgencyUnit | None]:
        """``unit_for`` for several services at once (one query for all their units)."""

    def deadlines(self, service: str, urgency: str, start: datetime,
                  unit: AgencyUnit | None = None) -> tuple[datetime, datetime]:
        """(acknowledge, act) for a referral added by hand (to ``unit``, whose working hours an
        office-hours service counts; 09:00-18:00 without one)."""

    def referral_json(self, referral: Any, viewer: Any) -> dict[str, Any]:
        """A referral as the API shows it to ``viewer`` (other agencies: status and outcome)."""


def routing() -> RoutingPort:
    port: RoutingPort = current_app.extensions["senim.routing"]
    return port
