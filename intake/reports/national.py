"""National figures: one period's case counts by province, tenant and channel across every tenant, no content.

For the host (and, if it chooses to publish them, the NACC or the DLA). Each tenant's counts are the very
counts of its own report (`figures.channel_counts`: carried over, received, and the state at the period's
end), computed in that tenant's own scope, one grouped query per tenant, so no wall is lowered to make
them; provinces and the country are their sums.

Small-count rule, at every level (as on /stats, for the corruption channel): a tenant's or a province's
corruption cell whose received count is 1 or 2 could point at the person who complained, so the whole
cell is hidden ("primary"). Because the level above shows its total, one hidden cell among its siblings
could be worked out by subtraction, so whenever a sibling is hidden one more sibling is hidden too
("secondary"), chosen by a keyed hash (a subkey of the deployment's master secret) of the period and the
sibling's name: it does not depend on the counts and outsiders cannot predict it. The other channels are
published exactly, as a tenant's /stats publishes them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import force_locale, gettext
from openpyxl import Workbook
from sqlalchemy.orm import Session

from .. import crypto, dates, key_contexts, keyring, settings, tenancy
from ..i18n import CHANNEL_LABELS
from ..models import CHANNELS, Channel
from . import figures
from .as_csv import neutralise
from .periods import Period
from .public import SMALL
from .tables import period_name

PROTECTED = Channel.CORRUPTION.value
COLUMNS = ("carried_over", "received", "closed", "open", "referred")


@dataclass
class Row:
    """One line of the national table: a tenant, a province's sum or the country's, for one channel."""

    level: str  # "tenant", "province", "country"
    province: str
    slug: str
    name: str
    channel: str
    counts: figures.Counts
    hidden: bool = False

    def values(self) -> list[int | None]:
        c = self.counts
        shown = [c.carried_over, c.received, c.closed, c.open, c.referred]
        return [None if self.hidden else v for v in shown]


@dataclass
class National:
    period: Period
    as_of: datetime
    rows: list[Row] = field(default_factory=list)


def _rank(key: bytes, p: Period, name: str) -> bytes:
    return crypto.keyed_hash(key, f"{p.fiscal_year}:{p.code}:{name}".encode())


def suppress(siblings: list[Row], p: Period, key: bytes) -> None:
    """Hide protected-channel cells with 1-2 received; if any is hidden, one more (keyed choice)."""
    protected = [r for r in siblings if r.channel == PROTECTED]
    for row in protected:
        if row.counts.received in SMALL:
            row.hidden = True
    visible = [r for r in protected if not r.hidden]
    if visible and len(visible) < len(protected):
        min(visible, key=lambda r: _rank(key, p, f"{r.province}/{r.slug}")).hidden = True


def compute(session: Session, p: Period, as_of: datetime | None = None) -> National:
    """Every tenant's channel counts, their provinces' and the country's, with the small-count rule."""
    moment = as_of or dates.now()
    out = National(p, moment)
    provinces: dict[str, dict[str, figures.Counts]] = {}
    by_province: dict[str, list[Row]] = {}
    # One statement for every tenant (building it costs more than running it on a small tenant's rows).
    statement = figures.count_statement(p, p.end, session.get_bind().dialect.name)
    for tenant in sorted(tenancy.all_tenants(), key=lambda t: (t.province, t.slug)):
        with tenancy.acting_for(tenant.id):
            counts = figures.channel_counts(session, p, statement)
            # The first tenant of a deployment that grew from one municipality has no name of its own
            # (its slug): its municipality's name is in its settings.
            name = tenant.name if tenant.name != tenant.slug else settings.get(session, "municipality_name")
        for channel in CHANNELS:
            row = Row("tenant", tenant.province, tenant.slug, name, channel, counts[channel])
            by_province.setdefault(tenant.province, []).append(row)
            provinces.setdefault(tenant.province, {c: figures.Counts() for c in CHANNELS})[channel].add(
                counts[channel]
            )
    key = keyring.host_key(key_contexts.NATIONAL_SHUFFLE)
    country = {c: figures.Counts() for c in CHANNELS}
    province_rows: list[Row] = []
    for province, sums in provinces.items():
        suppress(by_province[province], p, key)
        out.rows.extend(by_province[province])
        for channel in CHANNELS:
            province_rows.append(Row("province", province, "", province, channel, sums[channel]))
            country[channel].add(sums[channel])
    suppress(province_rows, p, key)
    out.rows.extend(province_rows)
    out.rows.extend(Row("country", "", "", "", c, country[c]) for c in CHANNELS)
    return out


def _headers() -> list[str]:
    return [
        gettext("Level"), gettext("Province"), gettext("Tenant"), gettext("Name"), gettext("Channel"),
        gettext("Carried over"), gettext("Received"), gettext("Closed"), gettext("Still open"),
        gettext("Referred"),
    ]


def _lines(national: National) -> list[list[str | int]]:
    hidden = gettext("hidden (small count)")
    levels = {"tenant": gettext("tenant"), "province": gettext("province"), "country": gettext("country")}
    lines: list[list[str | int]] = []
    for r in national.rows:
        values: list[str | int] = [hidden if v is None else v for v in r.values()]
        names = [neutralise(text) for text in (r.province, r.slug, r.name)]  # host-typed text: no formulas
        lines.append([levels[r.level], *names, str(CHANNEL_LABELS[r.channel]), *values])
    return lines


def render(national: National, fmt: str, locale: str = "th") -> bytes:
    """The table as CSV (UTF-8 with BOM, for spreadsheet programs) or XLSX."""
    with force_locale(locale):
        headers, lines = _headers(), _lines(national)
        title = gettext("National figures, fiscal year %(year)s %(period)s, as of %(day)s",
                        year=national.period.fiscal_year, period=period_name(national.period),
                        day=dates.format_date(national.as_of, locale))
    if fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow([title])
        writer.writerow(headers)
        writer.writerows(lines)
        return "\ufeff".encode() + text.getvalue().encode("utf-8")
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    sheet.title = str(national.period.fiscal_year)
    sheet.append([title])
    sheet.append(headers)
    for line in lines:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
