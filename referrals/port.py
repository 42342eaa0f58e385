"""The referrals side's implementation of intake's ``RoutingPort`` (intake/ports.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import current_app

from core.models import AgencyUnit
from referrals import directory
from referrals.handoffs.serialize import referral_json
from referrals.routing import Algorithm, Decision, service_deadlines
from referrals.routing_app import service as routing_service


class ReferralsRouting:
    def algorithm(self) -> Algorithm:
        return routing_service.current_algorithm()

    def decide(self, facts: Mapping[str, Any], now: datetime) -> Decision:
        return routing_service.decide(facts, now=now)

    def decision_json(self, decision: Decision) -> dict[str, Any]:
        return routing_service.decision_json(decision)

    def unit_for(self, service: str, region: str | None, district: str | None) -> AgencyUnit | None:
        if not region:
            return None
        return directory.resolve_unit(service, region, district)

    def units_for(self, services: Sequence[str], region: str | None,
                  district: str | None) -> dict[str, AgencyUnit | None]:
        if not region:
            return dict.fromkeys(services)
        return directory.resolve_units(services, region, district)

    def deadlines(self, service: str, urgency: str, start: datetime,
                  unit: AgencyUnit | None = None) -> tuple[datetime, datetime]:
        return service_deadlines(service, urgency, start, self.algorithm(),
                                 routing_service.working_calendar(),
                                 current_app.config["SENIM"].tz,
                                 hours=routing_service.unit_hours(unit))

    def referral_json(self, referral: Any, viewer: Any) -> dict[str, Any]:
        return referral_json(referral, viewer)
