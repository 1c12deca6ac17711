"""PDF from an HTML template (WeasyPrint): the shared A4 page, letterhead, page numbers and Thai text.

Any PDF of the system is `render_pdf(template, context, letterhead)` (or `write_pdf(...)` into a file):
the template extends `pdf/_document.html`, which sets up the A4 page (margins of a Thai government
document), the letterhead on the first page (crest and municipality name), a running header with both on
the pages after it, and "หน้า n จาก m" at the foot of every page; `pdf/_macros.html` has the sign-off block.

Layout is WeasyPrint's: Pango shapes text with HarfBuzz and breaks Thai lines where libthai's dictionary
finds a word boundary, so no hint of our own (no zero-width space) is ever put into the text. Table headings
repeat on every page a table runs over. The font is Laksaman, TLWG's free TH Sarabun New, from the Debian
package fonts-tlwg-laksaman-ttf (`REPORT_FONT_DIR` may point elsewhere); without it FontMissing names the
package rather than printing boxes.

Nothing is fetched from anywhere: the URL fetcher serves `data:` URLs (the crest, kept in the database)
and the font files, and refuses every other URL, so neither a template nor a setting can make the server
read a file or reach another host.

Text layer. WeasyPrint 70 maps each glyph to the text of the first cluster it was drawn in (its ToUnicode
map), which garbles Thai: HarfBuzz splits sara am (ำ) into nikhahit and sara aa, so every sara aa drawn
after it would copy as ำ, and a tone mark stacked on a vowel is drawn with a text rise that text
extraction reads as another line. So every run of text is drawn inside a marked-content span carrying its
real text (/ActualText, ISO 32000-1 §14.9.4), which poppler (pdftotext), PDFium, MuPDF and Acrobat use for
search and copy; and for readers that ignore it, each glyph the font maps from exactly one character is
mapped back to that character. This is the only place that reaches into WeasyPrint; tests/test_reports_pdf.py
fails if a new WeasyPrint changes what it relies on.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from threading import Lock
from typing import IO, Any

import pydyf
import weasyprint
import weasyprint.draw
from flask import render_template
from flask_babel import gettext as _
from fontTools import agl
from fontTools.ttLib import TTFont
from weasyprint.urls import URLFetcher, URLFetcherResponse

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/tlwg"
FAMILY = "Laksaman"
FONT_PACKAGE = "fonts-tlwg-laksaman-ttf"
# (CSS font-weight, font-style) -> file name in the font directory.
FONT_FILES = {
    ("normal", "normal"): "Laksaman.ttf",
    ("bold", "normal"): "Laksaman-Bold.ttf",
    ("normal", "italic"): "Laksaman-Italic.ttf",
    ("bold", "italic"): "Laksaman-BoldItalic.ttf",
}
REQUIRED_FONTS = (("normal", "normal"), ("bold", "normal"))
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


class FontMissing(RuntimeError):
    """The Thai font for PDF documents is not installed."""


@dataclass(frozen=True)
class Letterhead:
    """What heads every page: the municipality's name and, when the administrator uploaded one, its crest."""

    municipality: str
    crest_png: bytes | None = None

    @property
    def crest_uri(self) -> str | None:
        if not self.crest_png:
            return None
        return "data:image/png;base64," + base64.b64encode(self.crest_png).decode("ascii")


@dataclass(frozen=True)
class FontFace:
    weight: str
    style: str
    url: str


@dataclass(frozen=True)
class Page:
    """What `pdf/_document.html` needs besides the template's own context (passed to it as `page`)."""

    letterhead: Letterhead
    title: str
    fonts: tuple[FontFace, ...]
    counter: str  # CSS `content` for the page number at the foot of each page
    family: str = FAMILY


def font_files(font_dir: str | Path | None = None) -> dict[tuple[str, str], Path]:
    """The font files to embed; raises FontMissing naming the Debian package to install."""
    directory = Path(font_dir or DEFAULT_FONT_DIR)
    found = {face: directory / name for face, name in FONT_FILES.items() if (directory / name).is_file()}
    for face in REQUIRED_FONTS:
        if face not in found:
            missing = directory / FONT_FILES[face]
            raise FontMissing(f"Thai font {missing} not found: install the Debian package {FONT_PACKAGE}")
    return found


def css_string(text: str) -> str:
    """`text` as a CSS string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


def page_counter(label: str, thai_digits: bool) -> str:
    """CSS `content` for a label such as "หน้า %(page)s จาก %(pages)s": its text with the page counters."""
    style = ", thai" if thai_digits else ""
    parts = []
    for piece in re.split(r"(%\((?:page|pages)\)s)", label):
        if piece == "%(page)s":
            parts.append(f"counter(page{style})")
        elif piece == "%(pages)s":
            parts.append(f"counter(pages{style})")
        elif piece:
            parts.append(css_string(piece))
    return " ".join(parts) or '""'


_ENTITY_OR_DIGIT = re.compile(r"&#?\w+;|[0-9]")
_TEXT = re.compile(r">([^<]+)<")


def thai_digits_in_text(html: str) -> str:
    """Arabic digits in the text of the body turned into Thai digits; markup, attributes (the crest's
    data URL), the head's CSS and character references are left as they are."""
    head, sep, body = html.partition("<body")
    if not sep:
        return html

    def digits(match: re.Match[str]) -> str:
        found = match.group(0)
        return found if found.startswith("&") else found.translate(THAI_DIGITS)

    def text(match: re.Match[str]) -> str:
        return ">" + _ENTITY_OR_DIGIT.sub(digits, match.group(1)) + "<"

    return head + sep + _TEXT.sub(text, body)


class _LocalOnly(URLFetcher):
    """Serves `data:` URLs and the font files; every other URL is refused."""

    def __init__(self, fonts: dict[str, Path]) -> None:
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self._fonts = fonts

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = self._fonts.get(url)
        if path is None:
            raise ValueError(f"refused to fetch {url[:60]!r}: PDF documents use no outside resource")
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/ttf"})


# --- the text layer (see the module docstring) ------------------------------------------------------

_draw_text = weasyprint.draw.draw_text
_reverse_cmaps: dict[bytes, dict[int, str]] = {}
_cmap_lock = Lock()


def _is_private(text: str) -> bool:
    return any("\ue000" <= ch <= "\uf8ff" for ch in text)


def _reverse_cmap(font: Any) -> dict[int, str]:
    """Glyph id -> the text it stands for: the one character the font maps to it, else what its name says
    (Adobe Glyph List: "uni0E48.low" is a low mai ek); glyphs reached from several characters, from
    private-use code points only, or with names that say nothing are left to WeasyPrint."""
    content: bytes = font.file_content
    with _cmap_lock:
        cached = _reverse_cmaps.get(content)
        if cached is None:
            ttf = TTFont(io.BytesIO(content), fontNumber=getattr(font, "index", 0) or 0, lazy=True)
            order = ttf.getGlyphOrder()
            ids = {name: i for i, name in enumerate(order)}
            reached: dict[int, list[str]] = {}
            for codepoint, name in (ttf.getBestCmap() or {}).items():
                if name in ids and not _is_private(chr(codepoint)):
                    reached.setdefault(ids[name], []).append(chr(codepoint))
            cached = {gid: chars[0] for gid, chars in reached.items() if len(chars) == 1}
            for gid, name in enumerate(order):
                if gid not in cached and gid not in reached:
                    text = agl.toUnicode(name)
                    if text and not _is_private(text):
                        cached[gid] = text
            _reverse_cmaps[content] = cached
    return cached


def _fix_glyph_map(stream: Any) -> None:
    for font in getattr(stream, "_fonts", {}).values():
        mapping = getattr(font, "to_unicode", None)
        if not mapping or not getattr(font, "file_content", None):
            continue
        reverse = _reverse_cmap(font)
        for glyph in mapping:
            if glyph in reverse:
                mapping[glyph] = reverse[glyph]


def _draw_text_with_actual_text(stream: Any, textbox: Any, *args: Any, **kwargs: Any) -> Any:
    text = getattr(textbox, "text", "")
    if not text.strip():
        return _draw_text(stream, textbox, *args, **kwargs)
    stream.begin_marked_content("Span", pydyf.Dictionary({"ActualText": pydyf.String(text)}))
    try:
        return _draw_text(stream, textbox, *args, **kwargs)
    finally:
        stream.end_marked_content()
        _fix_glyph_map(stream)


weasyprint.draw.draw_text = _draw_text_with_actual_text


# --- rendering ---------------------------------------------------------------------------------------


def page_setup(letterhead: Letterhead, title: str, fonts: dict[tuple[str, str], Path], thai: bool) -> Page:
    faces = tuple(FontFace(weight, style, path.resolve().as_uri()) for (weight, style), path in fonts.items())
    return Page(letterhead, title, faces, page_counter(_("Page %(page)s of %(pages)s"), thai))


def write_pdf(
    template: str,
    context: Mapping[str, Any],
    letterhead: Letterhead,
    target: IO[bytes],
    *,
    title: str,
    thai_digits: bool = False,
    created: datetime | None = None,
    font_dir: str | Path | None = None,
) -> None:
    """Render `template` (extending pdf/_document.html) with `context` as a PDF written into `target`.

    Needs an application context (templates, translations: wrap the call in `force_locale("th")` for a
    Thai document whatever the page's language). `created` is written as the document's date (the same
    day gives the same bytes); Thai digits apply to the text, not to the markup. `target` is any binary
    file object (a response stream, a spooled temporary file); WeasyPrint lays every page out in memory
    first, then writes the file into it object by object.
    """
    fonts = font_files(font_dir)
    page = page_setup(letterhead, title, fonts, thai_digits)
    html = render_template(
        template, **context, page=page, created=created.isoformat() if created else None
    )
    if thai_digits:
        html = thai_digits_in_text(html)
    fetcher = _LocalOnly({path.resolve().as_uri(): path.resolve() for path in fonts.values()})
    document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None)
    document.write_pdf(target, uncompressed_pdf=False)


def render_pdf(
    template: str,
    context: Mapping[str, Any],
    letterhead: Letterhead,
    *,
    title: str,
    thai_digits: bool = False,
    created: datetime | None = None,
    font_dir: str | Path | None = None,
) -> bytes:
    """`write_pdf` into memory: the PDF's bytes."""
    buffer = io.BytesIO()
    write_pdf(
        template,
        context,
        letterhead,
        buffer,
        title=title,
        thai_digits=thai_digits,
        created=created,
        font_dir=font_dir,
    )
    return buffer.getvalue()
