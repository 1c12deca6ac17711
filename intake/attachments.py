"""Attachments: recognised by content, cleaned of what could give the sender away, encrypted into the store.

Accepted (see `intake.cleaning` for exactly what each cleaner removes): photos (JPEG, PNG, WebP:
re-encoded, pixels only), PDF, DOCX, XLSX, ODT (metadata, names and dates removed), MP4, M4A, 3GP, MOV
(remuxed without metadata) and plain UTF-8 text (kept as is). The pictures of one submission are counted
before any is decoded and must fit a pixel budget (`Policy.max_pixels`); `Policy.charge` lets the caller
deduct the decoded pixels from a per-sender budget first. File names are replaced by neutral ones
("ไฟล์แนบ-1.pdf") unless the sender asked to keep them. Plaintext stays in memory or in files encrypted
under a key held in memory (`crypto.ephemeral_file`, memfds for the child tools).

Files are stored encrypted, in chunks, in the configured store (intake/storage.py: the instance folder, or
S3) under a random name; their real name, type and size are encrypted in the database. The object is
durable before the case is committed; a crash in between leaves an orphan that `sweep_orphans` removes.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import crypto, filenames, key_contexts, storage, tenancy
from .cleaning import Refused, images, kinds, media, office, pdf, sandbox
from .models import Attachment, Case, KeyKind
from .storage import Store

READ_CHUNK = 64 * 1024
MAX_IMAGE_PIXELS = images.MAX_IMAGE_PIXELS
DEFAULT_MAX_PIXELS = 150_000_000  # ten 12-megapixel phone photos at full size, and some
TOOL_MEMORY = 1024 * 1024 * 1024  # address space of a cleaning child (ffmpeg, the PDF cleaner)

MEDIA_TYPES = {name: kind.media_type for name, kind in kinds.KINDS.items()}
EXTENSIONS = {name: kind.extension for name, kind in kinds.KINDS.items()}


class AttachmentRejected(ValueError):
    """A file that cannot be accepted; `reason` is one of the REASONS keys."""

    REASONS = (
        "type", "too_large", "total_too_large", "too_many", "image", "empty", "pixels_total", "busy",
        "document", "encrypted", "media", "timeout", "unavailable",
    )  # fmt: skip

    def __init__(self, reason: str, filename: str = "", retry_after: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.filename = filename
        self.retry_after = retry_after


class AttachmentMissing(FileNotFoundError):
    """The encrypted file of an attachment is not in the store."""


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


@dataclass(frozen=True)
class Policy:
    """How the files of one submission are checked and cleaned."""

    max_bytes: int  # per file, as uploaded
    max_pixels: int = DEFAULT_MAX_PIXELS  # decoded pixels of all the submission's pictures together
    keep_names: bool = True
    neutral_stem: str = "attachment"  # "ไฟล์แนบ" gives "ไฟล์แนบ-1.pdf"
    tool_timeout: float = 30.0  # seconds ffmpeg and the PDF cleaner may take over all the files, together
    # Called with the pixels about to be decoded, before any is: raises AttachmentRejected("busy") to refuse.
    charge: Callable[[int], None] | None = field(default=None, compare=False)

    def tool_limits(self, seconds: float) -> sandbox.Limits:
        return sandbox.Limits(
            timeout=seconds,
            cpu_seconds=max(1, math.ceil(seconds)),
            memory=TOOL_MEMORY,
            max_output=2 * self.max_bytes + 1024 * 1024,
        )


@dataclass
class Pending:
    """An upload spooled and recognised, not yet cleaned."""

    filename: str
    kind: str
    data: BinaryIO
    picture: images.Picture | None = None


def safe_name(name: str | None, kind: str) -> str:
    """The display name kept for a file of `kind` (intake/filenames.py: no path, no control characters)."""
    return filenames.display(name, EXTENSIONS[kind])


def neutral_name(stem: str, index: int, kind: str) -> str:
    """A name like "ไฟล์แนบ-2.docx": the file's type and place in the submission, nothing of its sender."""
    return f"{stem}-{index}{EXTENSIONS[kind]}"


def receive(stream: BinaryIO, filename: str | None, max_bytes: int) -> Pending:
    """Spool one upload (encrypted under a key in memory) and recognise it; pictures' headers are read."""
    name = filename or ""
    spool: BinaryIO = crypto.ephemeral_file()
    try:
        size = 0
        while chunk := stream.read(READ_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise AttachmentRejected("too_large", name)
            spool.write(chunk)
        if size == 0:
            raise AttachmentRejected("empty", name)
        kind = kinds.sniff(spool) or ("text" if kinds.is_text(spool) else None)
        if kind is None:
            raise AttachmentRejected("type", name)
        picture = images.probe(spool, kind) if kinds.KINDS[kind].family == "image" else None
    except Refused as exc:
        spool.close()
        raise AttachmentRejected(exc.reason, name) from exc
    except BaseException:
        spool.close()
        raise
    return Pending(name, kind, spool, picture)


def inspect_all(uploads: list[tuple[BinaryIO, str | None]], policy: Policy) -> list[CleanFile]:
    """Check and clean the files of one submission; AttachmentRejected names the first that fails.

    Every file is spooled and recognised, and every picture's size read from its header, before anything
    is decoded or cleaned: a submission whose pictures cannot fit the pixel budget is refused at once.
    """
    pending: list[Pending] = []
    clean: list[CleanFile] = []
    try:
        for stream, filename in uploads:
            pending.append(receive(stream, filename, policy.max_bytes))
        pictures = [p.picture for p in pending if p.picture is not None]
        try:
            decoded = images.fit(pictures, policy.max_pixels)
        except Refused as exc:
            raise AttachmentRejected(exc.reason) from exc
        if decoded and policy.charge is not None:
            policy.charge(decoded)
        # One deadline for every child tool of the submission: the request must end well before a
        # server's worker timeout, however many slow files it carries.
        deadline = time.monotonic() + policy.tool_timeout
        for index, item in enumerate(pending, 1):
            clean.append(_clean(item, policy, index, deadline))
    except BaseException:
        close_all(clean)
        raise
    finally:
        for item in pending:
            item.data.close()
    return clean


def inspect(stream: BinaryIO, filename: str | None, max_bytes: int, keep_name: bool = True) -> CleanFile:
    """Check and clean one file on its own (officer tools, data generation)."""
    return inspect_all([(stream, filename)], Policy(max_bytes, keep_names=keep_name))[0]


def _clean(item: Pending, policy: Policy, index: int, deadline: float) -> CleanFile:
    family = kinds.KINDS[item.kind].family
    if policy.keep_names:
        name = safe_name(item.filename, item.kind)
    else:
        name = neutral_name(policy.neutral_stem, index, item.kind)
    if family == "text":  # kept as it is: the spool itself becomes the clean file
        spool, item.data = item.data, io.BytesIO()
        size = spool.seek(0, os.SEEK_END)
        spool.seek(0)
        return CleanFile(name, item.kind, spool, size)
    out: BinaryIO = crypto.ephemeral_file()
    try:
        if family == "image":
            assert item.picture is not None  # noqa: S101 - receive() read every picture's header
            images.reencode(item.data, item.picture, out)
        elif family == "office":
            office.clean(item.data, out, item.kind)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Refused("timeout", "no time left for this submission")
            if family == "pdf":
                pdf.clean(item.data, out, policy.tool_limits(left))
            else:
                media.clean(item.data, out, item.kind, policy.tool_limits(left))
    except Refused as exc:
        out.close()
        raise AttachmentRejected(exc.reason, item.filename) from exc
    except BaseException:
        out.close()
        raise
    size = out.seek(0, os.SEEK_END)
    out.seek(0)
    return CleanFile(name, item.kind, out, size)


def close_all(files: list[CleanFile]) -> None:
    for f in files:
        f.data.close()


# --- encrypted storage ---------------------------------------------------------------------------


def put(store: Store, case: Case, key: bytes, clean: CleanFile, key_kind: KeyKind) -> Attachment:
    """Encrypt a clean file into the store (durably, streamed) and return its unsaved row (its ciphertext
    bound to the case's number in its tenant).

    Raises StoreUnavailable when the store cannot take it (nothing is then stored under its name)."""
    assert case.number is not None  # noqa: S101 - a flushed case has its number
    number = case.number
    stored_name = storage.new_name()
    clean.data.seek(0)
    aad = key_contexts.attachment(number, stored_name)
    store.put(stored_name, crypto.encrypt_chunks(key, clean.data, aad))
    meta = json.dumps({"name": clean.name, "type": clean.media_type, "size": clean.size}).encode()
    return Attachment(
        case_id=case.id,
        stored_name=stored_name,
        key=key_kind,
        meta=crypto.encrypt(key, meta, key_contexts.attachment_meta(number)),
    )


def _number(attachment: Attachment) -> int:
    number = attachment.case.number
    assert number is not None  # noqa: S101 - a stored case has its number
    return number


def read_meta(attachment: Attachment, key: bytes) -> dict[str, object]:
    return json.loads(crypto.decrypt(key, attachment.meta, key_contexts.attachment_meta(_number(attachment))))


def open_plain(store: Store, attachment: Attachment, key: bytes) -> Iterator[bytes]:
    """Decrypted chunks of an attachment, streamed. The object is opened at once, so that a missing
    object (AttachmentMissing) or a store that is away (StoreUnavailable) is known before any byte
    is sent; tampering raises CryptoError while reading."""
    try:
        fh = store.open(attachment.stored_name)
    except storage.ObjectMissing as exc:
        raise AttachmentMissing(attachment.stored_name) from exc

    def chunks() -> Iterator[bytes]:
        with fh:
            aad = key_contexts.attachment(_number(attachment), attachment.stored_name)
            yield from crypto.decrypt_stream(key, fh, aad)

    return chunks()


def remove_files(store: Store, stored_names: list[str], overwrite: bool = False) -> None:
    """Delete stored objects (a file store overwrites them with zeros first when asked: retention)."""
    for name in stored_names:
        store.delete(name, overwrite=overwrite)


def sweep_orphans(session: Session, store: Store, grace: timedelta) -> list[str]:
    """Remove objects that no committed row names and that are older than `grace` (crash leftovers),
    and uploads that never finished."""
    cutoff = datetime.now(UTC) - grace
    with tenancy.as_host(session):  # the store is shared: every tenant's objects are known ones
        known = set(session.scalars(select(Attachment.stored_name)))
    removed = []
    for info in list(store.list_objects()):
        if info.name in known or info.modified > cutoff:
            continue
        store.delete(info.name)
        removed.append(info.name)
    removed.extend(store.sweep_unfinished(cutoff))
    return removed


def read_all(chunks: Iterator[bytes]) -> bytes:
    """Join decrypted chunks (tests and small files only)."""
    buf = io.BytesIO()
    for chunk in chunks:
        buf.write(chunk)
    return buf.getvalue()
