"""A case's access log (issue 8 item 4): who looked at this child's case, when and why, for
supervisors and auditors; auditors see it without the case's contents."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core import audit
from core.audit.models import AuditEntry
from core.extensions import db
from core.models import User
from intake.models import Case, Contact
from referrals.handoffs.models import Referral
from tests.factories import csrf_token
from tests.reading import get_row

pytestmark = pytest.mark.usefixtures("directory")

REASON = "The child called the Almaty line; the West Kazakhstan supervisor cannot be reached."


def _rows(html: str) -> list[str]:
    body = html.split('class="figures access-log"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr class=\"access-[^\"]*\">.*?</tr>", body, flags=re.S)


def test_supervisors_and_auditors_see_who_opened_the_case_and_which_fields(
        case_id: str, operator: User, supervisor: User, create_user: Any, signed_in: Any,
        bearer: Any, client: FlaskClient) -> None:
    signed_in(operator).get(f"/cases/{case_id}")
    contact_id = db.session.scalar(select(Contact.id).where(Contact.case_id == case_id))
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=bearer(operator)).status_code == 200

    auditor = create_user("auditor")
    for reader in (supervisor, auditor):
        response = signed_in(reader).get(f"/cases/{case_id}/access-log")
        assert response.status_code == 200, reader.role
        html = response.get_data(as_text=True)
        rows = _rows(html)
        opened = next(row for row in rows if "access-case-viewed" in row)
        assert operator.username in opened and "child&#39;s name" in opened and "summary" in opened
        assert any("access-contact-viewed" in row and "a contact of this case" in row for row in rows)
    # The auditor reads the log, never the case: no personal value reaches their page.
    assert "Әсел" not in html and "Гүлнар" not in html and "140315600018" not in html
    assert f'href="/cases/{case_id}"' not in html


def test_reading_the_log_is_itself_recorded_once_per_view(case_id: str, create_user: Any,
                                                          signed_in: Any) -> None:
    auditor = create_user("auditor")
    browser = signed_in(auditor)
    browser.get(f"/cases/{case_id}/access-log")
    browser.get(f"/cases/{case_id}/access-log")
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.access_log_viewed").order_by(AuditEntry.sequence)))
    assert [(e.actor_id, e.object_id) for e in entries] == [(auditor.id, case_id)] * 2
    html = browser.get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    assert "Read this access log" in html


def test_a_break_the_glass_access_shows_its_reason(case_id: str, almaty_supervisor: User,
                                                  supervisor: User, signed_in: Any) -> None:
    glass = signed_in(almaty_supervisor)
    path = f"/cases/{case_id}/break-glass"
    glass.post(path, data={"reason": REASON, "csrf_token": csrf_token(glass, path)})
    glass.get(f"/cases/{case_id}")
    own_view = glass.get(f"/cases/{case_id}/access-log")  # the grant lets them read the log too
    assert own_view.status_code == 200

    html = signed_in(supervisor).get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    rows = _rows(html)
    view = next(row for row in rows if "access-case-viewed" in row)
    assert "under-grant" in view and almaty_supervisor.username in view and "Break-the-glass" in view
    opening = next(row for row in rows if "access-btg-opened" in row)
    assert "Broke the glass" in opening and "West Kazakhstan supervisor cannot be reached" in opening
    logged = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "case.access_log_viewed", AuditEntry.actor_id == supervisor.id)).one()
    assert logged.field_names == ["break_glass_grants.reason"]


def test_who_may_read_a_case_access_log(case_id: str, create_user: Any, signed_in: Any,
                                        almaty_supervisor: User, referrals_of: Any) -> None:
    police_unit = referrals_of(case_id)["police.juvenile_inspector"].unit
    for user in (create_user("operator"), create_user("admin"),
                 create_user("agency_head", unit=police_unit)):
        assert signed_in(user).get(f"/cases/{case_id}/access-log").status_code == 403, user.role
    assert signed_in(almaty_supervisor).get(f"/cases/{case_id}/access-log").status_code == 404
    assert signed_in(create_user("auditor")).get("/cases/nope/access-log").status_code == 404


def test_the_log_pages_back_through_older_entries(case_id: str, operator: User, create_user: Any,
                                                  signed_in: Any) -> None:
    for _ in range(105):
        audit.record("case.viewed", object_type="case", object_id=case_id, actor=operator,
                     fields=["children.name"])
    audit.record("case.viewed", object_type="case", object_id="another-case", actor=operator)
    db.session.commit()
    contact_ids = select(Contact.id).where(Contact.case_id == case_id).scalar_subquery()
    referral_ids = select(Referral.id).where(Referral.case_id == case_id).scalar_subquery()
    total = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        (AuditEntry.object_id == case_id) | AuditEntry.object_id.in_(contact_ids)
        | AuditEntry.object_id.in_(referral_ids)))
    browser = signed_in(create_user("auditor"))
    first = browser.get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    assert len(_rows(first)) == 100
    older = re.search(r'href="([^"]*access-log\?before=\d+)"', first)
    assert older is not None
    second = browser.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    sequences = [re.findall(r"#(\d+)<", page) for page in (first, second)]
    assert not set(sequences[0]) & set(sequences[1])
    # Together, every entry there was when the first page was read (that reading is newer).
    assert len(sequences[0]) + len(sequences[1]) == total


def test_an_agency_reading_its_referral_page_is_in_the_case_s_access_log(
        case_id: str, supervisor: User, create_user: Any, signed_in: Any, referrals_of: Any) -> None:
    police_referral = referrals_of(case_id)["police.juvenile_inspector"]
    officer = create_user("agency_staff", unit=police_referral.unit)
    page = signed_in(officer).get(f"/referrals/{police_referral.id}")
    assert page.status_code == 200 and "Әсел" in page.get_data(as_text=True)
    rows = _rows(signed_in(supervisor).get(f"/cases/{case_id}/access-log").get_data(as_text=True))
    [opened] = [row for row in rows if "access-referral-viewed" in row]
    assert officer.username in opened and "Opened a referral" in opened
    assert "a referral of this case" in opened and "child&#39;s name" in opened


def test_the_auditor_starts_from_a_case_number_the_chain_check_and_recent_refusals(
        case_id: str, create_user: Any, signed_in: Any, bearer: Any, client: FlaskClient) -> None:
    outsider = create_user("operator", region="KZ-55")
    assert client.get(f"/api/v1/cases/{case_id}", headers=bearer(outsider)).status_code == 404
    auditor = create_user("auditor")
    browser = signed_in(auditor)
    home = browser.get("/").get_data(as_text=True)
    assert 'action="/audit/access-log"' in home and 'href="/audit/verify"' in home
    refused = next(row for row in home.split("<tr>") if "Refused: outside their scope" in row)
    assert outsider.username in refused and f"/cases/{case_id}/access-log" in refused
    number = get_row(Case, case_id).number
    found = browser.get("/audit/access-log", query_string={"number": number})
    assert found.status_code == 302 and found.headers["Location"].endswith(f"/cases/{case_id}/access-log")
    missing = browser.get("/audit/access-log", query_string={"number": "2026-999999"})
    assert missing.status_code == 200 and "No case has this number." in missing.get_data(as_text=True)
    assert "Refused: outside their scope" in missing.get_data(as_text=True)  # the list stays
    verified = browser.get("/audit/verify").get_data(as_text=True)
    assert "The audit trail is intact" in verified
    operator = signed_in(create_user("operator"))
    assert operator.get("/audit/verify").status_code == 403
    assert operator.get("/audit/access-log?number=" + number).status_code == 403
