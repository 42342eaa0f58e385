"""The anonymous school channel's operations: a child's report and messages, and the
helpline's claim, reply, close and conversion. Each function works in the caller's transaction
and writes its audit entry there; the caller commits.

Nothing here touches the child's network identity: the public endpoints pass only what the
child typed, and their audit entries are ``public`` (no client address).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select, update

from core import audit, permissions
from core.extensions import db
from core.models import User
from intake.models import LANGUAGES, Contact
from intake.serialize import iso
from intake.signals import text_report_urgent
from intake.text import codes, triage
from intake.text.models import (
    ANSWERED,
    CHILD,
    CLOSED,
    HELPLINE,
    OPEN,
    SAFE_ANSWERS,
    School,
    SchoolToken,
    TextMessage,
    TextReport,
)

MAX_TEXT = 5000  # characters in one message: a long story fits, a flood does not
MAX_CONTACT_HOW = 200
MAX_CHILD_MESSAGES = 100  # per thread; after that the child is asked to call 111
CLAIM_DURATION = timedelta(minutes=10)  # an operator who leaves a report lets it go again
REPLAY_WINDOW = timedelta(hours=1)
NOT_SAFE = "not_safe"  # the child answered "no" to "are you safe now?"
AGE_RANGE = (5, 25)
MAX_SUMMARY = 20000  # the contact schema's limit


class ReportInvalid(ValueError):
    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = dict(fields)


class ThreadClosed(Exception):
    """The helpline closed this thread: the child can read it but not write."""


class ClaimedByOther(Exception):
    def __init__(self, holder: str | None) -> None:
        super().__init__("claimed by another operator")
        self.holder = holder


class TooManyMessages(Exception):
    pass


class IdempotencyConflict(ValueError):
    pass


# ---- schools -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenLookup:
    school: School
    token: SchoolToken

    @property
    def retired(self) -> bool:
        return self.token.retired_at is not None


def lookup_token(token: str) -> TokenLookup | None:
    if not token or len(token) > 40:
        return None
    found = db.session.get(SchoolToken, token)
    return TokenLookup(found.school, found) if found is not None else None


# ---- the child's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewReport:
    text: str
    age: int | None
    safe_now: str | None
    contact_ok: bool
    contact_how: str | None
    language: str


def _clean_text(value: Any, name: str, limit: int, errors: dict[str, str],
                required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "required"
        return None
    if not isinstance(value, str):
        errors[name] = "must be text"
        return None
    if "\x00" in value:
        errors[name] = "contains a null character"
        return None
    text = value.strip()
    if len(text) > limit:
        errors[name] = f"at most {limit} characters"
        return None
    return text


def parse_report(data: Mapping[str, Any]) -> NewReport:
    """Check what the page or the API sent; every problem keyed by field."""
    errors: dict[str, str] = {}
    text = _clean_text(data.get("text"), "text", MAX_TEXT, errors)
    how = _clean_text(data.get("contact_how"), "contact_how", MAX_CONTACT_HOW, errors, required=False)
    age = data.get("age")
    if isinstance(age, str):
        age = int(age) if age.strip().isdigit() else (None if not age.strip() else age)
    if age is not None and (isinstance(age, bool) or not isinstance(age, int)
                            or not AGE_RANGE[0] <= age <= AGE_RANGE[1]):
        errors["age"] = f"a whole number from {AGE_RANGE[0]} to {AGE_RANGE[1]}"
        age = None
    safe = data.get("safe_now")
    if isinstance(safe, bool):
        safe = "yes" if safe else "no"
    if safe in ("", None):
        safe = None
    elif safe not in SAFE_ANSWERS:
        errors["safe_now"] = "must be one of: yes, no, unsure"
    language = data.get("language") or "kk"
    if language not in LANGUAGES:
        errors["language"] = "must be one of: kk, ru, en"
    contact_ok = data.get("contact_ok")
    if contact_ok not in (None, True, False, "on", "yes", "no", ""):
        errors["contact_ok"] = "must be true or false"
    if errors or text is None:
        raise ReportInvalid(errors)
    consented = contact_ok in (True, "on", "yes")
    return NewReport(text, age, safe, consented, how if consented else None, language)


def _risk_of(text: str, safe_now: str | None = None) -> list[str]:
    found = triage.assess(text)
    if safe_now == "no":
        found.append(NOT_SAFE)
    return found


def _announce_urgent(report: TextReport, now: datetime) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    text_report_urgent.send(app, report=report, now=now)


def _replay(key: str | None, digest: str, now: datetime) -> str | None:
    """The code an earlier request with this key received, or None (a new report)."""
    if not key:
        return None
    found = db.session.scalar(select(TextReport).where(TextReport.idempotency_key == key))
    if found is None:
        return None
    if found.replay_until is None or found.replay_until <= now:
        _forget_replay(found)
        db.session.flush()
        return None
    if found.request_hash != digest:
        raise IdempotencyConflict("the Idempotency-Key was used with another body")
    code: str | None = found.replay_code
    return code


def _forget_replay(report: TextReport) -> None:
    report.idempotency_key = report.request_hash = None
    report.replay_code = None
    report.replay_until = None


def create_report(school: School, new: NewReport, now: datetime, *,
                  idempotency_key: str | None = None,
                  request_digest: str | None = None) -> tuple[TextReport | None, str]:
    """Store the report and its first message; returns (report, follow-up code). A replay of
    an Idempotency-Key returns (None, the code it got the first time)."""
    digest = request_digest or ""
    replayed = _replay(idempotency_key, digest, now)
    if replayed is not None:
        return None, replayed
    code = codes.new_code()
    risk = _risk_of(new.text, new.safe_now)
    report = TextReport(
        school_id=school.id, region=school.region, district=school.district,
        language=new.language, age=new.age, safe_now=new.safe_now, contact_ok=new.contact_ok,
        code_hash=codes.code_hash(code), status=OPEN, urgent=bool(risk), risk=risk,
        created_at=now, waiting_since=now, last_message_at=now)
    report.contact_how = new.contact_how
    if idempotency_key:
        report.idempotency_key, report.request_hash = idempotency_key, digest
        report.replay_code, report.replay_until = code, now + REPLAY_WINDOW
    report.school = school
    db.session.add(report)
    _add_message(report, CHILD, new.text, now, None, triage.assess(new.text))
    db.session.flush()
    audit.record("text_report.created", object_type="text_report", object_id=report.id,
                 public=True, details={"region": report.region, "urgent": report.urgent})
    if report.urgent:
        _announce_urgent(report, now)
    return report, code


def _add_message(report: TextReport, sender: str, text: str, now: datetime,
                 author: User | None, risk: list[str]) -> TextMessage:
    message = TextMessage(report_id=report.id, sender=sender, at=now,
                          author_id=author.id if author else None, risk=risk)
    message.text = text
    report.messages.append(message)
    report.last_message_at = now
    return message


def report_for_code(code: Any) -> TextReport | None:
    if not isinstance(code, str) or len(code) > 64:
        return None
    digest = codes.code_hash(code)
    if digest is None:
        return None
    return db.session.scalar(select(TextReport).where(TextReport.code_hash == digest))


def child_writes(report: TextReport, raw: Any, now: datetime) -> TextMessage:
    errors: dict[str, str] = {}
    text = _clean_text(raw, "text", MAX_TEXT, errors)
    if text is None:
        raise ReportInvalid(errors)
    if report.status == CLOSED:
        raise ThreadClosed()
    if sum(1 for m in report.messages if m.sender == CHILD) >= MAX_CHILD_MESSAGES:
        raise TooManyMessages()
    risk = triage.assess(text)
    message = _add_message(report, CHILD, text, now, None, risk)
    report.status = OPEN
    report.waiting_since = report.waiting_since or now
    newly_urgent = bool(risk) and not report.urgent
    report.risk = list(dict.fromkeys([*(report.risk or []), *risk]))
    report.urgent = report.urgent or bool(risk)
    db.session.flush()
    audit.record("text_report.child_message", object_type="text_report", object_id=report.id,
                 public=True, details={"urgent": report.urgent})
    if newly_urgent:
        _announce_urgent(report, now)
    return message


def public_thread(report: TextReport) -> dict[str, Any]:
    """The thread as the child sees it (interfaces.md): no operator names, no risk marks."""
    return {"messages": [{"from": m.sender, "text": m.text, "at": iso(m.at)}
                         for m in report.messages],
            "status": CLOSED if report.status == CLOSED else OPEN}


# ---- the helpline's side ---------------------------------------------------------------------


def queue_query(user: User, status: str = OPEN) -> Select[Any]:
    """The reports the user may handle, in triage order for waiting ones: urgent first, then
    the longest waiting; other statuses oldest first."""
    query = select(TextReport).where(TextReport.status == status)
    if user.region:
        query = query.where(TextReport.region == user.region)
    return query


def queue_keys(status: str) -> list[tuple[Any, bool]]:
    if status == OPEN:
        return [(TextReport.urgent, True), (TextReport.waiting_since, False), (TextReport.id, False)]
    return [(TextReport.created_at, False), (TextReport.id, False)]


@dataclass(frozen=True)
class QueueCounts:
    waiting: int
    over_5: int
    over_15: int
    urgent: int


def queue_counts(user: User, now: datetime) -> QueueCounts:
    base = queue_query(user, OPEN).with_only_columns(func.count()).order_by(None)

    def count(*conditions: Any) -> int:
        return int(db.session.scalar(base.where(*conditions)) or 0)

    return QueueCounts(count(), count(TextReport.waiting_since <= now - timedelta(minutes=5)),
                       count(TextReport.waiting_since <= now - timedelta(minutes=15)),
                       count(TextReport.urgent.is_(True)))


def waiting_seconds(report: TextReport, now: datetime) -> int:
    if report.waiting_since is None:
        return 0
    return max(0, int((now - report.waiting_since).total_seconds()))


def visible_report(report_id: str, user: User) -> TextReport | None:
    """The report if the user may handle it; None for absent and not yours alike."""
    report = db.session.get(TextReport, report_id)
    if report is None or not permissions.can_handle_text_report(user, report.region):
        return None
    return report


def claim_holder(report: TextReport, now: datetime) -> str | None:
    """Who holds the report now (a user id), or None when nobody does or the claim expired."""
    if report.claimed_by and report.claim_expires_at and report.claim_expires_at > now:
        return report.claimed_by
    return None


def claim(report: TextReport, user: User, now: datetime) -> None:
    """Take (or renew) the report for ``user``; one operator at a time. Done as one UPDATE with
    the condition in its WHERE, so two operators clicking at once cannot both win."""
    if report.status == CLOSED:
        raise ThreadClosed()
    renewing = claim_holder(report, now) == user.id
    result: Any = db.session.execute(
        update(TextReport).where(
            TextReport.id == report.id,
            or_(TextReport.claimed_by.is_(None), TextReport.claimed_by == user.id,
                TextReport.claim_expires_at.is_(None), TextReport.claim_expires_at <= now))
        .values(claimed_by=user.id, claim_expires_at=now + CLAIM_DURATION)
        .execution_options(synchronize_session=False))
    taken = result.rowcount
    db.session.refresh(report)
    if not taken:
        raise ClaimedByOther(report.claimed_by)
    if not renewing:
        audit.record("text_report.claimed", object_type="text_report", object_id=report.id,
                     actor=user)


def release(report: TextReport, user: User, now: datetime) -> bool:
    if claim_holder(report, now) != user.id:
        return False
    report.claimed_by = None
    report.claim_expires_at = None
    audit.record("text_report.released", object_type="text_report", object_id=report.id, actor=user)
    return True


def reply(report: TextReport, user: User, raw: Any, now: datetime) -> TextMessage:
    errors: dict[str, str] = {}
    text = _clean_text(raw, "text", MAX_TEXT, errors)
    if text is None:
        raise ReportInvalid(errors)
    claim(report, user, now)  # replying needs the claim: takes a free one, renews one's own
    message = _add_message(report, HELPLINE, text, now, user, [])
    report.status = ANSWERED
    report.waiting_since = None
    db.session.flush()
    audit.record("text_report.replied", object_type="text_report", object_id=report.id,
                 actor=user, details={"case": report.case_id})
    return message


def close(report: TextReport, user: User, now: datetime) -> None:
    if report.status == CLOSED:
        raise ThreadClosed()
    holder = claim_holder(report, now)
    if holder is not None and holder != user.id:
        raise ClaimedByOther(holder)
    report.status = CLOSED
    report.closed_at, report.closed_by = now, user.id
    report.waiting_since = None
    report.claimed_by = report.claim_expires_at = None
    audit.record("text_report.closed", object_type="text_report", object_id=report.id, actor=user)


def child_text(report: TextReport) -> str:
    """Everything the child wrote, in order: the summary a conversion starts from."""
    return "\n\n".join(m.text for m in report.messages if m.sender == CHILD)


def contact_prefill(report: TextReport) -> dict[str, Any]:
    """The contact form's fields filled from the report (interfaces.md's channel ``qr``)."""
    return {
        "channel": "qr", "contact_type": "child_self", "language": report.language,
        "caller": {"relation": "self", "callback_consent": report.contact_ok},
        "child": {"age": report.age, "region": report.region, "district": report.district,
                  "school": report.school.name(report.language)},
        "summary": child_text(report)[:MAX_SUMMARY],
        "started_at": report.created_at.isoformat(),
    }


def merged_contact(base: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over ``base``, object by object: what the operator sent wins, the rest comes
    from the report."""
    merged = dict(base)
    for key, value in given.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merged_contact(merged[key], value)
        else:
            merged[key] = value
    return merged


def link_contact(report: TextReport, contact: Contact, user: User) -> None:
    """The report became ``contact`` (and its case): the thread stays linked to the case."""
    report.contact_id = contact.id
    report.case_id = contact.case_id
    audit.record("text_report.converted", object_type="text_report", object_id=report.id,
                 actor=user, details={"case": contact.case_id, "contact": contact.id})


def request_digest(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
