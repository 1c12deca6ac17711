"""Translation helpers and template filters: Thai first, Buddhist Era dates, labels for machine values."""

from __future__ import annotations

import math
from datetime import date, datetime

from flask import Flask, current_app
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from . import dates, db, findable, outside_help, settings

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
RATING_LABELS = {
    "1": _l("1 – very poor"),
    "2": _l("2 – poor"),
    "3": _l("3 – fair"),
    "4": _l("4 – good"),
    "5": _l("5 – very good"),
}
# Two questions every citizen form with them asks (bodies.py has the others).
CONTACT_LABEL = _l("Contact details (optional)")
FILES_LABEL = _l("Files (optional)")
# What the citizen reads for a case closed as a duplicate (its machine status stays `dismissed`).
DUPLICATE_LABEL = _l("Joined with another case")
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "officer": _l("Officer"),
    "executive": _l("Executive"),
}


# The audit trail's actions, as the administrator reads them (an action without a label shows its code).
AUDIT_LABELS = {
    "answer.publish": _l("Published an answer"),
    "answer.unpublish": _l("Withdrew a published answer"),
    "attachment.download": _l("Downloaded a file"),
    "case.acknowledge": _l("Acknowledged a case"),
    "case.assign": _l("Assigned a case"),
    "case.duplicate": _l("Marked a case as a duplicate"),
    "case.intake": _l("Recorded an offline case"),
    "case.note": _l("Added an internal note"),
    "case.refer": _l("Referred a case"),
    "case.reply": _l("Replied to the citizen"),
    "case.status": _l("Changed a case's status"),
    "case.view": _l("Opened a case"),
    "grant.add": _l("Granted a channel"),
    "grant.revoke": _l("Removed a channel"),
    "login.failure": _l("Failed sign-in"),
    "login.success": _l("Signed in"),
    "logout": _l("Signed out"),
    "officer.create": _l("Created an account"),
    "officer.deactivate": _l("Deactivated an account"),
    "password.change": _l("Changed a password"),
    "queue.view": _l("Viewed the queue"),
    "register.import": _l("Imported a register"),
    "report.export": _l("Downloaded a report"),
    "retention.purge": _l("Applied the retention policy"),
    "settings.change": _l("Changed the settings"),
    "settings.crest": _l("Changed the crest"),
    "totp.enrol": _l("Set up two-step sign-in"),
    "totp.reset": _l("Reset two-step sign-in"),
}


def lang() -> str:
    return str(get_locale() or "th")


def be_date(value: datetime | date | None, short: bool = False) -> str:
    return "" if value is None else dates.format_date(value, lang(), short=short)


def be_datetime(value: datetime | None) -> str:
    return "" if value is None else dates.format_datetime(value, lang())


def be_due(value: datetime | None) -> str:
    """A deadline as the last day within it (due_at is the midnight that ends that day)."""
    return "" if value is None else dates.format_date(dates.last_day(value), lang())


def be_iso_date(value: str | None) -> str:
    """A stored YYYY-MM-DD date (a referral's) shown in the Buddhist Era; anything else as it is."""
    try:
        return be_date(date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")


def html_datetime(value: datetime | None) -> str:
    return "" if value is None else dates.html_datetime(value)


def label(mapping: dict[str, object], value: str | None) -> str:
    return str(mapping.get(value or "", value or ""))


def human_wait(seconds: int) -> str:
    """A wait in words, rounded up: "3 minutes", "2 hours"."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 60:
        return str(ngettext("%(num)d minute", "%(num)d minutes", minutes))
    return str(ngettext("%(num)d hour", "%(num)d hours", math.ceil(minutes / 60)))


def human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _page_context() -> dict[str, object]:
    """Values every page shows: the municipality's name, the upload limits."""

    try:
        session = db.session()
        name = settings.get(session, "municipality_name")
        max_file, max_total = settings.attachment_limits(session)
        contact = settings.contact(session)
    except Exception:  # noqa: BLE001 - an error page must render even when the database is down
        name = settings.DEFAULTS["municipality_name"]
        max_file = current_app.config["ATTACHMENT_MAX_FILE"]
        max_total = current_app.config["ATTACHMENT_MAX_TOTAL"]
        contact = settings.Contact()
    return {
        "municipality_name": name,
        "site_contact": contact,
        "outside_agencies": outside_help.AGENCIES,
        "limits": {"file": human_size(max_file), "total": human_size(max_total),
                   "file_bytes": max_file, "total_bytes": max_total},
    }


def register(app: Flask) -> None:
    app.context_processor(_page_context)
    app.add_template_global(findable.directive, "robots_directive")
    app.add_template_filter(be_date)
    app.add_template_filter(be_datetime)
    app.add_template_filter(be_due)
    app.add_template_filter(be_iso_date)
    app.add_template_filter(html_datetime)
    app.add_template_filter(lambda v: label(CHANNEL_LABELS, v), "channel_label")
    app.add_template_filter(lambda v: label(STATUS_LABELS, v), "status_label")
    app.add_template_filter(lambda v: label(SOURCE_LABELS, v), "source_label")
    app.add_template_filter(lambda v: label(CATEGORY_LABELS, v), "category_label")
    app.add_template_filter(lambda v: label(AGENCY_LABELS, v), "agency_label")
    app.add_template_filter(lambda v: label(ROLE_LABELS, v), "role_label")
    app.add_template_filter(lambda v: label(AUDIT_LABELS, v), "audit_label")
    app.add_template_filter(lambda v: Markup("<br>").join(str(v).splitlines()), "nl2br")
    app.context_processor(
        lambda: {
            "lang": lang(),
            "CHANNEL_LABELS": CHANNEL_LABELS,
            "STATUS_LABELS": STATUS_LABELS,
            "SOURCE_LABELS": SOURCE_LABELS,
            "CATEGORY_LABELS": CATEGORY_LABELS,
            "DUPLICATE_LABEL": DUPLICATE_LABEL,
            "AUDIT_LABELS": AUDIT_LABELS,
            "FILES_LABEL": FILES_LABEL,
            "CONTACT_LABEL": CONTACT_LABEL,
            "EXAMPLE_DATE": dates.EXAMPLE_DATE,
        }
    )
