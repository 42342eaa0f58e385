"""Submitting a contact: validation shared by the form and the API, idempotency, and one
transaction for contact, case, routing decision, referrals and audit entries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Connection, func, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from core import audit, permissions
from core.api import schema_errors
from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.read_once import read_once
from core.validation import InvalidIIN, InvalidPhone, normalize_phone, validate_iin
from intake.models import CASE_OPEN, NO_CASE_TYPES, Case, CaseEvent, Child, Contact, Counter, RoutingDecision
from intake.ports import routing
from intake.schema import CONTACT_SCHEMA
from intake.signals import case_submitted
from referrals.routing import Decision, FactsError, parse_rfc3339

CLOCK_SKEW = timedelta(minutes=2)  # a client's clock may run a little ahead of ours
URGENCY_ORDER = ("P1", "P2", "P3", "P4")


class ContactInvalid(ValueError):
    """The contact cannot be accepted; ``fields`` names every problem by dotted path."""

    def __init__(self, fields: Mapping[str, str], status: int = 422) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = dict(fields)
        self.status = status


class IdempotencyConflict(ValueError):
    """The idempotency key was used before with a different body."""


@dataclass(frozen=True)
class ReferralChange:
    service: str
    reason: str


@dataclass(frozen=True)
class ReferralChanges:
    remove: tuple[ReferralChange, ...] = ()
    add: tuple[ReferralChange, ...] = ()

    def removed(self, service: str) -> ReferralChange | None:
        return next((c for c in self.remove if c.service == service), None)

    def as_json(self) -> dict[str, Any]:
        return {"remove": [c.__dict__ for c in self.remove], "add": [c.__dict__ for c in self.add]}


@dataclass
class Submission:
    contact: Contact
    created: bool
    decision: Decision | None = None
    decision_row: RoutingDecision | None = None
    changes: ReferralChanges = field(default_factory=ReferralChanges)
    actor: User | None = None
    now: datetime | None = None
    opened_case: bool = False  # the contact opened its case (which then has no referrals yet)


@dataclass(frozen=True)
class ValidContact:
    data: Mapping[str, Any]
    case: Case | None
    started_at: datetime | None
    ended_at: datetime | None
    phone: str | None
    iin: str | None
    decision: Decision
    facts: dict[str, Any]
    changes: ReferralChanges


# ---- validation -----------------------------------------------------------------------------


def facts_of(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The routing facts (routing.md §2) a contact carries: codes only, no personal data."""
    child = data.get("child") or {}
    perpetrator = data.get("perpetrator") or {}
    return {
        "contact_type": data.get("contact_type"),
        "categories": data.get("categories") or [],
        "urgency": data.get("urgency"),
        "child": {"age": child.get("age"), "region": child.get("region"),
                  "district": child.get("district"), "flags": child.get("flags") or []},
        "perpetrator": {"relation": perpetrator.get("relation")},
        "flags": data.get("flags") or [],
        "place": data.get("place"),
        "submitted_at": now.isoformat(),
    }


def _null_bytes(value: Any, path: str, errors: dict[str, str]) -> None:
    if isinstance(value, str) and "\x00" in value:
        errors.setdefault(path or "body", "contains a null character")
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _null_bytes(inner, f"{path}.{key}" if path else str(key), errors)
    elif isinstance(value, list):
        for inner in value:
            _null_bytes(inner, path, errors)


def _time(data: Mapping[str, Any], name: str, now: datetime, errors: dict[str, str]) -> datetime | None:
    text = data.get(name)
    if text in (None, ""):
        return None
    try:
        moment = parse_rfc3339(str(text))
    except ValueError:
        errors[name] = "not an RFC 3339 date-time with an offset"
        return None
    if moment > now + CLOCK_SKEW:
        errors[name] = "lies in the future"
    return moment


def _case_for(data: Mapping[str, Any], actor: User, errors: dict[str, str]) -> Case | None:
    case_id = data.get("case_id")
    if not case_id:
        if data.get("contact_type") == "follow_up":
            errors["case_id"] = "a follow-up needs the case it follows"
        return None
    case = db.session.get(Case, case_id)
    if case is None or not permissions.can_edit_case(actor, case):
        errors["case_id"] = "no such case"  # the same answer for absent and not yours
        return None
    return case


def _identity(data: Mapping[str, Any], errors: dict[str, str]) -> tuple[str | None, str | None]:
    phone = iin = None
    raw_phone = (data.get("caller") or {}).get("phone")
    if raw_phone:
        try:
            phone = normalize_phone(raw_phone)
        except InvalidPhone as error:
            errors["caller.phone"] = str(error)
    raw_iin = (data.get("child") or {}).get("iin")
    if raw_iin:
        try:
            validate_iin(raw_iin)
            iin = "".join(raw_iin.split())
        except InvalidIIN as error:
            errors["child.iin"] = str(error)
    return phone, iin


def _changes(data: Mapping[str, Any], decision: Decision, actor: User,
             errors: dict[str, str]) -> ReferralChanges:
    raw = data.get("referral_changes") or {}
    remove = tuple(ReferralChange(c["service"], c["reason"].strip()) for c in raw.get("remove", []))
    add = tuple(ReferralChange(c["service"], c["reason"].strip()) for c in raw.get("add", []))
    proposed = {r.service: r for r in decision.referrals}
    for change in remove:
        found = proposed.get(change.service)
        if found is None:
            errors["referral_changes.remove"] = f"{change.service} was not proposed"
        elif found.mandatory and not permissions.can_remove_mandatory_referral(actor):
            raise ContactInvalid({"referral_changes.remove":
                                  f"only a supervisor may remove the mandatory {change.service}"},
                                 status=403)
        if not change.reason:
            errors["referral_changes.remove"] = "every change needs a reason"
    known = set(routing().algorithm().services)
    for change in add:
        if change.service not in known:
            errors["referral_changes.add"] = f"unknown service {change.service}"
        elif change.service in proposed:
            errors["referral_changes.add"] = f"{change.service} is already proposed"
        if not change.reason:
            errors["referral_changes.add"] = "every change needs a reason"
    if add and not decision.routable:
        errors["referral_changes.add"] = "this contact type is never referred"
    return ReferralChanges(remove, add)


def validate_contact(data: Any, actor: User, now: datetime) -> ValidContact:
    """Check everything, collecting every problem; raise ``ContactInvalid`` with all of them."""
    errors = schema_errors(data, CONTACT_SCHEMA)
    if not isinstance(data, Mapping):
        raise ContactInvalid(errors or {"body": "must be a JSON object"})
    _null_bytes(data, "", errors)
    started, ended = _time(data, "started_at", now, errors), _time(data, "ended_at", now, errors)
    if started and ended and ended < started:
        errors["ended_at"] = "precedes started_at"
    case = _case_for(data, actor, errors)
    phone, iin = _identity(data, errors)
    facts = facts_of(data, now)
    decision = None
    try:
        decision = routing().decide(facts, now)
    except FactsError as error:
        for name, message in error.fields.items():
            errors.setdefault(name, message)
    if errors or decision is None:
        raise ContactInvalid(errors)
    changes = _changes(data, decision, actor, errors)
    if errors:
        raise ContactInvalid(errors)
    return ValidContact(data, case, started, ended, phone, iin, decision, facts, changes)


# ---- submission -----------------------------------------------------------------------------


def request_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(actor: User, key: str | None, digest: str) -> Contact | None:
    if not key:
        return None
    found = db.session.scalar(select(Contact).where(Contact.submitted_by == actor.id,
                                                    Contact.idempotency_key == key))
    if found is not None and found.request_hash != digest:
        raise IdempotencyConflict("the Idempotency-Key was used with another body")
    return found


def submit_contact(data: Any, actor: User, *, idempotency_key: str | None = None,
                   now: datetime | None = None, fingerprint: Any = None,
                   before_commit: Callable[[Submission], None] | None = None) -> Submission:
    """Create the contact (and case, decision, referrals) once per idempotency key.

    ``fingerprint`` is what a replay must repeat to count as the same request (default: the
    whole body); the form leaves out what the server adds itself, such as the end time.
    ``before_commit`` runs in the same transaction once the contact exists (an anonymous text
    report links itself to the new case there, so both commit or neither does).

    Nothing here commits: the request commits where it ends (core/transactions.py), with the
    objects as flushed here, so building the response reads nothing back. The one commit left
    is the case-number counter's on PostgreSQL (``next_case_number``), on a connection of its
    own.
    """
    now = now or utcnow()
    digest = request_hash(data if fingerprint is None else fingerprint)
    existing = _replayed(actor, idempotency_key, digest)
    if existing is not None:
        return Submission(existing, created=False)
    with read_once():  # the algorithm and calendar, asked for a dozen times, are read once
        return _submit(data, actor, now, idempotency_key, digest, before_commit)


def _submit(data: Any, actor: User, now: datetime, idempotency_key: str | None,
            digest: str, before_commit: Callable[[Submission], None] | None) -> Submission:
    valid = validate_contact(data, actor, now)
    try:
        # The entries go in last, so the append lock is held only from there to the commit.
        with audit.batched():
            submission = _store(valid, actor, now, idempotency_key, digest)
            db.session.flush()
        if before_commit is not None:
            before_commit(submission)
            db.session.flush()  # its writes, earlier than the commit would send them: not more
    except IntegrityError:
        # A double click that raced us: the other request committed the same key first (the
        # unique key refuses our INSERT at the flush above, which waits for that commit on
        # PostgreSQL). The submission is the request's only work so far, so rolling the whole
        # transaction back loses nothing else; a savepoint would cost two statements on every
        # submission to save one rare retry.
        db.session.rollback()
        existing = _replayed(actor, idempotency_key, digest)
        if existing is None:
            raise
        return Submission(existing, created=False)
    return submission


def _store(valid: ValidContact, actor: User, now: datetime, key: str | None,
           digest: str) -> Submission:
    data = valid.data
    contact = _new_contact(valid, actor, now, key, digest)
    db.session.add(contact)
    if data["contact_type"] not in NO_CASE_TYPES or valid.case is not None:
        case = valid.case or _open_case(valid, actor, now)
        _attach(contact, case, valid, actor, now)
    db.session.flush()
    decision_row = RoutingDecision(
        contact_id=contact.id, case_id=contact.case_id,
        algorithm_version=valid.decision.algorithm_version, facts=valid.facts,
        decision=routing().decision_json(valid.decision), made_at=now, made_by=actor.id)
    decision_row.record_changes(valid.changes.as_json())
    db.session.add(decision_row)
    db.session.flush()
    audit.record("contact.created", object_type="contact", object_id=contact.id, actor=actor,
                 details={"case": contact.case_id, "type": contact.contact_type})
    audit.record("routing.decided", object_type="routing_decision", object_id=decision_row.id,
                 actor=actor, details={"case": contact.case_id,
                                       "version": valid.decision.algorithm_version})
    submission = Submission(contact, True, valid.decision, decision_row, valid.changes, actor, now,
                            opened_case=valid.case is None and contact.case is not None)
    if contact.case_id is not None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        case_submitted.send(app, submission=submission)
    return submission


def _new_contact(valid: ValidContact, actor: User, now: datetime, key: str | None,
                 digest: str) -> Contact:
    data = valid.data
    caller = data.get("caller") or {}
    perpetrator = data.get("perpetrator") or {}
    contact = Contact(
        channel=data["channel"], contact_type=data["contact_type"], language=data["language"],
        started_at=valid.started_at, ended_at=valid.ended_at, received_at=now,
        submitted_by=actor.id, caller_relation=caller.get("relation"),
        callback_consent=bool(caller.get("callback_consent")),
        categories=list(dict.fromkeys(data.get("categories") or [])),
        urgency=data.get("urgency"), perpetrator_relation=perpetrator.get("relation"),
        perpetrator_lives_with_child=perpetrator.get("lives_with_child"),
        flags=list(dict.fromkeys(data.get("flags") or [])), place=data.get("place"),
        idempotency_key=key, request_hash=digest,
    )
    contact.caller_name = caller.get("name") or None
    contact.caller_phone = valid.phone
    contact.summary = data.get("summary") or None
    return contact


def next_case_number(now: datetime) -> str:
    """Year-prefixed, gapless per year in practice (a rolled-back submission leaves a gap)."""
    name = f"case-{now.year}"
    if db.session.get_bind().dialect.name == "postgresql":
        # A transaction of its own, on another connection: the counter row's lock then ends at
        # once instead of making every concurrent submission wait until this one commits. Its
        # commit need not wait for the disk: the submission's own commit flushes the log up to
        # and past it, so a number can only be lost (a gap) together with a submission that
        # never committed. One statement does it all (autocommit; see _allocate_postgresql).
        # It is a commit outside the request's end (issue 15), and deliberately so: it commits
        # nothing of the request (another connection), and made at the request's end it would
        # serialise all submissions on one row. SQLite has one writer anyway, so there the
        # counter goes with the request's transaction.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            allocated = _allocate_postgresql(connection, name)
        return f"{now.year}-{allocated:06d}"
    for _ in range(3):
        value = db.session.execute(
            update(Counter).where(Counter.name == name).values(value=Counter.value + 1)
            .returning(Counter.value)).scalar()
        if value is not None:
            return f"{now.year}-{value:06d}"
        try:
            with db.session.begin_nested():
                db.session.add(Counter(name=name, value=0))
        except IntegrityError:
            pass  # another transaction created it; take the UPDATE path again
    raise RuntimeError("could not allocate a case number")


def _allocate_postgresql(connection: Connection, name: str) -> int:
    """The next value of a counter, in one statement that is its own transaction: the row it
    inserts comes from a SELECT that first sets ``synchronous_commit`` off for the transaction
    (``set_config(..., true)`` is ``SET LOCAL``), which is still in force when the statement
    commits. One round trip, where SET LOCAL, the upsert and COMMIT took three (issue 13)."""
    counters = Counter.__table__
    not_waiting = select(func.set_config("synchronous_commit", "off", True).label("ignored"))
    source = select(literal(name), literal(1)).select_from(not_waiting.subquery())
    statement = (postgresql.insert(counters).from_select(["name", "value"], source)
                 .on_conflict_do_update(index_elements=[counters.c.name],
                                        set_={"value": counters.c.value + 1})
                 .returning(counters.c.value))
    return int(connection.execute(statement).scalar_one())


def _child_from(data: Mapping[str, Any], iin: str | None, child: Child | None) -> Child:
    """A new child, or the case's child with blanks filled from a follow-up (never overwritten:
    changing recorded details is a correction, with a reason)."""
    given = data.get("child") or {}
    child = child or Child()
    for name in ("name", "address", "school"):
        if given.get(name) and not getattr(child, name):
            setattr(child, name, given[name])
    if iin and not child.iin:
        child.iin = iin
    for name in ("sex", "age", "region", "district"):
        if given.get(name) is not None and getattr(child, name) in (None, "unknown"):
            setattr(child, name, given[name])
    flags = list(dict.fromkeys([*(child.risk_flags or []), *(given.get("flags") or [])]))
    child.risk_flags = flags
    return child


def _open_case(valid: ValidContact, actor: User, now: datetime) -> Case:
    child = _child_from(valid.data, valid.iin, None)
    db.session.add(child)
    case = Case(number=next_case_number(now), status=CASE_OPEN, child=child,
                region=child.region, district=child.district, opened_at=now, opened_by=actor.id,
                referrals=[])  # known to be empty: referrals are added to it without a read
    db.session.add(case)
    db.session.add(CaseEvent(case_id=case.id, at=now, type="opened", actor_id=actor.id,
                             actor_role=actor.role))
    return case


def _attach(contact: Contact, case: Case, valid: ValidContact, actor: User, now: datetime) -> None:
    if valid.case is not None:
        case.child = _child_from(valid.data, valid.iin, case.child)
        db.session.add(CaseEvent(case_id=case.id, at=now, type="follow_up", actor_id=actor.id,
                                 actor_role=actor.role, contact=contact))
    contact.case = case
    contact.child = case.child
    urgency = valid.decision.urgency
    if urgency and (case.urgency is None or _more_urgent(urgency, case.urgency)):
        case.urgency = urgency
    case.lead_agency = case.lead_agency or valid.decision.lead
    case.region = case.region or (case.child.region if case.child else None)
    case.district = case.district or (case.child.district if case.child else None)


def _more_urgent(a: str, b: str) -> bool:
    return URGENCY_ORDER.index(a) < URGENCY_ORDER.index(b)
