"""Parsing and validating the facts of routing.md §2.

Invalid facts are refused as a whole, naming every invalid field by its dotted path; a fact is
never silently replaced by a default (only a missing or ``null`` fact that has one is).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from .algorithm import Algorithm, default_algorithm
from .geography import Geography
from .model import DEFAULT_PLACE, NO_PERPETRATOR, ChildFacts, Facts

MAX_CHILD_AGE = 17

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,  # \d would otherwise accept any Unicode digit
)
# Errors are reported in the order the facts appear in routing.md §2, whatever order they are
# checked in (flags are read early, for the P4 contradiction).
_FIELD_ORDER = ("facts", "contact_type", "categories", "urgency", "child", "child.age",
                "child.region", "child.district", "child.flags", "perpetrator",
                "perpetrator.relation", "flags", "place", "submitted_at")
_JSON_TYPES: dict[type, str] = {
    dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
    float: "a number", type(None): "null",
}


class FactsError(ValueError):
    """Invalid facts; ``fields`` maps each invalid field's dotted path to what is wrong."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        listing = "; ".join(f"{path}: {message}" for path, message in self.fields.items())
        super().__init__(f"invalid facts: {listing}")


def parse_facts(data: Mapping[str, Any], geography: Geography, now: datetime, *,
                algorithm: Algorithm | None = None) -> Facts:
    """Validate facts JSON (already decoded) into :class:`Facts`.

    Codes are checked against ``algorithm`` (default: the bundled default algorithm), regions
    and districts against ``geography``. ``now`` (aware) is the default ``submitted_at``.
    Unknown top-level keys are ignored, so a whole contact may be passed as facts.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if not isinstance(data, Mapping):
        raise FactsError({"facts": f"must be an object, not {_json_type(data)}"})
    return _FactsReader(data, geography, algorithm or default_algorithm(), now).read()


def facts_to_json(facts: Facts, tz: ZoneInfo) -> dict[str, Any]:
    """Facts as JSON that :func:`parse_facts` reads back (for storing a decision's inputs)."""
    return {
        "contact_type": facts.contact_type,
        "categories": list(facts.categories),
        "urgency": facts.urgency,
        "child": {
            "age": facts.child.age,
            "region": facts.child.region,
            "district": facts.child.district,
            "flags": list(facts.child.flags),
        },
        "perpetrator": {"relation": facts.perpetrator_relation},
        "flags": list(facts.flags),
        "place": facts.place,
        "submitted_at": facts.submitted_at.astimezone(tz).isoformat(),
    }


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 date-time with ``Z`` or ``±hh:mm``, as aware UTC; ``ValueError`` otherwise."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time with Z or an offset")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, zulu, sign, off_h, off_m = match.groups()[6:]
    if zulu:
        offset = timedelta(0)
    else:
        if int(off_h) > 23 or int(off_m) > 59:
            raise ValueError("offset out of range")
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    micro = int((fraction or "0").ljust(6, "0")[:6])
    moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))
    return moment.astimezone(UTC)


def _field_rank(item: tuple[str, str]) -> int:
    path = item[0]
    return _FIELD_ORDER.index(path) if path in _FIELD_ORDER else len(_FIELD_ORDER)


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


class _FactsReader:
    """Reads each fact, noting every error instead of stopping at the first."""

    def __init__(self, data: Mapping[str, Any], geography: Geography, algorithm: Algorithm,
                 now: datetime) -> None:
        self.data = data
        self.geography = geography
        self.algorithm = algorithm
        self.now = now
        self.errors: dict[str, str] = {}

    def read(self) -> Facts:
        contact_type = self._contact_type()
        urgency = self._urgency(contact_type)
        flags = self._codes(self.data.get("flags"), "flags", "flag")
        self._check_contradiction(urgency, flags)
        needs_details = self._needs_details(contact_type, urgency)
        facts = Facts(
            contact_type=contact_type or "",
            urgency=urgency,
            categories=self._categories(needs_details),
            child=self._child(needs_details),
            perpetrator_relation=self._relation(),
            flags=flags,
            place=self._code(self.data.get("place"), "place", "place") or DEFAULT_PLACE,
            submitted_at=self._submitted_at(),
        )
        if self.errors:
            raise FactsError(dict(sorted(self.errors.items(), key=_field_rank)))
        return facts

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    # Generic readers -----------------------------------------------------------------------

    def _code(self, value: object, path: str, kind: str) -> str | None:
        """A single code of the algorithm's ``kind``; ``None`` when missing or invalid."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.error(path, f"must be a string, not {_json_type(value)}")
            return None
        if value not in self.algorithm.labels[kind]:
            self.error(path, f"unknown {kind.replace('_', ' ')} code {value!r}")
            return None
        return value

    def _codes(self, value: object, path: str, kind: str) -> tuple[str, ...]:
        """A list of codes, without repeats, in the order given."""
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(path, f"must be an array of codes, not {_json_type(value)}")
            return ()
        wrong = [item for item in value if not isinstance(item, str)]
        if wrong:
            self.error(path, f"must contain strings only, not {_json_type(wrong[0])}")
            return ()
        known = self.algorithm.labels[kind]
        unknown = [item for item in value if item not in known]
        if unknown:
            noun = kind.replace("_", " ") + (" code" if len(unknown) == 1 else " codes")
            self.error(path, f"unknown {noun} {', '.join(map(repr, unknown))}")
            return ()
        return tuple(dict.fromkeys(value))

    def _object(self, path: str) -> Mapping[str, Any]:
        value = self.data.get(path)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(path, f"must be an object, not {_json_type(value)}")
            return {}
        return value

    # Facts ---------------------------------------------------------------------------------

    def _contact_type(self) -> str | None:
        if self.data.get("contact_type") is None:
            self.error("contact_type", "is required")
            return None
        return self._code(self.data["contact_type"], "contact_type", "contact_type")

    def _urgency(self, contact_type: str | None) -> str | None:
        urgency = self._code(self.data.get("urgency"), "urgency", "urgency")
        routable_type = contact_type in self.algorithm.routable_contact_types
        if urgency is None and routable_type and "urgency" not in self.errors:
            self.error("urgency", "is required for this contact type")
        return urgency

    def _check_contradiction(self, urgency: str | None, flags: Iterable[str]) -> None:
        if urgency is None:
            return
        clash = sorted(self.algorithm.urgencies[urgency].forbidden_flags.intersection(flags))
        if clash:
            self.error("urgency", f"{urgency} contradicts the flag {', '.join(map(repr, clash))}")

    def _needs_details(self, contact_type: str | None, urgency: str | None) -> bool:
        """routing.md §3: categories and region are required for a contact that will route.

        A missing or invalid urgency on a routable type is already an error; the details are
        then required too, so that one correction round fixes everything.
        """
        if contact_type not in self.algorithm.routable_contact_types:
            return False
        return urgency is None or self.algorithm.urgencies[urgency].routable

    def _categories(self, required: bool) -> tuple[str, ...]:
        categories = self._codes(self.data.get("categories"), "categories", "category")
        if required and not categories and "categories" not in self.errors:
            self.error("categories", "at least one category is required")
        return categories

    def _child(self, needs_region: bool) -> ChildFacts:
        child = self._object("child")
        # A child that is not an object is one error, not also a missing region.
        region = self._region(child.get("region"), needs_region and "child" not in self.errors)
        return ChildFacts(
            age=self._age(child.get("age")),
            region=region,
            district=self._district(child.get("district"), region, "child.region" in self.errors),
            flags=self._codes(child.get("flags"), "child.flags", "child_flag"),
        )

    def _age(self, value: object) -> int | None:
        if value is None:
            return None
        # bool is an int in Python, and 12.0 is a float: neither is a JSON integer age.
        if type(value) is not int:
            self.error("child.age", f"must be an integer or null, not {_json_type(value)}")
            return None
        if not 0 <= value <= MAX_CHILD_AGE:
            self.error("child.age", f"must be from 0 to {MAX_CHILD_AGE} (a child), not {value}")
            return None
        return value

    def _region(self, value: object, required: bool) -> str | None:
        if value is None:
            if required:
                self.error("child.region", "is required for a contact that is routed")
            return None
        if not isinstance(value, str):
            self.error("child.region", f"must be a string, not {_json_type(value)}")
            return None
        if value not in self.geography.regions:
            self.error("child.region", f"unknown region code {value!r}")
            return None
        return value

    def _district(self, value: object, region: str | None, region_invalid: bool) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.error("child.district", f"must be a string, not {_json_type(value)}")
            return None
        district_region = self.geography.region_of(value)
        if district_region is None:
            self.error("child.district", f"unknown district code {value!r}")
        elif region is None:
            if not region_invalid:  # the region's own error already says what to fix
                self.error("child.district", "needs child.region")
        elif district_region != region:
            self.error("child.district", f"district {value!r} is not in region {region!r}")
        else:
            return value
        return None

    def _relation(self) -> str:
        perpetrator = self._object("perpetrator")
        relation = self._code(perpetrator.get("relation"), "perpetrator.relation", "relation")
        return relation or NO_PERPETRATOR

    def _submitted_at(self) -> datetime:
        value = self.data.get("submitted_at")
        if value is None:
            return self.now.astimezone(UTC)
        if not isinstance(value, str):
            self.error("submitted_at", f"must be an RFC 3339 string, not {_json_type(value)}")
            return self.now
        try:
            return parse_rfc3339(value)
        except ValueError:
            self.error("submitted_at",
                       "must be an RFC 3339 date-time with Z or ±hh:mm, "
                       "e.g. 2026-11-20T10:02:00+05:00")
            return self.now
