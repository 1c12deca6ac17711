"""Importing a municipality's existing register (XLSX or CSV): each row an encrypted case with its history.

The file has a header row naming the columns `received_at, channel, source, category, details, status,
closed_at` (any order; other columns are ignored), then one row per case:

- received_at (required) and closed_at: YYYY-MM-DD or D/M/YYYY, the year in the Buddhist Era (2400 or
  above) or the Christian Era (dates.parse_typed_date), or a date cell of the spreadsheet; not in the future;
  closed_at is needed for a resolved or dismissed case and refused for an open one, and cannot be before
  received_at;
- channel, source, status, category: the machine value (`corruption`, `walk_in`, `resolved` ...) or the
  Thai or English label the site shows (ร้องเรียนการทุจริต, ติดต่อด้วยตนเอง, ดำเนินการแล้วเสร็จ ...), case,
  spaces and a few common Thai variants forgiven; status empty = new; category only for corruption;
- details (required): what was reported.

All rows or none: every row is checked first and each bad one is named with its line number and reason;
only a file without a single bad row is imported, in one transaction. Each row becomes a case like an
offline intake (received at noon Bangkok time of its date, deadlines from the channel's settings), and a
status other than new gets one status entry: on closed_at for a closed case (which then counts as
acknowledged and answered on that day: the register says it was dealt with by then), on received_at
otherwise (acknowledged that day). Imported cases are marked seen (they are history, not news).

Importing the same rows twice imports nothing the second time: each imported row is remembered by a keyed
hash (HMAC under a key derived from the server secret) of its content and of how many identical rows came
before it in the file, never by its text; a register that grew since the last import brings only its new
rows. One audit entry records each import (counts and the range of new case ids, no content).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, bodies, cases, crypto, dates, key_contexts, keyring
from .i18n import CATEGORY_LABELS, CHANNEL_LABELS, SOURCE_LABELS, STATUS_LABELS
from .models import Category, Channel, ImportedRow, Officer, Source, Status

COLUMNS = ("received_at", "channel", "source", "category", "details", "status", "closed_at")
REQUIRED = ("received_at", "channel", "source", "details")
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
DETAILS_MAX = 20_000
# Words a Thai register uses beside the site's own labels.
ALIASES: dict[str, dict[str, str]] = {
    "channel": {"ทุจริต": "corruption", "ร้องเรียน": "corruption", "ความคิดเห็น": "feedback",
                "คำติชม": "feedback", "ข้อเสนอแนะ": "feedback", "คำถาม": "question", "สอบถาม": "question"},
    "source": {"เว็บ": "web", "โทร": "phone", "จดหมาย": "letter", "หนังสือ": "letter",
               "ด้วยตนเอง": "walk_in", "มาด้วยตนเอง": "walk_in", "walk-in": "walk_in",
               "กล่องรับความคิดเห็น": "box", "ตู้รับความคิดเห็น": "box", "เฟซบุ๊ก": "facebook",
               "เฟสบุ๊ค": "facebook", "ไลน์": "line", "อีเมล": "email", "อีเมล์": "email", "e-mail": "email"},
    "status": {"ใหม่": "new", "รับเรื่อง": "new", "กำลังดำเนินการ": "in_progress", "ส่งต่อ": "referred",
               "เสร็จสิ้น": "resolved", "แล้วเสร็จ": "resolved", "ยุติ": "dismissed"},
    "category": {},
}
MACHINE = {
    "channel": tuple(c.value for c in Channel),
    "source": tuple(s.value for s in Source),
    "status": tuple(s.value for s in Status),
    "category": tuple(c.value for c in Category),
}
LABELS = {
    "channel": CHANNEL_LABELS,
    "source": SOURCE_LABELS,
    "status": STATUS_LABELS,
    "category": CATEGORY_LABELS,
}


@dataclass(frozen=True)
class LineError:
    """One reason a file cannot be imported: its line (0 = the file itself), the column, the reason code
    (see `describe`) and the value found (shortened)."""

    line: int
    reason: str
    column: str = ""
    value: str = ""


class RegisterInvalid(Exception):
    """The file cannot be imported; nothing was. `errors` names each bad line and why."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


@dataclass(frozen=True)
class Row:
    line: int
    received: date
    channel: str
    source: str
    category: str | None
    details: str
    status: str
    closed: date | None

    def canonical(self) -> bytes:
        """What the row says, in one fixed form (the keyed hash that remembers it is of this)."""
        data = [self.received.isoformat(), self.channel, self.source, self.category or "",
                " ".join(self.details.split()), self.status, self.closed.isoformat() if self.closed else ""]
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    skipped: int = 0  # imported by an earlier run
    case_ids: list[int] = field(default_factory=list)


# --- reading the file ----------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not XLSX
        raise RegisterInvalid([LineError(0, "unreadable")]) from exc
    sheet = book.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield number, [_cell(v) for v in values]
    book.close()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    for encoding in ("utf-8-sig", "cp874"):  # UTF-8 (with or without BOM), or Thai Windows (TIS-620)
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RegisterInvalid([LineError(0, "encoding")])
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    for values in reader:
        yield reader.line_num, [v.strip() for v in values]


def read_table(data: bytes, filename: str) -> Iterator[tuple[int, list[Any]]]:
    """(line number, cells) of every row of an XLSX (by its content) or CSV file."""
    if len(data) > MAX_BYTES:
        raise RegisterInvalid([LineError(0, "too_large")])
    if not data.strip():
        raise RegisterInvalid([LineError(0, "empty")])
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise RegisterInvalid([LineError(0, "unreadable")])
    return _csv_rows(data)


# --- checking each row ----------------------------------------------------------------------------


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _vocabulary() -> dict[str, dict[str, str]]:
    """Every accepted spelling of each coded column: machine values, English and Thai labels, aliases."""
    out: dict[str, dict[str, str]] = {}
    for column, values in MACHINE.items():
        words: dict[str, str] = {}
        for value in values:
            words[_key(value)] = value
            for language in ("en", "th"):
                with force_locale(language):
                    words[_key(str(LABELS[column].get(value, value)))] = value
        words.update({_key(k): v for k, v in ALIASES[column].items()})
        out[column] = words
    return out


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return dates.parse_typed_date(str(value)).day


def _shown(value: Any) -> str:
    text = value.isoformat() if isinstance(value, date | datetime) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _collector(line: int, into: list[LineError]) -> Any:
    def bad(reason: str, column: str, value: Any = "") -> None:
        into.append(LineError(line, reason, column, _shown(value)))

    return bad


def _header(cells: list[Any]) -> dict[str, int]:
    return {str(c).strip().lower().replace(" ", "_"): i for i, c in enumerate(cells) if str(c).strip()}


def parse(table: Iterator[tuple[int, list[Any]]]) -> list[Row]:
    """Every row checked; raises RegisterInvalid naming each bad line (nothing is imported then)."""
    errors: list[LineError] = []
    rows: list[Row] = []
    header: dict[str, int] | None = None
    words = _vocabulary()
    today = dates.local_date(dates.now())
    for line, cells in table:
        if not any(str(c).strip() if not isinstance(c, date | datetime) else True for c in cells):
            continue
        if header is None:
            header = _header(cells)
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise RegisterInvalid([LineError(line, "header", ", ".join(missing))])
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            raise RegisterInvalid([LineError(line, "too_many_rows")])
        got = {c: (cells[header[c]] if c in header and header[c] < len(cells) else "") for c in COLUMNS}
        row_errors: list[LineError] = []
        bad = _collector(line, row_errors)
        coded: dict[str, str] = {}
        for column in ("channel", "source", "status", "category"):
            raw = got[column]
            if raw in ("", None):
                coded[column] = "new" if column == "status" else ""
                if column in REQUIRED:
                    bad("required", column)
                continue
            value = words[column].get(_key(str(raw)))
            if value is None:
                bad("unknown", column, raw)
            coded[column] = value or ""
        received: date | None = None
        if got["received_at"] in ("", None):
            bad("required", "received_at")
        else:
            try:
                received = _date(got["received_at"])
            except ValueError:
                bad("date", "received_at", got["received_at"])
        closed: date | None = None
        if got["closed_at"] not in ("", None):
            try:
                closed = _date(got["closed_at"])
            except ValueError:
                bad("date", "closed_at", got["closed_at"])
        if received is not None and received > today:
            bad("future", "received_at", got["received_at"])
        if closed is not None and closed > today:
            bad("future", "closed_at", got["closed_at"])
        if received is not None and closed is not None and closed < received:
            bad("closed_before", "closed_at", got["closed_at"])
        status = coded["status"]
        if status in ("resolved", "dismissed") and closed is None and got["closed_at"] in ("", None):
            bad("closed_needed", "closed_at")
        if status and status not in ("resolved", "dismissed") and closed is not None:
            bad("closed_open", "closed_at", got["closed_at"])
        if coded["category"] and coded["channel"] and coded["channel"] != Channel.CORRUPTION:
            bad("category", "category", got["category"])
        details = str(got["details"] or "").strip()
        if not details:
            bad("required", "details")
        elif len(details) > DETAILS_MAX:
            bad("too_long", "details")
        if row_errors or received is None:
            errors.extend(row_errors)
            continue
        rows.append(
            Row(line, received, coded["channel"], coded["source"], coded["category"] or None, details,
                status or "new", closed)
        )
    if header is None:
        raise RegisterInvalid([LineError(0, "empty")])
    if errors:
        raise RegisterInvalid(errors)
    if not rows:
        raise RegisterInvalid([LineError(0, "no_rows")])
    return rows


# --- importing -----------------------------------------------------------------------------------


def _digests(rows: list[Row]) -> list[bytes]:
    """A keyed hash per row: its content and how many identical rows came before it in the file."""
    key = keyring.server_key(key_contexts.REGISTER_ROWS)
    seen: Counter[bytes] = Counter()
    out = []
    for row in rows:
        content = row.canonical()
        out.append(crypto.keyed_hash(key, content + b"\x00" + str(seen[content]).encode()))
        seen[content] += 1
    return out


def import_rows(
    session: Session, rows: list[Row], actor: str, officer: Officer | None = None
) -> ImportResult:
    """Create a case per row not imported before, in the caller's transaction (the caller commits)."""
    result = ImportResult(rows=len(rows))
    digests = _digests(rows)
    known = set(session.scalars(select(ImportedRow.digest).where(ImportedRow.digest.in_(digests))))
    now = dates.now()
    for row, digest in zip(rows, digests, strict=True):
        if digest in known:
            result.skipped += 1
            continue
        known.add(digest)
        body = bodies.from_json(row.channel, {"details": row.details, "category": row.category})
        new = cases.create(
            session,
            body=body,
            contact=None,
            source=Source(row.source),
            received_at=dates.received_from_date(row.received),
            officer=officer,
        )
        closed = dates.received_from_date(row.closed) if row.closed else None
        cases.record_history(session, new.case, new.keys, Status(row.status), closed, officer)
        new.case.needs_attention = False  # history, not news
        session.add(ImportedRow(digest=digest, imported_at=now))
        result.imported += 1
        result.case_ids.append(new.case.id)
    span = f"{result.case_ids[0]}-{result.case_ids[-1]}" if result.case_ids else "-"
    detail = f"rows={result.rows}; imported={result.imported}; skipped={result.skipped}; cases={span}"
    audit.record(session, actor, "register.import", None, detail)
    session.flush()
    return result


def import_file(session: Session, data: bytes, filename: str, actor: str,
                officer: Officer | None = None) -> ImportResult:
    """Check the whole file, then import it (the caller commits); raises RegisterInvalid."""
    rows = parse(read_table(data, filename))
    return import_rows(session, rows, actor, officer)


# --- saying what is wrong ------------------------------------------------------------------------

MESSAGES: dict[str, Any] = {
    "unreadable": _l("The file cannot be read: save it as XLSX (Excel) or CSV and try again."),
    "encoding": _l("The CSV file is neither UTF-8 nor Thai Windows (TIS-620) text: save it as CSV UTF-8."),
    "too_large": _l("The file is larger than 10 MB: split it into several files."),
    "empty": _l("The file is empty."),
    "header": _l("The first row must name the columns; these are missing: %(column)s."),
    "too_many_rows": _l("More than 20,000 rows: split the file into several files."),
    "no_rows": _l("The file has its header row but no case under it."),
    "required": _l("Line %(line)d: %(column)s is empty."),
    "unknown": _l("Line %(line)d: %(column)s “%(value)s” is not one of the values this column takes."),
    "date": _l("Line %(line)d: %(column)s “%(value)s” is not a date: write YYYY-MM-DD, e.g. 2567-10-05."),
    "future": _l("Line %(line)d: %(column)s “%(value)s” is in the future."),
    "closed_before": _l("Line %(line)d: closed_at “%(value)s” is before received_at."),
    "closed_needed": _l(
        "Line %(line)d: a resolved or dismissed case needs closed_at (write the received date if the "
        "closing date is not known)."
    ),
    "closed_open": _l("Line %(line)d: closed_at is given, but the status is not resolved or dismissed."),
    "category": _l("Line %(line)d: a category applies to corruption complaints only."),
    "too_long": _l("Line %(line)d: details is longer than 20,000 characters."),
}


def describe(error: LineError) -> str:
    """The error in the current language, naming its line."""
    return str(MESSAGES[error.reason]) % {"line": error.line, "column": error.column, "value": error.value}
