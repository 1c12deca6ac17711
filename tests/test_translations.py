"""Every translatable string in the code and templates has a Thai translation, and placeholders match."""

from __future__ import annotations

import re

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from config import ROOT

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "_n": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    sources = [
        *sorted((ROOT / "intake").rglob("*.py")),
        *sorted((ROOT / "templates").rglob("*.html")),
        *sorted((ROOT / "templates").rglob("*.txt")),  # plain-text mail templates
    ]
    for path in sources:
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {"extensions": "jinja2.ext.do"} if method == "jinja2" else {}
        for lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{path.relative_to(ROOT)}:{lineno}")
    return found


def thai() -> dict[str, str]:
    merged: dict[str, str] = {}
    for po in sorted((ROOT / "intake" / "translations").glob("*/th/LC_MESSAGES/messages.po")):
        with po.open("rb") as fh:
            for message in read_po(fh):
                if not message.id:
                    continue
                ids = tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)
                string = message.string
                strings = tuple(string) if isinstance(string, tuple | list) else (string,)
                # Thai has one plural form: its single string serves the singular and the plural msgid.
                for index, msgid in enumerate(ids):
                    text = strings[min(index, len(strings) - 1)]
                    if text and "fuzzy" not in message.flags:
                        merged.setdefault(msgid, text)
    return merged


def test_every_string_has_a_thai_translation() -> None:
    catalogue = thai()
    missing = {msgid: where for msgid, where in extracted().items() if msgid not in catalogue}
    assert not missing, "untranslated:\n" + "\n".join(f"{w}: {m!r}" for m, w in missing.items())


def test_placeholders_survive_translation() -> None:
    catalogue = thai()
    wrong = [
        msgid
        for msgid in extracted()
        if msgid in catalogue
        and set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(catalogue[msgid]))
    ]
    assert not wrong, wrong


def test_catalogues_agree_on_shared_strings() -> None:
    """Catalogues are merged at runtime, a later area overriding an earlier one: two areas must not
    translate a msgid differently."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for po in sorted((ROOT / "intake" / "translations").glob("*/th/LC_MESSAGES/messages.po")):
        area = po.parts[-4]
        with po.open("rb") as fh:
            for message in read_po(fh):
                if not message.id or not isinstance(message.id, str) or not isinstance(message.string, str):
                    continue
                before = seen.setdefault(message.id, (area, message.string))
                if before[1] != message.string:
                    clashes.append(f"{message.id!r}: {before[0]}={before[1]!r} vs {area}={message.string!r}")
    assert not clashes, "\n".join(clashes)
