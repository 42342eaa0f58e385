"""The operator's pages: the form without JavaScript, preview, drafts, repeat callers, the case
page and search."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.extensions import db
from core.models import AgencyUnit, User
from intake import views as intake_views
from intake.models import Case, Contact, Draft
from referrals.handoffs.models import Referral
from referrals.routing.algorithm import LabelKind
from tests.factories import csrf_token, sign_in
from tests.reading import first_group, get_row, json_of

pytestmark = pytest.mark.usefixtures("directory")

FORM = {
    "channel": "phone", "language": "kk", "contact_type": "third_party",
    "caller.relation": "teacher", "caller.name": "Гүлнар Сапарова", "caller.phone": "8 701 123 45 67",
    "caller.callback_consent": "on",
    "child.name": "Әсел Қайратқызы", "child.age": "12", "child.sex": "female",
    "child.region": "KZ-27", "child.district": "KZ-27-TEREKTI", "child.school": "№3 мектеп",
    "categories": "violence.sexual", "urgency": "P2", "perpetrator.relation": "stranger",
    "place": "street", "summary": "Бейтаныс адам <script>alert(1)</script> тиісті.",
}


@pytest.fixture
def operator_client(client: FlaskClient, operator: User) -> FlaskClient:
    sign_in(client, operator, lang="kk")
    return client


def _form_page(client: FlaskClient) -> tuple[str, str]:
    page = client.get("/intake/new", headers={"Accept-Language": "kk"}).get_data(as_text=True)
    token = first_group(r'name="form_token" value="([^"]+)"', page)
    return page, token


def _post(client: FlaskClient, data: dict[str, Any], token: str, **extra: Any) -> Any:
    return client.post("/intake/new", data={**data, "form_token": token, "csrf_token": csrf_token(client, "/intake/new"),
                                            "started_at": "2026-11-20T09:55:00+05:00", **extra},
                       headers={"Accept-Language": "kk"})


def test_the_form_lists_types_categories_and_urgencies_in_kazakh(operator_client: FlaskClient) -> None:
    page, _ = _form_page(operator_client)
    assert 'name="contact_type"' in page and 'value="violence.sexual"' in page
    assert "Бала дәл қазір қауіпте" in page  # P1's plain-language description
    assert 'name="urgency" value="P4"' in page


def test_submitting_the_form_creates_the_case_once(operator_client: FlaskClient) -> None:
    _, token = _form_page(operator_client)
    first = _post(operator_client, FORM, token)
    assert first.status_code == 302 and "/cases/" in first.headers["Location"]
    again = _post(operator_client, FORM, token)  # a reload of the submission
    assert again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    page = operator_client.get(first.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 4


def test_errors_come_back_beside_their_fields_with_nothing_lost(operator_client: FlaskClient) -> None:
    _, token = _form_page(operator_client)
    response = _post(operator_client, {**FORM, "child.iin": "123", "categories": ""}, token)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="err-child-iin"' in page and 'id="err-categories"' in page
    # in the operator's language, not the engine's English
    assert "Кемінде бір санатты таңдаңыз." in page and "ЖСН жарамсыз" in page
    assert "at least one category" not in page and "IIN must" not in page
    assert 'value="Гүлнар Сапарова"' in page  # what was typed is still there
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_silent_call_closes_with_nothing_but_its_type(operator_client: FlaskClient) -> None:
    _, token = _form_page(operator_client)
    response = _post(operator_client, {"contact_type": "silent", "channel": "phone", "language": "ru"}, token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/intake/new")
    contact = db.session.scalars(select(Contact)).one()
    assert contact.contact_type == "silent" and contact.case_id is None


def test_the_preview_shows_units_deadlines_and_the_instruction_for_p1(operator_client: FlaskClient) -> None:
    data = {**FORM, "urgency": "P1", "flags": "immediate_danger", "csrf_token": csrf_token(operator_client, "/intake/new"),
            "started_at": "2026-11-20T09:55:00+05:00"}
    html = operator_client.post("/intake/preview", data=data, headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert 'class="instruction urgent"' in html and "102" in html
    terekti_police = db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == "police", AgencyUnit.district == "KZ-27-TEREKTI"))
    assert terekti_police is not None and terekti_police.name_ru in html
    assert 'name="preview.keep" value="police.emergency"' in html


def test_unticking_a_suggested_referral_needs_a_reason(operator_client: FlaskClient) -> None:
    _, token = _form_page(operator_client)
    data = {**FORM, "categories": "violence.bullying", "urgency": "P3", "perpetrator.relation": "peer",
            "preview.shown": ["education.school", "education.psychological_support"],
            "preview.keep": ["education.school"]}
    refused = _post(operator_client, data, token)
    assert refused.status_code == 422
    accepted = _post(operator_client, {**data, "preview.reason.education.psychological_support": "already has one"}, token)
    assert accepted.status_code == 302
    assert [r.service for r in db.session.scalars(select(Referral))] == ["education.school"]


def test_drafts_autosave_and_come_back(operator_client: FlaskClient, operator: User) -> None:
    token = csrf_token(operator_client, "/intake/new")
    saved = json_of(operator_client.post("/intake/drafts", data={**FORM, "csrf_token": token}))
    draft = get_row(Draft, saved["draft_id"])
    assert draft.operator_id == operator.id and "Гүлнар" in (draft.payload or "")
    home = operator_client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f"draft={draft.id}" in home
    page = operator_client.get(f"/intake/new?draft={draft.id}").get_data(as_text=True)
    assert 'value="Гүлнар Сапарова"' in page and "value=\"violence.sexual\" checked" in page


def test_one_form_makes_one_draft_however_its_autosaves_race(operator_client: FlaskClient) -> None:
    """Autosaves sent before the first reply carry no draft id; the last one may cross the
    submission. The operator's home must not fill up with copies of submitted calls."""
    _, form_token = _form_page(operator_client)
    csrf = csrf_token(operator_client, "/intake/new")
    fields = {**FORM, "csrf_token": csrf, "form_token": form_token}
    first = json_of(operator_client.post("/intake/drafts", data=fields))
    second = json_of(operator_client.post("/intake/drafts", data=fields))  # no draft_id: racing
    assert first["draft_id"] == second["draft_id"]
    assert _post(operator_client, FORM, form_token).status_code == 302  # without its draft id
    late = operator_client.post("/intake/drafts", data=fields).json
    assert late == {"draft_id": None, "submitted": True}
    open_drafts = db.session.scalars(select(Draft).where(Draft.submitted_contact_id.is_(None))).all()
    assert open_drafts == []
    home = operator_client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "draft=" not in home


def test_another_operators_draft_is_not_shown(operator_client: FlaskClient, create_user: Any) -> None:
    other = create_user("operator")
    draft = Draft(operator_id=other.id)
    draft.payload = '{"caller.name": "Secret"}'
    db.session.add(draft)
    db.session.commit()
    page = operator_client.get(f"/intake/new?draft={draft.id}").get_data(as_text=True)
    assert "Secret" not in page


def test_repeat_callers_are_found_by_phone(operator_client: FlaskClient) -> None:
    _, token = _form_page(operator_client)
    location = _post(operator_client, FORM, token).headers["Location"]
    csrf = csrf_token(operator_client, "/intake/new")
    found = json_of(operator_client.post("/intake/lookup", data={"phone": "+7 (701) 123-45-67",
                                                         "csrf_token": csrf}))
    assert [item["url"] for item in found["items"]] == [location]
    assert json_of(operator_client.post("/intake/lookup", data={"phone": "+77009998877",
                                                                "csrf_token": csrf}))["items"] == []


def test_agency_staff_see_their_case_page_without_hidden_fields(app: Any, client: FlaskClient, operator_client: FlaskClient,
                                                                create_user: Any) -> None:
    _, token = _form_page(operator_client)
    location = _post(operator_client, FORM, token).headers["Location"]
    health_unit = db.session.scalars(select(Referral).where(Referral.agency == "health")).one().unit
    health = create_user("agency_staff", unit=health_unit)
    other = app.test_client()
    sign_in(other, health)
    page = other.get(location).get_data(as_text=True)
    assert "Әсел Қайратқызы" in page and "№3 мектеп" not in page
    pavlodar = create_user("agency_staff", unit=db.session.scalar(select(AgencyUnit).where(
        AgencyUnit.agency == "health", AgencyUnit.region == "KZ-55")))
    outsider = app.test_client()
    sign_in(outsider, pavlodar)
    assert outsider.get(location).status_code == 404


def test_case_search_page_finds_by_iin_and_pages(operator_client: FlaskClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = _form_page(operator_client)
    location = _post(operator_client, {**FORM, "child.iin": "140315600018"}, token).headers["Location"]
    csrf = csrf_token(operator_client, "/cases")

    def search(**fields: str) -> str:
        response = operator_client.post("/cases", data={**fields, "csrf_token": csrf})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert location in search(q="140315600018")
    assert location not in search(q="Тимур")
    # a search text in a URL is not read (only POST bodies are): the list is unfiltered
    assert location in operator_client.get("/cases?q=Тимур").get_data(as_text=True)
    monkeypatch.setattr(intake_views, "PAGE_SIZE", 1)
    # a second page: its pager posts the search text and the filters again
    _post(operator_client, {**FORM, "child.iin": "140315600018"}, _form_page(operator_client)[1])
    first = search(q="140315600018", region="KZ-27")
    assert 'name="page" value="2"' in first and 'name="q" value="140315600018"' in first
    assert "?q=" not in first and "140315600018" not in re.sub(r'value="[^"]*"', "", first)
    second = search(q="140315600018", region="KZ-27", page="2")
    assert second.count('href="/cases/') == 1 and 'name="page" value="1"' in second


def test_case_list_filters_by_region_and_local_dates_and_keeps_them_on_the_form(
        operator_client: FlaskClient) -> None:
    _, token = _form_page(operator_client)
    location = _post(operator_client, FORM, token).headers["Location"]  # KZ-27, 20 Nov 2026

    def listing(**filters: str) -> str:
        response = operator_client.get("/cases", query_string=filters)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert location in listing(region="KZ-27", **{"from": "2026-11-20", "to": "2026-11-20"})
    assert location not in listing(region="KZ-55")
    assert location not in listing(**{"from": "2026-11-21"})
    kept = listing(region="KZ-27", to="2026-11-20")
    assert 'value="KZ-27" selected' in kept and 'name="to" value="2026-11-20"' in kept
    assert location in listing(region="no-such-region", **{"from": "not a date"})  # ignored


@pytest.mark.parametrize(("message", "expected"), [
    ("is required for this contact type", "Choose the urgency."),
    ("is required for a contact that is routed", "Choose the child's region."),
    ("P3 contradicts the flag 'immediate_danger'", "This urgency is too low for the flags chosen."),
    ("district 'KZ-27-TEREKTI' is not in region 'KZ-55'", "This district is not in the chosen region."),
    ("must be from 0 to 17 (a child), not 18", "A child's age is from 0 to 17."),
    ("IIN check digit is wrong.", "This IIN is not valid: check the 12 digits."),
    ("something no pattern foresaw", "Check this field."),
])
def test_the_engine_s_findings_reach_the_form_in_words_for_people(app: Any, message: str,
                                                                  expected: str) -> None:
    from intake.labels import form_message

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert form_message(message) == expected


def test_the_case_page_shows_what_happened_flags_place_and_who(operator_client: FlaskClient) -> None:
    from referrals.routing import default_algorithm

    _, token = _form_page(operator_client)
    location = _post(operator_client, {**FORM, "flags": "injury",
                                       "perpetrator.lives_with_child": "on"}, token).headers["Location"]
    page = operator_client.get(location, headers={"Accept-Language": "kk"}).get_data(as_text=True)
    algorithm = default_algorithm()
    shown: tuple[tuple[LabelKind, str], ...] = (
        ("place", "street"), ("relation", "stranger"), ("flag", "injury"))
    for kind, code in shown:
        assert algorithm.label(kind, code, "kk") in page, (kind, code)
    assert "Баламен бірге тұрады" in page


def test_regions_are_listed_in_the_kazakh_alphabet(app: Any) -> None:
    from intake.templating import region_options

    with app.test_request_context(headers={"Accept-Language": "kk"}):
        names = [name for _, name in region_options()]
    assert names.index("Ақмола облысы") < names.index("Атырау облысы")  # ә-less а: Ақ < Ат
    assert names.index("Қарағанды облысы") < names.index("Шымкент қаласы")  # Қ after К, not after Я
    assert names.index("Ұлытау облысы") < names.index("Шығыс Қазақстан облысы")


def test_the_form_s_sections_are_numbered_in_the_order_the_keyboard_visits_them(
        operator_client: FlaskClient) -> None:
    page, _ = _form_page(operator_client)
    numbers = [int(n) for n in re.findall(r'<(?:h2|legend)[^>]*>(?:<label[^>]*>)?(\d)\. ', page)]
    assert numbers == list(range(1, 8)), numbers
