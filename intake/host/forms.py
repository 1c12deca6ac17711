"""Host administrator forms: sign-in (one form), TOTP enrolment, tenants, host names, national figures."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from ..forms import Form, QueryForm
from ..officer.forms import not_guessable
from ..reports.forms import fiscal_year_valid
from ..reports.periods import PERIOD_CODES
from ..reports.tables import PERIOD_NAMES

CODE = Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Enter the 6 digits."))
CODE_KW = {"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "7"}


class LoginForm(Form):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[Optional(), CODE],
        render_kw=CODE_KW,
        description=_l("6 digits. Leave it empty at your first sign-in: you will enrol your app next."),
    )


class CodeForm(Form):
    code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), CODE], render_kw=CODE_KW
    )


class EmptyForm(Form):
    """Only the CSRF token (suspend, resume, sign out)."""


class TenantForm(Form):
    slug = StringField(
        _l("Short name (slug)"),
        validators=[DataRequired(), Length(max=63)],
        description=_l("Lower-case letters, digits and dashes, e.g. ban-na. It cannot be changed later."),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    name = StringField(_l("Municipality's name"), validators=[DataRequired(), Length(max=200)])
    host = StringField(
        _l("Host name of its site"),
        validators=[DataRequired(), Length(max=253)],
        description=_l("e.g. intake.banna.go.th"),
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    province = StringField(_l("Province"), validators=[Optional(), Length(max=100)])
    admin = StringField(
        _l("Username of its first administrator"),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocapitalize": "none"},
    )
    password = PasswordField(
        _l("Initial password of that administrator"),
        validators=[DataRequired(), Length(min=10, max=1024), not_guessable],
        description=_l("At least 10 characters; they must change it at their first sign-in."),
        render_kw={"autocomplete": "new-password"},
    )
    passphrase = PasswordField(
        _l("Recovery passphrase"),
        validators=[DataRequired(), Length(min=16, max=1024)],
        description=_l(
            "At least 16 characters, four or more unrelated words. It opens the recovery key: "
            "give it to the municipality, kept apart from the key file."
        ),
        render_kw={"autocomplete": "new-password"},
    )
    passphrase_again = PasswordField(
        _l("Recovery passphrase again"),
        validators=[DataRequired(), EqualTo("passphrase", message=_l("The two passphrases differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class HostNameForm(Form):
    host = StringField(
        _l("Host name"),
        validators=[DataRequired(), Length(max=253)],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )


class RemoveForm(Form):
    typed = StringField(
        _l("Type the tenant's short name (slug) to confirm"),
        validators=[DataRequired()],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )
    without_export = BooleanField(
        _l("Remove it although it was never exported (its cases are lost for good)")
    )


class NationalForm(QueryForm):
    """Fiscal year and period of the national figures (a GET form: it changes nothing)."""

    fiscal_year = SelectField(
        _l("Fiscal year"), coerce=str, validate_choice=False, validators=[fiscal_year_valid]
    )
    period = SelectField(
        _l("Period"), choices=[SelectChoice(code, PERIOD_NAMES[code]) for code in PERIOD_CODES], default="q1"
    )
