"""Translation helpers and template filters: Thai first, Buddhist Era dates, labels for machine values."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from . import dates, findable

CHANNEL_LABELS = {
    "corruption": _l("Corruption complaint"),
    "feedback": _l("Feedback and suggestions"),
    "question": _l("Questions and answers"),
}
STATUS_LABELS = {
    "new": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("In progress"),
    "referred": _l("Referred to another agency"),
    "resolved": _l("Resolved"),
    "dismissed": _l("Closed without action"),
}
SOURCE_LABELS = {
    "web": _l("Website"),
    "phone": _l("Telephone"),
    "letter": _l("Letter"),
    "walk_in": _l("In person"),
    "box": _l("Complaint box"),
    "facebook": _l("Facebook"),
    "line": _l("LINE"),
    "email": _l("E-mail"),
    "other": _l("Other"),
}
CATEGORY_LABELS = {
    "bribery": _l("Bribery"),
    "procurement": _l("Procurement"),
    "abuse_of_position": _l("Abuse of position"),
    "embezzlement": _l("Embezzlement"),
    "favouritism": _l("Favouritism or nepotism"),
    "other": _l("Other"),
}
AGENCY_LABELS = {
    "nacc": _l("National Anti-Corruption Commission (NACC)"),
    "pacc": _l("Public Sector Anti-Corruption Commission (PACC)"),
    "damrongdhama": _l("Damrongdhama Center"),
    "province": _l("Provincial office"),
    "other": _l("Other agency"),
}
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "officer": _l("Officer"),
    "executive": _l("Executive"),
}


def lang() -> str:
    return str(get_locale() or "th")


def be_date(value: datetime | date | None, short: bool = False) -> str:
    return "" if value is None else dates.format_date(value, lang(), short=short)


def be_datetime(value: datetime | None) -> str:
    return "" if value is None else dates.format_datetime(value, lang())


def label(mapping: dict[str, object], value: str | None) -> str:
    return str(mapping.get(value or "", value or ""))


def human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _page_context() -> dict[str, object]:
    """Values every page shows: the municipality's name, the upload limits."""
    from flask import current_app

    from . import db, settings

    try:
        session = db.session()
        name = settings.get(session, "municipality_name")
        max_file, max_total = settings.attachment_limits(session)
    except Exception:  # noqa: BLE001 - an error page must render even when the database is down
        name = settings.DEFAULTS["municipality_name"]
        max_file = current_app.config["ATTACHMENT_MAX_FILE"]
        max_total = current_app.config["ATTACHMENT_MAX_TOTAL"]
    return {
        "municipality_name": name,
        "limits": {"file": human_size(max_file), "total": human_size(max_total),
                   "file_bytes": max_file, "total_bytes": max_total},
    }


def register(app: Flask) -> None:
    app.context_processor(_page_context)
    app.add_template_global(findable.directive, "robots_directive")
    app.add_template_filter(be_date)
    app.add_template_filter(be_datetime)
    app.add_template_filter(lambda v: label(CHANNEL_LABELS, v), "channel_label")
    app.add_template_filter(lambda v: label(STATUS_LABELS, v), "status_label")
    app.add_template_filter(lambda v: label(SOURCE_LABELS, v), "source_label")
    app.add_template_filter(lambda v: label(CATEGORY_LABELS, v), "category_label")
    app.add_template_filter(lambda v: label(AGENCY_LABELS, v), "agency_label")
    app.add_template_filter(lambda v: label(ROLE_LABELS, v), "role_label")
    app.add_template_filter(lambda v: Markup("<br>").join(str(v).splitlines()), "nl2br")
    app.context_processor(
        lambda: {
            "lang": lang(),
            "CHANNEL_LABELS": CHANNEL_LABELS,
            "STATUS_LABELS": STATUS_LABELS,
            "SOURCE_LABELS": SOURCE_LABELS,
            "CATEGORY_LABELS": CATEGORY_LABELS,
        }
    )
