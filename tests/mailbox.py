"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd in a thread), and the check every mail passes.

The server keeps what it accepts. It can be told to refuse (a 5xx or 4xx answer to RCPT), to stall past the
client's timeout (then answer 451: nothing accepted), to ask for STARTTLS or speak TLS from the first byte
with a self-signed certificate made by `openssl`, and to require a user name and password.

`assert_no_content` is what every mail the suite receives must pass: no marker a test typed, nothing shaped
like a tracking token, no link but the sign-in page, no image, no remote resource.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .servers import free_port

TOKEN_SHAPE = re.compile(r"[0-9A-Z]{5}(?:[-\s]?[0-9A-Z]{5}){3}")
# An audit anchor's hash (intake/anchors.py): 64 lowercase hex digits, which a tracking token (20 upper-case
# Crockford symbols, shown in groups) never is; about one hash in 300 has 20 digits in a row, which
# TOKEN_SHAPE would take for a token, so the check looks past exactly these words.
ANCHOR_HASH = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{64}(?![0-9A-Za-z])")
URL = re.compile(r"https?://[^\s<>\"')]+")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    def parts(self) -> dict[str, str]:
        """content type -> decoded text of each text part."""
        out = {}
        for part in self.message.walk():
            if part.get_content_maintype() == "text":
                out[part.get_content_type()] = part.get_content()
        return out

    def everything(self) -> str:
        """Decoded headers and every decoded text part, for searching."""
        msg = self.message
        headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
        return headers + "\n" + "\n".join(self.parts().values())


class Handler:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.mode = "accept"  # accept | refuse5 | refuse4 | stall
        self.stall_seconds = 3.0
        self.lock = threading.Lock()
        self.attempts = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.attempts += 1
        if self.mode == "refuse5":
            return "554 5.7.1 Relay access denied"
        if self.mode == "refuse4":
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.mode == "stall":
            await asyncio.sleep(self.stall_seconds)
            return "451 4.4.2 Timeout, nothing accepted"
        with self.lock:
            received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            self.received.append(received)
        return "250 2.0.0 Ok: queued"


@dataclass
class Certificate:
    cert: Path
    key: Path


def self_signed(directory: Path) -> Certificate:
    """A certificate for 127.0.0.1 and localhost, made with openssl (the CA file is the certificate)."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return Certificate(cert, key)


@dataclass
class Mailbox:
    """One SMTP server on a free loopback port; `config()` is the app's settings for it."""

    security: str = "none"  # none | starttls | ssl
    certificate: Certificate | None = None
    credentials: tuple[str, str] | None = None
    handler: Handler = field(default_factory=Handler)
    forbidden: set[str] = field(default_factory=set)
    port: int = 0
    controller: Controller | None = None

    def start(self, port: int | None = None) -> Mailbox:
        """Listen on `port` (again, after `stop`), or on a free one."""
        self.port = port or self.port or free_port()
        kwargs: dict[str, Any] = {}
        context = None
        if self.security != "none":
            assert self.certificate is not None, "TLS needs a certificate"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.certificate.cert, self.certificate.key)
        if self.security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        if self.credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.security == "starttls")  # aiosmtpd cannot see implicit TLS
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port,
            ssl_context=context if self.security == "ssl" else None, server_hostname="localhost",
            ready_timeout=10, **kwargs,
        )  # fmt: skip
        self.controller.start()
        return self

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        given = (data.login.decode(), data.password.decode()) if isinstance(data, LoginPassword) else None
        ok = given is not None and given == self.credentials
        return AuthResult(success=ok, handled=False)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def config(self, **extra: Any) -> dict[str, Any]:
        cfg: dict[str, Any] = {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_SECURITY": self.security,
            "MAIL_FROM": "intake@example.go.th",
            "MAIL_TIMEOUT": 2.0,
            "PUBLIC_URL": "https://report.example.go.th",
            "NOTIFY_RETRY_SECONDS": 60.0,
        }
        if self.certificate is not None:
            cfg["MAIL_CA_FILE"] = str(self.certificate.cert)
        if self.credentials is not None:
            cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] = self.credentials
        cfg.update(extra)
        return cfg

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        return [m for m in self.received if address in m.rcpt_tos]

    def clear(self) -> None:
        with self.handler.lock:
            self.handler.received.clear()

    def set_mode(self, mode: str) -> None:
        self.handler.mode = mode

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.received
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mails, got {len(self.received)}")

    def forbid(self, *markers: str) -> None:
        """Texts a test typed (or a token it got) that no mail may ever contain."""
        self.forbidden.update(m for m in markers if m)


def assert_no_content(mails: Iterable[Received], forbidden: Iterable[str] = (),
                      login_url: str = "https://report.example.go.th/officer/login") -> None:
    """Every mail: none of `forbidden`, nothing token-shaped, no link but `login_url`, no image or remote
    resource (checked in the decoded parts and in the raw bytes as sent)."""
    markers = [m for m in forbidden if m]
    for mail in mails:
        text = mail.everything()
        raw = mail.data.decode("utf-8", "replace")
        for marker in markers:
            assert marker not in text and marker not in raw, f"marker {marker!r} in a mail to {mail.to}"
        searched = ANCHOR_HASH.sub("", text.replace(mail.message["Message-ID"] or "", ""))
        assert not TOKEN_SHAPE.search(searched), text
        for url in URL.findall(text):
            assert url == login_url, f"link {url!r} in a mail to {mail.to}"
        lowered = text.lower()
        for needle in ("<img", "src=", "url(", "<link", "<script", "/officer/cases/"):
            assert needle not in lowered, f"{needle!r} in a mail to {mail.to}"
