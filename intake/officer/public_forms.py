"""Administration forms for the public documents: the complaint-handling guideline and the ITA item codes."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..forms import Form
from ..guide.content import OFFLINE_SOURCES
from ..i18n import SOURCE_LABELS
from ..ita.catalogue import CODE_MAX, ITEM_KEYS, TITLE_MAX
from .forms import MultiCheckboxField

UNIT_MAX = 200
CONTACT_MAX = 2000
OWN_TEXT_MAX = 20_000


def _unit(label: Any) -> StringField:
    return StringField(label, validators=[DataRequired(), Length(max=UNIT_MAX)])


class GuideForm(Form):
    unit_corruption = _unit(_l("Unit responsible for corruption complaints"))
    unit_feedback = _unit(_l("Unit responsible for feedback"))
    unit_question = _unit(_l("Unit responsible for questions"))
    offline_sources = MultiCheckboxField(
        _l("Offline channels the municipality accepts"),
        choices=[SelectChoice(s, SOURCE_LABELS[s]) for s in OFFLINE_SOURCES],
        validate_choice=True,
    )
    offline_contact = TextAreaField(
        _l("How to reach the municipality offline"), validators=[Optional(), Length(max=CONTACT_MAX)]
    )
    own_text = TextAreaField(
        _l("Text of your own, added at the end of the guideline"),
        validators=[Optional(), Length(max=OWN_TEXT_MAX)],
    )


class ItaYearForm(Form):
    """The year whose codes are edited (a GET selector, no CSRF)."""

    class Meta:
        csrf = False

    fiscal_year = SelectField(_l("Fiscal year"), coerce=str)


def _item_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in ITEM_KEYS:
        fields[f"code_{key}"] = StringField(_l("Code"), validators=[DataRequired(), Length(max=CODE_MAX)])
        fields[f"title_{key}"] = StringField(
            _l("Title (Thai)"), validators=[DataRequired(), Length(max=TITLE_MAX)]
        )
        fields[f"title_en_{key}"] = StringField(
            _l("Title (English)"), validators=[Optional(), Length(max=TITLE_MAX)]
        )
    return fields


# One code and title per item the site serves: the items are fixed (their evidence is code), their codes
# are data.
ItaItemsForm = type("ItaItemsForm", (Form,), _item_fields())
