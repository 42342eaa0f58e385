"""The forms of the routing administration pages: what an administrator posts, checked on the
server (a time of day, a date, a document's size) before any service sees it."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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

from referrals.models import WORKING_DAY
from referrals.routing_app import service as routing_service

MAX_DOCUMENT_CHARS = 512 * 1024  # the 2026.1 file is 35 kB; anything near this is a mistake


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


DAY_KINDS = [("transfer", _l("A weekday becomes a day off")),
             (WORKING_DAY, _l("A Saturday or Sunday becomes a working day"))]


class DayOffForm(FlaskForm):
    day = DateField(_l("Date"), validators=[DataRequired(message=_l("Enter a date."))])
    kind = SelectField(_l("What the decree does"), choices=DAY_KINDS, default="transfer")
    name = StringField(_l("Name of the day off"), validators=[
        DataRequired(message=_l("Enter a name, e.g. the decree's title.")),
        Length(max=routing_service.DAY_OFF_NAME_MAX_LENGTH)])


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


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the confirmation page's button."""
