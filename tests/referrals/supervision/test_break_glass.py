"""Break-the-glass (security.md §2, issue 8 item 5): a supervisor opens a case outside their
region only with a written reason; the opening is recorded before anything is decrypted, tells
the other supervisors, and expires on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core import permissions
from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.encryption import CryptoService
from core.extensions import db
from core.models import BreakGlassGrant, User
from core.models.break_glass import reason_problem
from intake.models import Case
from referrals.handoffs.notification_models import Notification
from referrals.handoffs.transitions import BY_ACTION
from tests.factories import csrf_token
from tests.reading import get_row, json_of

pytestmark = pytest.mark.usefixtures("directory")

REASON = "The child called the Almaty line; the West Kazakhstan supervisor cannot be reached."


def _break_glass(client: FlaskClient, case_id: str, reason: str) -> Any:
    path = f"/cases/{case_id}/break-glass"
    return client.post(path, data={"reason": reason, "csrf_token": csrf_token(client, path)})


def _count(model: Any, *conditions: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _openings(case_id: str) -> int:
    return _count(AuditEntry, AuditEntry.action == "btg.opened", AuditEntry.object_id == case_id)


# ---- the page --------------------------------------------------------------------------------


def test_outside_their_region_a_supervisor_meets_404_until_they_give_a_reason(
        case_id: str, almaty_supervisor: User, signed_in: Any, bearer: Any, client: FlaskClient) -> None:
    browser = signed_in(almaty_supervisor)
    token = bearer(almaty_supervisor)
    assert browser.get(f"/cases/{case_id}").status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=token).status_code == 404
    form = browser.get(f"/cases/{case_id}/break-glass")
    assert form.status_code == 200 and 'name="reason"' in form.get_data(as_text=True)

    response = _break_glass(browser, case_id, REASON)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case_id}")
    page = browser.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Әсел Қайратқызы" in page.get_data(as_text=True)
    opened = client.get(f"/api/v1/cases/{case_id}", headers=token)
    assert opened.status_code == 200
    contact_id = json_of(opened)["contacts"][0]["id"]
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=token).status_code == 200


def test_the_grant_opens_the_case_s_referral_pages_to_read_but_not_to_act(
        case_id: str, almaty_supervisor: User, signed_in: Any, bearer: Any, client: FlaskClient,
        referrals_of: Any) -> None:
    police = referrals_of(case_id)["police.juvenile_inspector"]
    browser, token = signed_in(almaty_supervisor), bearer(almaty_supervisor)
    assert browser.get(f"/referrals/{police.id}").status_code == 404
    assert client.get(f"/api/v1/referrals/{police.id}", headers=token).status_code == 404
    assert _break_glass(browser, case_id, REASON).status_code == 302
    assert browser.get(f"/referrals/{police.id}").status_code == 200
    assert client.get(f"/api/v1/referrals/{police.id}", headers=token).status_code == 200
    override = client.post(f"/api/v1/referrals/{police.id}/override", headers=token,
                           json={"reason": "Break-the-glass must not let me act here."})
    # acting is judged without grants: outside the scope the referral is "not found" to act on
    assert override.status_code == 404
    assert referrals_of(case_id)["police.juvenile_inspector"].status == "sent"


@pytest.mark.parametrize(("reason", "message"), [
    ("", "Write why you need to open this case."),
    ("   \n\t  ", "Write why you need to open this case."),
    ("urgent", "at least 10 characters"),
    ("x" * 1001, "at most 1000 characters"),
])
def test_break_the_glass_is_refused_without_a_real_reason(case_id: str, almaty_supervisor: User,
                                                         signed_in: Any, reason: str, message: str) -> None:
    browser = signed_in(almaty_supervisor)
    response = _break_glass(browser, case_id, reason)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert _count(BreakGlassGrant) == 0 and _openings(case_id) == 0
    assert browser.get(f"/cases/{case_id}").status_code == 404


def test_the_form_needs_its_csrf_token(case_id: str, almaty_supervisor: User, signed_in: Any) -> None:
    browser = signed_in(almaty_supervisor)
    response = browser.post(f"/cases/{case_id}/break-glass", data={"reason": REASON})
    assert response.status_code == 400 and _count(BreakGlassGrant) == 0


def test_the_grant_expires_after_thirty_minutes_exactly(case_id: str, almaty_supervisor: User,
                                                        signed_in: Any, clock: FrozenClock) -> None:
    browser = signed_in(almaty_supervisor)
    opened_at = clock.now()
    assert _break_glass(browser, case_id, REASON).status_code == 302
    grant = db.session.scalars(select(BreakGlassGrant)).one()
    assert grant.granted_at == opened_at and grant.expires_at == opened_at + timedelta(minutes=30)
    assert grant.reason == REASON and grant.user_id == almaty_supervisor.id

    clock.advance(timedelta(minutes=29, seconds=59))
    assert browser.get(f"/cases/{case_id}").status_code == 200
    clock.advance(timedelta(seconds=1))
    assert browser.get(f"/cases/{case_id}").status_code == 404
    assert browser.get(f"/cases/{case_id}/routing-audit").status_code == 404
    # A new need is a new grant, with its own reason.
    assert browser.get(f"/cases/{case_id}/break-glass").status_code == 200
    assert _break_glass(browser, case_id, REASON + " Again.").status_code == 302
    assert browser.get(f"/cases/{case_id}").status_code == 200
    assert _count(BreakGlassGrant) == 2


def test_the_opening_is_recorded_before_anything_is_decrypted(
        case_id: str, almaty_supervisor: User, signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = signed_in(almaty_supervisor)
    decrypted: list[tuple[str, int]] = []
    original = CryptoService.decrypt

    def spy(self: CryptoService, blob: bytes, table: str, column: str, row_id: str) -> str:
        if table in ("children", "contacts", "cases"):
            with db.engine.connect() as connection:  # what is committed, as another process sees it
                recorded = connection.scalar(select(func.count()).select_from(AuditEntry).where(
                    AuditEntry.action == "btg.opened", AuditEntry.object_id == case_id))
            decrypted.append((f"{table}.{column}", int(recorded or 0)))
        return original(self, blob, table, column, row_id)

    monkeypatch.setattr(CryptoService, "decrypt", spy)
    browser.get(f"/cases/{case_id}/break-glass")
    assert _break_glass(browser, case_id, REASON).status_code == 302
    assert decrypted == []  # neither the form nor the opening read anything of the case
    assert browser.get(f"/cases/{case_id}").status_code == 200
    assert {"children.name", "contacts.summary"} <= {name for name, _ in decrypted}
    assert all(recorded == 1 for _, recorded in decrypted)


def test_the_opening_names_the_grant_not_the_reason_and_each_view_is_one_entry(
        case_id: str, almaty_supervisor: User, signed_in: Any) -> None:
    browser = signed_in(almaty_supervisor)
    _break_glass(browser, case_id, REASON)
    opening = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "btg.opened")).one()
    grant = db.session.scalars(select(BreakGlassGrant)).one()
    assert opening.actor_id == almaty_supervisor.id and opening.object_type == "case"
    assert opening.details_map["grant"] == grant.id and opening.details_map["minutes"] == 30
    assert "Almaty" not in (opening.reason or "") + (opening.details or "")

    browser.get(f"/cases/{case_id}")
    views = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.viewed", AuditEntry.object_id == case_id)))
    assert len(views) == 1 and views[0].actor_id == almaty_supervisor.id
    assert {"children.name", "children.iin", "contacts.summary"} <= set(views[0].field_names)
    assert views[0].sequence > opening.sequence


def test_other_supervisors_of_the_region_and_of_the_helpline_are_told(
        case_id: str, almaty_supervisor: User, supervisor: User, create_user: Any, signed_in: Any) -> None:
    west = create_user("supervisor", region="KZ-27")
    elsewhere = create_user("supervisor", region="KZ-75")
    _break_glass(signed_in(almaty_supervisor), case_id, REASON)
    told = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == "break_glass")))
    assert told == {supervisor.id, west.id}
    opening = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "btg.opened")).one()
    assert opening.details_map["told"] == 2 and elsewhere.id not in told

    national = signed_in(supervisor)
    assert national.get("/notifications").status_code == 200  # a notice with no referral renders
    dashboard = national.get("/").get_data(as_text=True)
    number = get_row(Case, case_id).number
    recent = dashboard.split('id="btg-h"', 1)[1]
    assert number in recent and almaty_supervisor.username in recent


def test_within_scope_there_is_no_glass_to_break(case_id: str, supervisor: User, signed_in: Any) -> None:
    browser = signed_in(supervisor)
    response = browser.get(f"/cases/{case_id}/break-glass")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case_id}")
    token = csrf_token(browser, "/supervision/break-glass")
    posted = browser.post(f"/cases/{case_id}/break-glass", data={"reason": REASON, "csrf_token": token})
    assert posted.status_code == 302 and posted.headers["Location"].endswith(f"/cases/{case_id}")
    assert _count(BreakGlassGrant) == 0 and _openings(case_id) == 0


def test_operators_and_other_roles_cannot_break_the_glass(case_id: str, create_user: Any,
                                                          signed_in: Any) -> None:
    for role in ("operator", "auditor", "admin"):
        browser = signed_in(create_user(role, region="KZ-19" if role == "operator" else None))
        assert browser.get(f"/cases/{case_id}/break-glass").status_code == 403, role
    assert _count(BreakGlassGrant) == 0


def test_an_absent_case_is_404(almaty_supervisor: User, signed_in: Any) -> None:
    assert signed_in(almaty_supervisor).get("/cases/nope/break-glass").status_code == 404


def test_a_case_outside_the_region_is_found_by_its_number(case_id: str, almaty_supervisor: User,
                                                          signed_in: Any) -> None:
    browser = signed_in(almaty_supervisor)
    number = get_row(Case, case_id).number
    found = browser.get("/supervision/break-glass", query_string={"number": number})
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/cases/{case_id}/break-glass")
    for wrong in ("2026-999999", "not a number"):
        page = browser.get("/supervision/break-glass", query_string={"number": wrong})
        assert page.status_code == 200 and "No case has this number." in page.get_data(as_text=True)


# ---- the policy: pure predicates --------------------------------------------------------------

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


def _user(role: str = "supervisor", region: str | None = "KZ-19", active: bool = True) -> Any:
    return SimpleNamespace(id="u1", role=role, region=region, unit_id=None, active=active)


def _case(region: str | None = "KZ-27") -> Any:
    return SimpleNamespace(id="c1", region=region, referral_unit_ids=[])


def _grant(user_id: str = "u1", case_id: str = "c1", start: datetime = NOW,
           minutes: int = 30) -> Any:
    return SimpleNamespace(user_id=user_id, case_id=case_id, granted_at=start,
                           expires_at=start + timedelta(minutes=minutes))


def test_a_grant_opens_one_case_to_one_supervisor_while_it_runs() -> None:
    user, case, grant = _user(), _case(), _grant()
    assert not permissions.can_view_case(user, case)
    assert permissions.can_view_case(user, case, [grant], NOW)
    assert permissions.can_view_case(user, case, [grant], NOW + timedelta(minutes=29, seconds=59))
    assert not permissions.can_view_case(user, case, [grant], NOW + timedelta(minutes=30))
    assert not permissions.can_view_case(user, case, [grant], NOW - timedelta(seconds=1))
    assert not permissions.can_view_case(user, case, [grant])  # no moment, no grant
    assert not permissions.can_view_case(user, case, [_grant(user_id="u2")], NOW)
    assert not permissions.can_view_case(user, case, [_grant(case_id="c2")], NOW)
    assert not permissions.can_view_case(_user(active=False), case, [grant], NOW)
    assert not permissions.can_view_case(_user("operator"), case, [grant], NOW)


def test_a_grant_lets_a_supervisor_read_never_act() -> None:
    user, case, grant = _user(), _case(), _grant()
    assert permissions.can_view_case(user, case, [grant], NOW)
    assert not permissions.can_edit_case(user, case)
    assert not permissions.can_reopen_case(user, case)
    referral = SimpleNamespace(unit_id="unit-1")
    for transition in BY_ACTION.values():
        assert not permissions.can_transition(user, referral, case, transition.who)


def test_only_a_supervisor_outside_the_case_region_needs_the_glass() -> None:
    assert permissions.needs_break_glass(_user(region="KZ-19"), _case("KZ-27"))
    assert not permissions.needs_break_glass(_user(region="KZ-27"), _case("KZ-27"))
    assert not permissions.needs_break_glass(_user(region=None), _case("KZ-27"))
    assert not permissions.needs_break_glass(_user(region="KZ-19"), _case(None))
    assert not permissions.needs_break_glass(_user("operator"), _case("KZ-27"))


@pytest.mark.parametrize(("reason", "problem"), [
    (None, "missing"), ("", "missing"), (" \n ", "missing"), ("too short", "short"),
    ("a reason  that   says something", None), ("x" * 1000, None), ("x" * 1001, "long"),
])
def test_what_counts_as_a_reason(reason: str | None, problem: str | None) -> None:
    assert reason_problem(reason) == problem


def test_looking_a_case_up_to_break_the_glass_is_on_record(case_id: str, almaty_supervisor: User,
                                                            signed_in: Any) -> None:
    """The form shows that the case exists and its region: that look is in the access log."""
    assert signed_in(almaty_supervisor).get(f"/cases/{case_id}/break-glass").status_code == 200
    assert _count(AuditEntry, AuditEntry.action == "btg.form_viewed",
                  AuditEntry.object_id == case_id, AuditEntry.actor_id == almaty_supervisor.id) == 1
