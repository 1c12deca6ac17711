"""PDF (fpdf2, text shaped by HarfBuzz): A4, the municipality's name, Thai in TH Sarabun New (Laksaman).

Laksaman is TLWG's free version of TH Sarabun New. It comes from the Debian package
fonts-tlwg-laksaman-ttf (never downloaded); `REPORT_FONT_DIR` may point elsewhere. Without it the
export stops with FontMissing naming the package, rather than printing boxes instead of Thai.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from .tables import TEXT, Document, Table, text_of, thai_digits
from .thaiwrap import hint

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/tlwg"
FAMILY = "Laksaman"
FONT_FILES = {"": "Laksaman.ttf", "B": "Laksaman-Bold.ttf"}
FONT_PACKAGE = "fonts-tlwg-laksaman-ttf"
PAGE_WIDTH = 180.0  # A4 (210 mm) less 15 mm margins


class FontMissing(RuntimeError):
    """The Thai font for PDF reports is not installed."""


def font_paths(font_dir: str | Path | None = None) -> dict[str, Path]:
    """The font files to embed; raises FontMissing naming the Debian package to install."""
    directory = Path(font_dir or DEFAULT_FONT_DIR)
    paths = {style: directory / name for style, name in FONT_FILES.items()}
    for path in paths.values():
        if not path.is_file():
            raise FontMissing(f"Thai font {path} not found: install the Debian package {FONT_PACKAGE}")
    return paths


class _ReportPDF(FPDF):
    def __init__(self, page_label: Callable[[int], str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._page_label = page_label

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=11)
        self.cell(0, 6, self._page_label(self.page_no()), align="C")


def _widths(table: Table) -> tuple[float, ...]:
    first = 40.0 if len(table.columns) <= 9 else 36.0
    rest = (PAGE_WIDTH - first) / (len(table.columns) - 1)
    return (first, *([rest] * (len(table.columns) - 1)))


def render(
    doc: Document,
    *,
    thai_digits_on: bool = False,
    font_dir: str | Path | None = None,
    created: datetime | None = None,
) -> bytes:
    fix: Callable[[str], str] = thai_digits if thai_digits_on else (lambda s: s)
    paths = font_paths(font_dir)
    pdf = _ReportPDF(lambda n: fix(doc.page_label % {"page": n}))
    for style, path in paths.items():
        pdf.add_font(FAMILY, style, str(path))
    pdf.set_text_shaping(True)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(f"{doc.title} {doc.fiscal_year} {doc.period}")
    pdf.set_author(doc.municipality)
    pdf.set_creator("intake")
    if created is not None:
        pdf.set_creation_date(created)
    pdf.add_page()
    for text, size, style in (
        (doc.municipality, 20, "B"),
        (doc.title, 18, "B"),
        (f"{doc.fiscal_year} {doc.period}", 16, ""),
        (doc.as_of, 13, ""),
    ):
        pdf.set_font(FAMILY, style, size)
        pdf.multi_cell(0, size * 0.45, fix(text), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FAMILY, "", 13)
    for note in doc.notes:
        pdf.multi_cell(0, 6, fix(note), new_x="LMARGIN", new_y="NEXT")
    for table in doc.tables:
        pdf.ln(4)
        if pdf.will_page_break(40):
            pdf.add_page()
        pdf.set_font(FAMILY, "B", 15)
        pdf.multi_cell(0, 7, fix(table.title), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        pdf.set_font(FAMILY, "", 12)
        aligns = tuple("LEFT" if kind == TEXT else "RIGHT" for kind in table.kinds)
        with pdf.table(
            col_widths=_widths(table),
            text_align=aligns,
            line_height=5.5,
            headings_style=FontFace(emphasis="BOLD"),
            first_row_as_headings=True,
            width=PAGE_WIDTH,
        ) as grid:
            header = grid.row()
            for heading in table.columns:
                header.cell(fix(hint(heading)), align="CENTER")
            for values in table.rows:
                row = grid.row()
                for value, kind in zip(values, table.kinds, strict=True):
                    row.cell(fix(hint(text_of(value, kind)) if kind == TEXT else text_of(value, kind)))
    return bytes(pdf.output())
