"""Officer forms: sign-in, second factor, password, case actions, offline intake, administration."""

from __future__ import annotations

from datetime import date
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

from .. import dates, passphrases
from ..forms import Form
from ..i18n import AGENCY_LABELS, CATEGORY_LABELS, CHANNEL_LABELS, ROLE_LABELS, SOURCE_LABELS, STATUS_LABELS
from ..i18n import lang as current_lang
from ..models import Source, Status
from ..web_receipts import OneTime

TEXT_MAX = 20_000
PASSWORD_MIN = 10
MB = 1024 * 1024


def not_guessable(_form: Any, field: Any) -> None:
    """A new password that is not among an attacker's first guesses (intake/passphrases.py)."""
    if field.data and passphrases.guessable(str(field.data)):
        raise ValidationError(_l(
            "This password is too easy to guess (a common password, a run of digits or a keyboard row). "
            "Use a few words, or more characters."
        ))


def _choices(labels: dict[str, Any], values: list[str] | None = None) -> list[SelectChoice]:
    return [SelectChoice(k, v) for k, v in labels.items() if values is None or k in values]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


EXAMPLE_DATE = dates.EXAMPLE_DATE


class ThaiDateField(StringField):
    """A date typed as YYYY-MM-DD (or D/M/YYYY) with a Buddhist Era year (2400 or above) or a Christian
    one; `day` is the date read, `era` which year it was ("be" or "ce"), shown back in the field's hint."""

    def __init__(self, label: Any, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [DataRequired()])
        render_kw = kwargs.setdefault("render_kw", {})
        render_kw.setdefault("inputmode", "numeric")
        render_kw.setdefault("autocomplete", "off")
        render_kw.setdefault("placeholder", EXAMPLE_DATE)
        super().__init__(label, **kwargs)
        self.day: date | None = None
        self.era: str | None = None

    def pre_validate(self, form: Any) -> None:
        self.day, self.era = None, None
        text = (self.data or "").strip()
        if not text:
            return
        try:
            typed = dates.parse_typed_date(text)
        except ValueError as exc:
            raise ValidationError(
                _l("Write the date as YYYY-MM-DD, for example %(example)s.", example=EXAMPLE_DATE)
            ) from exc
        self.day, self.era = typed.day, typed.era

    def read_back(self) -> str:
        """What was read, in words: "15 มีนาคม 2569 (read as a Buddhist Era year)"."""
        if self.day is None:
            return ""
        shown = dates.format_date(self.day, current_lang())
        if self.era == "be":
            return str(_l("Read as %(date)s (the year was taken as Buddhist Era).", date=shown))
        return str(_l("Read as %(date)s (the year was taken as Christian Era).", date=shown))


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
            not_guessable,
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
        id="status-status",
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=TEXT_MAX)], id="status-note")
    public = BooleanField(_l("Show this note to the citizen on the tracking page"), id="status-public")


class ReplyForm(Form):
    message = TextAreaField(
        _l("Reply to the citizen"), validators=[DataRequired(), Length(max=TEXT_MAX)], id="reply-message"
    )


class NoteForm(Form):
    note = TextAreaField(
        _l("Internal note"), validators=[DataRequired(), Length(max=TEXT_MAX)], id="internal-note"
    )


class AssignForm(Form):
    officer = SelectField(_l("Assign to"), choices=[], validators=[Optional()], id="assign-officer")


class DuplicateForm(Form):
    duplicate_of = StringField(
        _l("Number of the case it repeats"),
        validators=[DataRequired()],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
        id="duplicate-of",
    )

    def validate_duplicate_of(self, field: StringField) -> None:
        text = (field.data or "").strip().lstrip("#").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValidationError(_l("Write the case number, for example 125."))

    def case_id(self) -> int:
        return int((self.duplicate_of.data or "").strip().lstrip("#").strip())


class ReferForm(Form):
    agency = SelectField(
        _l("Agency"), choices=_choices(AGENCY_LABELS), validators=[InputRequired()], id="refer-agency"
    )
    reference = StringField(
        _l("Their reference number"), validators=[Optional(), Length(max=100)], id="refer-reference"
    )
    referred_on = ThaiDateField(_l("Date of referral"), id="refer-referred-on")
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=TEXT_MAX)], id="refer-note")
    public = BooleanField(_l("Show this note to the citizen on the tracking page"), id="refer-public")

    def validate_referred_on(self, field: ThaiDateField) -> None:
        if field.day is not None and field.day > dates.local_date(dates.now()):
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


class IntakeForm(OneTime, Form):
    channel = SelectField(_l("Channel"), choices=[], validators=[InputRequired()])
    source = SelectField(
        _l("How it reached us"),
        choices=_choices(SOURCE_LABELS, OFFLINE_SOURCES),
        validators=[InputRequired()],
    )
    received_at = ThaiDateField(_l("Date received"))
    confirm_old_date = BooleanField(_l("Yes, the date is right: the case is that old"))
    category = SelectField(
        _l("Category (corruption complaints)"),
        choices=[SelectChoice("", _l("Not specified")), *_choices(CATEGORY_LABELS)],
        validators=[Optional()],
    )
    details = TextAreaField(_l("What was reported"), validators=[DataRequired(), Length(max=TEXT_MAX)])
    attachments = MultipleFileField(_l("Files (scans, photos)"))
    contact = TextAreaField(_l("Contact details (optional)"), validators=[Optional(), Length(max=1000)])

    def old_date_limit(self) -> date:
        """The first day of the previous fiscal year: an earlier date asks for confirmation."""
        start, _end = dates.fiscal_year_bounds(dates.fiscal_year_of(dates.now()) - 1)
        return dates.local_date(start)

    def needs_confirmation(self) -> bool:
        day = self.received_at.day
        return day is not None and day < self.old_date_limit()

    def validate_received_at(self, field: ThaiDateField) -> None:
        if field.day is None:
            return
        if field.day > dates.local_date(dates.now()):
            raise ValidationError(_l("The date cannot be in the future."))
        if self.needs_confirmation() and not self.confirm_old_date.data:
            raise ValidationError(
                _l(
                    "This date is before %(start)s, the start of the previous fiscal year. If it is "
                    "right (a case from an old register, say), tick the box below to confirm it.",
                    start=dates.format_date(self.old_date_limit(), current_lang()),
                )
            )

    def received_day(self) -> date:
        day = self.received_at.day
        assert day is not None  # noqa: S101 - validated
        return day

    def validate_category(self, field: SelectField) -> None:
        if field.data and self.channel.data != "corruption":
            raise ValidationError(_l("A category applies to corruption complaints only."))


class ImportForm(Form):
    register = FileField(_l("Register file (XLSX or CSV)"))


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
    # Least privileged first, and the default: an executive reads reports only, never case content.
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ("executive", "officer", "admin")],
        default="executive",
        validators=[InputRequired()],
    )
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
    contact_address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=500)])
    contact_phone = StringField(_l("Telephone"), validators=[Optional(), Length(max=100)])
    contact_email = StringField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    contact_hours = TextAreaField(_l("Office hours"), validators=[Optional(), Length(max=300)])
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
