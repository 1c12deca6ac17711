"""Public statistics (/stats): channel totals per fiscal year and the corruption channel's months.

What is published, per fiscal year: for each channel, the cases carried over from earlier years, received
in the year, completed (resolved or closed without action), in progress (pending or being handled) and
referred to another agency, as of the year's end (today, for the year in progress); and the number of
corruption complaints received in each month that has begun. Nothing finer than a month, no content, no
category, no source.

Small-count rule (the corruption channel's months). A month with 1 or 2 complaints could point at the
person who complained, so such a month is not shown ("primary" suppression). Because the year's total is
shown, a single hidden month could be worked out by subtraction, so whenever any month is hidden, one
more month is hidden too ("secondary" suppression). That month is chosen among the months not already
hidden, zero months included, by a keyed hash of the fiscal year and the month under a server secret: it
does not depend on the counts, and outsiders cannot predict it. Every hidden month shows the same mark.
Then from the total a reader learns only the sum of the hidden months; since at least one of them is
1 or 2 and another may be anything (0 included), no hidden month's count can be pinned down.
The channel totals are published exactly: the ITA asks for them, and a year's total points at no month.
Limits: when every month that has begun is hidden and none is left to hide with it (e.g. in October, the
first month of a year), the year's total equals their sum; and pages seen at different times can be
compared (a running year's totals grow month by month). Zero is shown as 0: it singles no one out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from .. import crypto, dates, key_contexts, keyring
from . import figures
from .periods import Period, current_fiscal_year, period

SMALL = (1, 2)  # counts that are never shown


@dataclass(frozen=True)
class PublicMonth:
    month: date
    count: int | None  # None: hidden under the small-count rule


@dataclass(frozen=True)
class PublicStats:
    period: Period
    by_channel: dict[str, figures.Counts]
    corruption_months: list[PublicMonth]

    @property
    def any_hidden(self) -> bool:
        return any(m.count is None for m in self.corruption_months)


def _month_rank(key: bytes, fiscal_year: int, month: date) -> bytes:
    return crypto.keyed_hash(key, f"{fiscal_year}:{month.isoformat()}".encode())


def suppress(months: list[tuple[date, int]], fiscal_year: int, key: bytes) -> list[PublicMonth]:
    """Hide months with 1-2 cases; if any is hidden, hide one more month chosen by a keyed hash.

    `key` is the server secret's STATS_SHUFFLE subkey (key_contexts).
    """
    hidden = {i for i, (_m, n) in enumerate(months) if n in SMALL}
    others = [i for i in range(len(months)) if i not in hidden]
    if hidden and others:
        hidden.add(min(others, key=lambda i: _month_rank(key, fiscal_year, months[i][0])))
    return [PublicMonth(m, None if i in hidden else n) for i, (m, n) in enumerate(months)]


def stats(session: Session, fiscal_year: int, now: datetime | None = None) -> PublicStats:
    """The public figures of one fiscal year (two grouped queries)."""
    p = period(fiscal_year, "year")
    year = figures.public_year(session, p, now)
    months = suppress(year.corruption_months, fiscal_year, keyring.server_key(key_contexts.STATS_SHUFFLE))
    return PublicStats(p, year.by_channel, months)


def selectable_years(session: Session, now: datetime | None = None) -> list[int]:
    """From the first fiscal year with a case to the current one, newest first."""
    current = current_fiscal_year(now or dates.now())
    first = figures.earliest_fiscal_year(session) or current
    return list(range(current, min(first, current) - 1, -1))
