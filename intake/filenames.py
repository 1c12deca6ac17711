"""File names as people gave them: one rule makes them safe to show, to keep as a display name, to offer
for download.

`clean` keeps the last path component only, in NFC, without control, format or unassigned characters
(no CR/LF for a header, no NUL, no right-to-left override that would disguise `gnp.exe` as `exe.png`),
without outer spaces or dots. Every other function starts from it.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

STEM_MAX = 120  # characters of a stored display name before its extension
SHOWN_MAX = 80  # characters of a name quoted in a message
DOWNLOAD_ASCII_MAX = 150
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._-]+")


def clean(name: str | None) -> str:
    """The last path component, NFC, no control/format characters, no outer spaces or dots ('' if none)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    return "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip(" .")


def display(name: str | None, extension: str) -> str:
    """The name an attachment keeps (encrypted): its cleaned stem, not too long, and the right extension."""
    base = clean(name)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem[:STEM_MAX] or "file") + extension


def shown(name: str | None) -> str:
    """A name quoted in a message about the file: cleaned, shortened with an ellipsis, '?' when empty."""
    base = clean(name)
    return base[:SHOWN_MAX] + ("…" if len(base) > SHOWN_MAX else "") or "?"


def content_disposition(name: str) -> str:
    """`attachment` always, an ASCII fallback name and the UTF-8 name (RFC 6266 / RFC 5987)."""
    name = clean(name) or "attachment"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = _UNSAFE_ASCII.sub("_", ascii_name).strip("._") or "attachment"
    if "." in name and "." not in ascii_name:
        ascii_name += "." + _UNSAFE_ASCII.sub("", name.rsplit(".", 1)[-1])[:10]
    fallback = ascii_name[:DOWNLOAD_ASCII_MAX]
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
