"""Administrators' pages for routing: the algorithm as a readable table, uploading, diffing and
publishing a new version, old versions, the calendar of days off, and the directory of units.

Handlers stay thin: forms parse, ``routing_service`` and ``directory`` decide and audit, the
handler commits once and redirects (post/redirect/get) or re-renders the form with its errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core import reference
from core.clock import utcnow
from core.extensions import db
from core.i18n import collation_key, current_language
from core.models import AgencyUnit, User
from core.permissions import register_endpoints
from core.roles import Role
from core.templating import add_navigation
from referrals import directory, routing_service
from referrals.directory import UnitDraft, UnitRefused
from referrals.models import WORKING_DAY
from referrals.routing import (
    BUNDLED_VERSIONS,
    Algorithm,
    AlgorithmError,
    Change,
    bundled_algorithm,
    diff_algorithms,
    load_algorithm,
)
from referrals.routing.conditions import describe, phrase
from referrals.routing_service import DayOffRefused, PublishRefused, UnknownVersion

bp = Blueprint("routing_admin", __name__)

PAGE_SIZE = 50
MAX_DOCUMENT_CHARS = 512 * 1024  # the 2026.1 file is 35 kB; anything near this is a mistake


# ---- presentation helpers ---------------------------------------------------------------------


def local_time(moment: datetime | None) -> str:
    """A moment in the deployment's time zone, as the viewer's locale writes it."""
    if moment is None:
        return ""
    return format_datetime(moment.astimezone(routing_service.timezone()), "short")


def local_date(day: date) -> str:
    return format_date(day, "full")


def duration_text(spec: Mapping[str, int] | None) -> str:
    """An algorithm duration ({minutes|hours|working_days: N}) in words."""
    if not spec:
        return "—"
    parts = []
    if "working_days" in spec:
        parts.append(ngettext("%(num)d working day", "%(num)d working days", spec["working_days"]))
    if "hours" in spec:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", spec["hours"]))
    if "minutes" in spec:
        parts.append(ngettext("%(num)d minute", "%(num)d minutes", spec["minutes"]))
    return " ".join(parts)


def label_of(algorithm: Algorithm, kind: str, code: str) -> str:
    try:
        return algorithm.label(kind, code, current_language())  # type: ignore[arg-type]
    except KeyError:  # a code this version does not have (e.g. an older unit's service)
        return code


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"local_time": local_time, "local_date": local_date, "duration_text": duration_text,
            "label_of": label_of, "uncovered_years": routing_service.uncovered_years_warning}


# ---- the algorithm ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UrgencyRow:
    code: str
    label: str
    description: str
    acknowledge: str
    act: str


def urgency_rows(algorithm: Algorithm) -> list[UrgencyRow]:
    return [
        UrgencyRow(spec["code"], label_of(algorithm, "urgency", spec["code"]),
                   label_of(algorithm, "urgency_description", spec["code"]),
                   duration_text(spec.get("acknowledge")), duration_text(spec.get("act")))
        for spec in algorithm.data["urgencies"]
    ]


def cap_rows(algorithm: Algorithm) -> list[tuple[str, str, str, str]]:
    """(service, acknowledge, act, condition in words or "") of each service cap."""
    lang = current_language()

    def labeler(kind: str, code: str) -> str:
        return label_of(algorithm, kind, code)

    return [(label_of(algorithm, "service", service), duration_text(cap.get("acknowledge")),
             duration_text(cap.get("act")),
             phrase(lang, "if").format(describe(cap["when"], lang, labeler))
             if "when" in cap else "")
            for service, cap in algorithm.data["service_caps"].items()]


def office_hours_services(algorithm: Algorithm) -> list[str]:
    """The services whose urgent deadlines count working time (issue 14), by label."""
    return [label_of(algorithm, "service", code) for code in algorithm.services
            if algorithm.is_office_hours(code)]


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


class UploadForm(FlaskForm):
    file = FileField(_l("Algorithm file (YAML or JSON)"))
    document = TextAreaField(_l("Or paste the document"),
                             validators=[Optional(), Length(max=MAX_DOCUMENT_CHARS)])


class PublishForm(FlaskForm):
    document = TextAreaField(_l("Document to publish"), validators=[
        DataRequired(), Length(max=MAX_DOCUMENT_CHARS)])
    base_digest = HiddenField()
    reason = TextAreaField(_l("Reason for publishing"), validators=[
        DataRequired(message=_l("Give the reason for this version; it is kept with it.")),
        Length(max=routing_service.REASON_MAX_LENGTH)])
    confirm = BooleanField(_l("I have reviewed the changes. Every new contact will be routed "
                              "by this version from now on."), validators=[
        DataRequired(message=_l("Confirm that you have reviewed the changes."))])


PUBLISH_REFUSALS = {
    "reason_missing": _l("Give the reason for this version; it is kept with it."),
    "reason_too_long": _l("The reason is too long."),
    "identical": _l("This document is identical to the current version %(version)s."),
    "version_exists": _l("Version %(version)s already exists. Give the document a new "
                         "version number."),
    "concurrent": _l("Another version was published at the same time. Review the changes "
                     "again."),
}


def refusal_text(refusal: PublishRefused) -> str:
    return str(PUBLISH_REFUSALS[refusal.code]) % refusal.params


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


@dataclass(frozen=True)
class ChangeRow:
    action: str
    kind: str
    code: str
    label: str
    detail: str


CHANGE_ACTIONS = {"added": _l("added"), "removed": _l("removed"), "changed": _l("changed"),
                  "moved": _l("moved")}
CHANGE_KINDS = {
    "version": _l("Version"), "rule": _l("Rule"), "agency": _l("Agency"),
    "service": _l("Service"), "category": _l("Category"), "category_group": _l("Category group"),
    "relation": _l("Relation"), "relation_group": _l("Relation group"), "flag": _l("Flag"),
    "place": _l("Place"), "child_flag": _l("Risk-group flag"), "contact_type": _l("Contact type"),
    "urgency": _l("Urgency"), "urgency_description": _l("Urgency description"),
    "constraint": _l("Constraint"), "instruction": _l("Instruction"),
    "register": _l("Register"), "decline_reason": _l("Decline reason"),
    "action_code": _l("Action code"), "outcome": _l("Outcome"),
}


def change_rows(old: Algorithm, new: Algorithm) -> list[ChangeRow]:
    rows = []
    for change in diff_algorithms(old, new):
        rows.append(ChangeRow(str(CHANGE_ACTIONS.get(change.action, change.action)),
                              str(CHANGE_KINDS.get(change.kind, change.kind)), change.code,
                              _change_label(old, new, change), change.detail))
    return rows


def _change_label(old: Algorithm, new: Algorithm, change: Change) -> str:
    if change.kind == "version":
        return ""
    source = old if change.action == "removed" else new
    found = label_of(source, change.kind, change.code)
    return "" if found == change.code else found


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


DAY_KINDS = [("transfer", _l("A weekday becomes a day off")),
             (WORKING_DAY, _l("A Saturday or Sunday becomes a working day"))]


class DayOffForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date."))])
    kind = SelectField(_l("What the decree does"), choices=DAY_KINDS, default="transfer")
    name = StringField(_l("Name of the day off"), validators=[
        DataRequired(message=_l("Enter a name, e.g. the decree's title.")),
        Length(max=routing_service.DAY_OFF_NAME_MAX_LENGTH)])


DAY_OFF_REFUSALS = {
    "name_missing": _l("Enter a name, e.g. the decree's title."),
    "weekend": _l("%(day)s is a Saturday or Sunday: choose “A Saturday or Sunday becomes a "
                  "working day” to make it one."),
    "already_off": _l("%(day)s is already a day off."),
    "weekday": _l("%(day)s is a weekday, which is a working day already."),
    "already_working": _l("%(day)s is already a working day."),
}


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


# The bundled calendar (core/data/holidays-KZ.csv) names its days in English; an administrator
# reads them in their language. Days an administrator adds keep the name they typed.
HOLIDAY_NAMES: dict[str, Any] = {
    "New Year": _l("New Year"), "Orthodox Christmas": _l("Orthodox Christmas"),
    "International Women's Day": _l("International Women's Day"), "Nauryz": _l("Nauryz"),
    "Unity Day of the People of Kazakhstan": _l("Unity Day of the People of Kazakhstan"),
    "Defender of the Fatherland Day": _l("Defender of the Fatherland Day"),
    "Victory Day": _l("Victory Day"), "Capital Day": _l("Capital Day"),
    "Kurban Ait": _l("Kurban Ait"), "Constitution Day": _l("Constitution Day"),
    "Republic Day": _l("Republic Day"), "Independence Day": _l("Independence Day"),
}
TRANSFERRED = " (transferred)"


def holiday_name(name: str) -> str:
    base = name.removesuffix(TRANSFERRED)
    known = HOLIDAY_NAMES.get(base)
    if known is None:
        return name
    if name.endswith(TRANSFERRED):
        return _("%(holiday)s (day off transferred)", holiday=known)
    return str(known)


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


class UnitForm(FlaskForm):
    name_kk = StringField(_l("Name in Kazakh"), validators=[DataRequired(), Length(max=200)])
    name_ru = StringField(_l("Name in Russian"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=200)])
    contact_email = StringField(_l("Contact email"), validators=[Optional(), Length(max=254)])
    # Working time: an office-hours service's P1/P2 deadlines count only these hours.
    work_start = StringField(_l("Working day starts"), default="09:00",
                             validators=[DataRequired(message=_l("Enter a time, e.g. 09:00."))])
    work_end = StringField(_l("Working day ends"), default="18:00",
                           validators=[DataRequired(message=_l("Enter a time, e.g. 18:00."))])
    # Rendered by the template as checkboxes in a fieldset, grouped by agency.

    def validate_work_start(self, field: StringField) -> None:
        _minutes_or_error(field.data)

    def validate_work_end(self, field: StringField) -> None:
        end = _minutes_or_error(field.data)
        try:
            start = parse_minutes(self.work_start.data)
        except ValueError:
            return  # the start's own error is shown
        if end <= start:
            raise ValidationError(_("The working day must end after it starts."))
    services = SelectMultipleField(_l("Services the unit provides"), choices=[])


def parse_minutes(text: str | None) -> int:
    """"09:00" -> 540; ``ValueError`` for anything but a time of day HH:MM (24:00 allowed)."""
    hours, sep, minutes = (text or "").strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > 24 * 60:
        raise ValueError(text)
    return total


def format_minutes(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def _minutes_or_error(text: str | None) -> int:
    try:
        return parse_minutes(text)
    except ValueError:
        raise ValidationError(_("Enter a time as hours and minutes, e.g. 09:00.")) from None


class NewUnitForm(UnitForm):
    agency = SelectField(_l("Agency"), choices=[])
    region = SelectField(_l("Region"), choices=[])
    district = SelectField(_l("District"), choices=[])


def region_choices() -> list[tuple[str, str]]:
    lang = current_language()
    return sorted(((p.code, p.name(lang)) for p in reference.regions().values()),
                  key=lambda pair: collation_key(reference.sort_name(pair[1]), lang))


def district_choices() -> list[tuple[str, str]]:
    lang = current_language()
    whole = [("", _("None: a region-level unit"))]
    return whole + [(p.code, f"{p.name(lang)} ({reference.place_name(p.region, lang)})")
                    for p in reference.districts().values()]


def agency_choices(algorithm: Algorithm) -> list[tuple[str, str]]:
    return [(code, label_of(algorithm, "agency", code)) for code in algorithm.codes("agency")]


def service_groups(algorithm: Algorithm, agency: str | None,
                   kept: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Services to offer as checkboxes, grouped by agency (only ``agency``'s when given)."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for code, services in directory.services_by_agency(algorithm).items():
        if agency is None or code == agency:
            groups.append((label_of(algorithm, "agency", code),
                           [(s, label_of(algorithm, "service", s)) for s in services]))
    known = set(algorithm.services)
    older = [(s, s) for s in kept if s not in known]
    if older:
        groups.append((_("Services of earlier versions"), older))
    return groups


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


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the confirmation page's button."""


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


def init_app(app: Flask) -> None:
    register_endpoints({"routing_admin.review_bundled": frozenset({Role.ADMIN})})
    app.register_blueprint(bp)
    add_navigation(app, _l("Routing algorithm"), "routing_admin.algorithm", {Role.ADMIN})
    add_navigation(app, _l("Agency units"), "routing_admin.units", {Role.ADMIN})
