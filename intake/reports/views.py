"""Public statistics (/stats): per fiscal year and channel, no login, no JavaScript, no content.

The officers' report page is served by the officer blueprint (intake/officer/report_views.py).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import db
from ..extensions import limiter
from . import public, tables
from .forms import StatsForm, year_choices
from .periods import PERIODS

bp = Blueprint("reports", __name__)


@bp.get("/stats")
@limiter.limit("60 per minute")
def public_stats() -> tuple[str, int]:
    """Public statistics per fiscal year and channel (no login, no JavaScript, no content)."""
    session = db.session()
    years = public.selectable_years(session)
    form = StatsForm(request.args or None, data={"fiscal_year": str(years[0])})
    form.fiscal_year.choices = year_choices(years)
    if request.args and not form.validate():
        return render_template("reports/stats.html", form=form, stats=None), 400
    stats = public.stats(session, int(form.fiscal_year.data or years[0]))
    return render_template(
        "reports/stats.html", form=form, stats=stats, month_label=tables.month_label, periods=PERIODS
    ), 200
