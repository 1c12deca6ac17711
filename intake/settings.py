"""Operator settings stored in the database, with typed accessors and the defaults they fall back to."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import tenancy
from .models import CHANNELS, Setting

DEFAULTS: dict[str, str] = {
    "municipality_name": "เทศบาลตำบลตัวอย่าง",
    **{f"ack_days.{channel}": "7" for channel in CHANNELS},
    **{f"answer_days.{channel}": "15" for channel in CHANNELS},
    # The municipality's contact page (/contact) and the privacy notice's data controller: set by the
    # administrator on the settings page; empty until then (the pages say so).
    "contact_address": "",
    "contact_phone": "",
    "contact_email": "",
    "contact_hours": "",
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
    """Every stored setting, read once per session (one request): a page asks for several. Kept per scope:
    a command run for each tenant in turn (`--all-tenants`) switches one session between tenants."""
    scope = tenancy.scope_of(session)
    cached: tuple[tenancy.Scope, dict[str, str]] | None = session.info.get(_CACHE)
    if cached is None or cached[0] != scope:
        cached = (scope, {row.name: row.value for row in session.scalars(select(Setting))})
        session.info[_CACHE] = cached
    return cached[1]


def get(session: Session, name: str) -> str:
    stored = _stored(session)
    if name in stored:
        return stored[name]
    if name in DEFAULTS:
        return DEFAULTS[name]
    return str(current_app.config[name.upper()])


def put(session: Session, name: str, value: str) -> None:
    session.info.pop(_CACHE, None)
    row = session.scalar(select(Setting).where(Setting.name == name))
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


@dataclass(frozen=True)
class Contact:
    address: str = ""
    phone: str = ""
    email: str = ""
    hours: str = ""

    @property
    def given(self) -> bool:
        return any((self.address, self.phone, self.email, self.hours))


def contact(session: Session) -> Contact:
    return Contact(*(get(session, f"contact_{part}") for part in ("address", "phone", "email", "hours")))
def with_prefix(session: Session, prefix: str) -> dict[str, str]:
    """Every stored setting whose name starts with `prefix` (e.g. the ITA items entered per year)."""
    return {name: value for name, value in _stored(session).items() if name.startswith(prefix)}


def delete(session: Session, name: str) -> bool:
    """Remove a stored setting (its default, if any, applies again); True if there was one."""
    session.info.pop(_CACHE, None)
    row = session.scalar(select(Setting).where(Setting.name == name))  # the tenant's (tenancy.py)
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
