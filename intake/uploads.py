"""Files uploaded through any form (citizen reports and follow-ups, an officer's offline intake).

One checker and one set of messages: the number of files, each file's size and the total are bounded
(limits from the settings), each file is checked by its content (attachments.inspect: images re-encoded
without metadata), and a refusal names the file and the reason in the page's language. Nothing is kept
of a refused upload.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from flask import current_app
from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from . import attachments, db, filenames, settings
from .attachments import AttachmentRejected, CleanFile
from .i18n import human_size


@dataclass(frozen=True)
class UploadLimits:
    per_file: int
    total: int
    count: int


def limits() -> UploadLimits:
    """The limits in force: bytes per file and per submission (settings), number of files (config)."""
    per_file, total = settings.attachment_limits(db.session())
    return UploadLimits(per_file, total, int(current_app.config["ATTACHMENT_MAX_FILES"]))


def _raw_size(stream: IO[bytes]) -> int | None:
    try:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    return size


def check(uploads: Iterable[Any], bounds: UploadLimits) -> list[CleanFile]:
    """Every chosen file checked by content (images cleaned); AttachmentRejected for the first bad one."""
    chosen = [u for u in uploads if isinstance(u, FileStorage) and u.filename]
    if len(chosen) > bounds.count:
        raise AttachmentRejected("too_many")
    clean: list[CleanFile] = []
    total = 0
    try:
        for upload in chosen:
            name = upload.filename or ""
            size = _raw_size(upload.stream)
            if size is not None:
                if size > bounds.per_file:
                    raise AttachmentRejected("too_large", name)
                total += size
                if total > bounds.total:
                    raise AttachmentRejected("total_too_large", name)
            clean.append(attachments.inspect(cast(BinaryIO, upload.stream), name, bounds.per_file))
    except BaseException:
        attachments.close_all(clean)
        raise
    return clean


def rejection_message(exc: AttachmentRejected, bounds: UploadLimits) -> str:
    """Which file, and why, in the page's language."""
    name = filenames.shown(exc.filename)
    if exc.reason == "type":
        return gettext(
            "“%(name)s” is not a type of file we accept. Accepted: photos (JPEG, PNG, WebP), PDF and "
            "plain text.",
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
    return gettext("“%(name)s” cannot be accepted.", name=name)


def checked_files(field: Any) -> list[CleanFile] | None:
    """The checked files of a form's file field; None, with the reason added to the field's errors."""
    bounds = limits()
    try:
        return check(field.data or [], bounds)
    except AttachmentRejected as exc:
        field.errors = [*field.errors, rejection_message(exc, bounds)]
        return None
