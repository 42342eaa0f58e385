"""The helpline's records: contacts, cases, the child, stored routing decisions, drafts and
corrections. Personal fields are ``EncryptedText``; codes, times and places stay in clear so
that routing, queues and statistics work in SQL (security.md §1)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.encryption import EncryptedCodes, EncryptedText
from core.extensions import db
from core.models.base import IdMixin, UTCDateTime

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JsonList = JSON().with_variant(JSONB(), "postgresql")
# The same, where None means SQL NULL rather than the JSON value null.
NullableJsonList = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

CASE_OPEN, CASE_CLOSED = "open", "closed"
# Contact types that never open a case; they are stored and counted on their own.
NO_CASE_TYPES = frozenset({"information", "silent", "prank", "abusive", "wrong_number", "feedback"})
CHANNELS = ("phone", "text", "messenger", "email", "walk_in", "qr")
CALLER_RELATIONS = ("self", "parent", "relative", "teacher", "neighbour", "professional", "other",
                    "anonymous")
SEXES = ("female", "male", "unknown")
LANGUAGES = ("kk", "ru", "en")
# The risk-group flags of the regional register (WKO plan item 8; interfaces.md). Append-only:
# each code's keyed bit in ``children.risk_flags_mask`` depends on its place in this tuple.
RISK_FLAGS = ("orphan", "without_parental_care", "dysfunctional_family",
              "lives_with_violent_offender", "crime_victim", "domestic_violence_victim",
              "suicide_attempt", "pregnancy", "preventive_register", "substance_dependence",
              "mental_illness", "hiv_sti", "parental_sexual_deviation")


class Counter(db.Model):  # type: ignore[name-defined]
    """Named counters for human-readable numbers (case numbers per year)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Child(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "children"
    __table_args__ = (
        # The risk-group register: counts per (district, key, mask) from the index alone, and
        # its newest-first pages of a region.
        Index("ix_children_register", "region", "district", "risk_flags_key", "risk_flags_mask"),
        Index("ix_children_region_updated", "region", "updated_at", "id"),
    )

    name = EncryptedText(blind_index="child_name")
    iin = EncryptedText(blind_index="iin")
    address = EncryptedText()
    school = EncryptedText()
    sex: Mapped[str] = mapped_column(String(10), default="unknown")
    age: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    district: Mapped[str | None] = mapped_column(String(40), index=True)
    # Risk-group flags (RISK_FLAGS): health and family facts about a named child, so encrypted
    # like any personal field, with a keyed bitmask that lets the register count and filter in
    # SQL (core/crypto/flag_bits.py).
    risk_flags = EncryptedCodes(RISK_FLAGS, bits_field="risk_flags")
    # Flags written in clear before they were encrypted (migration register_flags). Only
    # `senim keys encrypt-risk-flags` reads it: it encrypts each row's flags and empties it.
    risk_flags_legacy: Mapped[list[str] | None] = mapped_column(NullableJsonList, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Case(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_urgency", "status", "urgency"),
        # A region's cases of a month (the reconciliation act).
        Index("ix_cases_region_opened", "region", "opened_at"),
    )

    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=CASE_OPEN)
    urgency: Mapped[str | None] = mapped_column(String(2))
    lead_agency: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(8), index=True)
    district: Mapped[str | None] = mapped_column(String(40), index=True)
    child_id: Mapped[str | None] = mapped_column(ForeignKey("children.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    opened_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_summary = EncryptedText()
    # Set when retention erased the case's personal fields (referrals/retention); codes stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    child: Mapped[Child | None] = relationship(lazy="joined")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="case", order_by="Contact.received_at")
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.at")
    # Declared by name only: referrals live in the referrals package, which intake never imports.
    referrals: Mapped[list[Any]] = relationship("Referral", back_populates="case",
                                                order_by="Referral.created_at")

    @property
    def referral_unit_ids(self) -> list[str]:
        """Units with a referral on this case (the policy's scope for agency staff)."""
        return [r.unit_id for r in self.referrals if r.unit_id]


class Contact(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("submitted_by", "idempotency_key"),
        Index("ix_contacts_type_received", "contact_type", "received_at"),
    )

    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    child_id: Mapped[str | None] = mapped_column(ForeignKey("children.id"))
    channel: Mapped[str] = mapped_column(String(12))
    contact_type: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_by: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    caller_relation: Mapped[str | None] = mapped_column(String(20))
    caller_name = EncryptedText()
    caller_phone = EncryptedText(blind_index="phone")
    callback_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    categories: Mapped[list[str]] = mapped_column(JsonList, default=list)
    urgency: Mapped[str | None] = mapped_column(String(2))
    perpetrator_relation: Mapped[str | None] = mapped_column(String(20))
    perpetrator_lives_with_child: Mapped[bool | None] = mapped_column(Boolean)
    flags: Mapped[list[str]] = mapped_column(JsonList, default=list)
    place: Mapped[str | None] = mapped_column(String(12))
    summary = EncryptedText()
    # Idempotency: the API's Idempotency-Key or the form's token, with a hash of the request.
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case | None] = relationship(back_populates="contacts")
    child: Mapped[Child | None] = relationship()


class RoutingDecision(IdMixin, db.Model):  # type: ignore[name-defined]
    """The decision as made: the algorithm version, the facts it saw (codes only, no personal
    data) and its output, kept verbatim for the routing audit.

    ``changes`` holds the operator's changes to the proposal as codes (which services were
    removed or added); the reasons they wrote are free text that may name people, so they are
    kept apart, encrypted, in ``change_reasons``. Use ``record_changes`` and
    ``referral_changes``, which split and join the two."""

    __tablename__ = "routing_decisions"

    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    algorithm_version: Mapped[str] = mapped_column(String(40))
    facts: Mapped[dict[str, Any]] = mapped_column(JsonList)
    decision: Mapped[dict[str, Any]] = mapped_column(JsonList)
    changes: Mapped[dict[str, Any]] = mapped_column(JsonList, default=dict)
    change_reasons = EncryptedText()  # JSON: {"remove": [reason, ...], "add": [...]}
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    made_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"))

    CHANGE_KINDS = ("remove", "add")

    def record_changes(self, changes: dict[str, Any]) -> None:
        stored = dict(changes)
        reasons: dict[str, list[str | None]] = {}
        for kind in self.CHANGE_KINDS:
            items = [dict(item) for item in changes.get(kind) or []]
            reasons[kind] = [item.pop("reason", None) for item in items]
            stored[kind] = items
        self.changes = stored
        if any(any(found) for found in reasons.values()):
            self.change_reasons = json.dumps(reasons, ensure_ascii=False)

    @property
    def referral_changes(self) -> dict[str, Any]:
        """``changes`` with each change's reason back in place (decrypts: audit the read)."""
        joined = dict(self.changes or {})
        reasons = json.loads(self.change_reasons) if self.change_reasons else {}
        for kind in self.CHANGE_KINDS:
            texts = reasons.get(kind) or []
            joined[kind] = [{**item, "reason": texts[i] if i < len(texts) else item.get("reason")}
                            for i, item in enumerate(joined.get(kind) or [])]
        return joined


class CaseEvent(IdMixin, db.Model):  # type: ignore[name-defined]
    """The case's own timeline: opened, follow-up, corrected, closed, reopened."""

    __tablename__ = "case_events"

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    type: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    reason = EncryptedText()
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))

    # Declared so that the unit of work inserts the contact before the event that names it.
    contact: Mapped[Contact | None] = relationship()


class Correction(IdMixin, db.Model):  # type: ignore[name-defined]
    """One correction of a submitted contact or of the child: a new version with its author,
    time and reason. ``changes`` (encrypted JSON) keeps each changed field's old and new value."""

    __tablename__ = "corrections"

    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    reason = EncryptedText()
    changes = EncryptedText()
    changed_fields: Mapped[list[str]] = mapped_column(JsonList, default=list)


class Draft(IdMixin, db.Model):  # type: ignore[name-defined]
    """An operator's unfinished contact form, autosaved so a crash mid-call loses nothing."""

    __tablename__ = "drafts"

    operator_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    payload = EncryptedText()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_contact_id: Mapped[str | None] = mapped_column(ForeignKey("contacts.id"))
