"""One export function for the web download and the command line: the same figures, the same bytes.

Files are always in Thai (ITA evidence and memos to the executives are Thai documents), whatever the
language of the page they were downloaded from. Each export writes an audit entry.

Formats: `pdf` (A4, for the executives' signatures), `xlsx` (one sheet per table, set up to print),
`csv` (every table one after the other, as the report reads) and `csv-long` (one tidy table for open
data: period, channel, source, figure, value; see as_csv.render_long).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session

from .. import audit, crest, dates, settings
from . import as_csv, as_pdf, as_xlsx, figures, tables
from .periods import Period

FORMATS = ("csv", "csv-long", "xlsx", "pdf")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "csv-long": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
SUFFIXES = {"csv": ".csv", "csv-long": "-long.csv", "xlsx": ".xlsx", "pdf": ".pdf"}
FontMissing = as_pdf.FontMissing


class FormatInvalid(ValueError):
    """Not one of the export formats."""


@dataclass(frozen=True)
class Export:
    filename: str
    mimetype: str
    data: bytes


def day_of(moment: datetime) -> datetime:
    """The Bangkok midnight starting the day of `moment`: files made on one day are identical."""
    return dates.bangkok_midnight(dates.local_date(moment))


def render(
    session: Session, p: Period, fmt: str, *, thai_digits: bool = False, as_of: datetime | None = None
) -> Export:
    """The report of period `p` as a file (see FORMATS); raises FormatInvalid or FontMissing."""
    if fmt not in FORMATS:
        raise FormatInvalid(f"format must be one of {', '.join(FORMATS)}")
    stamp = day_of(as_of or dates.now())
    report = figures.compute(session, p, stamp)
    with force_locale("th"):
        doc = tables.document(report, settings.get(session, "municipality_name"))
        writers: dict[str, Callable[[], bytes]] = {
            "csv": lambda: as_csv.render(doc, thai_digits=thai_digits),
            "csv-long": lambda: as_csv.render_long(report),
            "xlsx": lambda: as_xlsx.render(doc, created=stamp),
            "pdf": lambda: as_pdf.render(
                doc,
                crest_png=crest.png(session),
                thai_digits_on=thai_digits,
                font_dir=current_app.config.get("REPORT_FONT_DIR"),
                created=stamp,
            ),
        }
        data = writers[fmt]()
    suffix = "-thai-digits" if thai_digits and fmt == "pdf" else ""
    return Export(f"report-{p.slug}{suffix}{SUFFIXES[fmt]}", MIMETYPES[fmt], data)


def export(
    session: Session,
    actor: str,
    p: Period,
    fmt: str,
    *,
    thai_digits: bool = False,
    as_of: datetime | None = None,
) -> Export:
    """Render the file and record who exported what (the caller commits)."""
    thai_digits = thai_digits and fmt == "pdf"  # CSV and XLSX keep numbers as numbers
    made = render(session, p, fmt, thai_digits=thai_digits, as_of=as_of)
    detail = f"fy={p.fiscal_year} period={p.code} format={fmt}" + (" digits=thai" if thai_digits else "")
    audit.record(session, actor, "report.export", p.slug, detail)
    return made
