"""Tracking tokens: entropy, format, forgiving normalisation."""

from __future__ import annotations

import math

import pytest

from intake import tokens


def test_token_format_and_entropy() -> None:
    token = tokens.make()
    groups = token.split("-")
    assert len(groups) == 4 and all(len(g) == 5 for g in groups)
    assert tokens.BITS == 100
    assert math.log2(len(tokens.ALPHABET)) * tokens.LENGTH >= 80
    assert not set("ILOU") & set(token)


@pytest.mark.parametrize(
    "typed", ["{t}", "{l}", " {t} ", "{n}", "{spaced}", "{dotted}"]
)
def test_normalise_forgives_case_spaces_dashes(typed: str) -> None:
    token = tokens.make()
    raw = token.replace("-", "")
    text = typed.format(t=token, l=token.lower(), n=raw, spaced=" ".join(raw), dotted=token.replace("-", "."))
    assert tokens.normalise(text) == raw


def test_lookalikes_map_to_digits() -> None:
    assert tokens.normalise("OOOOO-IIIII-LLLLL-00000") == "00000111111111100000"


@pytest.mark.parametrize("bad", ["", "abc", "U" * 20, "A" * 21, "é" * 20, "\x00" * 20])
def test_malformed(bad: str) -> None:
    with pytest.raises(tokens.TokenMalformed):
        tokens.normalise(bad)


def test_hash_is_keyed() -> None:
    token = tokens.make()
    assert tokens.lookup_hash(b"k1" * 16, token) != tokens.lookup_hash(b"k2" * 16, token)
    assert tokens.lookup_hash(b"k1" * 16, token) == tokens.lookup_hash(b"k1" * 16, token.lower())


@pytest.mark.parametrize(
    "variant",
    [
        lambda t: t.replace("-", "\u2013"),  # en dash (what a phone's "smart punctuation" makes)
        lambda t: t.replace("-", "\u2014"),  # em dash
        lambda t: t.replace("-", "\u2212"),  # minus sign
        lambda t: "".join(chr(ord(c) + 0xFEE0) for c in t),  # fullwidth (e.g. a CJK keyboard mode)
        lambda t: t + "\n",  # a trailing newline from a paste
        lambda t: "\r\n" + t.lower() + "\r\n",
        lambda t: t.replace("-", "\u00ad"),  # a soft hyphen
        lambda t: "".join(chr(ord(c) + 0x0E50 - 0x30) if c.isdigit() else c for c in t),  # Thai digits
    ],
)
def test_finding_11_typing_forgives_dashes_fullwidth_and_newlines(variant: object) -> None:
    """Issue 9, finding 11: NFKC first, then every kind of dash and space is a separator."""
    token = tokens.make()
    typed = variant(token)  # type: ignore[operator]
    assert tokens.normalise(typed) == token.replace("-", "")
    assert tokens.lookup_hash(b"k" * 32, typed) == tokens.lookup_hash(b"k" * 32, token)
