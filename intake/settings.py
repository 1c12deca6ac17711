"""Operator settings stored in the database, with typed accessors and the defaults they fall back to."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Channel, Setting

DEFAULTS: dict[str, str] = {
    "municipality_name": "เทศบาลตำบลตัวอย่าง",
    "ack_days.corruption": "7",
    "ack_days.feedback": "7",
    "ack_days.question": "7",
    "answer_days.corruption": "15",
    "answer_days.feedback": "15",
    "answer_days.question": "15",
    # The complaint-handling guideline (/guide): who handles each channel, which offline channels the
    # municipality accepts (Source values), how to reach it offline, and the administrator's own text.
    "guide.unit.corruption": "งานนิติการ สำนักปลัดเทศบาล",
    "guide.unit.feedback": "งานประชาสัมพันธ์ สำนักปลัดเทศบาล",
    "guide.unit.question": "สำนักปลัดเทศบาล",
    "guide.offline_sources": "phone,letter,walk_in,box",
    "guide.offline_contact": "",
    "guide.text": "",
}


class SettingInvalid(ValueError):
    """A setting was given a value it cannot take."""


@dataclass(frozen=True)
class Deadlines:
    acknowledge_days: int
    answer_days: int


_CACHE = "intake.settings"


def _stored(session: Session) -> dict[str, str]:
    """Every stored setting, read once per session (one request): a page asks for several."""
    cached: dict[str, str] | None = session.info.get(_CACHE)
    if cached is None:
        cached = {row.name: row.value for row in session.scalars(select(Setting))}
        session.info[_CACHE] = cached
    return cached


def get(session: Session, name: str) -> str:
    stored = _stored(session)
    if name in stored:
        return stored[name]
    if name in DEFAULTS:
        return DEFAULTS[name]
    return str(current_app.config[name.upper()])


def put(session: Session, name: str, value: str) -> None:
    session.info.pop(_CACHE, None)
    row = session.get(Setting, name)
    if row is None:
        session.add(Setting(name=name, value=value))
    else:
        row.value = value


def get_int(session: Session, name: str) -> int:
    try:
        return int(get(session, name))
    except ValueError as exc:
        raise SettingInvalid(name) from exc


def deadlines(session: Session, channel: str) -> Deadlines:
    return Deadlines(get_int(session, f"ack_days.{channel}"), get_int(session, f"answer_days.{channel}"))


def with_prefix(session: Session, prefix: str) -> dict[str, str]:
    """Every stored setting whose name starts with `prefix` (e.g. the ITA items entered per year)."""
    return {name: value for name, value in _stored(session).items() if name.startswith(prefix)}


def delete(session: Session, name: str) -> bool:
    """Remove a stored setting (its default, if any, applies again); True if there was one."""
    session.info.pop(_CACHE, None)
    row = session.get(Setting, name)
    if row is None:
        return False
    session.delete(row)
    return True


def all_values(session: Session) -> dict[str, str]:
    return {**DEFAULTS, **_stored(session)}


def attachment_limits(session: Session) -> tuple[int, int]:
    """(bytes per file, bytes per submission): a setting if an administrator set one, else config."""
    return get_int(session, "attachment_max_file"), get_int(session, "attachment_max_total")


def retention_years(session: Session) -> int:
    return get_int(session, "retention_years")


CHANNELS = tuple(c.value for c in Channel)
