"""Reading the public statistics back as a reader gets them: from the page, the XLSX and the PDF.

Each reader returns {table key or title: {row: {figure: count, or None where hidden}}}: the page by its
data attributes, the files by their Thai labels, so that the three can be compared cell by cell.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from openpyxl import load_workbook

from intake.reports.public import PUBLIC_FIGURES, ROWS

Cells = dict[str, dict[str, dict[str, int | None]]]
HIDDEN_TH = "ไม่เปิดเผย"
ROW_LABELS_TH = {"corruption": "ร้องเรียนการทุจริต", "feedback": "ความคิดเห็น/คำติชม", "question": "ถาม-ตอบ",
                 "all": "รวม"}  # fmt: skip


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: Cells = {}
        self.titles: dict[str, str] = {}
        self._table: str | None = None
        self._row: str | None = None
        self._caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (a.get("id") or "").startswith("table-"):
            self._table = (a["id"] or "")[len("table-") :]
            self.cells[self._table] = {}
            self.titles[self._table] = ""
        elif tag == "caption" and self._table:
            self._caption = True
        elif tag == "tr" and self._table and a.get("data-channel"):
            self._row = a["data-channel"] or ""
            self.cells[self._table][self._row] = {}
        elif tag == "td" and self._table and self._row and a.get("data-figure"):
            value = None if a.get("data-suppressed") else int(a["data-value"] or "")
            self.cells[self._table][self._row][a["data-figure"] or ""] = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag == "caption":
            self._caption = False

    def handle_data(self, data: str) -> None:
        if self._caption and self._table:
            self.titles[self._table] += data


def page_tables(html: str) -> tuple[Cells, dict[str, str]]:
    """The page's tables (by key) and their titles."""
    parser = _Tables()
    parser.feed(html)
    return parser.cells, {k: v.strip() for k, v in parser.titles.items()}


def _value(text: object) -> int | None:
    if isinstance(text, str) and text.strip() == HIDDEN_TH:
        return None
    assert isinstance(text, int), text
    return text


def xlsx_tables(data: bytes) -> dict[str, dict[str, dict[str, int | None]]]:
    """{table title: rows} from every sheet after the first (the notes)."""
    wb = load_workbook(io.BytesIO(data))
    out: dict[str, dict[str, dict[str, int | None]]] = {}
    for ws in wb.worksheets[1:]:
        title = str(ws.cell(2, 1).value)
        rows: dict[str, dict[str, int | None]] = {}
        by_label = {v: k for k, v in ROW_LABELS_TH.items()}
        for r in range(5, ws.max_row + 1):
            label = ws.cell(r, 1).value
            if label in by_label:
                values = [ws.cell(r, c).value for c in range(2, 2 + len(PUBLIC_FIGURES))]
                rows[by_label[label]] = {f: _value(v) for f, v in zip(PUBLIC_FIGURES, values, strict=True)}
        out[title] = rows
    return out


def pdf_tables(data: bytes) -> dict[str, dict[str, dict[str, int | None]]]:
    """{table title: rows} from the PDF's text (pdftotext -layout: one line per table row)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.pdf"
        path.write_bytes(data)
        command = ["pdftotext", "-layout", str(path), "-"]
        text = subprocess.run(command, capture_output=True, check=True).stdout
    out: dict[str, dict[str, dict[str, int | None]]] = {}
    title = None
    for line in text.decode("utf-8").splitlines():
        caption = re.match(r"\s*ตารางที่ \d+ (.+)$", line)
        if caption:
            title = caption.group(1).strip()
            out[title] = {}
            continue
        for row in ROWS:
            label = ROW_LABELS_TH[row]
            if title and line.startswith(label) and row not in out[title]:
                tokens = line[len(label) :].split()
                if len(tokens) == len(PUBLIC_FIGURES):
                    pairs = zip(PUBLIC_FIGURES, tokens, strict=True)
                    out[title][row] = {f: None if t == HIDDEN_TH else int(t) for f, t in pairs}
    return out


def by_title(cells: Cells, titles: dict[str, str]) -> dict[str, dict[str, dict[str, int | None]]]:
    return {titles[key]: rows for key, rows in cells.items()}
