"""The municipality's crest for its documents: checked as an image by its content, re-encoded, kept in the DB.

An administrator uploads it on the settings page. Whatever the file claims to be, Pillow must decode it as
PNG, JPEG, GIF or WebP (SVG is refused: it is a program, not a picture); it is then decoded in full,
turned upright (EXIF orientation), reduced to at most MAX_SIDE pixels on its longer side and written anew
as PNG, so nothing of the original file but its pixels survives (no metadata, no trailing bytes). The PNG
lives in the `site_images` table: several app servers share one database, and nothing a later request
reads may sit on one server's disk. PDFs embed it as a `data:` URL (no asset from another origin).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, dates
from .models import Officer, SiteImage

NAME = "crest"
MAX_BYTES = 5 * 1024 * 1024  # what may be uploaded
MAX_PIXELS = 40_000_000  # decoded size refused beyond this (a decompression bomb is far larger)
MAX_SIDE = 800  # 28 mm tall at 300 dpi needs 331 pixels: 800 is ample for print
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


class CrestInvalid(ValueError):
    """The upload is not an image we take; `reason` is one of: empty, size, type, pixels, image."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Prepared:
    png: bytes
    width: int
    height: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


def prepare(data: bytes) -> Prepared:
    """Check `data` as an image by its content and re-encode it as a small PNG; raises CrestInvalid."""
    if not data:
        raise CrestInvalid("empty")
    if len(data) > MAX_BYTES:
        raise CrestInvalid("size")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in FORMATS:
                    raise CrestInvalid("type")
                if probe.width * probe.height > MAX_PIXELS:
                    raise CrestInvalid("pixels")
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.seek(0)  # the first frame of an animation
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                picture = upright.convert("RGBA")
    except CrestInvalid:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise CrestInvalid("image") from exc
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return Prepared(out.getvalue(), picture.width, picture.height)


def current(session: Session) -> SiteImage | None:
    return session.scalar(select(SiteImage).where(SiteImage.name == NAME))


def png(session: Session) -> bytes | None:
    """The crest as PNG bytes, or None when none was uploaded."""
    row = current(session)
    return None if row is None else row.data


def store(session: Session, admin: Officer, data: bytes) -> Prepared:
    """Replace the crest with the image in `data` (re-encoded) and audit it; raises CrestInvalid."""
    prepared = prepare(data)
    row = current(session)
    if row is None:
        row = SiteImage(name=NAME)
        session.add(row)
    row.media_type = "image/png"
    row.data = prepared.png
    row.width, row.height = prepared.width, prepared.height
    row.digest = prepared.digest
    row.updated_at = dates.now()
    session.flush()
    audit.record(
        session,
        admin.username,
        "settings.crest",
        NAME,
        f"{prepared.width}x{prepared.height} sha256={prepared.digest[:16]}",
    )
    return prepared


def remove(session: Session, admin: Officer) -> bool:
    """Delete the crest; False when there was none (nothing is audited then)."""
    row = current(session)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    audit.record(session, admin.username, "settings.crest", NAME, "removed")
    return True
