"""A seeded dataset for the reports upward: contacts and referrals in September and October
2026 (Almaty time) with chosen times, written straight to the tables, together with the plain
list of what was written, from which the tests compute the expected figures themselves."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from core.extensions import db
from core.models import User
from intake.models import Case, Child, Contact
from referrals.handoffs.models import Referral

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)  # the clock fixture's moment
# Local (UTC+5) month starts in UTC.
OCT = datetime(2026, 9, 30, 19, 0, tzinfo=UTC)
SEP = datetime(2026, 8, 31, 19, 0, tzinfo=UTC)
NOV = datetime(2026, 10, 31, 19, 0, tzinfo=UTC)
CHANNELS = ("phone", "text", "qr", "messenger")
AGENCIES = {"police": ("police.attend", "police.notify"), "education": ("education.inspect",),
            "health": ("health.exam",)}
OUTCOMES = ("child_seen", "support_provided", "no_concern_found")
CATEGORY_SETS: tuple[list[str], ...] = (["violence.bullying"], ["violence.sexual", "violence.physical"],
                 ["mental_health.self_harm", "violence.bullying"], ["family.conflict"], [])
PLANTED_NAME = "Айгерім Тестова"
PLANTED_PHONE = "+77011234567"


@dataclass
class SeedContact:
    received_at: datetime
    region: str  # where the report counts it ("-" for none)
    channel: str
    contact_type: str
    categories: list[str]
    case_key: int | None


@dataclass
class SeedReferral:
    region: str
    agency: str
    service: str
    status: str
    outcome: str | None
    created_at: datetime
    ack_due_at: datetime
    action_due_at: datetime
    acknowledged_at: datetime | None
    first_action_at: datetime | None
    closed_at: datetime | None


@dataclass
class Seed:
    contacts: list[SeedContact] = field(default_factory=list)
    referrals: list[SeedReferral] = field(default_factory=list)
    case_numbers: list[str] = field(default_factory=list)


def _seed(operator: User, desk: User) -> Seed:
    rng = random.Random(11)
    seed = Seed()
    cases: dict[int, Case] = {}
    for index in range(60):
        month_start = OCT if index % 3 else SEP
        received = month_start + timedelta(minutes=rng.randrange(0, 29 * 24 * 60))
        if index == 1:
            received = OCT + timedelta(hours=1)  # Oct 1, 01:00 local: still September in UTC
        caseless = index % 7 == 0
        region = rng.choice(("KZ-27", "KZ-27", "KZ-19", "KZ-75"))
        case_key = None if caseless else rng.randrange(0, 25)
        channel = rng.choice(CHANNELS)
        categories = [] if caseless else list(rng.choice(CATEGORY_SETS))
        contact = Contact(channel=channel, contact_type="information" if caseless else "third_party",
                          language="kk", received_at=received, categories=categories, flags=[],
                          submitted_by=(desk if caseless and index % 2 else operator).id)
        if caseless:
            counted_region = "KZ-19" if index % 2 else "-"
        else:
            assert case_key is not None
            if case_key not in cases:
                child = Child(sex="female", age=12, region=region, risk_flags=[])
                child.name = PLANTED_NAME
                db.session.add(child)
                db.session.flush()
                case = Case(number=f"2026-{900000 + case_key}", region=region, child_id=child.id,
                            opened_at=received, status="open")
                db.session.add(case)
                db.session.flush()
                cases[case_key] = case
                seed.case_numbers.append(case.number)
            contact.case_id = cases[case_key].id
            contact.child_id = cases[case_key].child_id
            counted_region = cases[case_key].region or "-"
        contact.caller_phone = PLANTED_PHONE
        db.session.add(contact)
        seed.contacts.append(SeedContact(received, counted_region, channel, contact.contact_type,
                                         categories, case_key))
    db.session.flush()
    for index in range(70):
        case = cases[rng.choice(sorted(cases))]
        agency = rng.choice(sorted(AGENCIES))
        service = rng.choice(AGENCIES[agency])
        created = (OCT if index % 4 else SEP) + timedelta(minutes=rng.randrange(0, 28 * 24 * 60))
        ack_minutes = rng.choice((5, 12, 30, 45, 61, 90, 119, None))
        status = "sent" if ack_minutes is None else rng.choice(("completed", "completed", "accepted", "declined"))
        acknowledged = None if ack_minutes is None else created + timedelta(minutes=ack_minutes)
        acted = closed = None
        outcome = None
        if status == "completed":
            assert acknowledged is not None and ack_minutes is not None
            # whole minutes under two hours, whole ten minutes beyond: exact in the buckets
            done = rng.choice([m for m in (20, 50, 80, 110, 130, 170, 200, 250) if m > ack_minutes])
            acted = closed = created + timedelta(minutes=done)
            outcome = rng.choice(OUTCOMES)
        elif status == "declined":
            closed = acknowledged
        referral = Referral(case_id=case.id, agency=agency, service=service, status=status,
                            outcome=outcome, region=case.region, rules=[], mandatory=True,
                            created_at=created, ack_due_at=created + timedelta(hours=1),
                            action_due_at=created + timedelta(hours=2), acknowledged_at=acknowledged,
                            accepted_at=acknowledged if status in ("accepted", "completed") else None,
                            first_action_at=acted, closed_at=closed)
        db.session.add(referral)
        seed.referrals.append(SeedReferral(case.region or "-", agency, service, status, outcome, created,
                                           referral.ack_due_at, referral.action_due_at, acknowledged,
                                           acted, closed))
    db.session.commit()
    return seed


@pytest.fixture
def seeded(app: Flask, create_user: Any) -> Seed:
    operator = create_user("operator", username="seed.operator")
    desk = create_user("operator", username="seed.desk.almaty", region="KZ-19")
    return _seed(operator, desk)
