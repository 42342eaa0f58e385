"""Autosaved drafts (intake/drafts.py) on their own: one form is one draft, drafts are the
operator's own, and nothing personal lingers once the contact is submitted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from core.extensions import db
from core.models import User
from core.roles import Role
from intake import drafts
from intake.models import Contact, Draft


@pytest.fixture
def operator(create_user: Callable[..., User]) -> User:
    return create_user(Role.OPERATOR)


def _contact(user: User, token: str) -> Contact:
    contact = Contact(channel="phone", contact_type="silent", language="kk",
                      submitted_by=user.id, idempotency_key=token)
    db.session.add(contact)
    db.session.flush()
    return contact


def test_a_save_without_the_draft_id_finds_the_form_s_draft(operator: User) -> None:
    first = drafts.save_draft(operator, None, {"form_token": "tok-1", "summary": "а"})
    db.session.flush()
    again = drafts.save_draft(operator, None, {"form_token": ["tok-1"], "summary": "әб"})
    assert first is not None and again is not None and again.id == first.id
    assert drafts.load_draft(operator, first.id) == (first, {"form_token": ["tok-1"], "summary": "әб"})
    assert [d.id for d in drafts.open_drafts(operator)] == [first.id]


def test_another_operator_s_draft_id_is_treated_as_absent(
        operator: User, create_user: Callable[..., User]) -> None:
    mine = drafts.save_draft(operator, None, {"form_token": "tok-2"})
    db.session.flush()
    other = create_user(Role.OPERATOR)
    theirs = drafts.save_draft(other, mine.id if mine else None, {"summary": "x"})
    assert theirs is not None and mine is not None and theirs.id != mine.id
    assert drafts.load_draft(other, mine.id) is None
    assert theirs.operator_id == other.id and mine.payload == '{"form_token": "tok-2"}'


def test_a_save_after_submission_stores_nothing(operator: User) -> None:
    _contact(operator, "tok-3")
    assert drafts.save_draft(operator, None, {"form_token": "tok-3", "summary": "late"}) is None
    assert db.session.scalars(select(Draft)).all() == []


def test_finishing_closes_every_draft_of_the_form_and_forgets_its_text(operator: User) -> None:
    one = drafts.save_draft(operator, None, {"form_token": "tok-4", "summary": "бір"})
    db.session.flush()
    stray = Draft(operator_id=operator.id, payload='{"form_token": "tok-4"}')
    db.session.add(stray)
    kept = drafts.save_draft(operator, None, {"form_token": "tok-5"})
    db.session.flush()
    contact = _contact(operator, "tok-4")
    drafts.finish_draft(operator, one.id if one else None, contact.id, form_token="tok-4")
    db.session.flush()
    assert one is not None and kept is not None
    for closed in (one, stray):
        assert closed.submitted_contact_id == contact.id and closed.payload is None
    assert [d.id for d in drafts.open_drafts(operator)] == [kept.id]
    assert drafts.load_draft(operator, one.id) is None


def test_a_draft_over_the_size_limit_is_refused(operator: User) -> None:
    with pytest.raises(ValueError, match="too large"):
        drafts.save_draft(operator, None, {"summary": "x" * (drafts.MAX_DRAFT_BYTES + 1)})
