"""Officer forms: sign-in, second factor, password, case actions, offline intake, administration."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FileField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .. import dates
from ..forms import Form
from ..i18n import AGENCY_LABELS, CATEGORY_LABELS, CHANNEL_LABELS, ROLE_LABELS, SOURCE_LABELS, STATUS_LABELS
from ..models import Source, Status

TEXT_MAX = 20_000
PASSWORD_MIN = 10
OLDEST_OFFLINE_DAYS = 366
MB = 1024 * 1024


def _choices(labels: dict[str, Any], values: list[str] | None = None) -> list[SelectChoice]:
    return [SelectChoice(k, v) for k, v in labels.items() if values is None or k in values]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# --- sign-in -------------------------------------------------------------------------------------


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


class CodeForm(Form):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(), Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Enter the 6 digits."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "maxlength": "7"},
    )


class PasswordChangeForm(Form):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(),
            Length(min=PASSWORD_MIN, max=1024, message=_l("At least %(n)d characters.", n=PASSWORD_MIN)),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_new(self, field: PasswordField) -> None:
        if field.data and field.data == self.current.data:
            raise ValidationError(_l("Choose a password different from the current one."))


class EmptyForm(Form):
    """A form with only the CSRF token (sign out, acknowledge, deactivate ...)."""


# --- case actions --------------------------------------------------------------------------------


class StatusForm(Form):
    status = SelectField(
        _l("New status"),
        choices=[SelectChoice(s.value, STATUS_LABELS[s.value]) for s in Status if s != Status.NEW],
        validators=[InputRequired()],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=TEXT_MAX)])
    public = BooleanField(_l("Show this note to the citizen on the tracking page"))


class ReplyForm(Form):
    message = TextAreaField(_l("Reply to the citizen"), validators=[DataRequired(), Length(max=TEXT_MAX)])


class NoteForm(Form):
    note = TextAreaField(_l("Internal note"), validators=[DataRequired(), Length(max=TEXT_MAX)])


class AssignForm(Form):
    officer = SelectField(_l("Assign to"), choices=[], validators=[Optional()])


class ReferForm(Form):
    agency = SelectField(_l("Agency"), choices=_choices(AGENCY_LABELS), validators=[InputRequired()])
    reference = StringField(_l("Their reference number"), validators=[Optional(), Length(max=100)])
    referred_on = StringField(
        _l("Date of referral (YYYY-MM-DD)"),
        validators=[DataRequired()],
        render_kw={"type": "date"},
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=TEXT_MAX)])
    public = BooleanField(_l("Show this note to the citizen on the tracking page"))

    def validate_referred_on(self, field: StringField) -> None:
        try:
            day = dates.parse_local_date(field.data or "")
        except ValueError as exc:
            raise ValidationError(_l("Enter a date as YYYY-MM-DD.")) from exc
        if day > dates.local_date(dates.now()):
            raise ValidationError(_l("The date cannot be in the future."))


class PublishForm(Form):
    question = TextAreaField(_l("Public question"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    answer = TextAreaField(_l("Public answer"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    confirm = BooleanField(
        _l("I have removed the asker's name, contact details and anything else that identifies them."),
        validators=[DataRequired(message=_l("Confirm that the text identifies nobody."))],
    )


# --- offline intake ------------------------------------------------------------------------------

OFFLINE_SOURCES = [s.value for s in Source if s != Source.WEB]


class IntakeForm(Form):
    channel = SelectField(_l("Channel"), choices=[], validators=[InputRequired()])
    source = SelectField(
        _l("How it reached us"),
        choices=_choices(SOURCE_LABELS, OFFLINE_SOURCES),
        validators=[InputRequired()],
    )
    received_at = StringField(
        _l("Date received (YYYY-MM-DD)"), validators=[DataRequired()], render_kw={"type": "date"}
    )
    category = SelectField(
        _l("Category (corruption complaints)"),
        choices=[SelectChoice("", _l("Not specified")), *_choices(CATEGORY_LABELS)],
        validators=[Optional()],
    )
    details = TextAreaField(_l("What was reported"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    attachments = MultipleFileField(_l("Files (scans, photos)"))
    contact = TextAreaField(_l("Contact details (optional)"), validators=[Optional(), Length(max=1000)])

    def validate_received_at(self, field: StringField) -> None:
        try:
            day = dates.parse_local_date(field.data or "")
        except ValueError as exc:
            raise ValidationError(_l("Enter a date as YYYY-MM-DD.")) from exc
        today = dates.local_date(dates.now())
        if day > today:
            raise ValidationError(_l("The date cannot be in the future."))
        if day < today - timedelta(days=OLDEST_OFFLINE_DAYS):
            raise ValidationError(_l("The date is more than a year ago: check it."))

    def received_day(self) -> date:
        return dates.parse_local_date(self.received_at.data or "")

    def validate_category(self, field: SelectField) -> None:
        if field.data and self.channel.data != "corruption":
            raise ValidationError(_l("A category applies to corruption complaints only."))


# --- administration ------------------------------------------------------------------------------


class NewOfficerForm(Form):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=2, max=64),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]*$", message=_l("Lower-case letters, digits, dot, dash, underscore.")
            ),
        ],
        render_kw={"autocapitalize": "none", "autocomplete": "off"},
    )
    role = SelectField(_l("Role"), choices=_choices(ROLE_LABELS), validators=[InputRequired()])
    channels = MultiCheckboxField(_l("Channels"), choices=_choices(CHANNEL_LABELS))

    def validate_channels(self, field: MultiCheckboxField) -> None:
        if field.data and self.role.data == "executive":
            raise ValidationError(_l("An executive holds no channel."))


class ChannelForm(Form):
    channel = SelectField(_l("Channel"), choices=_choices(CHANNEL_LABELS), validators=[InputRequired()])


def days_field(label: Any) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(min=1, max=365)])


class SettingsForm(Form):
    municipality_name = StringField(
        _l("Name of the municipality"), validators=[DataRequired(), Length(max=200)]
    )
    ack_days_corruption = days_field(_l("Corruption: days to acknowledge"))
    answer_days_corruption = days_field(_l("Corruption: days to answer"))
    ack_days_feedback = days_field(_l("Feedback: days to acknowledge"))
    answer_days_feedback = days_field(_l("Feedback: days to answer"))
    ack_days_question = days_field(_l("Questions: days to acknowledge"))
    answer_days_question = days_field(_l("Questions: days to answer"))
    attachment_max_file_mb = IntegerField(
        _l("Largest file (MB)"), validators=[InputRequired(), NumberRange(min=1, max=100)]
    )
    attachment_max_total_mb = IntegerField(
        _l("Largest total per submission (MB)"), validators=[InputRequired(), NumberRange(min=1, max=500)]
    )
    retention_years = IntegerField(
        _l("Keep closed cases for (years)"), validators=[InputRequired(), NumberRange(min=1, max=50)]
    )

    def validate_attachment_max_total_mb(self, field: IntegerField) -> None:
        if field.data is None:
            return
        if self.attachment_max_file_mb.data and field.data < self.attachment_max_file_mb.data:
            raise ValidationError(_l("The total cannot be smaller than one file."))
        # The web server refuses bodies over MAX_CONTENT_LENGTH (set at start-up from the configuration).
        ceiling = (int(current_app.config["MAX_CONTENT_LENGTH"]) - MB) // MB
        if field.data > ceiling:
            raise ValidationError(_l("At most %(n)d MB with the current server configuration.", n=ceiling))


class CrestForm(Form):
    crest = FileField(_l("Crest of the municipality"))


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=64)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=32)])
    target = StringField(_l("Target"), validators=[Optional(), Length(max=64)])
