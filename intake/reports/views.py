"""Reports: the officers' report page and downloads (/officer/reports), and public statistics (/stats)."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, request, send_file
from werkzeug.wrappers import Response

from .. import dates, db, settings
from ..extensions import limiter
from ..models import Role
from ..officer.auth import current_officer, login_required
from . import exports, figures, public, public_files, tables
from .forms import ReportForm, StatsForm, year_choices
from .periods import current_fiscal_year, period

bp = Blueprint("reports", __name__)

REPORT_ROLES = (Role.ADMIN, Role.OFFICER, Role.EXECUTIVE)
YEARS_BACK = 5


def _current_period_code() -> str:
    today = current_fiscal_year()
    for code in ("q1", "q2", "q3", "q4"):
        p = period(today, code)
        if p.start <= dates.now() < p.end:
            return code
    return "year"


@bp.get("/officer/reports")
@login_required(*REPORT_ROLES)
def report_page() -> Response | tuple[str, int]:
    """The report for a fiscal year and period; `format=csv|xlsx|pdf` downloads it instead."""
    session = db.session()
    now_year = current_fiscal_year()
    defaults = {"fiscal_year": str(now_year), "period": _current_period_code()}
    form = ReportForm(request.args or None, data=defaults)
    fmt = request.args.get("format", "")
    earliest = figures.earliest_fiscal_year(session) or now_year
    years = list(range(now_year, min(earliest, now_year - YEARS_BACK) - 1, -1))
    valid = form.validate()
    form.fiscal_year.choices = year_choices(years, int(form.fiscal_year.data) if valid else None)
    format_error = fmt not in ("", *exports.FORMATS)
    if not valid or format_error:
        return render_template("reports/report.html", form=form, doc=None, format_error=format_error), 400
    p = period(int(form.fiscal_year.data), form.period.data or "q1")
    if fmt:
        try:
            made = exports.export(
                session, current_officer().username, p, fmt, thai_digits=bool(form.thai_digits.data)
            )
        except exports.FontMissing as exc:
            session.rollback()
            current_app.logger.error("report export failed: %s", exc)
            return render_template("reports/report.html", form=form, doc=None, font_missing=True), 503
        session.commit()
        return send_file(
            io.BytesIO(made.data), mimetype=made.mimetype, as_attachment=True, download_name=made.filename
        )
    report = figures.compute(session, p)
    doc = tables.document(report, settings.get(session, "municipality_name"))
    return render_template(
        "reports/report.html", form=form, doc=doc, report=report, cell_text=tables.text_of
    ), 200


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
