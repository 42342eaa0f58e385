"""Autosaved drafts of the contact form (encrypted; they hold what the caller said)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.models import User
from intake.models import Draft

MAX_DRAFT_BYTES = 200_000


def save_draft(user: User, draft_id: str | None, values: dict[str, Any]) -> Draft:
    """Create or update the user's draft; another user's draft id is treated as absent."""
    payload = json.dumps(values, ensure_ascii=False)
    if len(payload.encode()) > MAX_DRAFT_BYTES:
        raise ValueError("the draft is too large")
    draft = db.session.get(Draft, draft_id) if draft_id else None
    if draft is None or draft.operator_id != user.id or draft.submitted_contact_id:
        draft = Draft(operator_id=user.id, created_at=utcnow())
        db.session.add(draft)
    draft.payload = payload
    draft.updated_at = utcnow()
    return draft


def open_drafts(user: User) -> list[Draft]:
    return list(db.session.scalars(
        select(Draft).where(Draft.operator_id == user.id, Draft.submitted_contact_id.is_(None))
        .order_by(Draft.updated_at.desc()).limit(20)))


def load_draft(user: User, draft_id: str) -> tuple[Draft, dict[str, Any]] | None:
    draft = db.session.get(Draft, draft_id)
    if draft is None or draft.operator_id != user.id or draft.submitted_contact_id:
        return None
    return draft, json.loads(draft.payload or "{}")


def finish_draft(user: User, draft_id: str | None, contact_id: str) -> None:
    draft = db.session.get(Draft, draft_id) if draft_id else None
    if draft is not None and draft.operator_id == user.id:
        draft.submitted_contact_id = contact_id
        draft.payload = None  # nothing personal lingers once the contact exists
