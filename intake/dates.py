"""Time: UTC in storage, Asia/Bangkok for people, Buddhist Era years, the Thai fiscal year, deadlines."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BANGKOK = ZoneInfo("Asia/Bangkok")
BE_OFFSET = 543
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
THAI_MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
ENGLISH_MONTHS_SHORT = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


_AS_OF: ContextVar[datetime | None] = ContextVar("intake_as_of", default=None)


def now() -> datetime:
    """The current moment (UTC), or the moment `as_of` set for the code running inside it."""
    return _AS_OF.get() or datetime.now(UTC)


@contextmanager
def as_of(moment: datetime) -> Iterator[None]:
    """Run domain operations as if at `moment` (the demo's history over two fiscal years): every
    timestamp they write, audit entries included, is that moment. Never used by a request."""
    token = _AS_OF.set(moment)
    try:
        yield
    finally:
        _AS_OF.reset(token)


def local(dt: datetime) -> datetime:
    return dt.astimezone(BANGKOK)


def local_date(dt: datetime) -> date:
    return local(dt).date()


def bangkok_midnight(day: date) -> datetime:
    """The UTC instant at which `day` begins in Bangkok."""
    return datetime.combine(day, time(0), BANGKOK).astimezone(UTC)


def due_at(received_at: datetime, days: int) -> datetime:
    """Deadline: the end of the Bangkok calendar day `days` days after receipt (calendar days)."""
    return bangkok_midnight(local_date(received_at) + timedelta(days=days + 1))


EXAMPLE_DATE = "2569-03-15"  # the Buddhist Era example every officer date field shows
BE_FROM = 2400  # a typed year from 2400 on is Buddhist Era (2400 BE = 1857 CE; no case is older)


@dataclass(frozen=True)
class TypedDate:
    day: date
    era: str  # "be" or "ce": how the year was read


_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_SLASHED = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


def parse_typed_date(text: str) -> TypedDate:
    """A date as a Thai clerk types it: YYYY-MM-DD or D/M/YYYY, the year in the Buddhist Era (2400 or
    above) or the Christian Era; Thai digits are fine. Raises ValueError."""
    plain = unicodedata.normalize("NFKC", text).strip().translate(_THAI_DIGITS)
    if match := _ISO.fullmatch(plain):
        year, month, day = (int(g) for g in match.groups())
    elif match := _SLASHED.fullmatch(plain):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError(f"not a date: {text!r}")
    era = "be" if year >= BE_FROM else "ce"
    return TypedDate(date(year - BE_OFFSET if era == "be" else year, month, day), era)


def parse_local_date(text: str) -> date:
    """A typed date (see parse_typed_date) as a calendar date; raises ValueError."""
    return parse_typed_date(text).day


def last_day(due: datetime) -> date:
    """The last Bangkok day within a deadline (`due_at` is the midnight that ends it)."""
    return local_date(due - timedelta(microseconds=1))


def html_datetime(dt: datetime) -> str:
    """A valid HTML `datetime` attribute: UTC, whole seconds, "Z"."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def received_from_date(day: date) -> datetime:
    """An offline case's receipt instant: noon Bangkok of that day (its time of day is unknown)."""
    return datetime.combine(day, time(12), BANGKOK).astimezone(UTC)


def be_year(day: date | datetime) -> int:
    return day.year + BE_OFFSET


def format_date(dt: datetime | date, lang: str = "th", *, short: bool = False) -> str:
    """26 พฤศจิกายน 2569 (Thai, Buddhist Era) or 26 Nov 2569 BE (English)."""
    day = local_date(dt) if isinstance(dt, datetime) else dt
    if lang == "th":
        months = THAI_MONTHS_SHORT if short else THAI_MONTHS
        return f"{day.day} {months[day.month - 1]} {be_year(day)}"
    return f"{day.day} {ENGLISH_MONTHS_SHORT[day.month - 1]} {be_year(day)} BE"


def format_datetime(dt: datetime, lang: str = "th") -> str:
    loc = local(dt)
    suffix = " น." if lang == "th" else ""
    return f"{format_date(loc.date(), lang, short=True)} {loc:%H:%M}{suffix}"


def fiscal_year_of(dt: datetime | date) -> int:
    """Thai fiscal year (BE) of a moment counted in Bangkok: 1 Oct 2025 -> 2569."""
    day = local_date(dt) if isinstance(dt, datetime) else dt
    return be_year(day) + (1 if day.month >= 10 else 0)


def fiscal_year_bounds(be: int) -> tuple[datetime, datetime]:
    """[start, end) in UTC of fiscal year `be` (BE): 1 Oct of the year before to 1 Oct."""
    year = be - BE_OFFSET
    return bangkok_midnight(date(year - 1, 10, 1)), bangkok_midnight(date(year, 10, 1))
