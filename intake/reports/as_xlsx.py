"""XLSX (openpyxl): a first sheet with the report's heading and notes, then one sheet per table.

Every sheet opens with a title row naming the municipality, the period and the as-of date, then the
table's title and its heading rows (grouped columns under a merged group heading). Each sheet is set up to
print on A4 in landscape, fitted to the page's width, with the title and heading rows repeated on every
page and "page n of m" in the footer. Headings are in Thai, counts are numbers, shares are numbers
formatted as percentages, days are numbers with one decimal. Text cells are stored as text, never as
formulas, whatever they start with.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import Cell as OpenpyxlCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .tables import DAYS, INT, SHARE, Cell, Document, Table

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
FORMATS = {INT: "0", SHARE: "0.0%", DAYS: "0.0"}
TITLE_ROW = 1  # municipality, period, as-of date
CAPTION_ROW = 2  # the table's title
HEADER_ROW = 3  # the first heading row
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADING_FILL = PatternFill("solid", fgColor="E6E6E6")


def _sheet_name(name: str, used: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", name).strip()[:31] or "Sheet"
    candidate, n = base, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


def _put(ws: Worksheet, row: int, column: int, value: Cell) -> OpenpyxlCell:
    """Write a value; text is always stored as text (openpyxl would make "=..." a live formula)."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _footer_text(label: str) -> str:
    """"หน้า %(page)s จาก %(pages)s" in Excel's header/footer codes (&P, &N; a literal & doubled)."""
    return label.replace("&", "&&").replace("%(page)s", "&P").replace("%(pages)s", "&N")


def _print_setup(ws: Worksheet, doc: Document, *, landscape: bool, repeat_to: int | None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if repeat_to:
        ws.print_title_rows = f"{TITLE_ROW}:{repeat_to}"
    ws.oddFooter.center.text = _footer_text(doc.page_label)
    ws.oddFooter.center.size = 10


def _title(ws: Worksheet, doc: Document, caption: str, width: int) -> None:
    _put(ws, TITLE_ROW, 1, doc.title_row).font = Font(bold=True, size=12)
    _put(ws, CAPTION_ROW, 1, caption).font = Font(bold=True, size=14)
    if width > 1:
        for row in (TITLE_ROW, CAPTION_ROW):
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)


def _about(ws: Worksheet, doc: Document) -> None:
    _title(ws, doc, doc.title, 1)
    row = CAPTION_ROW + 2
    wrap = Alignment(wrap_text=True, vertical="top")
    for text in doc.notices:
        _put(ws, row, 1, text).font = Font(bold=True)
        row += 1
    if doc.notices:
        row += 1
    for text in doc.definitions:
        _put(ws, row, 1, text).alignment = wrap
        row += 1
    ws.column_dimensions["A"].width = 110
    _print_setup(ws, doc, landscape=False, repeat_to=None)


def _table(ws: Worksheet, doc: Document, table: Table) -> None:
    _title(ws, doc, table.title, len(table.columns))
    heading = Alignment(wrap_text=True, horizontal="center", vertical="center")
    header = table.header_rows
    for offset, cells in enumerate(header):
        for h in cells:
            row, col = HEADER_ROW + offset, h.column + 1
            cell = _put(ws, row, col, h.text)
            cell.font = Font(bold=True)
            cell.alignment = heading
            if h.colspan > 1 or h.rowspan > 1:
                end_row, end_column = row + h.rowspan - 1, col + h.colspan - 1
                ws.merge_cells(start_row=row, start_column=col, end_row=end_row, end_column=end_column)
    last_header = HEADER_ROW + len(header) - 1
    for row in ws.iter_rows(min_row=HEADER_ROW, max_row=last_header, max_col=len(table.columns)):
        for cell in row:
            cell.border = _BOX
            cell.fill = _HEADING_FILL
    first = last_header + 1
    for r, values in enumerate(table.rows, start=first):
        for col, (value, kind) in enumerate(zip(values, table.kinds, strict=True), start=1):
            cell = _put(ws, r, col, value)
            cell.border = _BOX
            if kind in FORMATS and value is not None:
                cell.number_format = FORMATS[kind]
            if r == first + len(table.rows) - 1:
                cell.font = Font(bold=True)
    for col in range(1, len(table.columns) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 28 if col == 1 else 14
    ws.freeze_panes = f"B{first}"
    _print_setup(ws, doc, landscape=True, repeat_to=last_header)


def render(doc: Document, *, thai_digits: bool = False, created: datetime | None = None) -> bytes:
    del thai_digits  # numbers stay numbers
    wb = Workbook()
    if created is not None:
        wb.properties.created = created.replace(tzinfo=None)
        wb.properties.modified = created.replace(tzinfo=None)
    wb.properties.title = f"{doc.title} {doc.fiscal_year} {doc.period}"
    wb.properties.creator = "intake"
    used: set[str] = set()
    about = wb.active
    assert about is not None  # noqa: S101 - a new workbook has one sheet
    about.title = _sheet_name(doc.about_sheet, used)
    _about(about, doc)
    for table in doc.tables:
        _table(wb.create_sheet(_sheet_name(table.sheet, used)), doc, table)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
