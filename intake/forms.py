"""What every form shares: WTForms' own messages in the page's language, and one rule of text hygiene.

- Messages. WTForms ships no Thai catalogue, so each form's Meta answers WTForms' translation calls
  ("This field is required." ...) from our merged Flask-Babel catalogues; WTFORMS_MESSAGES lists those
  strings so that the catalogue carries them. A validator with a message of its own gives it through
  `lazy_gettext` as usual.
- Text hygiene. Every text field but passwords passes through `clean_text` before validation: line endings
  made plain, control characters (NUL included) and lone surrogates removed, outer spaces trimmed. So no
  form stores an invisible character, and PostgreSQL (whose text cannot hold NUL) never sees one.
  Passwords are left exactly as typed: they are only ever hashed.

`Form` is for pages that POST (CSRF on); `QueryForm` for GET forms that change nothing (no CSRF).
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _n
from flask_wtf import FlaskForm
from wtforms import Form as WTForm
from wtforms import PasswordField, StringField
from wtforms.fields.core import Field, UnboundField

# C0 controls except tab and newline, DEL, C1 controls, and lone surrogates: never stored.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# WTForms' built-in messages, listed so that the catalogue carries their translations.
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid choice."),
    _l("Not a valid integer value."),
    _l("Invalid input."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Field must be equal to %(other_name)s."),
    _n(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        2,
    ),
    _n(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        2,
    ),
    _n(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        2,
    ),
)


def clean_text(value: Any) -> Any:
    """Line endings made plain, control characters (NUL included) removed, outer spaces trimmed."""
    if not isinstance(value, str):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).strip()


class CatalogueTranslations:
    """WTForms' translations interface over Flask-Babel's catalogues (no formatting: WTForms does that)."""

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ungettext(singular, plural, n))


class SharedMeta:
    """The Meta every form of the app mixes in: catalogue translations, `clean_text` on text fields."""

    def get_translations(self, form: Any) -> CatalogueTranslations:
        return CatalogueTranslations()

    def bind_field(self, form: Any, unbound_field: UnboundField, options: dict[str, Any]) -> Field:
        kind = unbound_field.field_class
        if issubclass(kind, StringField) and not issubclass(kind, PasswordField):
            filters = tuple(unbound_field.kwargs.get("filters", ()))
            options = {**options, "filters": (clean_text, *filters)}
        return unbound_field.bind(form=form, **options)


class Form(FlaskForm):
    """A form that is POSTed (CSRF token checked)."""

    class Meta(SharedMeta):
        pass


class QueryForm(WTForm):
    """A GET form that changes nothing (report selectors): no CSRF token."""

    class Meta(SharedMeta):
        pass

