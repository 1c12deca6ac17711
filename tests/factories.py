"""Factories that make cases and officers through the domain layer, as the app would."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import attachments, bodies, cases, keyring, tenancy
from intake.models import Channel, Officer, Role, Source

ADMIN = "admin"  # the administrator `setup` makes in every test app
PASSWORD = "correct horse battery"  # noqa: S105 - the test administrator's
RECOVERY = "recovery passphrase for tests"
LEGAL = "legal-unit"  # the factories' legal-affairs officer (Factory.legal)
PNG_1PX = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)


def recovery_passphrase(slug: str | None = None) -> str:
    """The recovery passphrase the tests give a tenant: RECOVERY for the first one (slug None), another
    for each tenant added with `tenant add`."""
    return RECOVERY if slug is None else f"{RECOVERY} of {slug}"


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
            body=bodies.from_json(channel.value, {"details": details, "category": category, **body}),
            contact=contact,
            files=clean,
            store=self.app.extensions["intake.store"],
            source=Source(source),
            received_at=received_at,
        )

    def admin(self) -> Officer:
        """The administrator made by setup: feedback and question only (issue 9, finding 12)."""
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
        """An officer granted `channels` with the recovery key, as `officer add --recovery-key` does."""
        officer = keyring.create_officer(self.session, username, password, role)
        if channels:
            tenant = tenancy.current()  # the tests keep each tenant's recovery key in keys/
            path = Path(self.app.config["KEYS_DIR"]) / keyring.recovery_file_name(tenant)
            passphrase = recovery_passphrase(None if tenant.secret_wrapped is None else tenant.slug)
            recovery = keyring.open_recovery(path, passphrase)
            for channel in channels:
                private = keyring.channel_private_by_recovery(self.session, channel, recovery)
                keyring.grant(self.session, officer, channel, private)
        self.session.commit()
        return officer

    def legal(self) -> Officer:
        """The legal-affairs unit's officer (งานนิติการ): the corruption channel, and feedback and question
        too, so that a test can open a case of any channel. Password: conftest.PASSWORD. Made once."""
        from .conftest import PASSWORD

        officer = self.session.scalar(select(Officer).where(Officer.username == LEGAL))
        if officer is None:
            officer = self.officer(LEGAL, PASSWORD, ("corruption", "feedback", "question"))
        return officer
