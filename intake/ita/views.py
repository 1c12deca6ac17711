"""The ITA evidence page (/ita): each assessment item of a fiscal year, its code, and the links to it."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from .. import dates, db
from ..extensions import limiter
from ..forms import QueryForm
from ..reports.forms import year_choices
from ..reports.periods import current_fiscal_year
from . import catalogue, evidence

bp = Blueprint("ita", __name__)


class ItaForm(QueryForm):
    fiscal_year = SelectField(_l("Fiscal year"), coerce=str)


@bp.get("/ita")
@limiter.limit("60 per minute")
def page() -> tuple[str, int]:
    session = db.session()
    current = current_fiscal_year()
    years = sorted({*catalogue.years(session), current}, reverse=True)
    form = ItaForm(request.args or None, data={"fiscal_year": str(current)})
    form.fiscal_year.choices = year_choices(years)
    if request.args and not form.validate():
        return render_template("ita/ita.html", form=form, year=None, code=400), 400
    fiscal_year = int(form.fiscal_year.data or current)
    year = catalogue.for_year(session, fiscal_year)
    now = dates.now()
    links = {item.key: evidence.for_item(item.key, fiscal_year, now) for item in year.items}
    return render_template("ita/ita.html", form=form, year=year, links=links), 200
