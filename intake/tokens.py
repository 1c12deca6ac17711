"""Tracking tokens: made with `secrets`, grouped for people, forgiving when typed, stored as a keyed hash.

Format: 20 symbols of Crockford's base32 (0-9, A-Z without I, L, O, U), 5 bits each = 100 bits,
shown as four groups of five: ``7KQ2M-X9PAB-C4D8F-GH3JN``. Typing it back forgives case, spaces and
line breaks, dashes of every kind (en dash, em dash, minus: what phones and word processors turn "-" into),
dots, fullwidth characters (a Thai or CJK keyboard's full-width mode) and the look-alikes O->0, I/L->1:
the text is NFKC-normalised first.
"""

from __future__ import annotations

import secrets
import unicodedata

from . import crypto, key_contexts

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
GROUP = 5
BITS = LENGTH * 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", "_.\u2212")  # and every space, dash (Pd) and format character


def _separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Pd", "Cf")


class TokenMalformed(ValueError):
    """The text typed cannot be a token (wrong length or symbols)."""


def make() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return display(raw)


def display(normalised: str) -> str:
    return "-".join(normalised[i : i + GROUP] for i in range(0, len(normalised), GROUP))


def _ascii_digit(ch: str) -> str:
    """Any script's decimal digit as its ASCII digit: a code read out or copied with Thai digits (๐-๙)."""
    value = unicodedata.decimal(ch, None)
    return str(value) if value is not None and not ch.isascii() else ch


def normalise(typed: str) -> str:
    """The canonical form of a typed token; raises TokenMalformed."""
    text = unicodedata.normalize("NFKC", typed)
    text = "".join(_ascii_digit(ch) for ch in text if not _separator(ch)).upper().translate(_SEPARATORS)
    text = text.translate(_LOOKALIKES)
    if len(text) != LENGTH or any(ch not in ALPHABET for ch in text):
        raise TokenMalformed
    return text


def thai_letters_in(typed: str) -> bool:
    """Whether the text holds Thai letters (not Thai digits): typed with the keyboard set to Thai."""
    return any("\u0e01" <= ch <= "\u0e4f" or "\u0e5a" <= ch <= "\u0e5b" for ch in typed)


def lookup_hash(secret: bytes, token: str) -> bytes:
    """What the database stores: HMAC-SHA256 with a server secret kept outside the database."""
    return crypto.keyed_hash(secret, key_contexts.TOKEN_LOOKUP + normalise(token).encode())


def key_material(token: str) -> bytes:
    """Input for the citizen key (distinct from the lookup hash's input)."""
    return key_contexts.CITIZEN_TOKEN + normalise(token).encode()
