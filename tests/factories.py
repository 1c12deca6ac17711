"""Factories that make cases and officers through the domain layer, as the app would."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import attachments, cases, keyring
from intake.models import Channel, Officer, Role, Source

ADMIN = "admin"  # the administrator `setup` makes in every test app
PASSWORD = "correct horse battery"  # noqa: S105 - the test administrator's
RECOVERY = "recovery passphrase for tests"
PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)


@dataclass
class Factory:
    app: Flask
    session: Session

    def clean_file(self, data: bytes, name: str = "evidence.txt") -> attachments.CleanFile:
        return attachments.inspect(io.BytesIO(data), name, self.app.config["ATTACHMENT_MAX_FILE"])

    def case(
        self,
        channel: Channel | str = Channel.FEEDBACK,
        details: str = "รายละเอียด",
        *,
        contact: str | None = None,
        files: list[tuple[bytes, str]] | None = None,
        source: Source | str = Source.WEB,
        received_at: datetime | None = None,
        category: str | None = None,
        **body: Any,
    ) -> cases.Submitted:
        channel = Channel(channel)
        clean = [self.clean_file(data, name) for data, name in files or []]
        return cases.submit(
            self.session,
            channel=channel,
            body={"details": details, **body},
            contact=contact,
            files=clean,
            store=self.app.extensions["intake.store"],
            source=Source(source),
            received_at=received_at,
            category=category,
        )

    def admin(self) -> Officer:
        officer = self.session.scalar(select(Officer).where(Officer.username == "admin"))
        assert officer is not None
        return officer

    def officer(
        self,
        username: str,
        password: str = "officer password 1",
        channels: tuple[str, ...] = (),
        role: Role = Role.OFFICER,
    ) -> Officer:
        """An officer granted `channels` by the admin (who holds every channel)."""
        officer = keyring.create_officer(self.session, username, password, role)
        admin = self.admin()
        admin_private = keyring.unlock(admin, PASSWORD)
        for channel in channels:
            private = keyring.channel_private(self.session, admin, admin_private, channel)
            keyring.grant(self.session, officer, channel, private, by=admin)
        self.session.commit()
        return officer
