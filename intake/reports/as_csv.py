"""CSV, two shapes: the report as it reads (`csv`) and one tidy long table for open data (`csv-long`).

`csv`: UTF-8 with a byte-order mark (Excel opens Thai), every cell quoted, no formula left active. The
first row names the municipality, the period and the as-of date; then the report's title, its notices and
definitions, and each table under its title (one heading row: a grouped column is named "group: column").

`csv-long`: one row per figure, header `period,channel,source,figure,value`, machine values only (ASCII,
no BOM), so that it loads as it is into a spreadsheet, a database or an open-data portal:
- period: the report period as `fy2569-q1` (fiscal year in BE, then q1-q4, h1 or year), or a month of it
  as `2025-10` (ISO 8601 year-month, Common Era) for the monthly figures;
- channel: corruption, feedback, question or all; source: web, phone, letter, walk_in, box, facebook,
  line, email, other or all (the report breaks cases down by channel and by source, not by both: a row
  names one and says `all` for the other);
- figure: carried_over, received, total, pending, in_progress, referred, resolved, dismissed, closed
  (see figures.py); ack_due, ack_on_time, ack_on_time_percent, ack_not_yet_due, answer_due,
  answer_on_time, answer_on_time_percent, answer_not_yet_due, median_days_to_acknowledge,
  median_days_to_close (channel rows); category_<category>_<count> for the corruption channel by category
  (e.g. category_bribery_received); satisfaction_answers, satisfaction_1 .. satisfaction_5 and
  satisfaction_average (channel rows); duplicates_set_aside (channel rows: received in the period and
  closed as a duplicate of another case; every other figure counts such a pair once); received and
  closed for the monthly rows;
- value: an integer count, a percentage or a number of days with one decimal, or empty where the figure
  does not exist (a share with no case due, a median with no case).
Rows with `all` are totals of the others: add up one level only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from .figures import CATEGORIES, CHANNELS, SOURCES, UNCATEGORISED, Counts, Report, Timeliness
from .tables import COUNT_COLUMNS, TEXT, Cell, Document, text_of

# A cell starting with one of these is a formula (or can become one) in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LONG_HEADER = ("period", "channel", "source", "figure", "value")
ALL = "all"
COUNT_FIGURES = tuple(key for key, _label in COUNT_COLUMNS)


def neutralise(text: str) -> str:
    """Prefix an apostrophe so that a spreadsheet shows the text instead of evaluating it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Cell, kind: str) -> str:
    if kind == TEXT or isinstance(value, str):
        return neutralise("" if value is None else str(value))
    return neutralise(text_of(value, kind, percent_sign=False))


def render(doc: Document, *, thai_digits: bool = False) -> bytes:
    """The title row, the report's title, its notes, then each table under its title (empty rows between)."""
    del thai_digits  # numbers stay Arabic digits so that spreadsheets read them as numbers
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([neutralise(doc.title_row)])
    writer.writerow([neutralise(doc.title)])
    for note in doc.notes:
        writer.writerow([neutralise(note)])
    for table in doc.tables:
        writer.writerow([])
        writer.writerow([neutralise(table.title)])
        writer.writerow([neutralise(c) for c in table.full_columns])
        for row in table.rows:
            writer.writerow([_cell(value, kind) for value, kind in zip(row, table.kinds, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- the long table -----------------------------------------------------------------------------------


def _number(value: int | float | None, *, percent: bool = False) -> str:
    if value is None:
        return ""
    if percent:
        return f"{float(value) * 100:.1f}"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _counts(period: str, channel: str, source: str, counts: Counts) -> Iterator[tuple[str, ...]]:
    for figure in COUNT_FIGURES:
        yield period, channel, source, figure, str(getattr(counts, figure))


def _timeliness(period: str, channel: str, t: Timeliness) -> Iterator[tuple[str, ...]]:
    values: tuple[tuple[str, str], ...] = (
        ("ack_due", _number(t.ack_due)),
        ("ack_on_time", _number(t.ack_on_time)),
        ("ack_on_time_percent", _number(t.ack_share, percent=True)),
        ("ack_not_yet_due", _number(t.ack_not_due)),
        ("answer_due", _number(t.answer_due)),
        ("answer_on_time", _number(t.answered_on_time)),
        ("answer_on_time_percent", _number(t.answered_share, percent=True)),
        ("answer_not_yet_due", _number(t.answer_not_due)),
        ("median_days_to_acknowledge", _number(t.median_ack_days)),
        ("median_days_to_close", _number(t.median_close_days)),
    )
    for figure, value in values:
        yield period, channel, ALL, figure, value


def long_rows(report: Report) -> Iterator[tuple[str, ...]]:
    """Every figure of the report, one per row (the header is LONG_HEADER)."""
    period = report.period.slug
    for channel in CHANNELS:
        yield from _counts(period, channel, ALL, report.by_channel[channel])
    yield from _counts(period, ALL, ALL, report.total)
    for source in SOURCES:
        yield from _counts(period, ALL, source, report.by_source[source])
    for channel in (*CHANNELS, ALL):
        yield from _timeliness(period, channel, report.timeliness[ALL if channel == ALL else channel])
    for channel in (*CHANNELS, ALL):
        rated = report.satisfaction.get(channel)
        if rated is None:
            continue
        yield period, channel, ALL, "satisfaction_answers", str(rated.answers)
        for score in range(1, 6):
            yield period, channel, ALL, f"satisfaction_{score}", str(rated.scores.get(score, 0))
        yield period, channel, ALL, "satisfaction_average", _number(rated.mean)
    for channel in CHANNELS:
        yield period, channel, ALL, "duplicates_set_aside", str(report.duplicates.get(channel, 0))
    yield period, ALL, ALL, "duplicates_set_aside", str(report.duplicates_total)
    for category in (*CATEGORIES, UNCATEGORISED):
        name = category or "none"
        counts = report.by_category[category]
        for figure in COUNT_FIGURES:
            yield period, "corruption", ALL, f"category_{name}_{figure}", str(getattr(counts, figure))
    for month in report.months:
        label = month.month.strftime("%Y-%m")
        for channel in CHANNELS:
            yield label, channel, ALL, "received", str(month.received[channel])
            yield label, channel, ALL, "closed", str(month.closed[channel])
        yield label, ALL, ALL, "received", str(month.received_total)
        yield label, ALL, ALL, "closed", str(month.closed_total)


def render_long(report: Report) -> bytes:
    """The long table as CSV: UTF-8 (ASCII in fact), a header row, CRLF line ends (RFC 4180)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LONG_HEADER)
    writer.writerows(long_rows(report))
    return out.getvalue().encode("utf-8")
