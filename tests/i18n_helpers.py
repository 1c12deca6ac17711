"""Find English left on a Thai page: the catalogues' own msgids and WTForms' built-in messages in its text."""

from __future__ import annotations

import functools
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import wtforms
from babel.messages.pofile import read_po

from intake import catalogs

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
TAG = re.compile(r"<[^>]+>")
LETTERS = re.compile(r"[A-Za-z]{2,}")
# Proper names and acronyms a Thai page shows as they are (none is a sentence).
PROPER_NAMES = frozenset(
    {"English", "Facebook", "LINE", "E-mail", "PDF", "CSV", "XLSX", "TOTP", "ITA", "OIT"}
)
TEXT_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
BUTTON_TYPES = ("submit", "button", "reset")


class _Text(HTMLParser):
    """What a reader sees or hears: text outside script/style, labelling attributes, button captions."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):  # <code>: a command typed as it is, in no language
            self._skip += 1
        values = dict(attrs)
        self.parts.extend(str(values[name]) for name in TEXT_ATTRIBUTES if values.get(name))
        if tag == "input" and values.get("type") in BUTTON_TYPES and values.get("value"):
            self.parts.append(str(values["value"]))
        if tag == "meta" and values.get("name") == "description" and values.get("content"):
            self.parts.append(str(values["content"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def _ids_and_strings(po: Path) -> list[tuple[str, str]]:
    out = []
    with po.open("rb") as fh:
        for message in read_po(fh):
            strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
            for msgid in message.id if isinstance(message.id, tuple | list) else (message.id,):
                if msgid:
                    out.append((str(msgid), str(strings[0] or "")))
    return out


def _messages() -> dict[str, str]:
    """msgid -> Thai of our catalogues, plus WTForms' own English messages (Thai only if we carry them)."""
    found: dict[str, str] = {}
    for po in catalogs.catalogue_files("th"):
        for msgid, text in _ids_and_strings(po):
            found.setdefault(msgid, text)
    wtforms_po = Path(wtforms.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "wtforms.po"
    for msgid, _english in _ids_and_strings(wtforms_po):
        found.setdefault(msgid, "")
    return found


def _pattern(msgid: str) -> re.Pattern[str] | None:
    """The msgid's literal text as it would read on a page (markup dropped, placeholders as any text)."""
    text = html.unescape(TAG.sub(" ", msgid))
    parts = [" ".join(p.split()) for p in PLACEHOLDER.split(text)]
    parts = [p for p in parts if p.strip(" .,:;()-–·")]
    if not parts or not any(LETTERS.search(p) for p in parts):
        return None
    body = r".{1,120}?".join(r"\s*".join(re.escape(word) for word in part.split()) for part in parts)
    before = r"(?<![A-Za-z])" if parts[0][0].isalpha() else ""
    after = r"(?![A-Za-z])" if parts[-1][-1].isalpha() else ""
    return re.compile(before + body + after)


@functools.cache
def english_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every msgid whose Thai differs from it, as a pattern; proper names are left out."""
    out = []
    for msgid, thai in _messages().items():
        if msgid in PROPER_NAMES or thai == msgid:
            continue
        pattern = _pattern(msgid)
        if pattern is not None:
            out.append((msgid, pattern))
    return tuple(out)


# Names that contain a msgid but are names: the OIT item "E-Service" keeps its English name in Thai.
PROPER_PHRASES = ("E-Service",)


def english_left(page: str) -> list[str]:
    """The msgids found untranslated in the page's visible text."""
    text = visible_text(page)
    for phrase in PROPER_PHRASES:
        text = text.replace(phrase, " ")
    return [msgid for msgid, pattern in english_patterns() if pattern.search(text)]


def thai(msgid: str) -> str:
    """The Thai of `msgid`, as the app will show it."""
    return str(catalogs.translations("th").gettext(msgid))
