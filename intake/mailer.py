"""SMTP with the standard library: Thai MIME messages (plain text and HTML), TLS that checks certificates.

`message()` builds an `email.message.EmailMessage` under the SMTP policy: a multipart/alternative of a
UTF-8 text/plain and text/html part (base64), RFC 2047 encoded Subject and From name, `Date`, a random
`Message-ID`, `Auto-Submitted: auto-generated` (RFC 3834: no auto-replies). No remote image, no tracking
pixel, no link but the one given. `Connection` sends one message after another over one SMTP session
(STARTTLS, implicit TLS or none, optional AUTH) and turns every failure into a `MailFailed` whose text is
safe to log and show: the server's code and reason, or the kind of network failure, never a password or a
message's content.
"""

from __future__ import annotations

import secrets
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from types import TracebackType
from typing import Any

from email_validator import EmailNotValidError, validate_email


class MailFailed(Exception):
    """The SMTP server did not take the message (or could not be reached); the text is safe to show."""

    def __init__(self, detail: str, *, code: int | None = None, connection: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail[:200]
        self.code = code
        # The connection itself failed (unreachable, timeout, TLS, authentication): every other message
        # waiting for this server would fail the same way now.
        self.connection = connection


class AddressInvalid(ValueError):
    """Not an e-mail address we can send to."""


def normalise_address(text: str) -> str:
    """An address as typed, checked (syntax only: no DNS look-up) and normalised; raises AddressInvalid.

    The local part must be ASCII (every mail server takes it; SMTPUTF8 is not everywhere); a Thai domain
    name is kept in its ASCII (punycode) form."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressInvalid(str(exc)) from exc
    return str(checked.ascii_email or checked.normalized)


@dataclass(frozen=True)
class MailConfig:
    server: str
    port: int
    security: str  # starttls | ssl | none
    username: str
    password: str
    sender: str
    timeout: float
    ca_file: str

    @classmethod
    def from_app(cls, config: Any) -> MailConfig:
        return cls(
            server=str(config["MAIL_SERVER"]),
            port=int(config["MAIL_PORT"]),
            security=str(config["MAIL_SECURITY"]),
            username=str(config["MAIL_USERNAME"]),
            password=str(config["MAIL_PASSWORD"]),
            sender=str(config["MAIL_FROM"]),
            timeout=float(config["MAIL_TIMEOUT"]),
            ca_file=str(config["MAIL_CA_FILE"]),
        )

    @property
    def configured(self) -> bool:
        return bool(self.server)

    @property
    def domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"

    def describe(self) -> str:
        """Server, port and security, for the administrator's page (no user name, no password)."""
        return f"{self.server}:{self.port} ({self.security})" if self.server else ""


@dataclass(frozen=True)
class Letter:
    """What one mail says: a subject, a plain text and an HTML rendering of the same."""

    subject: str
    text: str
    html: str


def message(
    config: MailConfig,
    to: str,
    letter: Letter,
    *,
    sender_name: str,
    when: datetime,
    message_id: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message to one recipient."""
    msg = EmailMessage(policy=SMTP)
    user, _, domain = config.sender.rpartition("@")
    msg["From"] = Address(display_name=sender_name, username=user, domain=domain)
    msg["To"] = to
    msg["Subject"] = letter.subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id or new_message_id(config)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    # base64: 7-bit clean for any server (no 8BITMIME needed), and a third the size of quoted-printable Thai
    msg.set_content(letter.text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(letter.html, subtype="html", charset="utf-8", cte="base64")
    for part in msg.iter_parts():  # EmailMessage.add_alternative gives the new part one of its own
        del part["MIME-Version"]
    return msg


def new_message_id(config: MailConfig) -> str:
    """Random (no time, no process, no sequence number in it), on the sender's domain."""
    return f"<{secrets.token_hex(16)}@{config.domain}>"


def _tls_context(config: MailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _reason(exc: BaseException) -> str:
    raw = getattr(exc, "smtp_error", b"")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:150]


def _failure(exc: BaseException) -> MailFailed:
    """Any error of smtplib, ssl or the socket as a MailFailed (without passwords: none is in these)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, raw = next(iter(exc.recipients.values()), (0, b""))
        reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        return MailFailed(f"{code} {' '.join(reason.split())[:150]}", code=code)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return MailFailed(
            f"authentication refused: {exc.smtp_code} {_reason(exc)}", code=exc.smtp_code, connection=True
        )
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, HELO refused ...
        return MailFailed(
            f"{exc.smtp_code} {_reason(exc)}", code=exc.smtp_code, connection=exc.smtp_code in (421, 454, 530)
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return MailFailed(f"the server does not offer it: {exc}", connection=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError) or "timed out" in str(exc):  # smtplib's wording
            return MailFailed("timed out waiting for the server", connection=True)
        return MailFailed("the server closed the connection", connection=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailFailed(
            f"TLS: the server's certificate is not trusted ({exc.verify_message})", connection=True
        )
    if isinstance(exc, ssl.SSLError):
        return MailFailed(f"TLS failed: {exc.reason or exc}", connection=True)
    if isinstance(exc, socket.timeout | TimeoutError):
        return MailFailed("timed out waiting for the server", connection=True)
    if isinstance(exc, ConnectionRefusedError):
        return MailFailed("connection refused", connection=True)
    if isinstance(exc, socket.gaierror):
        return MailFailed("the server's name does not resolve", connection=True)
    if isinstance(exc, OSError):
        return MailFailed(f"network error: {exc.strerror or type(exc).__name__}", connection=True)
    return MailFailed(f"SMTP error: {type(exc).__name__}", connection=True)


class Connection:
    """One SMTP session, opened on first use; `send` raises MailFailed; a failed session is closed."""

    def __init__(self, config: MailConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> smtplib.SMTP:
        cfg = self.config
        if not cfg.configured:
            raise MailFailed("no mail server is configured (INTAKE_MAIL_SERVER)", connection=True)
        helo = cfg.domain
        smtp: smtplib.SMTP
        try:
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    cfg.server, cfg.port, local_hostname=helo, timeout=cfg.timeout, context=_tls_context(cfg)
                )
            else:
                smtp = smtplib.SMTP(cfg.server, cfg.port, local_hostname=helo, timeout=cfg.timeout)
            try:
                smtp.ehlo()
                if cfg.security == "starttls":
                    smtp.starttls(context=_tls_context(cfg))
                    smtp.ehlo()
                if cfg.username:
                    smtp.login(cfg.username, cfg.password)
            except BaseException:
                smtp.close()
                raise
        except (smtplib.SMTPException, OSError) as exc:
            raise _failure(exc) from None
        return smtp

    def send(self, msg: EmailMessage, to: str) -> str:
        """Hand `msg` to the server for `to`; returns the server's answer (e.g. "250 queued as …")."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            refused = self._smtp.send_message(msg, from_addr=self.config.sender, to_addrs=[to])
        except (smtplib.SMTPException, OSError) as exc:
            failure = _failure(exc)
            if failure.connection:
                self.close()
            else:
                self._reset()
            raise failure from None
        if refused:  # not reached with one recipient (smtplib raises), kept for safety
            raise MailFailed(f"refused: {refused}")
        return "250 accepted"

    def _reset(self) -> None:
        """After a refused message the session may go on (RSET); if even that fails, start anew."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
