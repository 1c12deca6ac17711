"""A report as labelled tables in the current language: what the HTML page and every file format render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import dates
from ..i18n import CATEGORY_LABELS, CHANNEL_LABELS, SOURCE_LABELS, label, lang
from ..models import CHANNELS
from .figures import (
    CATEGORIES,
    FIGURES,
    SOURCES,
    UNCATEGORISED,
    Counts,
    Report,
    Satisfaction,
    Timeliness,
    definitions_of,
)
from .periods import Period

# How a column's values are written: a count, a share (0..1), days (one decimal), or text.
INT, SHARE, DAYS, TEXT = "int", "share", "days", "text"

Cell = str | int | float | None

COUNT_KEYS = (
    "carried_over", "received", "total",
    "pending", "in_progress", "referred", "resolved", "dismissed",  # the state at the end of the period
    "closed",
)  # fmt: skip
COUNT_COLUMNS: tuple[tuple[str, Any], ...] = tuple((key, FIGURES[key].label) for key in COUNT_KEYS)
DEADLINE_KEYS = ("received", "due", "within_deadline", "within_deadline", "not_yet_due")

PERIOD_NAMES: dict[str, Any] = {
    "q1": _l("Quarter 1"),
    "q2": _l("Quarter 2"),
    "q3": _l("Quarter 3"),
    "q4": _l("Quarter 4"),
    "h1": _l("Six-month round"),
    "h2": _l("Second half of the year"),
    "year": _l("Twelve-month round"),
}


@dataclass(frozen=True)
class HeaderCell:
    """One cell of a table's heading rows, as HTML lays it out (XLSX merges the same spans)."""

    text: str
    column: int  # the first column it covers (0-based)
    colspan: int = 1
    rowspan: int = 1


@dataclass
class Table:
    key: str
    title: str
    sheet: str  # a short name for a spreadsheet tab (at most 31 characters)
    columns: list[str]
    kinds: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    # Headings over runs of columns: (label, number of columns); "" leaves its columns ungrouped. Empty:
    # one heading row.
    groups: list[tuple[str, int]] = field(default_factory=list)
    # Machine names of the rows and of the columns after the first (channel, figure), where a page marks
    # its cells with them (public statistics); empty otherwise.
    row_keys: list[str] = field(default_factory=list)
    column_keys: list[str] = field(default_factory=list)

    @property
    def full_columns(self) -> list[str]:
        """Each column's heading with its group's in front, for a single heading row (CSV)."""
        out: list[str] = []
        for group, span in self.groups or [("", len(self.columns))]:
            for column in self.columns[len(out) : len(out) + span]:
                out.append(f"{group}: {column}" if group else column)
        return out

    @property
    def header_rows(self) -> list[list[HeaderCell]]:
        """One row of headings, or two when columns are grouped (an ungrouped column spans both)."""
        if not self.groups:
            return [[HeaderCell(text, i) for i, text in enumerate(self.columns)]]
        top: list[HeaderCell] = []
        under: list[HeaderCell] = []
        start = 0
        for group, span in self.groups:
            if group:
                top.append(HeaderCell(group, start, colspan=span))
                under.extend(HeaderCell(self.columns[i], i) for i in range(start, start + span))
            else:
                top.extend(HeaderCell(self.columns[i], i, rowspan=2) for i in range(start, start + span))
            start += span
        return [top, under]


@dataclass
class Document:
    municipality: str
    title: str
    fiscal_year: str
    period: str
    as_of: str
    notices: list[str]  # what the reader must see first: nothing received in the period or a channel
    definitions: list[str]  # how each figure is counted
    tables: list[Table]
    page_label: str = "%(page)s / %(pages)s"  # "Page %(page)s of %(pages)s" in the report's language
    about_sheet: str = "Report"  # the spreadsheet tab of the heading and notes
    title_row: str = ""  # municipality, period and as-of date on one line: the first row of every sheet
    period_name: str = ""  # the period without its months ("Quarter 1"), for running headers

    @property
    def heading_lines(self) -> list[str]:
        return [self.municipality, self.title, self.fiscal_year, self.period, self.as_of]

    @property
    def notes(self) -> list[str]:
        return [*self.notices, *self.definitions]


def month_label(day: date, language: str | None = None) -> str:
    code = language or lang()
    if code == "th":
        return f"{dates.THAI_MONTHS[day.month - 1]} {dates.be_year(day)}"
    return f"{dates.ENGLISH_MONTHS_SHORT[day.month - 1]} {dates.be_year(day)} BE"


def period_name(p: Period) -> str:
    """Quarter 1; for the year so far, "From the start of the fiscal year to the end of quarter 3"."""
    if p.code.startswith("ytd-"):
        last = PERIOD_NAMES[p.code.removeprefix("ytd-")]
        return _("From the start of the fiscal year to the end of %(period)s", period=last)
    return str(PERIOD_NAMES[p.code])


def period_label(p: Period) -> str:
    """Quarter 1 (October 2568 - December 2568)."""
    first, last = month_label(p.first_day), month_label(p.last_month)
    return f"{period_name(p)} ({first} – {last})"


def fiscal_year_label(year: int) -> str:
    return _("Fiscal year %(year)s", year=year)


def _count_groups() -> list[tuple[str, int]]:
    """Received and carried over, the state at the period's end, closed within it."""
    return [("", 4), (_("State at the end of the period"), 5), ("", 1)]


def _count_row(name: str, counts: Counts) -> list[Cell]:
    return [name, *(getattr(counts, key) for key, _label in COUNT_COLUMNS)]


def _counts_table(key: str, title: str, sheet: str, first: str, rows: list[tuple[str, Counts]]) -> Table:
    total = Counts()
    for _name, counts in rows:
        total.add(counts)
    table = Table(
        key,
        title,
        sheet,
        [first, *(str(text) for _key, text in COUNT_COLUMNS)],
        [TEXT, *(INT for _c in COUNT_COLUMNS)],
        groups=_count_groups(),
    )
    table.rows = [_count_row(name, counts) for name, counts in rows]
    table.rows.append(_count_row(_("Total"), total))
    return table


def _deadline_tables(report: Report, channel: str) -> tuple[Table, Table]:
    """Acknowledged within deadline, and first reply within deadline: shares over the due cases only."""
    heading = {key: str(FIGURES[key].label) for key in ("received", "due", "within_deadline", "not_yet_due")}
    columns = [
        channel,
        heading["received"],
        heading["due"],
        heading["within_deadline"],
        _("Within deadline (%)"),
        heading["not_yet_due"],
    ]
    kinds = [TEXT, INT, INT, INT, SHARE, INT, DAYS]
    ack = Table(
        "acknowledgement",
        _("Acknowledged within deadline"),
        _("Acknowledgement"),
        [*columns, str(FIGURES["median_ack_days"].label)],
        kinds,
    )
    answer = Table(
        "answer",
        _("First reply within deadline"),
        _("First reply"),
        [*columns, str(FIGURES["median_close_days"].label)],
        kinds,
    )
    names = [*((c, str(CHANNEL_LABELS[c])) for c in CHANNELS), ("all", _("All channels"))]
    for key, name in names:
        t: Timeliness = report.timeliness[key]
        ack.rows.append(
            [name, t.received, t.ack_due, t.ack_on_time, t.ack_share, t.ack_not_due, t.median_ack_days]
        )
        answer.rows.append(
            [
                name,
                t.received,
                t.answer_due,
                t.answered_on_time,
                t.answered_share,
                t.answer_not_due,
                t.median_close_days,
            ]
        )
    return ack, answer


SCORES = range(1, 6)


def _satisfaction_table(report: Report, channel: str) -> Table:
    """Citizens' ratings of the handling of their closed cases, given within the period (ITA e8)."""
    table = Table(
        "satisfaction",
        _("Satisfaction with the handling of closed cases"),
        _("Satisfaction"),
        [channel, _("Answers"), *(str(n) for n in SCORES), _("Average (1–5)")],
        [TEXT, INT, *(INT for _n in SCORES), DAYS],
        groups=[("", 2), (_("Answers per score (1 very dissatisfied – 5 very satisfied)"), 5), ("", 1)],
    )
    names = [*((c, str(CHANNEL_LABELS[c])) for c in CHANNELS), ("all", _("All channels"))]
    for key, name in names:
        t: Satisfaction = report.satisfaction.get(key) or Satisfaction()
        table.rows.append([name, t.answers, *(t.scores.get(n, 0) for n in SCORES), t.mean])
    return table


def duplicates_note(report: Report) -> str:
    """How many duplicates were set aside: always said, zero included."""
    per_channel = ", ".join(
        f"{CHANNEL_LABELS[c]} {report.duplicates.get(c, 0)}" for c in CHANNELS
    )
    return _(
        "Duplicates set aside: %(n)d cases received in the period were closed as duplicates of another "
        "case (%(channels)s). Each is counted once, with the case it was joined with, in every figure.",
        n=report.duplicates_total,
        channels=per_channel,
    )


def notices(report: Report) -> list[str]:
    """Nothing received, said in words (zero is a figure, but a reader must not have to infer it)."""
    if report.empty:
        return [_("No complaints were received in this period.")]
    return [
        _("%(channel)s: nothing was received in this period.", channel=CHANNEL_LABELS[channel])
        for channel in report.empty_channels
    ]


def definitions(report: Report) -> list[str]:
    """How the figures are counted: each figure's one definition from figures.FIGURES (the same words in
    every format, and under the public statistics), then the case loop's satisfaction and duplicates."""
    out = definitions_of([*COUNT_KEYS, *DEADLINE_KEYS, "median_ack_days", "median_close_days"])
    out.append(
        _(
            "Satisfaction: the ratings citizens gave, once each, on how their closed case was handled, "
            "counted in the period the rating was given; the average is over those answers."
        )
    )
    out.append(duplicates_note(report))
    return out


def document(report: Report, municipality: str) -> Document:
    """Every table of the report, labelled in the current language."""
    channel = _("Channel")
    by_channel = _counts_table(
        "channels",
        _("Cases by channel"),
        _("By channel"),
        channel,
        [(str(CHANNEL_LABELS[c]), report.by_channel[c]) for c in CHANNELS],
    )
    acknowledgement, answer = _deadline_tables(report, channel)
    satisfaction = _satisfaction_table(report, channel)
    by_source = _counts_table(
        "sources",
        _("Cases by how they were received"),
        _("By how received"),
        _("Received by"),
        [(label(SOURCE_LABELS, s), report.by_source[s]) for s in SOURCES],
    )
    categories = [(label(CATEGORY_LABELS, c), report.by_category[c]) for c in CATEGORIES]
    categories.append((_("Not categorised"), report.by_category[UNCATEGORISED]))
    by_category = _counts_table(
        "categories",
        _("Corruption complaints by category"),
        _("Corruption by category"),
        _("Category"),
        categories,
    )
    channels = [str(CHANNEL_LABELS[c]) for c in CHANNELS]
    monthly = Table(
        "months",
        _("Month by month"),
        _("Monthly"),
        [_("Month"), *channels, _("Total"), *channels, _("Total")],
        [TEXT, *(INT for _i in range(8))],
        groups=[("", 1), (_("Received in the month"), 4), (_("Closed in the month"), 4)],
    )
    for m in report.months:
        monthly.rows.append(
            [
                month_label(m.month),
                *(m.received[c] for c in CHANNELS),
                m.received_total,
                *(m.closed[c] for c in CHANNELS),
                m.closed_total,
            ]
        )
    monthly.rows.append(
        [
            _("Total"),
            *(sum(m.received[c] for m in report.months) for c in CHANNELS),
            sum(m.received_total for m in report.months),
            *(sum(m.closed[c] for m in report.months) for c in CHANNELS),
            sum(m.closed_total for m in report.months),
        ]
    )
    fiscal_year = fiscal_year_label(report.period.fiscal_year)
    period = period_label(report.period)
    as_of = _("Figures as of %(date)s", date=dates.format_date(report.as_of, lang()))
    return Document(
        municipality=municipality,
        title=_("Statistics of complaints, feedback and questions"),
        fiscal_year=fiscal_year,
        period=period,
        as_of=as_of,
        notices=notices(report),
        definitions=definitions(report),
        tables=[by_channel, acknowledgement, answer, satisfaction, by_source, by_category, monthly],
        page_label=_("Page %(page)s of %(pages)s"),
        period_name=period_name(report.period),
        about_sheet=_("About this report"),
        title_row=_(
            "%(municipality)s · %(fiscal_year)s %(period)s · %(as_of)s",
            municipality=municipality,
            fiscal_year=fiscal_year,
            period=period,
            as_of=as_of,
        ),
    )


def text_of(value: Cell, kind: str, *, percent_sign: bool = True) -> str:
    """A cell as people read it: counts as integers, shares as percentages, days with one decimal."""
    if value is None:
        return "–" if percent_sign else ""
    if kind == SHARE:
        return f"{float(value) * 100:.1f}" + ("%" if percent_sign else "")
    if kind == DAYS:
        return f"{float(value):.1f}"
    return str(value)


THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def thai_digits(text: str) -> str:
    return text.translate(THAI_DIGITS)
