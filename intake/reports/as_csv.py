"""CSV: UTF-8 with a byte-order mark (Excel opens Thai), every cell quoted, no formula left active."""

from __future__ import annotations

import csv
import io

from .tables import TEXT, Cell, Document, text_of

# A cell starting with one of these is a formula (or can become one) in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix an apostrophe so that a spreadsheet shows the text instead of evaluating it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Cell, kind: str) -> str:
    if kind == TEXT or isinstance(value, str):
        return neutralise("" if value is None else str(value))
    return neutralise(text_of(value, kind, percent_sign=False))


def render(doc: Document, *, thai_digits: bool = False) -> bytes:
    """The heading lines, the notes, then each table under its title, separated by empty rows."""
    del thai_digits  # numbers stay Arabic digits so that spreadsheets read them as numbers
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for line in doc.heading_lines:
        writer.writerow([neutralise(line)])
    for note in doc.notes:
        writer.writerow([neutralise(note)])
    for table in doc.tables:
        writer.writerow([])
        writer.writerow([neutralise(table.title)])
        writer.writerow([neutralise(c) for c in table.columns])
        for row in table.rows:
            writer.writerow([_cell(value, kind) for value, kind in zip(row, table.kinds, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
