"""Files uploaded through any form (citizen reports and follow-ups, an officer's offline intake).

One checker and one set of messages: the number of files, each file's size and the total are bounded
(limits from the settings), then `attachments.inspect_all` recognises every file by its content, counts
the pictures' pixels before decoding any (the megapixel budget), and cleans each one (intake/cleaning/).
A refusal names the file and the reason in the page's language. Nothing is kept of a refused upload.

A citizen's files get neutral names unless they ticked "keep the file names", and their pictures are
charged to the per-address megapixel budget (intake/budgets.py); an officer's offline intake keeps the
names the officer chose and has no per-address budget (`Sender.OFFICER`).
"""

from __future__ import annotations

import enum
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from flask import current_app
from flask_babel import force_locale, gettext
from werkzeug.datastructures import FileStorage

from . import attachments, budgets, db, filenames, settings
from .attachments import AttachmentRejected, CleanFile
from .i18n import human_size


class Sender(enum.Enum):
    CITIZEN = "citizen"
    OFFICER = "officer"


@dataclass(frozen=True)
class UploadLimits:
    per_file: int
    total: int
    count: int
    megapixels: int = attachments.DEFAULT_MAX_PIXELS // 1_000_000
    tool_timeout: float = 30.0


def limits() -> UploadLimits:
    """The limits in force: bytes per file and per submission (settings); files, pixels, tool time."""
    per_file, total = settings.attachment_limits(db.session())
    config = current_app.config
    return UploadLimits(
        per_file,
        total,
        int(config["ATTACHMENT_MAX_FILES"]),
        int(config["ATTACHMENT_MAX_MEGAPIXELS"]),
        float(config["ATTACHMENT_TOOL_TIMEOUT"]),
    )


def neutral_stem() -> str:
    """The neutral file name's stem, in the deployment's language (never the sender's: that would tell)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return gettext("attachment")


def _raw_size(stream: IO[bytes]) -> int | None:
    try:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    return size


def check(
    uploads: Iterable[Any], bounds: UploadLimits, sender: Sender = Sender.CITIZEN, keep_names: bool = False
) -> list[CleanFile]:
    """Every chosen file checked by content and cleaned; AttachmentRejected for the first bad one.

    Sizes are checked first (cheap), then `attachments.inspect_all` recognises every file and counts the
    pictures' pixels before cleaning any (a citizen's are charged to their address's budget)."""
    chosen = [u for u in uploads if isinstance(u, FileStorage) and u.filename]
    if len(chosen) > bounds.count:
        raise AttachmentRejected("too_many")
    total = 0
    for upload in chosen:
        name = upload.filename or ""
        size = _raw_size(upload.stream)
        if size is not None:
            if size > bounds.per_file:
                raise AttachmentRejected("too_large", name)
            total += size
            if total > bounds.total:
                raise AttachmentRejected("total_too_large", name)
    citizen = sender is Sender.CITIZEN
    policy = attachments.Policy(
        max_bytes=bounds.per_file,
        max_pixels=bounds.megapixels * 1_000_000,
        keep_names=keep_names or not citizen,
        neutral_stem=neutral_stem(),
        tool_timeout=bounds.tool_timeout,
        charge=budgets.charge_megapixels if citizen else None,
    )
    streams: list[tuple[BinaryIO, str | None]] = [(cast(BinaryIO, u.stream), u.filename) for u in chosen]
    return attachments.inspect_all(streams, policy)


def rejection_message(exc: AttachmentRejected, bounds: UploadLimits) -> str:
    """Which file, and why, in the page's language."""
    name = filenames.shown(exc.filename)
    if exc.reason == "type":
        return gettext(
            "“%(name)s” is not a type of file we accept. Accepted: photos (JPEG, PNG, WebP), PDF, Word "
            "(DOCX), Excel (XLSX), OpenDocument text (ODT), audio and video from a phone (MP4, M4A, 3GP, "
            "MOV) and plain text.",
            name=name,
        )
    if exc.reason == "too_large":
        return gettext("“%(name)s” is too large: at most %(size)s a file.", name=name,
                       size=human_size(bounds.per_file))
    if exc.reason == "total_too_large":
        return gettext("The files together are too large: at most %(size)s in all.",
                       size=human_size(bounds.total))
    if exc.reason == "too_many":
        return gettext("Too many files: at most %(count)d.", count=bounds.count)
    if exc.reason == "image":
        return gettext(
            "“%(name)s” could not be read as a picture, or the picture has too many pixels.", name=name
        )
    if exc.reason == "empty":
        return gettext("“%(name)s” is empty.", name=name)
    return _cleaning_message(exc, bounds, name)


def _cleaning_message(exc: AttachmentRejected, bounds: UploadLimits, name: str) -> str:
    """The reasons that come from cleaning files (and from the cost of doing so)."""
    if exc.reason == "pixels_total":
        return gettext(
            "The pictures together are too large to process: at most %(megapixels)d megapixels in one "
            "sending (a phone photo is about 12). Nothing else you wrote is lost: send fewer or smaller "
            "pictures now, and the others later as a follow-up on the tracking page.",
            megapixels=bounds.megapixels,
        )
    if exc.reason == "busy":
        return gettext(
            "Many large pictures have been sent from your connection in a short time. Please send again "
            "in about %(minutes)d minutes, or send smaller pictures.",
            minutes=max(1, -(-exc.retry_after // 60)),
        )
    if exc.reason == "document":
        return gettext(
            "“%(name)s” could not be read as a document: it may be damaged. Save it again, or send it as "
            "PDF.",
            name=name,
        )
    if exc.reason == "encrypted":
        return gettext(
            "“%(name)s” is protected by a password, so its hidden data cannot be removed. Remove the "
            "password and attach it again.",
            name=name,
        )
    if exc.reason == "media":
        return gettext(
            "“%(name)s” could not be read as audio or video: it may be damaged or cut short.", name=name
        )
    if exc.reason == "timeout":
        return gettext(
            "“%(name)s” took too long to clean and was not accepted. Send a shorter recording, or fewer "
            "files at once.",
            name=name,
        )
    if exc.reason == "unavailable":
        return gettext(
            "“%(name)s” cannot be accepted: this server cannot clean this type of file at the moment.",
            name=name,
        )
    return gettext("“%(name)s” cannot be accepted.", name=name)


def checked_files(
    field: Any, sender: Sender = Sender.CITIZEN, keep_names: bool = False
) -> list[CleanFile] | None:
    """The checked files of a form's file field; None, with the reason added to the field's errors."""
    bounds = limits()
    try:
        return check(field.data or [], bounds, sender, keep_names)
    except AttachmentRejected as exc:
        field.errors = [*field.errors, rejection_message(exc, bounds)]
        return None
