"""Notifications: in-app rows for people, emails to units (routing.md §8, issue 7).

Both are made inside the caller's transaction. In-app notifications are rows that commit or roll
back with the change they announce. Emails wait in the session's outbox and leave only after the
transaction commits (a rolled-back action sends nothing), through SMTP when ``SENIM_SMTP_URL`` is
set and into the log otherwise. An email never carries personal data: what happened, the service,
the deadlines and a link to the referral, where the reader signs in.

A unit's mailbox is ``AgencyUnit.contact_email``; its language is the one most of the unit's
active users chose (Kazakh when none did).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session, lazyload

from core.clock import utcnow
from core.extensions import db
from core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from core.models import AgencyUnit, User
from core.roles import UNIT_ROLES, Role
from core.templating import localtime  # babel's short format, patterns parsed once
from intake.models import Case
from intake.ports import routing
from referrals.handoffs.models import SENT, Referral, ReferralEvent
from referrals.handoffs.notification_models import (
    COMPLETED,
    DECLINED,
    ESCALATION_ACK,
    ESCALATION_ACTION,
    NEW_REFERRAL,
    NOTE,
    URGENT_TEXT_REPORT,
    Notification,
)

log = logging.getLogger(__name__)
OUTBOX = "senim.outbox"
NOTIFIED = "senim.notified_referrals"
STAFF = "senim.unit_staff"  # session.info, during one flush: active users by unit id
SMTP_TIMEOUT = 10


# ---- who ---------------------------------------------------------------------------------------


def unit_users(unit_id: str | None, roles: Iterable[Role] = UNIT_ROLES) -> list[User]:
    if unit_id is None:
        return []
    wanted = [r.value for r in roles]
    staff = _known_staff(unit_id)
    if staff is not None:
        return [user for user in staff if user.role in wanted]
    return list(db.session.scalars(select(User).where(
        User.unit_id == unit_id, User.active.is_(True),
        User.role.in_(wanted)).order_by(User.username)))


def _known_staff(unit_id: str) -> list[User] | None:
    """The unit's active users when the current flush loaded them already (see _before_flush)."""
    known: dict[str, list[User]] | None = db.session.info.get(STAFF)
    return known.get(unit_id, []) if known is not None else None


def _load_staff(unit_ids: Iterable[str]) -> dict[str, list[User]]:
    """Active users of these units, by unit, in username order: one query for every referral
    a flush announces, instead of two per referral."""
    staff: dict[str, list[User]] = {}
    ids = sorted(set(unit_ids))
    if ids:
        # The unit is in the session already (the referral has it): joining it again, with
        # its selectin-loaded services, cost more than the rest of the announcement.
        for user in db.session.scalars(select(User).where(
                User.unit_id.in_(ids), User.active.is_(True)).order_by(User.username)
                .options(lazyload(User.unit))):
            staff.setdefault(str(user.unit_id), []).append(user)
    return staff


def supervisors_for(region: str | None) -> list[User]:
    """Helpline supervisors of the region, and those with no region (the whole helpline)."""
    query = select(User).where(User.role == Role.SUPERVISOR.value, User.active.is_(True))
    if region:
        query = query.where(or_(User.region.is_(None), User.region == region))
    return list(db.session.scalars(query.order_by(User.username)))


def unit_language(unit_id: str) -> str:
    staff = _known_staff(unit_id)
    if staff is not None:
        found = [user.language for user in staff]
    else:
        found = list(db.session.scalars(select(User.language).where(
            User.unit_id == unit_id, User.active.is_(True)).order_by(User.username)))
    languages = [lang for lang in found if lang in LANGUAGES]
    if not languages:
        return DEFAULT_LANGUAGE
    return Counter(languages).most_common(1)[0][0]


# ---- in-app ------------------------------------------------------------------------------------


def notify_users(users: Iterable[User], kind: str, referral: Referral,
                 skip: User | None = None) -> int:
    seen: set[str] = set()
    for user in users:
        if user.id in seen or (skip is not None and user.id == skip.id):
            continue
        seen.add(user.id)
        db.session.add(Notification(user=user, kind=kind, referral=referral,
                                    created_at=utcnow()))
    return len(seen)


def unread_count(user: User) -> int:
    return int(db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0)


def mark_read(user: User, referral_id: str | None = None) -> None:
    """All of the user's unread notifications, or those about one referral."""
    statement = update(Notification).where(Notification.user_id == user.id,
                                           Notification.read_at.is_(None))
    if referral_id is not None:
        statement = statement.where(Notification.referral_id == referral_id)
    db.session.execute(statement.values(read_at=utcnow()))


# ---- what happened ----------------------------------------------------------------------------


def referral_sent(referral: Referral) -> None:
    """A unit received a referral: new at intake, transferred or re-routed to it."""
    if referral.unit_id is None:
        return
    notify_users(unit_users(referral.unit_id), NEW_REFERRAL, referral)
    unit = referral.unit or db.session.get(AgencyUnit, referral.unit_id)
    if unit is not None:
        email_unit(unit, "new_referral", referral)


def escalated(referral: Referral, level: int, users: Sequence[User],
              units: Sequence[AgencyUnit]) -> None:
    notify_users(users, ESCALATION_ACK if level == 1 else ESCALATION_ACTION, referral)
    for unit in {u.id: u for u in units}.values():
        email_unit(unit, "escalation", referral, level=level)


def after_transition(referral: Referral, event: ReferralEvent, actor: User) -> None:
    """Who hears of a move: the receiving unit, the supervisors, the helpline or the unit."""
    action = event.action
    if action in ("transfer", "reroute"):
        referral_sent(referral)
    elif action == "decline":
        notify_users(supervisors_for(area_of(referral)[0]), DECLINED, referral)
    elif action == "complete":
        notify_users(_case_opener(referral), COMPLETED, referral, skip=actor)
    elif action == "note":
        _note_added(referral, actor)


def case_of(referral: Referral) -> Case | None:
    """The referral's case, also for a referral still pending in the session."""
    return referral.case or db.session.get(Case, referral.case_id)


def area_of(referral: Referral) -> tuple[str | None, str | None]:
    """Where the child is now: the case's region and district (corrections move them), else
    what the referral recorded when it was made."""
    case = case_of(referral)
    if case is not None and case.region:
        return case.region, case.district
    return referral.region, referral.district


def _case_opener(referral: Referral) -> list[User]:
    case = case_of(referral)
    opener = case.opened_by if case else None
    user = db.session.get(User, opener) if opener else None
    return [user] if user is not None and user.active else []


def _note_added(referral: Referral, actor: User) -> None:
    if Role(actor.role) in UNIT_ROLES:  # a note back to the helpline
        notify_users(_case_opener(referral), NOTE, referral, skip=actor)
    else:
        notify_users(unit_users(referral.unit_id), NOTE, referral, skip=actor)


def on_urgent_text_report(sender: Any, report: Any, now: Any, **_: Any) -> None:
    """An anonymous text report signals risk (intake/text/triage.py): every supervisor of its
    region and of the whole helpline hears of it at once, in the report's own transaction. The
    notification carries no text of the report, only its kind; the link opens the queue."""
    for user in supervisors_for(report.region):
        db.session.add(Notification(user_id=user.id, kind=URGENT_TEXT_REPORT, referral_id=None,
                                    created_at=now))


# ---- email -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    to: str
    sender: str
    subject: str
    body: str
    smtp_url: str | None

    @property
    def message(self) -> EmailMessage:
        # Built only when it is sent: the email package's header handling costs more than
        # rendering the text, and without SMTP the email only goes to the log.
        message = EmailMessage()
        message["To"] = self.to
        message["From"] = self.sender
        message["Subject"] = self.subject
        message.set_content(self.body)
        return message


def referral_link(referral: Referral) -> str:
    return f"{current_app.config['SENIM'].base_url}/referrals/{referral.id}"


def _link_for(unit: AgencyUnit, referral: Referral) -> str:
    """The referral page for the unit that has it; the case page for a unit warned of another
    unit's referral (a commission at level 2), which sees the case through its own referral."""
    if unit.id == referral.unit_id:
        return referral_link(referral)
    return f"{current_app.config['SENIM'].base_url}/cases/{referral.case_id}"


def email_unit(unit: AgencyUnit, template: str, referral: Referral, **values: Any) -> None:
    if not unit.contact_email:
        log.info("unit %s has no contact email; %s email not sent", unit.id, template)
        return
    lang = unit_language(unit.id)
    subject, body = render_email(template, referral, unit, lang, **values)
    queue_email(unit.contact_email, subject, body)


def render_email(template: str, referral: Referral, unit: AgencyUnit, lang: str,
                 **values: Any) -> tuple[str, str]:
    algorithm = routing().algorithm()
    case = case_of(referral)
    with force_locale(lang):
        context = {
            "unit_name": unit.name(lang),
            "late_unit_name": referral.unit.name(lang) if referral.unit else _("no unit (unassigned)"),
            "service": algorithm.label("service", referral.service, lang),
            "urgency": case.urgency if case else None,
            "ack_due": localtime(referral.ack_due_at),
            "action_due": localtime(referral.action_due_at),
            "link": _link_for(unit, referral), **values,
        }
        subject = _subject(template, context)
        body = render_template(f"referrals/handoffs/email/{template}.txt", **context)
    return subject, body


def _subject(template: str, context: dict[str, Any]) -> str:
    if template == "escalation":
        return _("Senim: overdue referral, escalation level %(level)s", level=context["level"])
    return _("Senim: a new referral for your unit (%(urgency)s)", urgency=context["urgency"] or "—")


def queue_email(to: str, subject: str, body: str) -> None:
    config = current_app.config["SENIM"]
    outgoing = Outgoing(to, _sender(config.smtp_url, config.base_url), subject, body,
                        config.smtp_url)
    db.session.info.setdefault(OUTBOX, []).append(outgoing)


def _sender(smtp_url: str | None, base_url: str) -> str:
    if smtp_url:
        wanted = parse_qs(urlsplit(smtp_url).query).get("from")
        if wanted:
            return wanted[0]
    return f"Senim <noreply@{urlsplit(base_url).hostname or 'localhost'}>"


def deliver(outgoing: Outgoing) -> None:
    """Send one email now; failures are logged, never raised (the action already happened)."""
    if not outgoing.smtp_url:
        body = outgoing.body if outgoing.body.endswith("\n") else outgoing.body + "\n"
        log.info("email (SENIM_SMTP_URL unset, not sent) to=%s subject=%s\n%s",
                 outgoing.to, outgoing.subject, body)
        return
    message = outgoing.message
    try:
        with _connect(outgoing.smtp_url) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        log.error("email to %s not sent: %s", message["To"], error)


def _connect(url: str) -> smtplib.SMTP:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=SMTP_TIMEOUT,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, parts.port or 25, timeout=SMTP_TIMEOUT)
        if parse_qs(parts.query).get("starttls") == ["1"]:
            smtp.starttls(context=ssl.create_default_context())
    if parts.username:
        smtp.login(unquote(parts.username), unquote(parts.password or ""))
    return smtp


# ---- session hooks -------------------------------------------------------------------------


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    """Referrals born elsewhere (intake, corrections) announce themselves to their unit."""
    if not has_app_context():
        return
    notified: set[str] = session.info.setdefault(NOTIFIED, set())
    born = [obj for obj in session.new
            if isinstance(obj, Referral) and obj.status == SENT and obj.id not in notified]
    if not born:
        return
    session.info[STAFF] = _load_staff(r.unit_id for r in born if r.unit_id is not None)
    try:
        for referral in sorted(born, key=lambda r: r.id):  # ids grow with time: creation order
            notified.add(referral.id)
            referral_sent(referral)
    finally:
        session.info.pop(STAFF, None)


def _after_commit(session: Session) -> None:
    session.info.pop(NOTIFIED, None)
    for outgoing in session.info.pop(OUTBOX, []):
        deliver(outgoing)


def _after_rollback(session: Session) -> None:
    session.info.pop(NOTIFIED, None)
    session.info.pop(OUTBOX, None)


HOOKS = (("before_flush", _before_flush), ("after_commit", _after_commit),
         ("after_rollback", _after_rollback))


def install() -> None:
    """Once per process: several apps (tests, the live server) share the Session class."""
    for name, hook in HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
