"""Saving what the administrator sets for the guideline: units, offline channels, contact words, own text."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .. import audit, settings
from ..models import Officer

NAMES = (
    "guide.unit.corruption",
    "guide.unit.feedback",
    "guide.unit.question",
    "guide.offline_sources",
    "guide.offline_contact",
    "guide.text",
)
SHORT = ("guide.unit.corruption", "guide.unit.feedback", "guide.unit.question", "guide.offline_sources")


def save(session: Session, admin: Officer, values: dict[str, str]) -> list[str]:
    """Store the guideline settings that changed and audit them: short values in full, long texts by
    their length (the audit trail is no place for a page of prose)."""
    changed = [name for name in NAMES if name in values and values[name] != settings.get(session, name)]
    for name in changed:
        settings.put(session, name, values[name])
    session.flush()
    if changed:
        detail = "; ".join(
            f"{n}={values[n]}" if n in SHORT else f"{n}: {len(values[n])} characters" for n in changed
        )
        audit.record(session, admin.username, "settings.guide", None, detail)
    return changed
