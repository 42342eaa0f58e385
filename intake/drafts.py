"""Autosaved drafts of the contact form (encrypted; they hold what the caller said)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.models import User
from intake.models import Contact, Draft

MAX_DRAFT_BYTES = 200_000


def save_draft(user: User, draft_id: str | None, values: dict[str, Any]) -> Draft | None:
    """Create or update the user's draft; another user's draft id is treated as absent.

    One form is one draft: a save that arrives without the draft's id (two autosaves racing,
    the first reply not back yet) finds the draft by the form's token. A save that arrives
    after the form was submitted (the last autosave crossing the submission) stores nothing
    and answers None."""
    payload = json.dumps(values, ensure_ascii=False)
    if len(payload.encode()) > MAX_DRAFT_BYTES:
        raise ValueError("the draft is too large")
    token = _form_token(values)
    if token and _submitted(user, token):
        return None
    draft = db.session.get(Draft, draft_id) if draft_id else None
    if draft is None or draft.operator_id != user.id or draft.submitted_contact_id:
        draft = next(iter(_open_drafts_of_form(user, token)), None) if token else None
    if draft is None:
        draft = Draft(operator_id=user.id, created_at=utcnow())
        db.session.add(draft)
    draft.payload = payload
    draft.updated_at = utcnow()
    return draft


def _form_token(values: dict[str, Any]) -> str | None:
    found = values.get("form_token")
    if isinstance(found, list):
        found = found[0] if found else None
    return str(found) if found else None


def _submitted(user: User, token: str) -> bool:
    return db.session.scalar(select(Contact.id).where(
        Contact.submitted_by == user.id, Contact.idempotency_key == token)) is not None


def _open_drafts_of_form(user: User, token: str) -> list[Draft]:
    # An operator has a handful of open drafts at most: decrypting them beats keeping the
    # token in a column of its own.
    return [draft for draft in open_drafts(user)
            if _form_token(json.loads(draft.payload or "{}")) == token]


def open_drafts(user: User) -> list[Draft]:
    return list(db.session.scalars(
        select(Draft).where(Draft.operator_id == user.id, Draft.submitted_contact_id.is_(None))
        .order_by(Draft.updated_at.desc()).limit(20)))


def load_draft(user: User, draft_id: str) -> tuple[Draft, dict[str, Any]] | None:
    draft = db.session.get(Draft, draft_id)
    if draft is None or draft.operator_id != user.id or draft.submitted_contact_id:
        return None
    return draft, json.loads(draft.payload or "{}")


def finish_draft(user: User, draft_id: str | None, contact_id: str,
                 form_token: str | None = None) -> None:
    """Close the draft the form names and any other draft of the same form."""
    found = [db.session.get(Draft, draft_id)] if draft_id else []
    if form_token:
        found += _open_drafts_of_form(user, form_token)
    for draft in found:
        if draft is not None and draft.operator_id == user.id and not draft.submitted_contact_id:
            draft.submitted_contact_id = contact_id
            draft.payload = None  # nothing personal lingers once the contact exists
