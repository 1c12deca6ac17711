"""The public statistics as files: the PDF (through the shared renderer, reports/pdf.py) and the XLSX
(reports/as_xlsx.py) of exactly the tables /stats shows, always in Thai (ITA evidence is Thai).

Nothing is audited: anyone may download them, as anyone may read the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session

from .. import crest, settings
from . import as_xlsx, public
from .pdf import FontMissing, Letterhead, render_pdf
from .tables import Cell, text_of

__all__ = ["FontMissing", "File", "render"]
MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class File:
    filename: str
    mimetype: str
    data: bytes


def is_hidden(value: Cell) -> bool:
    return isinstance(value, public.Hidden)


def cell_text(value: Cell, kind: str) -> str:
    return "–" if value is None else text_of(value, kind, percent_sign=False)


def render(session: Session, stats: public.PublicStats, fmt: str, created: datetime) -> File:
    """`fmt` is pdf or xlsx; raises FontMissing for a PDF without the Thai font."""
    with force_locale("th"):
        shown = public.published(stats, settings.get(session, "municipality_name"))
        doc = shown.doc
        if fmt == "pdf":
            data = render_pdf(
                "reports/stats_pdf.html",
                {
                    "doc": doc,
                    "notes": shown.notes,
                    "waiting": shown.waiting,
                    "cell_text": cell_text,
                    "is_hidden": is_hidden,
                },
                Letterhead(doc.municipality, crest.png(session)),
                title=f"{doc.title} {doc.fiscal_year} {doc.period}",
                created=created,
                font_dir=current_app.config.get("REPORT_FONT_DIR"),
            )
        else:
            data = as_xlsx.render(doc, created=created)
    name = f"statistics-fy{stats.fiscal_year}-{stats.view}.{fmt}"
    return File(name, MIMETYPES[fmt], data)
