"""The report as a PDF: templates/reports/report_pdf.html laid out by the shared renderer (reports/pdf.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .pdf import FONT_PACKAGE, FontMissing, Letterhead, render_pdf
from .tables import Cell, Document, text_of

__all__ = ["FONT_PACKAGE", "FontMissing", "render"]
TEMPLATE = "reports/report_pdf.html"


def cell_text(value: Cell, kind: str) -> str:
    """As on the page, but shares without the % sign: the column heading says "percent" (ร้อยละ), and
    narrow A4 columns have no room for it."""
    return "–" if value is None else text_of(value, kind, percent_sign=False)


def render(
    doc: Document,
    *,
    crest_png: bytes | None = None,
    thai_digits_on: bool = False,
    font_dir: str | Path | None = None,
    created: datetime | None = None,
) -> bytes:
    """Needs an application context; the labels in `doc` are already in the report's language."""
    return render_pdf(
        TEMPLATE,
        {"doc": doc, "cell_text": cell_text},
        Letterhead(doc.municipality, crest_png),
        title=f"{doc.title} {doc.fiscal_year} {doc.period}",
        thai_digits=thai_digits_on,
        created=created,
        font_dir=font_dir,
    )
