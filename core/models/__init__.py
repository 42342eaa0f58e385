"""Core models. Importing this package registers them on the metadata."""

from core.audit.models import AuditEntry
from core.models.break_glass import BreakGlassGrant
from core.models.directory import AGENCIES, AgencyUnit, UnitService
from core.models.keys import DataKey, KeyRotation
from core.models.sessions import UserSession
from core.models.throttle import LoginThrottle
from core.models.tokens import ApiToken
from core.models.users import User

__all__ = [
    "AGENCIES",
    "AgencyUnit",
    "ApiToken",
    "AuditEntry",
    "BreakGlassGrant",
    "DataKey",
    "KeyRotation",
    "LoginThrottle",
    "UnitService",
    "User",
    "UserSession",
]
