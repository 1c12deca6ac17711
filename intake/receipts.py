"""Receipts: one submission, one case; the same rendered form sent again files nothing, shows the same code.

Every rendered submission form (the three citizen channels, the officer's offline intake) carries a random
one-time value, `form_id` (128 bits from `secrets`). When the form files a case, the same transaction
writes a receipt row keyed by a keyed hash of that value (HMAC under a key derived from the server
secret), holding the token and case id encrypted under a key derived from the value itself (HKDF). The
answer is a 303 to the receipt page, and a short-lived, HttpOnly cookie scoped to that page carries the
value; nowhere else is it kept. So:

- a reload of the receipt page, Back from the tracking page, or a later look within SHOW_FOR shows the same
  code (the cookie's value opens the row);
- the same form sent again (a double tap, a retry after an answer lost on a bad mobile connection) finds
  its receipt and files no second case: a POST whose value was filed already is answered with the same
  303. Two copies arriving at once cannot both file: the receipt row's key is unique, so the second
  transaction fails on it, is rolled back whole (its files removed) and shows the first one's code;
- Back to the form and send again: browsers restore what was typed but fetch the page anew, with a new
  one-time value. So the receipt also keeps a keyed hash of what the form said (text fields), and the
  cookie keeps the values of the browser's last few receipts: a form from the same browser that says
  exactly what one of them said, and carries no file (browsers never restore chosen files: a form with
  files is sent on purpose), is answered with that receipt;
- the code never sits readable in a cookie, a URL or storage: the database alone (hash and ciphertext)
  reads nothing; the cookie holds the form's value, not the code.

After SHOW_FOR the ciphertext is erased (`sweep`, run before each new receipt and by `purge`); the hash
stays until REMEMBER_FOR so that a very late resend is still not filed twice (the page says the code is no
longer shown). Several app servers share these rows through the database: no process memory is used.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exc, select, update
from sqlalchemy.orm import Session

from . import crypto, dates, key_contexts, keyring
from .models import Case, Receipt

SHOW_FOR = timedelta(hours=4)  # the code can be shown again for this long ("at least an hour")
REMEMBER_FOR = timedelta(days=2)  # a resend within this long still files nothing
FORM_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")


class AlreadyFiled(Exception):
    """This rendered form filed a case already (the transaction that found out is rolled back)."""


def new_form_id() -> str:
    return secrets.token_urlsafe(16)


def usable(form_id: str | None) -> bool:
    return bool(form_id) and FORM_ID.fullmatch(form_id or "") is not None


def _lookup(form_id: str) -> bytes:
    key = keyring.server_key(key_contexts.RECEIPT_LOOKUP)
    return crypto.keyed_hash(key, form_id.encode())


def _key(form_id: str) -> bytes:
    return crypto.hkdf(form_id.encode(), b"intake receipt", b"intake receipt key v1")


def _aad(lookup: bytes) -> bytes:
    return b"intake receipt:" + lookup


def sweep(session: Session, now: datetime | None = None) -> None:
    """Erase the codes of receipts past SHOW_FOR and forget receipts past REMEMBER_FOR."""
    moment = now or dates.now()
    session.execute(delete(Receipt).where(Receipt.expires_at <= moment))
    session.execute(
        update(Receipt)
        .where(Receipt.show_until <= moment, Receipt.sealed.is_not(None))
        .values(sealed=None)
        .execution_options(synchronize_session=False)
    )


def content_digest(*parts: Any) -> str:
    """A keyed hash of what a form said (its text fields, not its files): the same words sent again from
    the same browser are the same submission."""
    key = keyring.server_key(key_contexts.RECEIPT_CONTENT)
    return crypto.keyed_hash(key, json.dumps(parts, ensure_ascii=False, default=str).encode()).hex()


def claim(session: Session, form_id: str, case: Case, token: str, content: str = "") -> None:
    """Write the receipt of `case` in the transaction that files it; raises AlreadyFiled when this form's
    receipt exists (the caller's transaction must then be rolled back)."""
    now = dates.now()
    sweep(session, now)
    lookup = _lookup(form_id)
    receipt = json.dumps({"token": token, "case": case.id, "content": content}).encode()
    sealed = crypto.encrypt(_key(form_id), receipt, _aad(lookup))
    session.add(
        Receipt(
            lookup=lookup,
            sealed=sealed,
            created_at=now,
            show_until=now + SHOW_FOR,
            expires_at=now + REMEMBER_FOR,
        )
    )
    try:
        session.flush()
    except exc.IntegrityError as err:
        raise AlreadyFiled from err


@dataclass(frozen=True)
class Shown:
    """A receipt found by its form's value: the code and case while SHOW_FOR lasts, else only when."""

    created_at: datetime
    token: str | None = None
    case_id: int | None = None
    content: str = ""


def find(session: Session, form_id: str | None, now: datetime | None = None) -> Shown | None:
    """The receipt of the form with this value, if it filed a case within REMEMBER_FOR."""
    if not usable(form_id):
        return None
    assert form_id is not None  # noqa: S101 - checked by usable
    moment = now or dates.now()
    lookup = _lookup(form_id)
    row = session.scalar(select(Receipt).where(Receipt.lookup == lookup))
    if row is None or row.expires_at <= moment:
        return None
    if row.sealed is None or row.show_until <= moment:
        return Shown(row.created_at)
    try:
        data = json.loads(crypto.decrypt(_key(form_id), row.sealed, _aad(lookup)))
    except (crypto.CryptoError, ValueError):
        return Shown(row.created_at)
    return Shown(row.created_at, str(data["token"]), int(data["case"]), str(data.get("content", "")))


def resent(session: Session, form_ids: list[str], content: str) -> str | None:
    """The earlier form of this browser (its receipt cookie's values) that said exactly this: a form
    restored by Back and sent again comes with a new one-time value but the same words."""
    for form_id in form_ids:
        shown = find(session, form_id)
        if shown is not None and shown.token is not None and content and shown.content == content:
            return form_id
    return None
