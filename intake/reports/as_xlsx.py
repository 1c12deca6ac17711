"""XLSX (openpyxl): a first sheet with the report's heading and notes, then one sheet per table.

Headings are in Thai, counts are numbers, shares are numbers formatted as percentages, days are numbers
with one decimal. Text cells are stored as text, never as formulas, whatever they start with.
"""

from __future__ import annotations

import io
import re
from datetime import datetime

from openpyxl import Workbook
from openpyxl.cell.cell import Cell as OpenpyxlCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from .tables import DAYS, INT, SHARE, Cell, Document

_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
FORMATS = {INT: "0", SHARE: "0.0%", DAYS: "0.0"}


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


def render(doc: Document, *, thai_digits: bool = False, created: datetime | None = None) -> bytes:
    del thai_digits  # numbers stay numbers
    wb = Workbook()
    if created is not None:
        wb.properties.created = created.replace(tzinfo=None)
        wb.properties.modified = created.replace(tzinfo=None)
    used: set[str] = set()
    about = wb.active
    assert about is not None  # noqa: S101 - a new workbook has one sheet
    about.title = _sheet_name(doc.about_sheet, used)
    bold = Font(bold=True)
    for i, line in enumerate([*doc.heading_lines, "", *doc.notes], start=1):
        cell = _put(about, i, 1, line)
        if i <= 2:
            cell.font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 100
    for table in doc.tables:
        ws = wb.create_sheet(_sheet_name(table.sheet, used))
        for col, heading in enumerate(table.columns, start=1):
            cell = _put(ws, 1, col, heading)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            ws.column_dimensions[get_column_letter(col)].width = 28 if col == 1 else 16
        for r, row in enumerate(table.rows, start=2):
            for col, (value, kind) in enumerate(zip(row, table.kinds, strict=True), start=1):
                cell = _put(ws, r, col, value)
                if kind in FORMATS and value is not None:
                    cell.number_format = FORMATS[kind]
                if r == len(table.rows) + 1:
                    cell.font = bold
        ws.freeze_panes = "B2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
