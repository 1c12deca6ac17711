"""Public statistics (/stats): per fiscal year and channel, no login, no JavaScript, no content.

The officers' report page is served by the officer blueprint (intake/officer/report_views.py).
"""

from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, request, send_file
from werkzeug.wrappers import Response

from .. import db, settings
from ..extensions import limiter
from . import exports, public, public_files
from .forms import StatsForm, year_choices

bp = Blueprint("reports", __name__)


def _stats_request() -> tuple[StatsForm, public.PublicStats | None]:
    """The fiscal year and view asked for (the current year by quarter by default); None when invalid."""
    session = db.session()
    years = public.selectable_years(session)
    form = StatsForm(request.args or None, data={"fiscal_year": str(years[0]), "view": public.DEFAULT_VIEW})
    valid = not request.args or form.validate()
    form.fiscal_year.choices = year_choices(years, int(form.fiscal_year.data) if valid else None)
    if not valid:
        return form, None
    year = int(form.fiscal_year.data or years[0])
    return form, public.stats(session, year, form.view.data or public.DEFAULT_VIEW)


@bp.get("/stats")
@limiter.limit("60 per minute")
def public_stats() -> tuple[str, int]:
    """Public statistics per fiscal year, by quarter or half year, per channel (no login, no JavaScript,
    no content); the PDF and XLSX hold the same tables."""
    form, stats = _stats_request()
    if stats is None:
        return render_template("reports/stats.html", form=form, stats=None, shown=None, code=400), 400
    shown = public.published(stats, settings.get(db.session(), "municipality_name"))
    return render_template(
        "reports/stats.html",
        form=form,
        stats=stats,
        shown=shown,
        cell_text=public_files.cell_text,
        is_hidden=public_files.is_hidden,
    ), 200


def _stats_file(fmt: str) -> Response | tuple[str, int]:
    form, stats = _stats_request()
    if stats is None:
        return render_template("reports/stats.html", form=form, stats=None, shown=None, code=400), 400
    session = db.session()
    try:
        made = public_files.render(session, stats, fmt, exports.day_of(stats.as_of))
    except public_files.FontMissing as exc:
        current_app.logger.error("public statistics PDF failed: %s", exc)
        return render_template("errors/503.html", code=503), 503
    return send_file(
        io.BytesIO(made.data), mimetype=made.mimetype, as_attachment=fmt != "pdf", download_name=made.filename
    )


@bp.get("/stats.pdf")
@limiter.limit("10 per minute")
def public_stats_pdf() -> Response | tuple[str, int]:
    return _stats_file("pdf")


@bp.get("/stats.xlsx")
@limiter.limit("10 per minute")
def public_stats_xlsx() -> Response | tuple[str, int]:
    return _stats_file("xlsx")
