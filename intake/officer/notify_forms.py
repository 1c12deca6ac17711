"""Forms of the notification pages: an officer's address and mode, the test mail, escalation settings."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import Form
from ..mailer import AddressInvalid, normalise_address


def _mail_address(_form: Any, field: StringField) -> None:
    if not field.data or not field.data.strip():
        field.data = ""
        return
    try:
        field.data = normalise_address(field.data)
    except AddressInvalid as exc:
        raise ValidationError(
            _l(
                "This is not an e-mail address we can send to. Write it like name@example.go.th (letters of "
                "the English alphabet before the @)."
            )
        ) from exc


EMAIL_ATTRS = {
    "type": "email",
    "autocomplete": "email",
    "inputmode": "email",
    "autocapitalize": "none",
    "spellcheck": "false",
}


class NotifyForm(Form):
    """An officer's address for notices and how they want them (own profile page, administrator's page)."""

    email = StringField(
        _l("E-mail address for notices"),
        validators=[Optional(), Length(max=254), _mail_address],
        render_kw=EMAIL_ATTRS,
    )
    mode = RadioField(
        _l("How to send them"),
        choices=[
            SelectChoice("immediate", _l("A mail as soon as something needs attention")),
            SelectChoice("digest", _l("One summary mail a day")),
        ],
        default="immediate",
        validators=[InputRequired()],
    )


class TestMailForm(Form):
    address = StringField(
        _l("Send a test mail to"),
        validators=[DataRequired(), Length(max=254), _mail_address],
        render_kw=EMAIL_ATTRS,
    )


def _optional_address(label: Any) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=254), _mail_address], render_kw=EMAIL_ATTRS)


class EscalationForm(Form):
    escalation_days = IntegerField(
        _l("Tell the escalation address of cases overdue by more than (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=365)],
    )
    escalation_email_corruption = _optional_address(_l("Escalation address: corruption complaints"))
    escalation_email_feedback = _optional_address(_l("Escalation address: feedback and suggestions"))
    escalation_email_question = _optional_address(_l("Escalation address: questions"))
    digest_hour = IntegerField(
        _l("Daily summaries are sent at (hour, Bangkok time, 0–23)"),
        validators=[InputRequired(), NumberRange(min=0, max=23)],
    )
