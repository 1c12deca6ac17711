"""What evidences each ITA item: the public pages and files of this site, as absolute URLs (urls.py).

The links are code, not data: they are the site's own routes, so they cannot go stale when an
administrator edits a year's codes. tests/test_ita.py follows every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from .. import dates
from ..reports.periods import period
from ..urls import public_url


@dataclass(frozen=True)
class Evidence:
    label: str
    url: str  # absolute
    file: bool = False  # a file to download (PDF, XLSX) rather than a page


def _page(label: str, endpoint: str, **values: Any) -> Evidence:
    return Evidence(label, public_url(endpoint, **values))


def _file(label: str, endpoint: str, **values: Any) -> Evidence:
    return Evidence(label, public_url(endpoint, **values), file=True)


def _statistics(fiscal_year: int, now: datetime) -> list[Evidence]:
    year = {"fiscal_year": fiscal_year}
    out = [
        _page(_("Statistics, fiscal year %(year)s", year=fiscal_year), "reports.public_stats", **year),
        _file(_("Statistics as PDF"), "reports.public_stats_pdf", **year),
        _file(_("Statistics as Excel (XLSX)"), "reports.public_stats_xlsx", **year),
    ]
    if period(fiscal_year, "q1").end > now:  # nothing of this year is published yet: last year's too
        last = fiscal_year - 1
        label = _("Statistics of fiscal year %(year)s as PDF", year=last)
        out.append(_file(label, "reports.public_stats_pdf", fiscal_year=last))
    return out


def for_item(key: str, fiscal_year: int, now: datetime | None = None) -> list[Evidence]:
    """The evidence of item `key` for `fiscal_year`, in the order an assessor checks it."""
    moment = now or dates.now()
    corruption_form = _page(_("Corruption complaint form"), "citizen.report_corruption")
    guide = _page(_("Complaint-handling guideline"), "guide.page")
    guide_pdf = _file(_("Complaint-handling guideline as PDF"), "guide.pdf")
    protection = _page(_("How the reporter is protected"), "guide.page", _anchor="protection")
    channels = _page(_("Channels in the guideline"), "guide.page", _anchor="channels")
    ask = _page(_("Question form"), "citizen.ask")
    faq = _page(_("Questions already answered"), "answers.faq")
    service = [_page(_("The online service"), "citizen.home"), _page(_("Following a case"), "citizen.track")]
    table: dict[str, list[Evidence]] = {
        "e8": [_page(_("Feedback form"), "citizen.report_feedback"), *_statistics(fiscal_year, moment)[:1]],
        "e9": [ask, faq],
        "e10": [corruption_form, protection],
        "oit_guideline": [guide, guide_pdf],
        "oit_corruption_channel": [corruption_form, channels],
        "oit_corruption_stats": _statistics(fiscal_year, moment),
        "oit_qa": [ask, faq],
        "oit_eservice": service,
    }
    return table[key]
