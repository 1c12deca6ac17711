"""The officers' report page (/officer/reports): a fiscal year's figures, and the CSV, XLSX and PDF files."""

from __future__ import annotations

import io

from flask import current_app, render_template, request, send_file
from werkzeug.wrappers import Response

from .. import audit, dates, db, settings
from ..models import Role
from ..reports import exports, figures, tables
from ..reports.forms import ReportForm, year_choices
from ..reports.periods import current_fiscal_year, period
from ..sessions import current_officer, login_required
from .views import bp

REPORT_ROLES = (Role.ADMIN, Role.OFFICER, Role.EXECUTIVE)
YEARS_BACK = 5


def _current_period_code() -> str:
    today = current_fiscal_year()
    for code in ("q1", "q2", "q3", "q4"):
        p = period(today, code)
        if p.start <= dates.now() < p.end:
            return code
    return "year"


@bp.get("/reports", endpoint="reports")
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
    audit.record(session, current_officer().username, "report.view", p.slug)  # files: report.export
    session.commit()
    return render_template(
        "reports/report.html", form=form, doc=doc, report=report, cell_text=tables.text_of
    ), 200
