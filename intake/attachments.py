"""Attachments: type checked by content, image metadata removed, encrypted to disk in chunks.

Accepted: JPEG, PNG, WebP (re-encoded without EXIF/XMP/GPS or text chunks), PDF and plain UTF-8 text.
Files are stored as ``<instance>/attachments/<random name>``; their real name, type and size are
encrypted in the database. A file is written under a temporary name, flushed to disk and renamed
before the case is committed; a crash in between leaves an orphan that `sweep_orphans` removes.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import secrets
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import crypto, filenames, key_contexts
from .models import Attachment, Case, KeyKind

READ_CHUNK = 64 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels: more than any phone camera, far less than a bomb
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

MEDIA_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "text": "text/plain; charset=utf-8",
}
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "pdf": ".pdf", "text": ".txt"}


class AttachmentRejected(ValueError):
    """A file that cannot be accepted; `reason` is one of the REASONS keys."""

    REASONS = ("type", "too_large", "total_too_large", "too_many", "image", "empty")

    def __init__(self, reason: str, filename: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.filename = filename


class AttachmentMissing(FileNotFoundError):
    """The encrypted file of an attachment is not on disk."""


@dataclass
class CleanFile:
    """A checked upload, ready to encrypt: in a temporary file encrypted under a key held in memory."""

    name: str
    kind: str
    data: BinaryIO
    size: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def safe_name(name: str | None, kind: str) -> str:
    """The display name kept for a file of `kind` (intake/filenames.py: no path, no control characters)."""
    return filenames.display(name, EXTENSIONS[kind])


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


def inspect(stream: BinaryIO, filename: str | None, max_bytes: int) -> CleanFile:
    """Check one upload by content; images come back re-encoded without metadata."""
    spool: BinaryIO = crypto.ephemeral_file()
    size = 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            raise AttachmentRejected("too_large", filename or "")
        spool.write(chunk)
    if size == 0:
        spool.close()
        raise AttachmentRejected("empty", filename or "")
    spool.seek(0)
    kind = sniff(spool.read(16))
    spool.seek(0)
    if kind is None:
        kind = "text" if _is_text(spool) else None
        spool.seek(0)
    if kind is None:
        spool.close()
        raise AttachmentRejected("type", filename or "")
    if kind in ("jpeg", "png", "webp"):
        cleaned = _strip_image(spool, kind, filename or "")
        spool.close()
        spool, size = cleaned, cleaned.seek(0, os.SEEK_END)
        spool.seek(0)
    return CleanFile(safe_name(filename, kind), kind, spool, size)


def _is_text(data: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := data.read(READ_CHUNK):
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _strip_image(data: BinaryIO, kind: str, filename: str) -> BinaryIO:
    """Decode and re-encode: pixels survive, EXIF/GPS/XMP/ICC text and comments do not."""
    out = crypto.ephemeral_file()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(data) as img:
                if img.format != {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[kind]:
                    raise AttachmentRejected("type", filename)
                img.load()
                clean = ImageOps.exif_transpose(img) or img
                # Pillow writes some of `info` back on save (a JPEG comment, a PNG colour profile):
                # keep only what the pixels need.
                clean.info = {k: v for k, v in clean.info.items() if k == "transparency"}
                if kind == "jpeg":
                    clean = clean.convert("RGB") if clean.mode not in ("RGB", "L") else clean
                    clean.save(out, "JPEG", quality=90)
                elif kind == "png":
                    clean.save(out, "PNG")
                else:
                    clean.save(out, "WEBP", quality=90)
    except AttachmentRejected:
        out.close()
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        out.close()
        raise AttachmentRejected("image", filename) from exc
    out.seek(0)
    return out


def close_all(files: list[CleanFile]) -> None:
    for f in files:
        f.data.close()


# --- encrypted storage ---------------------------------------------------------------------------


def directory(instance_dir: str | Path) -> Path:
    path = Path(instance_dir) / "attachments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store(
    instance_dir: str | Path, case: Case, key: bytes, clean: CleanFile, key_kind: KeyKind
) -> Attachment:
    """Encrypt a clean file to disk (durably) and return its unsaved row (bound to the case's number)."""
    assert case.number is not None  # noqa: S101 - a flushed case has its number
    number = case.number
    folder = directory(instance_dir)
    stored_name = secrets.token_hex(16)
    final = folder / stored_name
    part = folder / (stored_name + ".part")
    clean.data.seek(0)
    with open(part, "xb") as sink:
        crypto.encrypt_stream(key, clean.data, sink, key_contexts.attachment(number, stored_name))
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(part, final)
    _fsync_dir(folder)
    meta = json.dumps({"name": clean.name, "type": clean.media_type, "size": clean.size}).encode()
    return Attachment(
        case_id=case.id,
        stored_name=stored_name,
        key=key_kind,
        meta=crypto.encrypt(key, meta, key_contexts.attachment_meta(number)),
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _number(attachment: Attachment) -> int:
    number = attachment.case.number
    assert number is not None  # noqa: S101 - a stored case has its number
    return number


def read_meta(attachment: Attachment, key: bytes) -> dict[str, object]:
    return json.loads(crypto.decrypt(key, attachment.meta, key_contexts.attachment_meta(_number(attachment))))


def open_plain(instance_dir: str | Path, attachment: Attachment, key: bytes) -> Iterator[bytes]:
    """Decrypted chunks of an attachment, streamed; raises AttachmentMissing or CryptoError."""
    path = directory(instance_dir) / attachment.stored_name
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed when the generator ends
    except FileNotFoundError as exc:
        raise AttachmentMissing(attachment.stored_name) from exc

    def chunks() -> Iterator[bytes]:
        with fh:
            aad = key_contexts.attachment(_number(attachment), attachment.stored_name)
            yield from crypto.decrypt_stream(key, fh, aad)

    return chunks()


def remove_files(instance_dir: str | Path, stored_names: list[str], overwrite: bool = False) -> None:
    """Delete stored files (overwritten with zeros first when asked: retention purge)."""
    folder = directory(instance_dir)
    for name in stored_names:
        for path in (folder / name, folder / (name + ".part")):
            if not path.exists():
                continue
            if overwrite:
                size = path.stat().st_size
                with open(path, "r+b") as fh:
                    for offset in range(0, size, READ_CHUNK):
                        fh.write(b"\x00" * min(READ_CHUNK, size - offset))
                    fh.flush()
                    os.fsync(fh.fileno())
            path.unlink()


def sweep_orphans(session: Session, instance_dir: str | Path, grace: timedelta) -> list[str]:
    """Remove files that no committed row names and that are older than `grace` (crash leftovers)."""
    folder = directory(instance_dir)
    known = set(session.scalars(select(Attachment.stored_name)))
    cutoff = datetime.now(UTC) - grace
    removed = []
    for path in folder.iterdir():
        name = path.name.removesuffix(".part")
        if name in known and not path.name.endswith(".part"):
            continue
        if datetime.fromtimestamp(path.stat().st_mtime, UTC) > cutoff:
            continue
        path.unlink()
        removed.append(path.name)
    return removed


def read_all(chunks: Iterator[bytes]) -> bytes:
    """Join decrypted chunks (tests and small files only)."""
    buf = io.BytesIO()
    for chunk in chunks:
        buf.write(chunk)
    return buf.getvalue()
