"""The administrators' routing pages: the algorithm table, upload -> diff -> publish, versions,
the calendar, and the directory of units (issue 5 items 2, 3 and 6)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.clock import FrozenClock
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import Role
from referrals.models import AlgorithmVersion, CalendarDayOff
from referrals.routing import default_algorithm
from referrals.routing_app import service as routing_service
from tests.factories import csrf_token, sign_in
from tests.referrals.algorithm_versions import BULLYING_P3, FRIDAY_MORNING, modified_document

INSPECTOR = "police.juvenile_inspector"


@pytest.fixture
def admin(create_user: Callable[..., User]) -> User:
    return create_user(Role.ADMIN)


def signed_in(app: Flask, user: User, lang: str = "en") -> FlaskClient:
    """A client signed in as ``user`` whose pages are in ``lang`` (the session's choice)."""
    client = app.test_client()
    assert sign_in(client, user).status_code == 302
    client.post("/lang", data={"lang": lang, "csrf_token": csrf_token(client, "/")})
    return client


@pytest.fixture
def admin_client(app: Flask, admin: User) -> FlaskClient:
    return signed_in(app, admin)


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _upload(client: FlaskClient, document: str) -> Any:
    return client.post("/admin/routing/upload", data={
        "document": document, "csrf_token": csrf_token(client, "/admin/routing/upload")})


def _publish_form(client: FlaskClient, page: str, **overrides: str) -> Any:
    """Post the publish form of a diff page as a browser would, with ``overrides``."""
    base_digest = re.search(r'name="base_digest" type="hidden" value="([0-9a-f]+)"', page)
    document = re.search(r'<textarea[^>]*name="document"[^>]*>\r?\n?(.*?)</textarea>', page, re.S)
    assert base_digest and document, "no publish form on the page"
    import html

    data = {"csrf_token": csrf_token(client, "/admin/routing/upload"),
            "base_digest": base_digest.group(1), "document": html.unescape(document.group(1)),
            "reason": "Order 42 of the ministry", "confirm": "y", **overrides}
    return client.post("/admin/routing/publish", data=data)


# ---- the algorithm table ----------------------------------------------------------------------


def test_the_algorithm_page_is_a_table_in_the_users_language(app: Flask, admin: User) -> None:
    page = _text(signed_in(app, admin, "en").get("/admin/routing/"))
    assert "version 2026.2" in page and "Sexual violence" in page and "<th scope=\"row\">" in page
    assert "4 hours" in page and "1 working day" in page  # P2 and P3 deadlines in words
    page = _text(signed_in(app, admin, "ru").get("/admin/routing/"))
    assert "Сексуальное насилие" in page and "Sexual violence" not in page


# ---- upload, diff, publish --------------------------------------------------------------------


def test_upload_diff_and_publish_a_new_version(app: Flask, admin_client: FlaskClient,
                                               admin: User) -> None:
    diff = _upload(admin_client, modified_document("2026.8"))
    assert diff.status_code == 200
    page = _text(diff)
    assert "Review version 2026.8" in page
    assert re.search(r"<code>bullying</code>.*?changed.*?min_urgency", page, re.S)
    assert "was 2026.2" in page
    assert db.session.scalars(select(AlgorithmVersion)).all() == []  # reviewing publishes nothing

    published = _publish_form(admin_client, page)
    assert published.status_code == 302 and published.headers["Location"] == "/admin/routing/"
    assert routing_service.current_algorithm().version == "2026.8"
    decision = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING)
    assert (decision.algorithm_version, decision.urgency) == ("2026.8", "P2")
    stored = db.session.scalars(select(AlgorithmVersion).where(AlgorithmVersion.is_current)).one()
    assert stored.document == modified_document("2026.8")  # no CRLF from the browser's form
    assert stored.reason == "Order 42 of the ministry" and stored.published_by == admin.id

    assert "version 2026.8" in _text(admin_client.get("/admin/routing/"))
    versions = _text(admin_client.get("/admin/routing/versions"))
    assert "2026.8" in versions and "2026.2" in versions
    old = admin_client.get("/admin/routing/versions/2026.2")
    assert old.status_code == 200 and "no longer routes new contacts" in _text(old)
    assert admin_client.get("/admin/routing/versions/1999.9").status_code == 404


def test_a_file_upload_works_like_pasted_text(admin_client: FlaskClient) -> None:
    document = modified_document("2026.8").encode()
    response = admin_client.post("/admin/routing/upload", data={
        "file": (io.BytesIO(document), "2026.8.yaml"),
        "csrf_token": csrf_token(admin_client, "/admin/routing/upload")},
        content_type="multipart/form-data")
    assert response.status_code == 200 and "Review version 2026.8" in _text(response)


def test_an_invalid_upload_lists_the_problems_and_keeps_the_text(
        admin_client: FlaskClient) -> None:
    broken = modified_document("2026.8").replace("lead: education", "lead: nobody", 1)
    response = _upload(admin_client, broken)
    page = _text(response)
    assert response.status_code == 200 and "The document cannot be used" in page
    assert "unknown agency &#39;nobody&#39;" in page or "unknown agency 'nobody'" in page
    assert "lead: nobody" in page  # the text is shown again, nothing lost
    assert 'action="/admin/routing/publish"' not in page
    assert db.session.scalars(select(AlgorithmVersion)).all() == []


def test_an_empty_upload_asks_for_a_document(admin_client: FlaskClient) -> None:
    page = _text(_upload(admin_client, "   "))
    assert "Choose a file or paste the document." in page


@pytest.mark.parametrize(("overrides", "message"), [
    ({"reason": "  "}, "Give the reason for this version"),
    ({"confirm": ""}, "Confirm that you have reviewed the changes."),
])
def test_publishing_needs_a_reason_and_a_confirmation(admin_client: FlaskClient,
                                                      overrides: dict[str, str],
                                                      message: str) -> None:
    page = _text(_upload(admin_client, modified_document("2026.8")))
    response = _publish_form(admin_client, page, **overrides)
    assert response.status_code == 422 and message in _text(response)
    assert routing_service.current_algorithm().version == "2026.2"
    assert db.session.scalars(select(AlgorithmVersion)).all() == []


def test_a_review_made_stale_by_another_publication_is_refused(
        admin_client: FlaskClient, admin: User) -> None:
    page = _text(_upload(admin_client, modified_document("2026.9")))
    routing_service.publish(modified_document("2026.8"), "meanwhile", admin)
    db.session.commit()
    response = _publish_form(admin_client, page)
    assert response.status_code == 409 and "Review the changes again" in _text(response)
    assert routing_service.current_algorithm().version == "2026.8"


def test_uploading_the_current_document_offers_no_publication(admin_client: FlaskClient) -> None:
    page = _text(_upload(admin_client, default_algorithm().source_text))
    assert "identical to the current version 2026.2" in page
    assert 'action="/admin/routing/publish"' not in page


# ---- the calendar -----------------------------------------------------------------------------


def test_an_admin_adds_a_decree_transfer_that_moves_p3_deadlines(
        admin_client: FlaskClient) -> None:
    before = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING).referrals[0].ack_due_at
    page = _text(admin_client.get("/admin/routing/calendar?year=2026"))
    assert "Independence Day" in page and "Add a day from a transfer decree" in page
    response = admin_client.post("/admin/routing/calendar", data={
        "day": "2026-11-23", "name": "Decree 123",
        "csrf_token": csrf_token(admin_client, "/admin/routing/calendar")})
    assert response.status_code == 302 and response.headers["Location"].endswith("year=2026")
    after = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING).referrals[0].ack_due_at
    assert (after - before).days == 1
    assert "Decree 123" in _text(admin_client.get("/admin/routing/calendar?year=2026"))


def test_the_bundled_holidays_are_named_in_the_admin_s_language(admin_client: FlaskClient) -> None:
    def in_language(lang: str) -> str:
        with admin_client.session_transaction() as session:
            session["lang"] = lang  # what the language switcher stores
        return _text(admin_client.get("/admin/routing/calendar?year=2026"))

    kazakh = in_language("kk")
    assert "Тәуелсіздік күні" in kazakh and "Наурыз мейрамы" in kazakh
    assert "Independence Day" not in kazakh and "Nauryz" not in kazakh
    assert "День Независимости" in in_language("ru")


def test_a_weekend_transfer_is_refused_on_the_form(admin_client: FlaskClient) -> None:
    response = admin_client.post("/admin/routing/calendar", data={
        "day": "2026-11-21", "name": "Saturday",
        "csrf_token": csrf_token(admin_client, "/admin/routing/calendar")})
    assert response.status_code == 422
    page = _text(response)
    assert "is a Saturday or Sunday" in page and 'value="Saturday"' in page
    assert db.session.scalars(select(CalendarDayOff)).all() == []


def test_administrators_are_warned_about_an_uncovered_year(app: Flask, admin: User,
                                                           admin_client: FlaskClient,
                                                           clock: FrozenClock) -> None:
    warning = "The calendar of days off has no entry for"
    assert warning not in _text(admin_client.get("/admin/routing/calendar"))
    clock.set(datetime(2031, 3, 2, 5, 0, tzinfo=UTC))
    client = signed_in(app, admin)  # years later: a new session
    for path in ("/admin/routing/calendar", "/admin/routing/"):
        page = _text(client.get(path))
        assert f"{warning} 2031, 2032" in page, path


# ---- the directory of units -------------------------------------------------------------------


def _unit_form(client: FlaskClient, path: str, **fields: Any) -> Any:
    data = {"name_kk": "Полиция бөлімі", "name_ru": "Отдел полиции", "name_en": "Police office",
            "contact_email": "police@example.kz", "services": [INSPECTOR],
            "work_start": "09:00", "work_end": "18:00",
            "csrf_token": csrf_token(client, path), **fields}
    return client.post(path, data=data)


def test_an_admin_creates_a_unit(admin_client: FlaskClient) -> None:
    response = _unit_form(admin_client, "/admin/units/new", agency="police", region="KZ-27",
                          district="KZ-27-TEREKTI")
    assert response.status_code == 302
    unit = db.session.scalars(select(AgencyUnit)).one()
    assert (unit.agency, unit.district, unit.services, unit.contact_email) == (
        "police", "KZ-27-TEREKTI", [INSPECTOR], "police@example.kz")
    listing = _text(admin_client.get(response.headers["Location"]))
    assert "Police office" in listing


def test_a_second_unit_for_the_same_service_and_district_is_refused_on_the_form(
        admin_client: FlaskClient, create_unit: Callable[..., AgencyUnit]) -> None:
    create_unit("police", "KZ-27", "KZ-27-TEREKTI", services=[INSPECTOR])
    response = _unit_form(admin_client, "/admin/units/new", agency="police", region="KZ-27",
                          district="KZ-27-TEREKTI", name_en="Second police office")
    page = _text(response)
    assert response.status_code == 422
    assert "is already offered by the active unit" in page
    assert 'value="Second police office"' in page  # nothing typed is lost
    assert len(db.session.scalars(select(AgencyUnit)).all()) == 1
    other = _unit_form(admin_client, "/admin/units/new", agency="police", region="KZ-27",
                       district="KZ-27-ORAL")
    assert other.status_code == 302


def test_an_admin_edits_a_unit(admin_client: FlaskClient,
                               create_unit: Callable[..., AgencyUnit]) -> None:
    unit = create_unit("police", "KZ-27", "KZ-27-TEREKTI", services=[INSPECTOR])
    path = f"/admin/units/{unit.id}/edit"
    form = _text(admin_client.get(path))
    assert f'value="{unit.name_en}"' in form and "health.medical_care" not in form
    response = _unit_form(admin_client, path, name_en="Terekti police",
                          services=[INSPECTOR, "police.emergency"])
    assert response.status_code == 302
    db.session.refresh(unit)
    assert unit.name_en == "Terekti police" and unit.services == ["police.emergency", INSPECTOR]
    refused = _unit_form(admin_client, path, services=[INSPECTOR, "health.medical_care"])
    assert refused.status_code == 422 and "do not belong to this agency" in _text(refused)


def test_deactivation_has_a_confirmation_step(admin_client: FlaskClient,
                                              create_unit: Callable[..., AgencyUnit]) -> None:
    region_unit = create_unit("police", "KZ-27", None, services=[INSPECTOR])
    unit = create_unit("police", "KZ-27", "KZ-27-TEREKTI", services=[INSPECTOR])
    path = f"/admin/units/{unit.id}/deactivate"
    confirmation = _text(admin_client.get(path))
    assert "Deactivate the unit" in confirmation and region_unit.name_en in confirmation
    db.session.refresh(unit)
    assert unit.active  # looking at the confirmation changes nothing
    response = admin_client.post(path, data={"csrf_token": csrf_token(admin_client, path)})
    assert response.status_code == 302
    db.session.refresh(unit)
    assert not unit.active
    listing = _text(admin_client.get("/admin/units/?region=KZ-27"))
    assert "Inactive" in listing


def test_reactivation_respects_the_one_unit_rule(admin_client: FlaskClient,
                                                 create_unit: Callable[..., AgencyUnit]) -> None:
    old = create_unit("police", "KZ-27", "KZ-27-TEREKTI", services=[INSPECTOR], active=False)
    create_unit("police", "KZ-27", "KZ-27-TEREKTI", services=[INSPECTOR])
    response = admin_client.post(f"/admin/units/{old.id}/activate", data={
        "csrf_token": csrf_token(admin_client, "/admin/units/")}, follow_redirects=True)
    assert "is already offered by the active unit" in _text(response)
    db.session.refresh(old)
    assert not old.active


def test_the_unit_list_filters_and_pages(admin_client: FlaskClient) -> None:
    for number in range(51):
        db.session.add(AgencyUnit(agency="education", region="KZ-27", name_kk="-", name_ru="-",
                                  name_en=f"School office {number:02d}"))
    db.session.add(AgencyUnit(agency="police", region="KZ-11", name_kk="-", name_ru="-",
                              name_en="Akmola police"))
    db.session.commit()
    first = _text(admin_client.get("/admin/units/?agency=education"))
    row = '<th scope="row">School office'
    assert first.count(row) == 50 and "Akmola police" not in first
    assert "page=2" in first
    second = _text(admin_client.get("/admin/units/?agency=education&page=2"))
    assert second.count(row) == 1 and "page=3" not in second
    by_region = _text(admin_client.get("/admin/units/?region=KZ-11"))
    assert "Akmola police" in by_region and "School office" not in by_region


# ---- access -----------------------------------------------------------------------------------

ADMIN_PAGES = [
    ("GET", "/admin/routing/"), ("GET", "/admin/routing/upload"), ("POST", "/admin/routing/upload"),
    ("POST", "/admin/routing/publish"), ("GET", "/admin/routing/versions"),
    ("GET", "/admin/routing/versions/2026.2"), ("GET", "/admin/routing/calendar"),
    ("POST", "/admin/routing/calendar"), ("GET", "/admin/units/"), ("GET", "/admin/units/new"),
    ("POST", "/admin/units/new"), ("GET", "/admin/units/{unit}/edit"),
    ("POST", "/admin/units/{unit}/edit"), ("GET", "/admin/units/{unit}/deactivate"),
    ("POST", "/admin/units/{unit}/deactivate"), ("POST", "/admin/units/{unit}/activate"),
]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_every_admin_page_is_refused_to_other_roles(app: Flask, create_user: Any,
                                                    create_unit: Any, role: Role) -> None:
    unit = create_unit("police", "KZ-27", "KZ-27-TEREKTI", services=[INSPECTOR])
    client = app.test_client()
    sign_in(client, create_user(role, unit=unit if role.value.startswith("agency") else None))
    token = csrf_token(client, "/")
    for method, path in ADMIN_PAGES:
        url = path.format(unit=unit.id)
        response = client.open(url, method=method, data={"csrf_token": token, "name_en": "x",
                                                          "document": "version: x"})
        assert response.status_code == 403, (role, method, url)
    db.session.refresh(unit)
    assert unit.active and unit.name_en != "x"
    assert db.session.scalars(select(AlgorithmVersion)).all() == []


# ---- issue 14: working hours, working Saturdays, publishing the bundled 2026.2 -----------------


def test_an_admin_sets_a_units_working_hours(admin_client: FlaskClient,
                                             create_unit: Callable[..., AgencyUnit]) -> None:
    unit = create_unit("education", "KZ-27", "KZ-27-TEREKTI", services=["education.school"])
    path = f"/admin/units/{unit.id}/edit"
    form = _text(admin_client.get(path))
    assert 'value="09:00"' in form and 'value="18:00"' in form and "Working hours" in form
    done = _unit_form(admin_client, path, services=["education.school"], work_start="08:30",
                      work_end="17:00")
    assert done.status_code == 302
    db.session.refresh(unit)
    assert (unit.work_start_minute, unit.work_end_minute) == (510, 1020)
    assert 'value="08:30"' in _text(admin_client.get(path))
    for start, end, message in [("18:00", "09:00", "must end after it starts"),
                                ("9 am", "18:00", "e.g. 09:00"),
                                ("09:00", "25:00", "e.g. 09:00")]:
        refused = _unit_form(admin_client, path, services=["education.school"],
                             work_start=start, work_end=end)
        assert refused.status_code == 422 and message in _text(refused), (start, end)
    db.session.refresh(unit)
    assert (unit.work_start_minute, unit.work_end_minute) == (510, 1020)


def test_a_units_hours_set_its_office_hours_deadlines(
        admin_client: FlaskClient, create_unit: Callable[..., AgencyUnit]) -> None:
    unit = create_unit("education", "KZ-27", None, services=["education.school"])
    bullying = {**BULLYING_P3, "urgency": "P2"}
    tuesday_17 = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)  # 17:00 in Almaty
    due = routing_service.decide(bullying, now=tuesday_17).referrals[0].ack_due_at
    assert due == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # Wednesday 12:00: 1 h + 3 h
    unit.work_start_minute, unit.work_end_minute = 10 * 60, 19 * 60
    db.session.commit()
    due = routing_service.decide(bullying, now=tuesday_17).referrals[0].ack_due_at
    assert due == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # 2 h + 2 h: Wednesday 12:00 again
    unit.work_start_minute, unit.work_end_minute = 9 * 60, 13 * 60
    db.session.commit()
    due = routing_service.decide(bullying, now=tuesday_17).referrals[0].ack_due_at
    assert due == datetime(2026, 11, 18, 8, 0, tzinfo=UTC)  # Wednesday 09:00 + 4 h = 13:00


def test_an_admin_adds_a_working_saturday_that_the_clock_honours(
        admin_client: FlaskClient) -> None:
    friday_17 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    bullying = {**BULLYING_P3, "urgency": "P2"}
    before = routing_service.decide(bullying, now=friday_17).referrals[0].ack_due_at
    assert before == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 12:00
    response = admin_client.post("/admin/routing/calendar", data={
        "day": "2026-11-21", "kind": "working_day", "name": "Decree 77: working Saturday",
        "csrf_token": csrf_token(admin_client, "/admin/routing/calendar")})
    assert response.status_code == 302
    after = routing_service.decide(bullying, now=friday_17).referrals[0].ack_due_at
    assert after == datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # the Saturday, 12:00
    p3 = routing_service.decide(BULLYING_P3, now=FRIDAY_MORNING).referrals[0].ack_due_at
    assert p3 == datetime(2026, 11, 21, 5, 0, tzinfo=UTC)  # one working day: Saturday 10:00
    page = _text(admin_client.get("/admin/routing/calendar?year=2026"))
    assert "Decree 77: working Saturday" in page and "Working day by decree" in page
    for day, message in [("2026-11-23", "is a weekday"), ("2026-11-21", "already a working")]:
        refused = admin_client.post("/admin/routing/calendar", data={
            "day": day, "kind": "working_day", "name": "again",
            "csrf_token": csrf_token(admin_client, "/admin/routing/calendar")})
        assert refused.status_code == 422 and message in _text(refused), day
    assert [d.kind for d in db.session.scalars(select(CalendarDayOff))] == ["working_day"]


def test_an_install_on_2026_1_reviews_and_publishes_the_bundled_2026_2(
        admin_client: FlaskClient) -> None:
    from referrals.routing import bundled_algorithm

    old = bundled_algorithm("2026.1")
    db.session.add(AlgorithmVersion(version=old.version, document=old.source_text,
                                    digest=old.digest, reason="in force", is_current=True))
    db.session.commit()
    versions = _text(admin_client.get("/admin/routing/versions"))
    assert "/admin/routing/bundled/2026.2" in versions
    review = admin_client.get("/admin/routing/bundled/2026.2")
    page = _text(review)
    assert review.status_code == 200 and "Review version 2026.2" in page and "was 2026.1" in page
    for change in ["sexual-violence", "health.medical_care", "education.department", "truancy",
                   "round_the_clock -&gt; office_hours", "+relative +partner",
                   "police_orders_forensic_exam"]:
        assert change in page, change
    assert routing_service.current_algorithm().version == "2026.1"  # a look publishes nothing
    assert _publish_form(admin_client, page).status_code == 302
    assert routing_service.current_algorithm() == bundled_algorithm("2026.2")
    assert admin_client.get("/admin/routing/bundled/2099.1").status_code == 404
