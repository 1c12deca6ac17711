"""Public statistics (/stats and its PDF and XLSX): per fiscal year, by quarter or by half year, per channel.

What is published. For each period that has ended (quarters in one view, the two halves in the other, and
the year, or the year so far, under both), one table: a row per channel and a totals row, with the
officers' report's own figures (figures.FIGURES: the same query, the same definitions, printed under the
table): carried over, received, total to handle, the state at the period's end (pending, in progress,
referred to another agency) and closed within the period. Nothing finer than a quarter, no content, no
category, no source. The page, the PDF and the XLSX render one `tables.Document`: the files hold exactly
the cells the page shows, hidden cells hidden alike.

When. A period is published once it has ended. A running count that grows on the day a complaint arrives
tells whoever watches the page when it arrived, whatever its size (3 going to 4 says as much as 0 to 1),
and no threshold can hide that; a period that has ended shows its figures at its end, which do not move as
cases go on (they are taken from each case's history).

Small-count rule, per cell. What must be protected is a corruption complaint that could point at one
reporter. Shown for every channel and period, however small: carried over, received, total to handle and
closed. The ITA asks each municipality to publish exactly these (how many complaints, how many finished,
how many not), and a count over a quarter says only that someone complained in that quarter and that the
municipality dealt with it. Hidden when small: the stage reached by the corruption complaints still open at
a period's end (pending, in progress, referred to another agency): when any of the three holds 1 or 2
complaints, it tells what became of one person's complaint (that it went to the NACC, say), which the
official it names can tie to the person they suspect. Then those three cells are hidden together, in
every table that ends on that day (a quarter, its half, the year so far, in either view) and in each such
table's totals row; every hidden cell shows the same mark.

Why no hidden cell can be worked out (tests/test_reports_public_attack.py tries): the three hidden cells
of a row add up to a known number (total to handle minus closed), which with 1 or 2 complaints in them
leaves at least two possibilities for each; the totals row's three are hidden too (the other channels'
rows are shown, so a shown total would give the corruption cell away); tables ending on the same day
show the same stage, so they are hidden together; tables ending on other days are linked to these only
through sums (what is open at the end of one quarter is carried over into the next), which are shown
anyway. Limits: a stage that holds every open complaint is shown when they are 3 or more (all 4 in
progress, say); and a case recorded late with an old date changes an ended period's figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from .. import dates
from ..i18n import CHANNEL_LABELS, lang
from ..models import Channel
from . import figures, tables
from .periods import Period, current_fiscal_year, period, year_to

SMALL = (1, 2)  # complaints in a cell that single one out
PUBLIC_FIGURES = ("carried_over", "received", "total", "pending", "in_progress", "referred", "closed")
SPLIT = ("pending", "in_progress", "referred")  # the stage of the complaints still open at a period's end
PROTECTED = Channel.CORRUPTION.value
ALL = "all"  # the totals row
ROWS = (*figures.CHANNELS, ALL)
VIEWS: dict[str, tuple[str, ...]] = {"quarters": ("q1", "q2", "q3", "q4"), "halves": ("h1", "h2")}
VIEW_NAMES = {"quarters": _l("By quarter"), "halves": _l("By half year")}
DEFAULT_VIEW = "quarters"

Cells = frozenset[tuple[str, str]]  # (row, figure)


class Hidden(str):
    """A cell not shown under the small-count rule; its text is the mark the reader sees."""


@dataclass(frozen=True)
class PublicTable:
    """One published period: its counts per channel and the total, and the cells the rule hides."""

    key: str  # the period's code: q1..q4, h1, h2, year or ytd-<code>
    period: Period
    counts: dict[str, figures.Counts]  # per channel and ALL
    hidden: Cells = frozenset()

    def value(self, row: str, figure: str) -> int | None:
        """The count, or None where the rule hides it."""
        if (row, figure) in self.hidden:
            return None
        return int(getattr(self.counts[row], figure))


@dataclass(frozen=True)
class PublicStats:
    fiscal_year: int
    view: str
    as_of: datetime
    tables: list[PublicTable]  # the view's periods that have ended, then the year (so far)
    waiting: list[Period] = field(default_factory=list)  # the view's periods not yet ended

    @property
    def any_hidden(self) -> bool:
        return any(t.hidden for t in self.tables)


def with_total(by_channel: Mapping[str, figures.Counts]) -> dict[str, figures.Counts]:
    rows = {c: by_channel.get(c, figures.Counts()) for c in figures.CHANNELS}
    total = figures.Counts()
    for counts in rows.values():
        total.add(counts)
    return {**rows, ALL: total}


def hidden_cells(ends: Mapping[str, tuple[datetime, Mapping[str, figures.Counts]]]) -> dict[str, Cells]:
    """The rule (module docstring): for each table key, given every table that can be published for the
    year (its end moment and its counts), the cells to hide."""
    protected = {
        end for end, counts in ends.values() if any(getattr(counts[PROTECTED], f) in SMALL for f in SPLIT)
    }
    cells = frozenset((row, f) for row in (PROTECTED, ALL) for f in SPLIT)
    return {key: cells if end in protected else frozenset() for key, (end, _counts) in ends.items()}


def _ended(fiscal_year: int, moment: datetime) -> list[str]:
    codes = (*VIEWS["quarters"], *VIEWS["halves"])
    return [code for code in codes if period(fiscal_year, code).end <= moment]


def stats(
    session: Session, fiscal_year: int, view: str = DEFAULT_VIEW, now: datetime | None = None
) -> PublicStats:
    """The published figures of one fiscal year in one view, as of `now` (one grouped query per period
    that has ended, both views' periods and the year so far: the rule sees every table either view shows)."""
    moment = now or dates.now()
    ended = _ended(fiscal_year, moment)
    periods = {code: period(fiscal_year, code) for code in ended}
    quarters = [code for code in ended if code in VIEWS["quarters"]]
    if quarters:
        total = year_to(fiscal_year, quarters[-1])
        periods[total.code] = total
    by_end: dict[tuple[datetime, datetime], dict[str, figures.Counts]] = {}
    counts: dict[str, dict[str, figures.Counts]] = {}
    for code, p in periods.items():
        span = (p.start, p.end)  # the year so far is the same period as a quarter or a half
        if span not in by_end:
            by_end[span] = with_total(figures.channel_counts(session, p))
        counts[code] = by_end[span]
    hidden = hidden_cells({code: (periods[code].end, counts[code]) for code in periods})
    shown = [code for code in VIEWS[view] if code in periods]
    if quarters and all((periods[c].start, periods[c].end) != (total.start, total.end) for c in shown):
        shown.append(total.code)  # the year (so far), unless a table of the view already covers it
    waiting = [period(fiscal_year, code) for code in VIEWS[view] if code not in periods]
    return PublicStats(
        fiscal_year,
        view,
        moment,
        [PublicTable(code, periods[code], counts[code], hidden[code]) for code in shown],
        waiting,
    )


def selectable_years(session: Session, now: datetime | None = None) -> list[int]:
    """From the first fiscal year with a case to the current one, newest first."""
    current = current_fiscal_year(now or dates.now())
    first = figures.earliest_fiscal_year(session) or current
    return list(range(current, min(first, current) - 1, -1))


# --- what the page and the files show ---------------------------------------------------------------


@dataclass
class Published:
    """The public statistics as labelled tables (one tables.Document for the page, the PDF and the XLSX),
    with each table's notices apart for the page and the PDF."""

    doc: tables.Document
    notes: dict[str, list[str]]  # per table key: nothing received, in words
    waiting: list[str]  # periods of the view not yet published, with the day they will be
    any_hidden: bool
    rule: str  # the small-count rule, as the reader sees it under the tables


def rule_text() -> str:
    return _(
        "Small-count rule. Complaints carried over, received, to handle and closed are shown for every "
        "channel and period, however few: the ITA asks for them, and a count over a quarter only says that "
        "complaints were made and dealt with. The stage reached by the corruption complaints still open at "
        "the end of a period (pending, in progress, referred to another agency) is not shown when any stage "
        "holds one or two complaints, because it would tell what became of one person's complaint. Those "
        "cells are then hidden together, in every table ending on that day and in its totals row, so that "
        "they cannot be worked out from the totals, the other view or the files."
    )


def timing_text() -> str:
    return _(
        "A period is published once it has ended, with its figures at its end: a count that grew on the day "
        "a complaint arrived would tell when it arrived. These statistics hold no content and nothing finer "
        "than a quarter."
    )


def _table(t: PublicTable, mark: str) -> tables.Table:
    labels = [str(figures.FIGURES[f].label) for f in PUBLIC_FIGURES]
    table = tables.Table(
        t.key,
        tables.period_label(t.period),
        str(tables.PERIOD_NAMES.get(t.key, _("Year so far")))[:31],
        [_("Channel"), *labels],
        [tables.TEXT, *(tables.INT for _f in PUBLIC_FIGURES)],
        groups=[("", 4), (_("State at the end of the period"), 3), ("", 1)],
        row_keys=list(ROWS),
        column_keys=list(PUBLIC_FIGURES),
    )
    for row in ROWS:
        name = _("Total") if row == ALL else str(CHANNEL_LABELS[row])
        values: list[tables.Cell] = []
        for f in PUBLIC_FIGURES:
            value = t.value(row, f)
            values.append(Hidden(mark) if value is None else value)
        table.rows.append([name, *values])
    return table


def _notes(t: PublicTable) -> list[str]:
    """Nothing received, said in words ("ไม่มีเรื่องร้องเรียน")."""
    if t.counts[ALL].received == 0:
        return [_("No complaints were received in this period.")]
    return [
        _("%(channel)s: no complaints were received in this period.", channel=CHANNEL_LABELS[c])
        for c in figures.CHANNELS
        if t.counts[c].received == 0
    ]


def published(stats: PublicStats, municipality: str) -> Published:
    """The labelled tables, in the current language."""
    mark = _("not shown")
    year = tables.fiscal_year_label(stats.fiscal_year)
    view = str(VIEW_NAMES[stats.view])
    as_of = _("Figures as of %(date)s", date=dates.format_date(stats.as_of, lang()))
    notes = {t.key: _notes(t) for t in stats.tables}
    waiting = [
        _(
            "%(period)s: published from %(date)s.",
            period=tables.period_label(p),
            date=dates.format_date(p.end, lang()),
        )
        for p in stats.waiting
    ]
    flat = [f"{tables.period_label(t.period)}: {n}" for t in stats.tables for n in notes[t.key]]
    if not stats.tables:
        flat.insert(0, _("No period of this fiscal year has ended yet: nothing is published."))
    rule = rule_text()
    definitions = figures.definitions_of(list(PUBLIC_FIGURES))
    hidden = any(t.hidden for t in stats.tables)
    footnote = _("Cells that read “not shown” are hidden under this rule.")
    doc = tables.Document(
        municipality=municipality,
        title=_("Statistics of complaints, feedback and questions"),
        fiscal_year=year,
        period=view,
        as_of=as_of,
        notices=[*flat, *waiting],
        definitions=[*definitions, f"{rule} {footnote}" if hidden else rule, timing_text()],
        tables=[_table(t, mark) for t in stats.tables],
        page_label=_("Page %(page)s of %(pages)s"),
        about_sheet=_("About these statistics"),
        title_row=_(
            "%(municipality)s · %(fiscal_year)s %(period)s · %(as_of)s",
            municipality=municipality,
            fiscal_year=year,
            period=view,
            as_of=as_of,
        ),
        period_name=view,
    )
    return Published(doc, notes, waiting, hidden, rule)
