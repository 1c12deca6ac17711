"""/national: the national figures, published when the host chooses to (INTAKE_PUBLISH_NATIONAL).

What is published: for each fiscal year that has ended, the counts of every tenant, province and the
country per channel (intake/reports/national.py: each tenant's own report definitions, the small-count
rule at every level), as a page, XLSX and CSV. Only whole ended fiscal years: years do not overlap, so no
hidden cell can be worked out by subtracting one published period from another (quarters and half years
would allow it; the host sees those with `tenant figures`). A computed year is kept for an hour per
process: the page reads every tenant, and a late-recorded case may still change an ended year.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.wrappers import Response

from .. import dates, db
from ..extensions import limiter
from . import national
from .periods import MIN_FISCAL_YEAR, PeriodInvalid, current_fiscal_year, parse_fiscal_year, period

bp = Blueprint("national", __name__)

KEEP_SECONDS = 3600
YEARS_LISTED = 10
_lock = threading.Lock()


def published_years() -> list[int]:
    """The ended fiscal years offered, newest first."""
    last = current_fiscal_year(dates.now()) - 1
    return list(range(last, max(MIN_FISCAL_YEAR, last - YEARS_LISTED + 1) - 1, -1))


def figures_of(fiscal_year: int) -> national.National:
    """The year's national figures, computed at most once an hour per app."""
    kept_by_year: dict[int, tuple[float, national.National]] = current_app.extensions.setdefault(
        "intake.national", {}
    )
    with _lock:
        kept = kept_by_year.get(fiscal_year)
        if kept is not None and time.monotonic() - kept[0] < KEEP_SECONDS:
            return kept[1]
        made = national.compute(db.session(), period(fiscal_year, "year"))
        kept_by_year[fiscal_year] = (time.monotonic(), made)
        return made


@dataclass
class Province:
    name: str
    totals: list[national.Row] = field(default_factory=list)
    tenants: list[national.Row] = field(default_factory=list)


@dataclass
class Shown:
    """The flat rows of national.compute grouped for the page: the country, then each province."""

    country: list[national.Row]
    provinces: list[Province]


def grouped(made: national.National) -> Shown:
    provinces: dict[str, Province] = {}
    country: list[national.Row] = []
    for row in made.rows:
        if row.level == "country":
            country.append(row)
            continue
        target = provinces.setdefault(row.province, Province(row.province))
        (target.totals if row.level == "province" else target.tenants).append(row)
    return Shown(country, list(provinces.values()))


def _asked_year() -> int | None:
    """The fiscal year asked for (the last ended one by default); None when it is not a published one."""
    years = published_years()
    raw = request.args.get("fiscal_year")
    if not raw:
        return years[0]
    try:
        year = parse_fiscal_year(raw)
    except PeriodInvalid:
        return None
    return year if year <= years[0] and year >= MIN_FISCAL_YEAR else None


def _guard() -> None:
    if not current_app.config.get("PUBLISH_NATIONAL"):
        abort(404)


@bp.get("/national")
@limiter.limit("30 per minute")
def page() -> tuple[str, int]:
    """The table of one ended fiscal year: the country, each province, each tenant."""
    _guard()
    year = _asked_year()
    if year is None:
        return render_template("reports/national.html", years=published_years(), year=None, table=None), 400
    made = figures_of(year)
    return render_template(
        "reports/national.html", years=published_years(), year=year, table=grouped(made),
        as_of=made.as_of, columns=national.COLUMNS,
    ), 200


def _file(fmt: str) -> Response | tuple[str, int]:
    _guard()
    year = _asked_year()
    if year is None:
        return render_template("reports/national.html", years=published_years(), year=None, table=None), 400
    made = national.render(figures_of(year), fmt)
    mimetype = {"csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    return Response(made, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="national-fy{year}.{fmt}"'})


@bp.get("/national.xlsx")
@limiter.limit("10 per minute")
def xlsx() -> Response | tuple[str, int]:
    return _file("xlsx")


@bp.get("/national.csv")
@limiter.limit("10 per minute")
def csv() -> Response | tuple[str, int]:
    return _file("csv")
