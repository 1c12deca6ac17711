"""Pictures inside documents (DOCX, XLSX, ODT, PDF) lose their metadata without being re-encoded.

The document keeps its pictures bit for bit, minus the JPEG segments (EXIF with GPS, XMP, IPTC, MPF with
further pictures, thumbnails, comments) and PNG chunks (text, EXIF, time, ICC) that are not pixels or
colours, and minus anything after the picture's end. Pure Python, no decoding: cheap, and bounded by the
picture's size.
"""

from __future__ import annotations

from . import Refused

_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # comment
        return False
    if 0xE0 <= marker <= 0xEF:  # application segments: EXIF, XMP, IPTC, MPF (more pictures), thumbnails ...
        if marker == 0xE0:
            return payload.startswith(b"JFIF\x00")
        if marker == 0xE2:
            return payload.startswith(b"ICC_PROFILE\x00")  # colours
        if marker == 0xEE:
            return payload.startswith(b"Adobe")  # colour transform, needed to decode
        return False
    return True


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without comments or application segments other than JFIF, ICC and Adobe; nothing after EOI.

    A picture cut short (no end marker) is kept as far as it goes, as viewers show it.
    """
    if not data.startswith(b"\xff\xd8"):
        raise Refused("image", "jpeg start")
    out = bytearray(b"\xff\xd8")
    i, n = 2, len(data)
    while i < n:
        if i + 2 > n or data[i] != 0xFF:
            raise Refused("image", "jpeg marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD9:
            out += b"\xff\xd9"
            break
        if marker in _JPEG_STANDALONE:
            out += data[i : i + 2]
            i += 2
            continue
        if i + 4 > n:
            raise Refused("image", "jpeg length")
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > n:
            raise Refused("image", "jpeg length")
        if _keep_jpeg_segment(marker, data[i + 4 : i + 2 + length]):
            out += data[i : i + 2 + length]
        i += 2 + length
        if marker == 0xDA:
            i = _copy_scan(data, i, out)
    return bytes(out)


def _copy_scan(data: bytes, start: int, out: bytearray) -> int:
    """Entropy-coded data runs to the next marker that is not stuffing (FF 00) or a restart (FF D0-D7)."""
    j, n = start, len(data)
    while True:
        j = data.find(b"\xff", j)
        if j < 0 or j + 1 >= n:
            out += data[start:]
            return n
        following = data[j + 1]
        if following == 0xFF:
            j += 1
        elif following == 0x00 or 0xD0 <= following <= 0xD7:
            j += 2
        else:
            out += data[start:j]
            return j


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"sRGB", b"sBIT", b"bKGD", b"pHYs",
    b"cICP", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip


def strip_png(data: bytes) -> bytes:
    """The PNG with only the chunks pixels and colours need (no text, EXIF, time, ICC); nothing after IEND."""
    if not data.startswith(_PNG_SIGNATURE):
        raise Refused("image", "png signature")
    out = bytearray(_PNG_SIGNATURE)
    i, n = len(_PNG_SIGNATURE), len(data)
    while True:
        if i + 12 > n:
            raise Refused("image", "png chunk")
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > n:
            raise Refused("image", "png chunk")
        if kind in _PNG_KEEP:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            return bytes(out)


def strip_embedded(data: bytes) -> bytes:
    """A picture inside a document without its metadata, if it is a JPEG or PNG; other data unchanged."""
    if data.startswith(b"\xff\xd8\xff"):
        return strip_jpeg(data)
    if data.startswith(_PNG_SIGNATURE):
        return strip_png(data)
    return data
