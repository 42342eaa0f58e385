"""The report page, the submissions of a period and the exports, through the web."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select

from core.audit.models import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from referrals.reports import exports
from referrals.reports.models import ExportJob, ReportSubmission
from tests.factories import csrf_token, sign_in
from tests.referrals.reports.conftest import PLANTED_NAME, PLANTED_PHONE, Seed


@pytest.fixture
def signed_in(app: Flask) -> Any:
    def _client(user: User, lang: str = "en") -> FlaskClient:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
        response = sign_in(client, user, lang=lang)
        assert response.status_code == 302
        return client
    return _client


@pytest.fixture
def national(create_user: Any) -> User:
    user: User = create_user("supervisor", username="supervisor.kz")
    return user


@pytest.fixture
def wko(create_user: Any) -> User:
    user: User = create_user("supervisor", username="supervisor.wko", region="KZ-27")
    return user


def _actions(name: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == name)
                                   .order_by(AuditEntry.sequence)))


def test_the_report_page_shows_figures_charts_and_the_comparison(
        seeded: Seed, national: User, signed_in: Any) -> None:
    page = signed_in(national).get("/reports?period=2026-10&region=KZ-27")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<svg") == 5 and "chart-channels" in html and "chart-acknowledge" in html
    assert "Previous period" in html and "2026-09" in html
    assert PLANTED_NAME not in html and seeded.case_numbers[0] not in html
    entry = _actions("report.viewed")[-1]
    assert entry.object_id == "KZ-27" and entry.details_map == {"period": "2026-10"}


def test_the_whole_country_lists_each_region(seeded: Seed, national: User, signed_in: Any) -> None:
    html = signed_in(national, "ru").get("/reports?period=2026").get_data(as_text=True)
    assert "Западно-Казахстанская" in html or "Батыс" in html or "West" not in html
    assert html.count('href="/reports?region=KZ-') >= 20


def test_a_regional_supervisor_reads_only_their_region(seeded: Seed, wko: User,
                                                       signed_in: Any) -> None:
    client = signed_in(wko)
    assert client.get("/reports?period=2026-10").status_code == 200
    assert client.get("/reports?period=2026-10&region=KZ-19").status_code == 404
    assert client.get("/reports?period=2026-10&region=KZ").status_code == 404
    assert _actions("permission.denied")


@pytest.mark.parametrize("role", ["operator", "agency_head", "admin", "auditor"])
def test_other_roles_reach_no_report(seeded: Seed, create_user: Any, create_unit: Any,
                                     signed_in: Any, role: str) -> None:
    extra = {"unit": create_unit("police")} if role == "agency_head" else {}
    client = signed_in(create_user(role, **extra))
    for path in ("/reports", "/reports/submissions", "/exports"):
        assert client.get(path).status_code == 403, path  # refused by role, before any lookup


def test_a_bad_period_is_404(national: User, signed_in: Any) -> None:
    assert signed_in(national).get("/reports?period=2026-13").status_code == 404


def _submit(client: FlaskClient, region: str, period: str, confirm: bool = True) -> Any:
    data = {"csrf_token": csrf_token(client, f"/reports?period={period}&region={region}"),
            "region": region, "period": period}
    if confirm:
        data["confirm"] = "yes"
    return client.post("/reports/submit", data=data)


def test_the_regional_supervisor_submits_once_and_the_list_shows_who_is_late(
        seeded: Seed, wko: User, national: User, signed_in: Any, clock: FrozenClock) -> None:
    client = signed_in(wko)
    # 20 November: October's reports were due on the 10th, so this one is late
    assert _submit(client, "KZ-27", "2026-10", confirm=False).status_code == 302
    assert db.session.scalar(select(ReportSubmission)) is None
    assert _submit(client, "KZ-27", "2026-10").status_code == 302
    submission = db.session.scalar(select(ReportSubmission))
    assert submission is not None and submission.region == "KZ-27" and submission.late
    assert submission.figures["contacts"] == sum(
        1 for c in seeded.contacts
        if c.region == "KZ-27" and c.received_at.astimezone(exports_tz()).month == 10)
    entry = _actions("report.submitted")[-1]
    assert entry.details_map["region"] == "KZ-27" and entry.details_map["late"] is True
    _submit(client, "KZ-27", "2026-10")
    assert len(list(db.session.scalars(select(ReportSubmission)))) == 1  # refused the second time
    # not another region's, nor the country's
    assert _submit(client, "KZ-19", "2026-10").status_code == 404
    assert _submit(client, "KZ", "2026-10").status_code == 404
    # a period not over yet cannot be submitted
    _submit(client, "KZ-27", "2026-11")
    assert len(list(db.session.scalars(select(ReportSubmission)))) == 1
    listing = signed_in(national).get("/reports/submissions?period=2026-10").get_data(as_text=True)
    # the ministry's own report is due on the 25th: not late yet
    assert "Submitted: 1 of 21. Late: 20." in listing
    assert "supervisor.wko" in listing


def test_before_the_due_day_nobody_is_late(seeded: Seed, national: User, signed_in: Any,
                                           clock: FrozenClock) -> None:
    listing = signed_in(national).get("/reports/submissions?period=2026-11").get_data(as_text=True)
    assert "Late: 0." in listing


def test_the_national_supervisor_submits_the_country_s_report(seeded: Seed, national: User,
                                                              signed_in: Any) -> None:
    assert _submit(signed_in(national), "KZ", "2026-10").status_code == 302
    submission = db.session.scalar(select(ReportSubmission))
    assert submission is not None and submission.region == "KZ"
    assert submission.figures["contacts"] == sum(
        1 for c in seeded.contacts if c.received_at.astimezone(exports_tz()).month == 10)


def exports_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Almaty")


def _export(client: FlaskClient, region: str, period: str, fmt: str) -> Any:
    return client.post("/reports/export", data={
        "csrf_token": csrf_token(client, f"/reports?period={period}&region={region}"),
        "region": region, "period": period, "format": fmt})


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_is_de_identified_audited_and_expires(
        app: Flask, seeded: Seed, national: User, signed_in: Any, clock: FrozenClock, fmt: str) -> None:
    client = signed_in(national)
    # the whole country for a year: a background job (run inline in tests)
    response = _export(client, "KZ", "2026", fmt)
    assert response.status_code == 302
    job = db.session.scalar(select(ExportJob))
    assert job is not None and job.status == "done" and job.progress == 100
    assert job.steps_done == job.steps_total == 24 + 2 and not job.identities
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Download" in page
    download = client.get(f"/exports/{job.id}/download")
    assert download.status_code == 200
    body = download.data
    if fmt == "csv":
        text = body.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert ["contacts", "total", "Contacts", str(len(seeded.contacts)), "0"] in rows
    else:
        sheet = load_workbook(io.BytesIO(body)).active
        text = "\n".join(" ".join(str(v) for v in row if v is not None) for row in sheet.iter_rows(values_only=True))
        assert f"contacts total Contacts {len(seeded.contacts)} 0" in text
    for secret in (PLANTED_NAME, PLANTED_PHONE, *seeded.case_numbers):
        assert secret not in text
    requested, completed, downloaded = (_actions(f"export.{name}")
                                        for name in ("requested", "completed", "downloaded"))
    assert requested[-1].details_map["background"] is True
    assert requested[-1].details_map["identities"] is False
    assert completed[-1].object_id == downloaded[-1].object_id == job.id
    path = exports.export_dir() / (job.file_name or "")
    assert path.exists()
    # a day later the file is gone, by the sweep
    clock.advance(timedelta(hours=24, seconds=1))
    assert exports.sweep(clock.now()) == 1
    assert not path.exists()
    db.session.refresh(job)
    assert job.status == "expired"
    assert _actions("export.expired")[-1].details_map == {"count": 1}
    assert signed_in(national).get(f"/exports/{job.id}/download").status_code == 410


def test_an_expired_export_is_deleted_on_access_too(app: Flask, seeded: Seed, wko: User,
                                                    signed_in: Any, clock: FrozenClock) -> None:
    client = signed_in(wko)
    _export(client, "KZ-27", "2026-10", "csv")  # small: in the request
    job = db.session.scalar(select(ExportJob))
    assert job is not None and job.status == "done"
    assert _actions("export.requested")[-1].details_map["background"] is False
    path = exports.export_dir() / (job.file_name or "")
    clock.advance(timedelta(hours=25))
    assert signed_in(wko).get(f"/exports/{job.id}/download").status_code == 410
    assert not path.exists()


def test_an_export_is_its_requester_s_alone(seeded: Seed, wko: User, national: User,
                                            signed_in: Any) -> None:
    _export(signed_in(wko), "KZ-27", "2026-10", "csv")
    job = db.session.scalar(select(ExportJob))
    assert job is not None
    other = signed_in(national)
    assert other.get(f"/exports/{job.id}").status_code == 404
    assert other.get(f"/exports/{job.id}/download").status_code == 404
    assert other.get("/exports/no-such-id/download").status_code == 404


def test_a_regional_supervisor_cannot_export_another_region(seeded: Seed, wko: User,
                                                            signed_in: Any) -> None:
    client = signed_in(wko)
    response = client.post("/reports/export", data={
        "csrf_token": csrf_token(client, "/reports?period=2026-10"),
        "region": "KZ-19", "period": "2026-10", "format": "csv"})
    assert response.status_code == 404
    assert db.session.scalar(select(ExportJob)) is None


def test_a_spreadsheet_formula_is_written_as_text() -> None:
    assert exports._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert exports._cell(3) == 3 and exports._cell(None) == ""
