"""Helpers for the citizen-side tests: submit through the web forms, read tokens and fields back."""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from intake import attachments, cases, db, storage
from intake.models import Case

from .conftest import post_form
from .factories import Factory

URLS = {"corruption": "/report/corruption", "feedback": "/report/feedback", "question": "/ask"}
FILE_CHANNELS = ("corruption", "feedback")
TEXT_FIELDS = {
    "corruption": ("details", "when_where", "involved", "contact"),
    "feedback": ("service", "details", "contact"),
    "question": ("details", "contact"),
}
TOKEN_RE = re.compile(r'id="case-token">([^<]+)<')
STATUS_RE = re.compile(r'id="case-status" data-status="([a-z_]+)"[^>]*>([^<]+)<')
CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]*(")')


def valid_data(channel: str, marker: str = "") -> dict[str, Any]:
    """A complete, valid form for `channel`; every text field carries `marker` if given."""
    data: dict[str, Any] = {"details": f"รายละเอียด {marker} details", "contact": f"โทร {marker} contact"}
    if channel == "corruption":
        data.update(category="bribery", when_where=f"เมื่อวาน {marker} when", involved=f"หัวหน้า {marker} who")
    elif channel == "feedback":
        data.update(service=f"เก็บขยะ {marker} service", rating="4")
    else:
        data.update(publish_ok="y")
    return data


def files_field(files: list[tuple[bytes, str]]) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(content), name) for content, name in files]


def submit(
    client: FlaskClient,
    channel: str,
    data: dict[str, Any] | None = None,
    files: list[tuple[bytes, str]] | None = None,
    **kwargs: Any,
) -> Any:
    payload = dict(valid_data(channel) if data is None else data)
    if files is not None:
        payload["attachments"] = files_field(files)
    kwargs.setdefault("content_type", "multipart/form-data")
    kwargs.setdefault("follow_redirects", True)  # the 303 to the receipt page (tests/test_receipts.py)
    return post_form(client, URLS[channel], payload, **kwargs)


def token_of(response: Any) -> str:
    match = TOKEN_RE.search(response.get_data(as_text=True))
    assert match, "no case-token on the page"
    return match.group(1).strip()


def submit_ok(client: FlaskClient, channel: str, **kwargs: Any) -> str:
    response = submit(client, channel, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return token_of(response)


def track(client: FlaskClient, token: str, **kwargs: Any) -> Any:
    return post_form(client, "/track", {"token": token}, **kwargs)


def status_of(response: Any) -> tuple[str, str]:
    match = STATUS_RE.search(response.get_data(as_text=True))
    assert match, "no case-status on the page"
    return match.group(1), match.group(2).strip()


def followup(client: FlaskClient, token: str, message: str, files: list[tuple[bytes, str]] | None = None,
             extra: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    payload: dict[str, Any] = {"token": token, "message": message, **(extra or {})}
    if files is not None:
        payload["attachments"] = files_field(files)
    return post_form(client, "/track/followup", payload, form_url="/track",
                     content_type="multipart/form-data", **kwargs)


def without_csrf(page: str) -> str:
    return CSRF_VALUE.sub(r"\1\2", page)


def stored_files(app: Flask, token: str) -> list[tuple[dict[str, object], bytes]]:
    """(metadata, decrypted bytes) of every file of the case, through the citizen's own key."""
    with app.app_context():
        found = cases.find_by_token(db.session(), token)
        out = []
        for att in found.case.attachments:
            meta = attachments.read_meta(att, found.keys.content)
            plain = attachments.read_all(
                attachments.open_plain(storage.current(), att, found.keys.content)
            )
            out.append((meta, plain))
        return out


def case_count(app: Flask) -> int:
    with app.app_context():
        return len(db.session().query(Case).all())


@contextmanager
def domain(app: Flask) -> Iterator[Factory]:
    """An app context of its own, with the test factory: for officer actions between web requests."""
    with app.app_context():
        session = db.session()
        yield Factory(app, session)
        session.commit()


# --- reading fields back from a page ------------------------------------------------------------


class _Fields(HTMLParser):
    """The current value of every form field on a page, as a browser would submit it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "textarea":
            self._textarea = name
            self.values[name] = ""
        elif tag == "select":
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "input":
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[name] = a.get("value", "y")
                else:
                    self.values.setdefault(name, "")
            elif kind != "file":
                self.values[name] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.values[self._textarea] += data


def field_values(page: str) -> dict[str, str]:
    parser = _Fields()
    parser.feed(page)
    return {k: v.lstrip("\r\n") if k else v for k, v in parser.values.items()}


# --- files ----------------------------------------------------------------------------------------


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30), exif: Image.Exif | None = None) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    buf = io.BytesIO()
    if exif is not None:
        img.save(buf, fmt, exif=exif)
    else:
        img.save(buf, fmt)
    return buf.getvalue()


def jpeg_with_gps(marker: str = "MarkerCam") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = marker  # camera make
    exif[0x0131] = marker + "Soft"  # software
    exif.get_ifd(0x8825).update({1: "N", 2: (13.0, 45.0, 12.5), 3: "E", 4: (100.0, 30.0, 1.0)})
    data = image_bytes("JPEG", exif=exif)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825), "the test image must carry GPS"
    return data


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` pixels (a decompression bomb's calling card)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    )


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 100 100]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 4
