"""A routing question and a new algorithm version to publish, shared by the tests of the routing
service, its administration pages and its CLI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.models import User
from referrals.models import AlgorithmVersion
from referrals.routing import default_algorithm
from referrals.routing_app import service as routing_service

BULLYING_P3: dict[str, Any] = {
    "contact_type": "child_self", "categories": ["violence.bullying"], "urgency": "P3",
    "child": {"age": 12, "region": "KZ-27"}, "perpetrator": {"relation": "peer"},
}
# Friday 20 November 2026, 10:00 in Almaty.
FRIDAY_MORNING = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def modified_document(version: str, bullying_min: str = "P2") -> str:
    """The bundled document under a new version, with the bullying rule's minimum changed."""
    text = default_algorithm().source_text
    text = text.replace('version: "2026.2"', f'version: "{version}"', 1)
    start = text.index("  - id: bullying")
    end = text.index("min_urgency: P3", start)
    return text[:end] + f"min_urgency: {bullying_min}" + text[end + len("min_urgency: P3"):]


def publish_version(admin: User, version: str = "2026.8", reason: str = "Order 42") -> AlgorithmVersion:
    return routing_service.publish(modified_document(version), reason, admin)
