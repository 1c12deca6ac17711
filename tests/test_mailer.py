"""SMTP done properly: MIME and encoded headers, Message-ID, STARTTLS / TLS / none against a real server
with a certificate checked, authentication, failures as safe texts; the INTAKE_MAIL_* settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError
from intake import create_app, mailer

from .conftest import app_config
from .mailbox import Certificate, Mailbox, assert_no_content, self_signed

# aiosmtpd cannot see implicit TLS (the "ssl" server), so it warns about AUTH without TLS: it is TLS.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

LETTER = mailer.Letter(
    subject="มีเรื่องรอท่านดำเนินการในช่องทางรับเรื่องจากประชาชน",
    text="เรียน เจ้าหน้าที่\n\nเรื่องใหม่: 1\n",
    html='<!doctype html><html lang="th"><body><p>เรื่องใหม่: <strong>1</strong></p></body></html>',
)


def _raw_header(raw: str, name: str) -> str:
    match = re.search(rf"^{name}: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", raw, re.M)
    assert match, name
    return match.group(1).replace("\r\n", "")


def config_for(box: Mailbox, **extra: Any) -> mailer.MailConfig:
    cfg = box.config(**extra)
    return mailer.MailConfig(
        server=cfg["MAIL_SERVER"],
        port=cfg["MAIL_PORT"],
        security=cfg["MAIL_SECURITY"],
        username=cfg.get("MAIL_USERNAME", ""),
        password=cfg.get("MAIL_PASSWORD", ""),
        sender=cfg["MAIL_FROM"],
        timeout=cfg["MAIL_TIMEOUT"],
        ca_file=cfg.get("MAIL_CA_FILE", ""),
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def tls_box(request: pytest.FixtureRequest, certificate: Certificate) -> Iterator[Mailbox]:
    credentials = ("intake", "s3cret-pass")
    box = Mailbox(security=request.param, certificate=certificate, credentials=credentials).start()
    yield box
    box.stop()
    assert_no_content(box.received)


def send(config: mailer.MailConfig, to: str = "pr@example.go.th") -> str:
    msg = mailer.message(config, to, LETTER, sender_name="เทศบาลตำบลตัวอย่าง", when=datetime.now(UTC))
    with mailer.Connection(config) as conn:
        return conn.send(msg, to)


def test_the_message_is_multipart_thai_with_encoded_headers(mailbox: Mailbox) -> None:
    send(config_for(mailbox))
    (mail,) = mailbox.received
    raw = mail.data.decode("ascii")  # 7-bit clean as sent: every Thai header and body is encoded
    assert re.search(r"^Subject: =\?utf-8\?[bq]\?", raw, re.M | re.I)
    assert re.search(r"^From: =\?utf-8\?[bq]\?.+\n?.*<intake@example\.go\.th>", raw, re.M | re.I)
    assert all(len(line) <= 998 for line in raw.split("\r\n"))
    msg = mail.message
    assert msg["Subject"] == LETTER.subject
    # RFC 2047 decoding of the raw header (Python's address parser puts a space between the encoded words
    # of a long display name; RFC 2047 readers such as Thunderbird and Gmail do not)
    assert (
        str(make_header(decode_header(_raw_header(raw, "From")))) == "เทศบาลตำบลตัวอย่าง <intake@example.go.th>"
    )
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.go\.th>", msg["Message-ID"])
    assert msg["Date"].datetime.tzinfo is not None
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["MIME-Version"] == "1.0" and raw.count("MIME-Version") == 1
    assert msg.get_content_type() == "multipart/alternative"
    parts = [(p.get_content_type(), p.get_content_charset()) for p in msg.iter_parts()]
    assert parts == [("text/plain", "utf-8"), ("text/html", "utf-8")]
    assert mail.parts()["text/plain"].replace("\r\n", "\n") == LETTER.text
    assert "<img" not in mail.parts()["text/html"]


def test_message_ids_are_random(mailbox: Mailbox) -> None:
    config = config_for(mailbox)
    assert len({mailer.new_message_id(config) for _ in range(50)}) == 50


@pytest.mark.parametrize("tls_box", ["starttls", "ssl"], indirect=True)
def test_tls_with_the_certificate_checked_and_a_password(tls_box: Mailbox) -> None:
    assert send(config_for(tls_box)).startswith("250")
    assert len(tls_box.received) == 1


@pytest.mark.parametrize("tls_box", ["starttls", "ssl"], indirect=True)
def test_an_untrusted_certificate_is_refused(tls_box: Mailbox) -> None:
    with pytest.raises(mailer.MailFailed, match="not trusted") as failed:
        send(config_for(tls_box, MAIL_CA_FILE=""))
    assert failed.value.connection
    assert tls_box.received == []


@pytest.mark.parametrize("tls_box", ["starttls"], indirect=True)
def test_a_wrong_password_fails_without_saying_it(tls_box: Mailbox) -> None:
    with pytest.raises(mailer.MailFailed) as failed:
        send(config_for(tls_box, MAIL_PASSWORD="wrong-password-x"))
    assert failed.value.connection and failed.value.detail.startswith("authentication refused: 535")
    assert "wrong-password-x" not in failed.value.detail and "s3cret" not in failed.value.detail


def test_a_refused_recipient_keeps_the_session_for_the_next(mailbox: Mailbox) -> None:
    config = config_for(mailbox)
    with mailer.Connection(config) as conn:
        mailbox.set_mode("refuse5")
        msg = mailer.message(config, "a@example.go.th", LETTER, sender_name="x", when=datetime.now(UTC))
        with pytest.raises(mailer.MailFailed, match="^554 5.7.1 Relay access denied") as failed:
            conn.send(msg, "a@example.go.th")
        assert not failed.value.connection and failed.value.code == 554
        mailbox.set_mode("accept")
        msg = mailer.message(config, "b@example.go.th", LETTER, sender_name="x", when=datetime.now(UTC))
        conn.send(msg, "b@example.go.th")
    assert [m.to for m in mailbox.received] == ["b@example.go.th"]


def test_a_stalled_server_times_out(mailbox: Mailbox) -> None:
    mailbox.set_mode("stall")
    mailbox.handler.stall_seconds = 2.0
    with pytest.raises(mailer.MailFailed, match="timed out") as failed:
        send(config_for(mailbox, MAIL_TIMEOUT=0.5))
    assert failed.value.connection


def test_addresses_are_checked_and_normalised() -> None:
    assert mailer.normalise_address("  Somchai@Example.GO.TH ") == "Somchai@example.go.th"
    assert mailer.normalise_address("pr@เทศบาล.ไทย") == "pr@xn--o3cg7ak5c9d.xn--o3cw4h"
    bad_ones = ("somchai", "สมชาย@example.go.th", "a@b", "a b@example.go.th", "a@example.go.th\r\nBcc: x@y.z")
    for bad in bad_ones:
        with pytest.raises(mailer.AddressInvalid):
            mailer.normalise_address(bad)


def make(tmp_path: Path, **extra: Any) -> Any:
    return create_app(app_config(f"sqlite:///{tmp_path / 'cfg.db'}", tmp_path, **extra))


def test_settings_defaults_and_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make(tmp_path, MAIL_SERVER="mail.example.go.th", MAIL_FROM="intake@example.go.th")
    assert (app.config["MAIL_SECURITY"], app.config["MAIL_PORT"]) == ("starttls", 587)
    app = make(tmp_path, MAIL_SERVER="m", MAIL_FROM="i@example.go.th", MAIL_SECURITY="SSL")
    assert (app.config["MAIL_SECURITY"], app.config["MAIL_PORT"]) == ("ssl", 465)
    with pytest.raises(ConfigError, match="INTAKE_MAIL_SECURITY"):
        make(tmp_path, MAIL_SECURITY="tls")
    with pytest.raises(ConfigError, match="INTAKE_MAIL_FROM"):
        make(tmp_path, MAIL_SERVER="mail.example.go.th")
    with pytest.raises(ConfigError, match="INTAKE_MAIL_PORT"):
        make(tmp_path, MAIL_PORT="smtp")
    monkeypatch.setenv("INTAKE_MAIL_USERNAME", "1234")
    monkeypatch.setenv("INTAKE_MAIL_PASSWORD", "0042")
    app = make(tmp_path)
    assert (app.config["MAIL_USERNAME"], app.config["MAIL_PASSWORD"]) == ("1234", "0042")  # as typed
