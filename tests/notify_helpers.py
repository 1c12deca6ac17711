"""Helpers of the notification tests: officers with an address, the outbox, worker runs at a given time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from intake import db, notify
from intake.models import Delivery, Notice, NotifyMode, Officer, Role

from .factories import Factory


def officer_with_mail(
    factory: Factory,
    username: str,
    channels: tuple[str, ...] = (),
    *,
    mode: NotifyMode = NotifyMode.IMMEDIATE,
    role: Role = Role.OFFICER,
) -> Officer:
    """An officer granted `channels`, whose notices go to <username>@example.go.th."""
    officer = factory.officer(username, channels=channels, role=role)
    officer.email = f"{username}@example.go.th"
    officer.notify_mode = mode
    factory.session.commit()
    return officer


def admin_with_mail(factory: Factory, address: str = "admin@example.go.th") -> Officer:
    admin = factory.admin()
    admin.email = address
    factory.session.commit()
    return admin


def outbox(app: Flask) -> list[Notice]:
    with app.app_context():
        session = db.session()
        rows = list(session.scalars(select(Notice).order_by(Notice.id)))
        session.expunge_all()
        return rows


def deliveries(app: Flask) -> list[Delivery]:
    with app.app_context():
        session = db.session()
        rows = list(session.scalars(select(Delivery).order_by(Delivery.id)))
        session.expunge_all()
        return rows


def run(app: Flask, now: datetime | None = None, **kwargs: Any) -> notify.Summary:
    """One worker run (reminders, then every due notice), as `flask notify --once` does, at `now`."""
    return notify.Worker(app).run_once(now, **kwargs)


def recipients(mails: list[Any]) -> list[str]:
    return sorted(m.to for m in mails)
