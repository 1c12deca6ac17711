"""Report selectors: GET forms (no CSRF: they change nothing), so pages work without JavaScript."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..forms import QueryForm
from .periods import PERIOD_CODES, PeriodInvalid, current_fiscal_year, parse_fiscal_year
from .public import DEFAULT_VIEW, VIEW_NAMES
from .tables import PERIOD_NAMES


def fiscal_year_valid(_form: Form, field: Any) -> None:
    try:
        field.data = str(parse_fiscal_year(field.data))
    except PeriodInvalid as exc:
        raise ValidationError(_l("Choose a fiscal year (Buddhist Era, e.g. 2569).")) from exc


def year_choices(years: list[int], chosen: int | None = None) -> list[SelectChoice]:
    shown = sorted({*years, *([chosen] if chosen else [])}, reverse=True)
    return [SelectChoice(str(y), str(y)) for y in shown]


class ReportForm(QueryForm):
    fiscal_year = SelectField(
        _l("Fiscal year"), coerce=str, validate_choice=False, validators=[fiscal_year_valid]
    )
    period = SelectField(
        _l("Period"), choices=[SelectChoice(code, PERIOD_NAMES[code]) for code in PERIOD_CODES], default="q1"
    )
    thai_digits = BooleanField(_l("Thai digits in the PDF"))


def _not_after_this_year(_form: QueryForm, field: Any) -> None:
    if str(field.data).isdecimal() and int(field.data) > current_fiscal_year():
        raise ValidationError(_l("Choose a fiscal year up to this one."))


class StatsForm(QueryForm):
    """Any fiscal year up to the current one (an ITA link may name a year before the first case)."""

    fiscal_year = SelectField(
        _l("Fiscal year"),
        coerce=str,
        validate_choice=False,
        validators=[fiscal_year_valid, _not_after_this_year],
    )
    view = SelectField(
        _l("Show"),
        choices=[SelectChoice(code, name) for code, name in VIEW_NAMES.items()],
        default=DEFAULT_VIEW,
    )
