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
from .figures import CATEGORIES, SOURCES, UNCATEGORISED, Counts, Report, Timeliness
from .periods import Period

# How a column's values are written: a count, a share (0..1), days (one decimal), or text.
INT, SHARE, DAYS, TEXT = "int", "share", "days", "text"

Cell = str | int | float | None

COUNT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("carried_over", _l("Carried over")),
    ("received", _l("Received in the period")),
    ("total", _l("Total to handle")),
    ("pending", _l("Pending")),
    ("in_progress", _l("In progress")),
    ("referred", _l("Referred to another agency")),
    ("resolved", _l("Resolved")),
    ("dismissed", _l("Closed without action")),
    ("closed", _l("Closed within the period")),
)

PERIOD_NAMES: dict[str, Any] = {
    "q1": _l("Quarter 1"),
    "q2": _l("Quarter 2"),
    "q3": _l("Quarter 3"),
    "q4": _l("Quarter 4"),
    "h1": _l("Six-month round"),
    "year": _l("Twelve-month round"),
}


@dataclass
class Table:
    key: str
    title: str
    sheet: str  # a short name for a spreadsheet tab (at most 31 characters)
    columns: list[str]
    kinds: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Document:
    municipality: str
    title: str
    fiscal_year: str
    period: str
    as_of: str
    notes: list[str]
    tables: list[Table]
    page_label: str = "%(page)s"  # "Page %(page)s" in the report's language
    about_sheet: str = "Report"  # the spreadsheet tab of the heading and notes

    @property
    def heading_lines(self) -> list[str]:
        return [self.municipality, self.title, self.fiscal_year, self.period, self.as_of]


def month_label(day: date, language: str | None = None) -> str:
    code = language or lang()
    if code == "th":
        return f"{dates.THAI_MONTHS[day.month - 1]} {dates.be_year(day)}"
    return f"{dates.ENGLISH_MONTHS_SHORT[day.month - 1]} {dates.be_year(day)} BE"


def period_label(p: Period) -> str:
    """Quarter 1 (October 2568 - December 2568)."""
    first, last = month_label(p.first_day), month_label(p.last_month)
    return f"{PERIOD_NAMES[p.code]} ({first} – {last})"


def fiscal_year_label(year: int) -> str:
    return _("Fiscal year %(year)s", year=year)


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
    )
    table.rows = [_count_row(name, counts) for name, counts in rows]
    table.rows.append(_count_row(_("Total"), total))
    return table


def _timeliness_row(name: str, t: Timeliness) -> list[Cell]:
    return [
        name,
        t.received,
        t.ack_on_time,
        t.ack_share,
        t.answered_on_time,
        t.answered_share,
        t.median_ack_days,
        t.median_close_days,
    ]


def notes(report: Report) -> list[str]:
    out = []
    if report.empty:
        out.append(_("No complaints were received in this period."))
    else:
        for channel in report.empty_channels:
            name = CHANNEL_LABELS[channel]
            out.append(_("%(channel)s: nothing was received in this period.", channel=name))
    out.append(
        _(
            "The state at the end of the period follows each case's history: a case closed after the "
            "period's end counts as still open. Pending means received or acknowledged."
        )
    )
    out.append(
        _(
            "Within deadline: of the cases received in the period, those acknowledged or answered by their "
            "deadline; a case not yet acknowledged or answered counts as not within."
        )
    )
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
    timeliness = Table(
        "timeliness",
        _("Timeliness"),
        _("Timeliness"),
        [
            channel,
            _("Received in the period"),
            _("Acknowledged within deadline"),
            _("Acknowledged within deadline (%)"),
            _("Answered within deadline"),
            _("Answered within deadline (%)"),
            _("Median days to acknowledge"),
            _("Median days to close"),
        ],
        [TEXT, INT, INT, SHARE, INT, SHARE, DAYS, DAYS],
    )
    timeliness.rows = [_timeliness_row(str(CHANNEL_LABELS[c]), report.timeliness[c]) for c in CHANNELS]
    timeliness.rows.append(_timeliness_row(_("All channels"), report.timeliness["all"]))
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
    monthly = Table(
        "months",
        _("Month by month"),
        _("Monthly"),
        [
            _("Month"),
            *(_("Received: %(channel)s", channel=CHANNEL_LABELS[c]) for c in CHANNELS),
            _("Received: total"),
            *(_("Closed: %(channel)s", channel=CHANNEL_LABELS[c]) for c in CHANNELS),
            _("Closed: total"),
        ],
        [TEXT, *(INT for _i in range(8))],
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
    return Document(
        municipality=municipality,
        title=_("Statistics of complaints, feedback and questions"),
        fiscal_year=fiscal_year_label(report.period.fiscal_year),
        period=period_label(report.period),
        as_of=_("Figures as of %(date)s", date=dates.format_date(report.as_of, lang())),
        notes=notes(report),
        tables=[by_channel, timeliness, by_source, by_category, monthly],
        page_label=_("Page %(page)s"),
        about_sheet=_("About this report"),
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
