"""Citizen forms: the three channels, tracking and follow-ups, with every message in the page's language."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, StopValidation, ValidationError

from .. import bodies
from ..forms import Form
from ..i18n import CATEGORY_LABELS, CONTACT_LABEL, FILES_LABEL, RATING_LABELS
from ..models import Category, Channel
from ..web_receipts import OneTime

CORRUPTION, FEEDBACK, QUESTION = (bodies.LABELS[c.value] for c in Channel)

SATISFACTION_LABELS = {
    "1": _l("1 – very dissatisfied"),
    "2": _l("2 – dissatisfied"),
    "3": _l("3 – neither"),
    "4": _l("4 – satisfied"),
    "5": _l("5 – very satisfied"),
}

CONTACT_MAX = 500
SHORT_MAX = 300
MEDIUM_MAX = 2000


class MaxChars:
    """At most `limit` characters; `limit` is a number or the name of a config setting."""

    def __init__(self, limit: int | str) -> None:
        self.limit = limit

    def max_for(self) -> int:
        return int(current_app.config[self.limit]) if isinstance(self.limit, str) else self.limit

    def __call__(self, form: Form, field: Any) -> None:
        limit = self.max_for()
        if field.data and len(field.data) > limit:
            raise ValidationError(
                gettext(
                    "This is too long: at most %(max)d characters (you wrote %(count)d).",
                    max=limit,
                    count=len(field.data),
                )
            )


class Required(DataRequired):
    """DataRequired with our own message (WTForms has no Thai catalogue)."""

    def __call__(self, form: Form, field: Any) -> None:
        if not field.data or (isinstance(field.data, str) and not field.data.strip()):
            field.errors[:] = []
            raise StopValidation(str(self.message))


def must_be_empty(form: Form, field: Any) -> None:
    """The honeypot: people never see it; a robot that fills it in gets an error and nothing is stored."""
    if field.data:
        raise ValidationError(
            gettext("This form could not be sent. Leave the field marked “leave this empty” empty.")
        )


def text_max_attr() -> int:
    return int(current_app.config["TEXT_MAX_CHARS"])


class CitizenForm(OneTime, Form):
    """What every citizen form has: its one-time value, a honeypot and the optional contact details."""

    website = StringField(_l("Leave this empty"), validators=[must_be_empty])
    contact = TextAreaField(
        CONTACT_LABEL,
        validators=[Optional(), MaxChars(CONTACT_MAX)],
    )

    def text_body(self) -> bodies.Body:
        """The typed case body from this form (the domain encrypts it)."""
        raise NotImplementedError


class WithFiles:
    """Forms that take evidence files (checked in `submission`, not here: they are not kept on error).

    Files get neutral names ("ไฟล์แนบ-1.pdf") unless `keep_filename` is ticked: a name such as
    "budget-somchai-final.docx" can say who made the file.
    """

    attachments = MultipleFileField(FILES_LABEL)
    keep_filename = BooleanField(_l("Keep the names of my files"), default=False)


class CorruptionForm(WithFiles, CitizenForm):
    details = TextAreaField(
        CORRUPTION["details"],
        validators=[Required(message=_l("Please describe what happened.")), MaxChars("TEXT_MAX_CHARS")],
    )
    category = SelectField(
        CORRUPTION["category"],
        choices=[SelectChoice("", bodies.NOT_SURE)]
        + [SelectChoice(c.value, CATEGORY_LABELS[c.value]) for c in Category],
        default="",
        invalid_choice_message=_l("Choose a kind from the list."),
    )
    when_where = TextAreaField(
        CORRUPTION["when_where"],
        validators=[Optional(), MaxChars(MEDIUM_MAX)],
    )
    involved = TextAreaField(
        CORRUPTION["involved"],
        validators=[Optional(), MaxChars(MEDIUM_MAX)],
    )

    def text_body(self) -> bodies.CorruptionBody:
        return bodies.CorruptionBody(
            details=self.details.data or "",
            category=self.category.data or None,
            when_where=self.when_where.data or "",
            involved=self.involved.data or "",
        )


RATING_CHOICES = [
    SelectChoice("", bodies.NO_RATING),
    *(SelectChoice(value, text) for value, text in RATING_LABELS.items()),
]


class FeedbackForm(WithFiles, CitizenForm):
    service = StringField(
        FEEDBACK["service"],
        validators=[Optional(), MaxChars(SHORT_MAX)],
    )
    rating = RadioField(
        FEEDBACK["rating"],
        choices=RATING_CHOICES,
        default="",
        invalid_choice_message=_l("Choose a rating from 1 to 5, or no rating."),
    )
    details = TextAreaField(
        FEEDBACK["details"],
        validators=[Required(message=_l("Please write your comment.")), MaxChars("TEXT_MAX_CHARS")],
    )

    def text_body(self) -> bodies.FeedbackBody:
        return bodies.FeedbackBody(
            details=self.details.data or "",
            service=self.service.data or "",
            rating=int(self.rating.data) if self.rating.data else None,
        )


class QuestionForm(CitizenForm):
    details = TextAreaField(
        QUESTION["details"],
        validators=[Required(message=_l("Please write your question.")), MaxChars("TEXT_MAX_CHARS")],
    )
    publish_ok = BooleanField(QUESTION["publish_ok"])

    def text_body(self) -> bodies.QuestionBody:
        return bodies.QuestionBody(details=self.details.data or "", publish_ok=bool(self.publish_ok.data))


class TrackForm(Form):
    # No length limit here: a wrong and a malformed code must get the very same answer.
    token = StringField(
        _l("Your case code"),
        validators=[Required(message=_l("Please enter your case code."))],
    )


class FollowupForm(WithFiles, OneTime, Form):
    token = HiddenField()
    website = StringField(_l("Leave this empty"), validators=[must_be_empty])
    message = TextAreaField(
        _l("Add a message to your case"),
        validators=[Required(message=_l("Please write your message.")), MaxChars("TEXT_MAX_CHARS")],
    )


class SatisfactionForm(Form):
    token = HiddenField()
    rating = RadioField(
        _l("How satisfied are you with how the municipality handled your case?"),
        choices=[SelectChoice(value, text) for value, text in SATISFACTION_LABELS.items()],
        validators=[Required(message=_l("Choose from 1 to 5."))],
        invalid_choice_message=_l("Choose from 1 to 5."),
    )
    comment = TextAreaField(
        _l("Anything you would like to add? (optional)"),
        validators=[Optional(), MaxChars(MEDIUM_MAX)],
    )


class ReceiptContinueForm(Form):
    """The receipt's way on to tracking: the citizen confirms the code is written down first."""

    class Meta:
        csrf = False  # a GET that changes nothing

    written = BooleanField(_l("I have written down or printed my code"))
