"""Citizen forms: the three channels, tracking and follow-ups, with every message in the page's language."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from ..forms import Form
from ..i18n import CATEGORY_LABELS
from ..models import Category

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


def must_be_empty(form: Form, field: Any) -> None:
    """The honeypot: people never see it; a robot that fills it in gets an error and nothing is stored."""
    if field.data:
        raise ValidationError(
            gettext("This form could not be sent. Leave the field marked “leave this empty” empty.")
        )


class CitizenForm(Form):
    """What every citizen form has: a honeypot and the optional, encrypted contact details."""

    website = StringField(_l("Leave this empty"), validators=[must_be_empty])
    contact = TextAreaField(
        _l("Contact details (optional)"),
        validators=[Optional(), MaxChars(CONTACT_MAX)],
    )

    def text_body(self) -> dict[str, Any]:
        """The case body's fields from this form (the domain encrypts them)."""
        return {"details": self.details.data}


class WithFiles:
    """Forms that take evidence files (checked in `submission`, not here: they are not kept on error).

    Files get neutral names ("ไฟล์แนบ-1.pdf") unless `keep_filename` is ticked: a name such as
    "budget-somchai-final.docx" can say who made the file.
    """

    attachments = MultipleFileField(_l("Files (optional)"))
    keep_filename = BooleanField(_l("Keep the names of my files"), default=False)


class CorruptionForm(WithFiles, CitizenForm):
    details = TextAreaField(
        _l("What happened?"),
        validators=[DataRequired(message=_l("Please describe what happened.")), MaxChars("TEXT_MAX_CHARS")],
    )
    category = SelectField(
        _l("What kind of wrongdoing is it?"),
        choices=[SelectChoice("", _l("Not sure"))]
        + [SelectChoice(c.value, CATEGORY_LABELS[c.value]) for c in Category],
        default="",
        invalid_choice_message=_l("Choose a kind from the list."),
    )
    when_where = TextAreaField(
        _l("When and where did it happen? (optional)"),
        validators=[Optional(), MaxChars(MEDIUM_MAX)],
    )
    involved = TextAreaField(
        _l("Who was involved? (optional)"),
        validators=[Optional(), MaxChars(MEDIUM_MAX)],
    )

    def text_body(self) -> dict[str, Any]:
        return {
            "details": self.details.data,
            "category": self.category.data or None,
            "when_where": self.when_where.data or "",
            "involved": self.involved.data or "",
        }


RATING_CHOICES = [
    SelectChoice("", _l("No rating")),
    SelectChoice("1", _l("1 – very poor")),
    SelectChoice("2", _l("2 – poor")),
    SelectChoice("3", _l("3 – fair")),
    SelectChoice("4", _l("4 – good")),
    SelectChoice("5", _l("5 – very good")),
]


class FeedbackForm(WithFiles, CitizenForm):
    service = StringField(
        _l("Which service or work of the municipality is it about? (optional)"),
        validators=[Optional(), MaxChars(SHORT_MAX)],
    )
    rating = RadioField(
        _l("Your rating (optional)"),
        choices=RATING_CHOICES,
        default="",
        invalid_choice_message=_l("Choose a rating from 1 to 5, or no rating."),
    )
    details = TextAreaField(
        _l("Your comment"),
        validators=[DataRequired(message=_l("Please write your comment.")), MaxChars("TEXT_MAX_CHARS")],
    )

    def text_body(self) -> dict[str, Any]:
        return {
            "details": self.details.data,
            "service": self.service.data or "",
            "rating": int(self.rating.data) if self.rating.data else None,
        }


class QuestionForm(CitizenForm):
    details = TextAreaField(
        _l("Your question"),
        validators=[DataRequired(message=_l("Please write your question.")), MaxChars("TEXT_MAX_CHARS")],
    )
    publish_ok = BooleanField(
        _l("The municipality may publish my question and its answer, without any of my details.")
    )

    def text_body(self) -> dict[str, Any]:
        return {"details": self.details.data, "publish_ok": bool(self.publish_ok.data)}


class TrackForm(Form):
    # No length limit here: a wrong and a malformed code must get the very same answer.
    token = StringField(
        _l("Your case code"),
        validators=[DataRequired(message=_l("Please enter your case code."))],
    )


class FollowupForm(WithFiles, Form):
    token = HiddenField()
    website = StringField(_l("Leave this empty"), validators=[must_be_empty])
    message = TextAreaField(
        _l("Add a message to your case"),
        validators=[DataRequired(message=_l("Please write your message.")), MaxChars("TEXT_MAX_CHARS")],
    )
