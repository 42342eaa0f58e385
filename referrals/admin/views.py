"""Administrators' pages for routing: the algorithm as a readable table, uploading, diffing and
publishing a new version, old versions, the calendar of days off, and the directory of units.

Handlers stay thin: forms parse, ``routing_service`` and ``directory`` decide and audit, the
handler commits once and redirects (post/redirect/get) or re-renders the form with its errors.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.clock import utcnow
from core.extensions import db
from core.i18n import current_language
from core.models import AgencyUnit, User
from referrals import directory
from referrals.admin.forms import (
    MAX_DOCUMENT_CHARS,
    ConfirmForm,
    DayOffForm,
    NewUnitForm,
    PublishForm,
    UnitForm,
    UploadForm,
    format_minutes,
    parse_minutes,
)
from referrals.admin.presenters import (
    DAY_OFF_REFUSALS,
    PUBLISH_REFUSALS,
    agency_choices,
    cap_rows,
    change_rows,
    district_choices,
    duration_text,
    holiday_name,
    label_of,
    local_date,
    office_hours_services,
    refusal_text,
    region_choices,
    service_groups,
    urgency_rows,
)
from referrals.directory import UnitDraft, UnitRefused
from referrals.models import WORKING_DAY
from referrals.routing import (
    BUNDLED_VERSIONS,
    Algorithm,
    AlgorithmError,
    bundled_algorithm,
    load_algorithm,
)
from referrals.routing_app import service as routing_service
from referrals.routing_app.service import DayOffRefused, PublishRefused, UnknownVersion

bp = Blueprint("routing_admin", __name__)

PAGE_SIZE = 50


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"local_date": local_date, "duration_text": duration_text,
            "label_of": label_of, "uncovered_years": routing_service.uncovered_years_warning}


# ---- the algorithm ----------------------------------------------------------------------------


def _render_algorithm(template: str, algorithm: Algorithm, **context: Any) -> str:
    return render_template(template, algorithm=algorithm,
                           rules=algorithm.to_table(current_language()),
                           urgencies=urgency_rows(algorithm), caps=cap_rows(algorithm),
                           office_hours=office_hours_services(algorithm), **context)


@bp.get("/admin/routing/")
def algorithm() -> str:
    return _render_algorithm("referrals/admin/algorithm.html", routing_service.current_algorithm(),
                             row=routing_service.current_version_row())


@bp.get("/admin/routing/versions")
def versions() -> str:
    entries = routing_service.versions()
    ids = {e.row.published_by for e in entries if e.row is not None and e.row.published_by}
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    return render_template("referrals/admin/versions.html", entries=entries, people=people)


@bp.get("/admin/routing/versions/<version>")
def version(version: str) -> str:
    try:
        found = routing_service.algorithm_by_version(version)
    except UnknownVersion:
        abort(404)
    current = routing_service.current_algorithm()
    return _render_algorithm("referrals/admin/version.html", found,
                             is_current=found.digest == current.digest)


# ---- upload, diff, publish --------------------------------------------------------------------


def _normalised(text: str) -> str:
    # Browsers send form text with CRLF line breaks; store what the administrator wrote.
    return text.replace("\r\n", "\n")


def _uploaded_text(form: UploadForm) -> str | None:
    """The document from the file (preferred) or the text area; None with the form's errors."""
    upload = form.file.data
    if upload is not None and upload.filename:
        raw = upload.read(MAX_DOCUMENT_CHARS + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            form.file.errors = [_("The file is not UTF-8 text.")]
            return None
        if len(raw) > MAX_DOCUMENT_CHARS:
            form.file.errors = [_("The file is too large.")]
            return None
        return _normalised(text)
    if form.document.data and form.document.data.strip():
        return _normalised(form.document.data)
    form.document.errors = [_("Choose a file or paste the document.")]
    return None


@bp.route("/admin/routing/upload", methods=["GET", "POST"])
def upload() -> str | tuple[str, int]:
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("referrals/admin/upload.html", form=form, problems=())
    text = _uploaded_text(form)
    if text is None:
        return render_template("referrals/admin/upload.html", form=form, problems=())
    try:
        candidate = load_algorithm(text)
    except AlgorithmError as error:
        form.document.data = text  # shown again, with the problems, so nothing is lost
        return render_template("referrals/admin/upload.html", form=form,
                               problems=error.problems)
    return _render_diff(candidate, PublishForm(formdata=None, document=text))


def _render_diff(candidate: Algorithm, form: PublishForm, status: int = 200,
                 error: str | None = None) -> tuple[str, int]:
    current = routing_service.current_algorithm()
    form.base_digest.data = current.digest
    refusal = routing_service.publication_refusal(candidate)
    return render_template(
        "referrals/admin/diff.html", form=form, current=current, candidate=candidate,
        changes=change_rows(current, candidate), error=error,
        refusal=refusal_text(refusal) if refusal else None,
    ), status


@bp.get("/admin/routing/bundled/<version>")
def review_bundled(version: str) -> tuple[str, int]:
    """A version that comes with Senim (2026.2 for an install that runs 2026.1), on the same
    diff -> publish page as an upload: the administrator reviews the changes and gives the
    reason; nothing is published by visiting it."""
    if version not in BUNDLED_VERSIONS:
        abort(404)
    candidate = bundled_algorithm(version)
    return _render_diff(candidate, PublishForm(formdata=None, document=candidate.source_text))


@bp.post("/admin/routing/publish")
def publish() -> Any:
    form = PublishForm()
    text = _normalised(form.document.data or "")
    try:
        candidate = load_algorithm(text)
    except AlgorithmError as error:  # only a tampered form gets here: the upload checked it
        upload_form = UploadForm(formdata=None, document=text)
        return render_template("referrals/admin/upload.html", form=upload_form,
                               problems=error.problems), 422
    if not form.validate():
        return _render_diff(candidate, form, 422)
    if form.base_digest.data != routing_service.current_algorithm().digest:
        # Someone published while this administrator reviewed: the diff shown is stale.
        return _render_diff(candidate, form, 409, error=str(PUBLISH_REFUSALS["concurrent"]))
    try:
        row = routing_service.publish(text, form.reason.data or "", g.user)
    except PublishRefused as refusal:
        return _render_diff(candidate, form, 422, error=refusal_text(refusal))
    flash(_("Version %(version)s is published and routes every new contact.",
            version=row.version), "info")
    return redirect(url_for("routing_admin.algorithm"))


# ---- the calendar -----------------------------------------------------------------------------


def _calendar_year() -> int:
    this_year = utcnow().astimezone(routing_service.timezone()).year
    year = request.args.get("year", type=int)
    return year if year is not None and 2000 <= year <= 2100 else this_year


def _add_day_off(form: DayOffForm) -> Response | None:
    """Add the posted day off; None when refused (the reason is on the form)."""
    day, name, kind = form.day.data, form.name.data or "", form.kind.data or "transfer"
    if day is None:
        return None
    try:
        routing_service.add_day_off(day, name, g.user, kind=kind)
    except DayOffRefused as refusal:
        form.day.errors = [str(DAY_OFF_REFUSALS[refusal.code]) % refusal.params]
        return None
    if kind == WORKING_DAY:
        flash(_("The working day is added; deadlines computed from now on count it."), "info")
    else:
        flash(_("The day off is added; deadlines computed from now on skip it."), "info")
    return redirect(url_for("routing_admin.calendar", year=day.year))


@bp.route("/admin/routing/calendar", methods=["GET", "POST"])
def calendar() -> Any:
    form = DayOffForm()
    if form.validate_on_submit():
        done = _add_day_off(form)
        if done is not None:
            return done
    year = _calendar_year()
    return render_template("referrals/admin/calendar.html", form=form, year=year,
                           days=routing_service.days_off_in(year), holiday_name=holiday_name), \
        422 if request.method == "POST" else 200


# ---- the directory of units -------------------------------------------------------------------


def _prepare(form: UnitForm, algorithm: Algorithm, unit: AgencyUnit | None) -> None:
    kept = unit.services if unit is not None else []
    form.services.choices = [(s, s) for s in [*algorithm.services, *kept]]
    if isinstance(form, NewUnitForm):
        form.agency.choices = agency_choices(algorithm)
        form.region.choices = region_choices()
        form.district.choices = district_choices()


def _draft(form: UnitForm, base: UnitDraft) -> UnitDraft:
    email = (form.contact_email.data or "").strip() or None
    return UnitDraft(
        agency=base.agency, region=base.region, district=base.district,
        name_kk=(form.name_kk.data or "").strip(), name_ru=(form.name_ru.data or "").strip(),
        name_en=(form.name_en.data or "").strip(), contact_email=email,
        services=tuple(form.services.data or ()), active=base.active, id=base.id,
        work_start_minute=parse_minutes(form.work_start.data),
        work_end_minute=parse_minutes(form.work_end.data),
    )


def _show_refusal(form: UnitForm, refusal: UnitRefused) -> None:
    for name, message in refusal.errors.items():
        field = getattr(form, name, None)
        if field is None:
            field = form.services
        field.errors = [*field.errors, message]


def _render_unit_form(form: UnitForm, algorithm: Algorithm, unit: AgencyUnit | None,
                      status: int) -> tuple[str, int]:
    groups = service_groups(algorithm, unit.agency if unit else None,
                            unit.services if unit else [])
    return render_template("referrals/admin/unit_form.html", form=form, unit=unit,
                           groups=groups, chosen=set(form.services.data or ()),
                           algorithm=algorithm), status


@bp.route("/admin/units/new", methods=["GET", "POST"])
def new_unit() -> Any:
    algorithm = routing_service.current_algorithm()
    form = NewUnitForm()
    _prepare(form, algorithm, None)
    if not form.validate_on_submit():
        return _render_unit_form(form, algorithm, None, 422 if form.errors else 200)
    place = UnitDraft(form.agency.data or "", form.region.data or "", form.district.data or None,
                      "", "", "")
    try:
        unit = directory.save_unit(_draft(form, place))
    except UnitRefused as refusal:
        _show_refusal(form, refusal)
        return _render_unit_form(form, algorithm, None, 422)
    flash(_("The unit “%(name)s” is added.", name=unit.name(current_language())), "info")
    return redirect(url_for("routing_admin.units", region=unit.region, agency=unit.agency))


def _unit_or_404(unit_id: str) -> AgencyUnit:
    unit = db.session.get(AgencyUnit, unit_id)
    if unit is None:
        abort(404)
    return unit


@bp.route("/admin/units/<unit_id>/edit", methods=["GET", "POST"])
def edit_unit(unit_id: str) -> Any:
    unit = _unit_or_404(unit_id)
    algorithm = routing_service.current_algorithm()
    form = UnitForm(obj=unit) if request.method == "GET" else UnitForm()
    if request.method == "GET":
        form.work_start.data = format_minutes(unit.work_start_minute)
        form.work_end.data = format_minutes(unit.work_end_minute)
    _prepare(form, algorithm, unit)
    if not form.validate_on_submit():
        return _render_unit_form(form, algorithm, unit, 422 if form.errors else 200)
    try:
        directory.save_unit(_draft(form, UnitDraft.of(unit)), unit)
    except UnitRefused as refusal:
        _show_refusal(form, refusal)
        return _render_unit_form(form, algorithm, unit, 422)
    flash(_("The unit “%(name)s” is saved.", name=unit.name(current_language())), "info")
    return redirect(url_for("routing_admin.units", region=unit.region, agency=unit.agency))


@bp.route("/admin/units/<unit_id>/deactivate", methods=["GET", "POST"])
def deactivate_unit(unit_id: str) -> Any:
    unit = _unit_or_404(unit_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        directory.deactivate_unit(unit)
        flash(_("The unit “%(name)s” is deactivated: it receives no new referrals.",
                name=unit.name(current_language())), "info")
        return redirect(url_for("routing_admin.units", region=unit.region, agency=unit.agency))
    return render_template("referrals/admin/unit_deactivate.html", form=form, unit=unit,
                           fallbacks=directory.fallbacks_without(unit),
                           algorithm=routing_service.current_algorithm())


@bp.post("/admin/units/<unit_id>/activate")
def activate_unit(unit_id: str) -> Response:
    unit = _unit_or_404(unit_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        directory.activate_unit(unit)
    except UnitRefused as refusal:
        flash(" ".join(refusal.errors.values()), "error")
    else:
        flash(_("The unit “%(name)s” is active again.", name=unit.name(current_language())),
              "info")
    return redirect(url_for("routing_admin.units", region=unit.region, agency=unit.agency))


@bp.get("/admin/units/")
def units() -> str:
    algorithm = routing_service.current_algorithm()
    agency = request.args.get("agency") or None
    region = request.args.get("region") or None
    page = max(1, request.args.get("page", 1, type=int) or 1)
    found, has_next = directory.list_units(agency=agency, region=region, page=page,
                                           size=PAGE_SIZE)
    return render_template("referrals/admin/units.html", units=found, page=page,
                           has_next=has_next, agency=agency, region=region,
                           agencies=agency_choices(algorithm), regions=region_choices(),
                           algorithm=algorithm)

