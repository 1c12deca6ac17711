"""What a file is, by its content alone (never its name or the browser's claim): the kinds we accept.

Pictures and PDF by their magic bytes; DOCX and XLSX by the main part's content type in
`[Content_Types].xml`; ODT by its `mimetype` entry; MP4, M4A, 3GP and MOV by the major brand of the ISO
media `ftyp` box. Macro-enabled Office files, templates and other zip files are not recognised.
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from . import Refused, safexml


@dataclass(frozen=True)
class Kind:
    media_type: str
    extension: str
    family: str  # image, pdf, office, media, text


_OOXML = "application/vnd.openxmlformats-officedocument"
KINDS = {
    "jpeg": Kind("image/jpeg", ".jpg", "image"),
    "png": Kind("image/png", ".png", "image"),
    "webp": Kind("image/webp", ".webp", "image"),
    "pdf": Kind("application/pdf", ".pdf", "pdf"),
    "docx": Kind(f"{_OOXML}.wordprocessingml.document", ".docx", "office"),
    "xlsx": Kind(f"{_OOXML}.spreadsheetml.sheet", ".xlsx", "office"),
    "odt": Kind("application/vnd.oasis.opendocument.text", ".odt", "office"),
    "mp4": Kind("video/mp4", ".mp4", "media"),
    "m4a": Kind("audio/mp4", ".m4a", "media"),
    "3gp": Kind("video/3gpp", ".3gp", "media"),
    "mov": Kind("video/quicktime", ".mov", "media"),
    "text": Kind("text/plain; charset=utf-8", ".txt", "text"),
}

OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
}
ODF_MIMETYPES = {b"application/vnd.oasis.opendocument.text": "odt"}
CONTENT_TYPES_MAX = 1024 * 1024
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, ValueError)

# ISO base media major brands (ISO/IEC 14496-12, 3GPP TS 26.244, Apple): what phones and cameras write.
MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"mp71", b"avc1", b"M4V ",
    b"MSNV", b"mmp4", b"dash", b"XAVC", b"NDAS", b"FACE", b"kddi",
}  # fmt: skip
M4A_BRANDS = {b"M4A ", b"M4B "}
QUICKTIME_BRANDS = {b"qt  "}


def sniff(data: BinaryIO) -> str | None:
    """The kind of a seekable stream (at any position), or None; the position is left at 0.

    Refused("document") for a zip that cannot be read (a damaged or cut-short Office file, most likely).
    """
    data.seek(0)
    head = data.read(64)
    data.seek(0)
    try:
        return _binary(head) or (_zipped(data) if head.startswith(b"PK\x03\x04") else None)
    finally:
        data.seek(0)


def _binary(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in MP4_BRANDS:
            return "mp4"
        if brand in M4A_BRANDS:
            return "m4a"
        if brand.startswith(b"3g"):
            return "3gp"
        if brand in QUICKTIME_BRANDS:
            return "mov"
    return None


def _zipped(data: BinaryIO) -> str | None:
    try:
        with zipfile.ZipFile(data) as zf:
            names = set(zf.namelist())
            if "mimetype" in names and zf.getinfo("mimetype").file_size < 200:
                return ODF_MIMETYPES.get(zf.read("mimetype").strip()) if "content.xml" in names else None
            if "[Content_Types].xml" in names:
                info = zf.getinfo("[Content_Types].xml")
                if info.file_size > CONTENT_TYPES_MAX:
                    return None
                return _ooxml_kind(zf.read(info))
    except ZIP_ERRORS as exc:
        raise Refused("document", "zip") from exc
    return None


def _ooxml_kind(content_types: bytes) -> str | None:
    try:
        root = safexml.parse(content_types)
    except Refused:
        return None
    overrides = (el for el in root if isinstance(el.tag, str) and el.tag.endswith("}Override"))
    found = {OOXML_MAIN[ct] for el in overrides if (ct := el.get("ContentType", "")) in OOXML_MAIN}
    return found.pop() if len(found) == 1 else None


def is_text(data: BinaryIO, chunk_size: int = 64 * 1024) -> bool:
    """UTF-8 without NUL, read in chunks (a multi-byte character may straddle two chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    data.seek(0)
    try:
        while chunk := data.read(chunk_size):
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        data.seek(0)
    return True
