"""The administration forms. Every choice is validated on the server: a role, unit or region
that is not offered (or does not fit the role) is a form error, whatever the browser posts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from core.roles import HELPLINE_ROLES, UNIT_ROLES, Role
from core.templating import role_label
from core.users_service import DEFAULT_TOKEN_DAYS, max_token_days

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]*$"
NOT_OFFERED = _l("Choose one of the listed options.")


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def printable(form: FlaskForm, field: Field) -> None:
    """No control characters (NUL, escapes, line breaks) in names shown to others or logged."""
    if field.data and not str(field.data).isprintable():
        raise ValidationError(_l("Use letters, digits, spaces and punctuation only."))


class AssignmentForm(FlaskForm):
    """What an administrator sets on an account: its name, role and place in the organisation."""

    display_name = StringField(_l("Display name"), filters=[strip], validators=[
        DataRequired(), Length(max=200), printable])
    role = SelectField(_l("Role"), invalid_choice_message=NOT_OFFERED,
                       validators=[InputRequired(message=_l("Choose a role."))])
    unit_id = SelectField(_l("Agency unit"), invalid_choice_message=NOT_OFFERED)
    region = SelectField(_l("Helpline region"), invalid_choice_message=NOT_OFFERED)

    def __init__(self, *args: Any, units: Sequence[SelectChoice],
                 regions: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = [("", _l("Choose a role")),
                             *((role.value, role_label(role)) for role in Role)]
        self.unit_id.choices = [SelectChoice("", _l("No unit")), *units]
        self.region.choices = [("", _l("Whole helpline (no region)")), *regions]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.role.errors or not self.role.data:
            return False
        return self._check_assignment() and valid

    def _check_assignment(self) -> bool:
        """Unit roles need a unit and nothing else; helpline roles may have a region only;
        administrators and auditors belong to neither."""
        role = Role(self.role.data)
        problems: list[tuple[Field, Any]] = []
        if role in UNIT_ROLES and not self.unit_id.data:
            problems.append((self.unit_id, _l("Agency staff and heads of unit need a unit.")))
        if role not in UNIT_ROLES and self.unit_id.data:
            problems.append((self.unit_id, _l("Only agency staff and heads of unit belong to a unit.")))
        if role not in HELPLINE_ROLES and self.region.data:
            problems.append((self.region, _l("Only operators and supervisors have a helpline region.")))
        for field, message in problems:
            field.errors = [*field.errors, message]
        return not problems

    @property
    def role_value(self) -> Role:
        return Role(self.role.data)


class NewUserForm(AssignmentForm):
    username = StringField(_l("Username"), filters=[strip], validators=[
        DataRequired(), Length(max=64),
        Regexp(USERNAME_PATTERN, message=_l(
            "Use Latin letters, digits and . _ @ - only, starting with a letter or a digit."))])


class EditUserForm(AssignmentForm):
    pass


def within_token_lifetime(form: FlaskForm, field: Field) -> None:
    """The configured maximum is read per request (SENIM_TOKEN_MAX_DAYS), not at import."""
    maximum = max_token_days()
    if field.data is not None and not 1 <= field.data <= maximum:
        raise ValidationError(_l("Enter a number of days from 1 to %(maximum)s.", maximum=maximum))


class TokenForm(FlaskForm):
    """A token for the signed-in user only: nobody mints a token that acts as someone else.
    Service accounts get theirs from ``senim tokens create`` on the server."""

    name = StringField(_l("What the token is for"), filters=[strip], validators=[
        DataRequired(), Length(max=100), printable])
    days = IntegerField(_l("Expires after (days)"), default=DEFAULT_TOKEN_DAYS, validators=[
        Optional(), within_token_lifetime])
