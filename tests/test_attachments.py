"""Attachments (intake/attachments.py): what a photo keeps once checked (property 4).

A JPEG comment (COM) and a PNG or WebP colour profile (iCCP) are metadata too; transparency is pixels.
(Uploads through the forms: test_citizen_attachments.py.)
"""

from __future__ import annotations

import io

from PIL import Image

from intake import attachments


def _metadata_survives(data: bytes, *needles: bytes) -> list[bytes]:
    clean = attachments.inspect(io.BytesIO(data), "photo", 10_000_000)
    try:
        out = clean.data.read()
    finally:
        clean.data.close()
    found = [n for n in needles if n in out]
    with Image.open(io.BytesIO(out)) as img:
        found += [key.encode() for key in ("comment", "icc_profile", "exif", "xmp") if img.info.get(key)]
    return found


def test_jpeg_comment_is_removed() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(buf, "JPEG", comment=b"Somchai's phone, Moo 3")
    assert _metadata_survives(buf.getvalue(), b"Somchai") == []


def test_png_and_webp_colour_profiles_are_removed() -> None:
    profile = b"\x00" * 128 + b"desc Somchai's calibrated screen"
    for kind in ("PNG", "WEBP"):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), "red").save(buf, kind, icc_profile=profile)
        assert _metadata_survives(buf.getvalue(), b"Somchai") == [], kind


def test_transparency_survives_metadata_removal() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(buf, "PNG")
    clean = attachments.inspect(io.BytesIO(buf.getvalue()), "t.png", 10_000_000)
    try:
        with Image.open(clean.data) as img:
            pixel = img.getpixel((0, 0))
            assert img.mode == "RGBA" and isinstance(pixel, tuple) and pixel[3] == 0
    finally:
        clean.data.close()
