"""Reporting periods of the Thai fiscal year (BE): quarters, the two halves (h1 is the six-month round
reported in April), the whole year (the twelve-month round reported in October).

Fiscal year 2569 runs from 1 Oct 2025 to 30 Sep 2026 in Bangkok time. Bounds are UTC instants of
Bangkok midnights, half-open: a case counts in [start, end) by its `received_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .. import dates

# code -> (first month index from October (0), number of months)
PERIODS: dict[str, tuple[int, int]] = {
    "q1": (0, 3),
    "q2": (3, 3),
    "q3": (6, 3),
    "q4": (9, 3),
    "h1": (0, 6),
    "h2": (6, 6),
    "year": (0, 12),
}
PERIOD_CODES = tuple(PERIODS)
MIN_FISCAL_YEAR = 2543  # 1 Oct 1999
MAX_FISCAL_YEAR = 2643


class PeriodInvalid(ValueError):
    """The fiscal year or the period code does not name a reporting period."""


@dataclass(frozen=True)
class Month:
    first_day: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Period:
    fiscal_year: int
    code: str
    months: tuple[Month, ...]

    @property
    def start(self) -> datetime:
        return self.months[0].start

    @property
    def end(self) -> datetime:
        return self.months[-1].end

    @property
    def first_day(self) -> date:
        return self.months[0].first_day

    @property
    def last_month(self) -> date:
        return self.months[-1].first_day

    @property
    def slug(self) -> str:
        return f"fy{self.fiscal_year}-{self.code}"


def _add_months(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def parse_fiscal_year(value: str | int | None) -> int:
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise PeriodInvalid("fiscal year must be a Buddhist Era year such as 2569") from exc
    if not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        raise PeriodInvalid(f"fiscal year must be between {MIN_FISCAL_YEAR} and {MAX_FISCAL_YEAR} (BE)")
    return year


def period(fiscal_year: int | str, code: str) -> Period:
    """The period `code` of fiscal year `fiscal_year` (BE); raises PeriodInvalid."""
    year = parse_fiscal_year(fiscal_year)
    if code not in PERIODS:
        raise PeriodInvalid(f"period must be one of {', '.join(PERIOD_CODES)}")
    offset, length = PERIODS[code]
    october = date(year - dates.BE_OFFSET - 1, 10, 1)
    months = []
    for i in range(offset, offset + length):
        first = _add_months(october, i)
        following = _add_months(first, 1)
        months.append(Month(first, dates.bangkok_midnight(first), dates.bangkok_midnight(following)))
    return Period(year, code, tuple(months))


def year_to(fiscal_year: int | str, code: str) -> Period:
    """From the start of the fiscal year to the end of period `code` (the year so far, at a quarter's
    end); code "ytd-<code>", or the whole year's own code when it ends with the year."""
    last = period(fiscal_year, code)
    if last.end == period(fiscal_year, "year").end:
        return period(fiscal_year, "year")
    whole = period(fiscal_year, "year")
    months = tuple(m for m in whole.months if m.end <= last.end)
    return Period(whole.fiscal_year, f"ytd-{code}", months)


def current_fiscal_year(now: datetime | None = None) -> int:
    return dates.fiscal_year_of(now or dates.now())
