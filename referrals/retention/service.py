"""Retention (issue 11 item 6, security.md §4): personal fields are erased when their period
ends, unless the case is under legal hold.

Record types and their periods (``core.config.Retention``, set by environment variables):

- a *closed case*, ``closed_case_days`` after its closing: the child's name, IIN, address and
  school; the callers' names and phones and the summaries of its contacts; the case's closing
  summary; the reasons and values of its corrections and events; the free text of its routing
  decisions and referrals (manual reasons, notes);
- a *caseless contact* (information, silent, feedback…), ``caseless_contact_days`` after its
  receipt: the caller's name and phone and the summary;
- an unfinished *draft* of a contact form, ``draft_days`` after its last save: deleted.

Anonymising keeps every code, count and time (channels, categories, urgencies, referral states,
outcomes, the child's age, sex and region), so reports and the routing audit still add up. It
writes ``NULL`` into the encrypted columns in bulk (nothing is decrypted), and marks the case or
contact with ``anonymised_at`` so it is not counted again. The audit trail is not touched: its
entries name fields, never values, so the chain still verifies afterwards. Each batch writes one
audit entry with its counts; a dry run writes one with what it would do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update

from core import audit
from core.config import Retention
from core.extensions import db
from core.models import User
from intake.models import CASE_CLOSED, Case, CaseEvent, Child, Contact, Correction, Draft, RoutingDecision
from intake.text.models import CLOSED as THREAD_CLOSED
from intake.text.models import TextMessage, TextReport
from referrals.handoffs.models import Referral, ReferralEvent
from referrals.retention.models import LegalHold

BATCH: Final = 500

# The encrypted columns each record type erases, by table (column names as stored; blind
# indexes with them). tests/referrals/retention checks that every encrypted field of these
# tables is listed here or in KEPT.
CHILD_COLUMNS: Final = ("name", "name_bidx", "iin", "iin_bidx", "address", "school")
CONTACT_COLUMNS: Final = ("caller_name", "caller_phone", "caller_phone_bidx", "summary")
CASE_COLUMNS: Final = ("close_summary",)
CORRECTION_COLUMNS: Final = ("reason", "changes")
EVENT_COLUMNS: Final = ("reason",)
DECISION_COLUMNS: Final = ("change_reasons",)
REFERRAL_COLUMNS: Final = ("manual_reason",)
REFERRAL_EVENT_COLUMNS: Final = ("note",)
# The anonymous school channel: a thread recorded into a case goes with the case; a closed
# thread that opened none, after the period of caseless contacts from its closing.
TEXT_REPORT_COLUMNS: Final = ("contact_how", "replay_code")
TEXT_MESSAGE_COLUMNS: Final = ("text",)
# Kept on purpose: the reasons of legal holds (the hold is why the case is kept), the written
# justifications of break-the-glass openings (they explain entries of the access log, which
# outlives the case's contents), drafts (deleted whole) and the users' second-factor secrets
# (staff accounts, not case data), and a child's risk-group flags: once the name, IIN and
# address are gone they describe no one, and the register's counts must still add up.
KEPT: Final = {"legal_holds": ("reason", "lift_reason"), "drafts": ("payload",),
               "break_glass_grants": ("reason",), "users": ("totp_secret",),
               "children": ("risk_flags",)}


@dataclass(frozen=True)
class Plan:
    """What is past its period now: counts per record type, and holds that kept cases."""

    closed_cases: int
    caseless_contacts: int
    drafts: int
    held_cases: int  # past their period but under legal hold
    text_threads: int = 0  # closed anonymous threads that opened no case

    def as_details(self) -> dict[str, int]:
        return {"closed_cases": self.closed_cases, "caseless_contacts": self.caseless_contacts,
                "drafts": self.drafts, "held_cases": self.held_cases,
                "text_threads": self.text_threads}


def _under_hold() -> ColumnElement[bool]:
    return exists().where(LegalHold.case_id == Case.id, LegalHold.lifted_at.is_(None))


def _cases_past(periods: Retention, now: datetime) -> ColumnElement[bool]:
    return and_(Case.status == CASE_CLOSED, Case.closed_at.is_not(None),
                Case.closed_at < now - timedelta(days=periods.closed_case_days),
                Case.anonymised_at.is_(None))


def _contacts_past(periods: Retention, now: datetime) -> ColumnElement[bool]:
    return and_(Contact.case_id.is_(None), Contact.anonymised_at.is_(None),
                Contact.received_at < now - timedelta(days=periods.caseless_contact_days))


def _threads_past(periods: Retention, now: datetime) -> ColumnElement[bool]:
    return and_(TextReport.case_id.is_(None), TextReport.status == THREAD_CLOSED,
                TextReport.closed_at < now - timedelta(days=periods.caseless_contact_days),
                exists().where(TextMessage.report_id == TextReport.id,
                               TextMessage.__table__.c.text.is_not(None)))


def _drafts_past(periods: Retention, now: datetime) -> ColumnElement[bool]:
    return Draft.updated_at < now - timedelta(days=periods.draft_days)


def plan(periods: Retention, now: datetime) -> Plan:
    def count(statement: object) -> int:
        return int(db.session.scalar(statement) or 0)  # type: ignore[call-overload]

    past = _cases_past(periods, now)
    return Plan(
        closed_cases=count(select(func.count()).select_from(Case).where(past, ~_under_hold())),
        caseless_contacts=count(select(func.count()).select_from(Contact)
                                .where(_contacts_past(periods, now))),
        drafts=count(select(func.count()).select_from(Draft).where(_drafts_past(periods, now))),
        held_cases=count(select(func.count()).select_from(Case).where(past, _under_hold())),
        text_threads=count(select(func.count()).select_from(TextReport)
                           .where(_threads_past(periods, now))),
    )


def dry_run(periods: Retention, now: datetime, actor: User | None = None) -> Plan:
    found = plan(periods, now)
    audit.record("retention.dry_run", details=found.as_details(), actor=actor)
    return found


def apply(periods: Retention, now: datetime, actor: User | None = None) -> Plan:
    """The job: anonymise everything past its period, in batches, each committed with its audit
    entry (a long job: an interruption loses one batch at most, and no lock is held for the
    whole run). Returns what was done (``held_cases``: what the holds kept)."""
    held = plan(periods, now).held_cases
    cases = _in_batches(lambda: list(db.session.scalars(
        select(Case.id).where(_cases_past(periods, now), ~_under_hold())
        .order_by(Case.closed_at, Case.id).limit(BATCH))), lambda ids: anonymise_cases(ids, now),
        "cases", actor)
    contacts = _in_batches(lambda: list(db.session.scalars(
        select(Contact.id).where(_contacts_past(periods, now))
        .order_by(Contact.received_at, Contact.id).limit(BATCH))),
        lambda ids: _erase_contacts(ids, now), "caseless_contacts", actor)
    drafts = _in_batches(lambda: list(db.session.scalars(
        select(Draft.id).where(_drafts_past(periods, now)).order_by(Draft.updated_at).limit(BATCH))),
        _delete_drafts, "drafts", actor)
    threads = _in_batches(lambda: list(db.session.scalars(
        select(TextReport.id).where(_threads_past(periods, now))
        .order_by(TextReport.closed_at, TextReport.id).limit(BATCH))), _erase_threads,
        "text_threads", actor)
    return Plan(cases, contacts, drafts, held, threads)


def _in_batches(next_ids: object, act: object, what: str, actor: User | None) -> int:
    total, batch = 0, 0
    while True:
        ids: list[str] = next_ids()  # type: ignore[operator]
        if not ids:
            return total
        act(ids)  # type: ignore[operator]
        batch += 1
        total += len(ids)
        audit.record("retention.applied", details={"record_type": what, "count": len(ids),
                                                   "batch": batch}, actor=actor)
        db.session.commit()


def _nulls(columns: Sequence[str]) -> dict[str, None]:
    return dict.fromkeys(columns)


def anonymise_cases(case_ids: Sequence[str], now: datetime) -> None:
    """Erase the personal fields of these cases and of everything hung on them."""
    ids = list(case_ids)
    contact_ids = select(Contact.id).where(Contact.case_id.in_(ids))
    child_ids = select(Case.child_id).where(Case.id.in_(ids), Case.child_id.is_not(None))
    contact_children = select(Contact.child_id).where(Contact.case_id.in_(ids),
                                                      Contact.child_id.is_not(None))
    referral_ids = select(Referral.id).where(Referral.case_id.in_(ids))
    children = Child.__table__.c.id
    statements = [
        update(Child.__table__).where(or_(children.in_(child_ids), children.in_(contact_children)),
                                      _only_theirs(ids, []))
        .values(**_nulls(CHILD_COLUMNS)),
        update(Contact.__table__).where(Contact.__table__.c.case_id.in_(ids))
        .values(**_nulls(CONTACT_COLUMNS), anonymised_at=now),
        update(Case.__table__).where(Case.__table__.c.id.in_(ids))
        .values(**_nulls(CASE_COLUMNS), anonymised_at=now),
        update(Correction.__table__).where(or_(Correction.__table__.c.case_id.in_(ids),
                                               Correction.__table__.c.contact_id.in_(contact_ids)))
        .values(**_nulls(CORRECTION_COLUMNS)),
        update(CaseEvent.__table__).where(CaseEvent.__table__.c.case_id.in_(ids))
        .values(**_nulls(EVENT_COLUMNS)),
        update(RoutingDecision.__table__).where(RoutingDecision.__table__.c.case_id.in_(ids))
        .values(**_nulls(DECISION_COLUMNS)),
        update(Referral.__table__).where(Referral.__table__.c.case_id.in_(ids))
        .values(**_nulls(REFERRAL_COLUMNS)),
        update(ReferralEvent.__table__).where(ReferralEvent.__table__.c.referral_id.in_(referral_ids))
        .values(**_nulls(REFERRAL_EVENT_COLUMNS)),
    ]
    for statement in statements:
        db.session.execute(statement)
    _erase_threads(list(db.session.scalars(select(TextReport.id).where(TextReport.case_id.in_(ids)))))
    db.session.expire_all()  # loaded objects must not keep (or write back) the erased values


def _only_theirs(case_ids: Sequence[str], contact_ids: Sequence[str]) -> ColumnElement[bool]:
    """A child is erased only when no other case or contact still names them: a child found
    again by IIN in a newer case keeps their identity there."""
    child = Child.__table__.c.id
    other_case = exists().where(Case.child_id == child, Case.anonymised_at.is_(None),
                                Case.id.not_in(list(case_ids)) if case_ids else Case.id.is_not(None))
    other_contact = exists().where(
        Contact.child_id == child, Contact.anonymised_at.is_(None),
        Contact.id.not_in(list(contact_ids)) if contact_ids else Contact.id.is_not(None),
        or_(Contact.case_id.is_(None), Contact.case_id.not_in(list(case_ids)))
        if case_ids else Contact.id.is_not(None))
    return ~other_case & ~other_contact


def _erase_contacts(contact_ids: Sequence[str], now: datetime) -> None:
    ids = list(contact_ids)
    db.session.execute(update(Contact.__table__).where(Contact.__table__.c.id.in_(ids))
                       .values(**_nulls(CONTACT_COLUMNS), anonymised_at=now))
    db.session.execute(update(Correction.__table__).where(Correction.__table__.c.contact_id.in_(ids))
                       .values(**_nulls(CORRECTION_COLUMNS)))
    children = select(Contact.child_id).where(Contact.id.in_(ids), Contact.child_id.is_not(None))
    db.session.execute(update(Child.__table__).where(Child.__table__.c.id.in_(children),
                                                     _only_theirs([], ids))
                       .values(**_nulls(CHILD_COLUMNS)))
    db.session.expire_all()


def _erase_threads(report_ids: Sequence[str]) -> None:
    """The texts of anonymous threads; their times, status and risk codes stay for the counts."""
    ids = list(report_ids)
    if not ids:
        return
    db.session.execute(update(TextReport.__table__).where(TextReport.__table__.c.id.in_(ids))
                       .values(**_nulls(TEXT_REPORT_COLUMNS)))
    db.session.execute(update(TextMessage.__table__)
                       .where(TextMessage.__table__.c.report_id.in_(ids))
                       .values(**_nulls(TEXT_MESSAGE_COLUMNS)))
    db.session.expire_all()


def _delete_drafts(draft_ids: Sequence[str]) -> None:
    db.session.execute(delete(Draft).where(Draft.id.in_(list(draft_ids))))
