from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from core.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])


class CodeForm(FlaskForm):
    code = StringField(_l("Six-digit code"), validators=[
        DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Enter the six digits."))])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    new = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=MIN_LENGTH, max=MAX_LENGTH,
                               message=_l("Use 12 to 128 characters."))])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("new", message=_l("The two passwords differ."))])
