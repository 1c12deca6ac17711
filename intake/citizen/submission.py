"""Form-to-domain glue for the citizen pages: checked uploads, the case body, errors in plain words."""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from flask import current_app
from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from .. import attachments, capacity, cases, db, settings
from ..attachments import AttachmentRejected, CleanFile
from ..i18n import human_size
from ..models import Channel
from .forms import CitizenForm, FollowupForm


@dataclass(frozen=True)
class UploadLimits:
    per_file: int
    total: int
    count: int


def upload_limits() -> UploadLimits:
    per_file, total = settings.attachment_limits(db.session())
    return UploadLimits(per_file, total, int(current_app.config["ATTACHMENT_MAX_FILES"]))


def _raw_size(stream: IO[bytes]) -> int | None:
    try:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None
    return size


def check_uploads(uploads: Iterable[Any], limits: UploadLimits) -> list[CleanFile]:
    """Every chosen file checked by content (images cleaned); AttachmentRejected for the first bad one."""
    chosen = [u for u in uploads if isinstance(u, FileStorage) and u.filename]
    if len(chosen) > limits.count:
        raise AttachmentRejected("too_many")
    clean: list[CleanFile] = []
    total = 0
    try:
        for upload in chosen:
            name = upload.filename or ""
            size = _raw_size(upload.stream)
            if size is not None:
                if size > limits.per_file:
                    raise AttachmentRejected("too_large", name)
                total += size
                if total > limits.total:
                    raise AttachmentRejected("total_too_large", name)
            clean.append(attachments.inspect(cast(BinaryIO, upload.stream), name, limits.per_file))
    except BaseException:
        attachments.close_all(clean)
        raise
    return clean


def shown_name(name: str) -> str:
    """A file name as the citizen may see it in an error: no path, no control characters, not too long."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:80] + ("…" if len(base) > 80 else "") or "?"


def rejection_message(exc: AttachmentRejected, limits: UploadLimits) -> str:
    """Which file, and why, in the page's language."""
    name = shown_name(exc.filename)
    if exc.reason == "type":
        return gettext(
            "“%(name)s” is not a type of file we accept. Accepted: photos (JPEG, PNG, WebP), PDF and "
            "plain text.",
            name=name,
        )
    if exc.reason == "too_large":
        return gettext("“%(name)s” is too large: at most %(size)s a file.", name=name,
                       size=human_size(limits.per_file))
    if exc.reason == "total_too_large":
        return gettext("The files together are too large: at most %(size)s in all.",
                       size=human_size(limits.total))
    if exc.reason == "too_many":
        return gettext("Too many files: at most %(count)d.", count=limits.count)
    if exc.reason == "image":
        return gettext(
            "“%(name)s” could not be read as a picture, or the picture has too many pixels.", name=name
        )
    if exc.reason == "empty":
        return gettext("“%(name)s” is empty.", name=name)
    return gettext("“%(name)s” cannot be accepted.", name=name)


class UploadsRefused(Exception):
    """Files cannot be taken now, whatever they are: the server is short of space (503) or this client's
    upload budget is spent (429). The message is on the form, which keeps everything typed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _chosen(field: Any) -> bool:
    return any(isinstance(u, FileStorage) and u.filename for u in field.data or [])


def _files_or_error(form: Any, field_name: str | None) -> list[CleanFile] | None:
    """The checked files of the form's attachments field; None (with the error on the field) if refused.

    Raises UploadsRefused when files were chosen but none can be taken now (intake/capacity.py).
    """
    if field_name is None or not hasattr(form, field_name):
        return []
    field = getattr(form, field_name)
    if _chosen(field) and capacity.storage_low() is not None:  # before any costly check of the files
        field.errors = [*field.errors, capacity.refusal_message()]
        raise UploadsRefused(503)
    limits = upload_limits()
    try:
        files = check_uploads(field.data or [], limits)
    except AttachmentRejected as exc:
        field.errors = [*field.errors, rejection_message(exc, limits)]
        return None
    return files


def _charge(form: Any, field_name: str, files: list[CleanFile]) -> None:
    """Spend the client's upload budget on the files about to be stored; UploadsRefused(429) when spent."""
    if files and not capacity.spend_upload_budget(sum(f.size for f in files)):
        attachments.close_all(files)
        field = getattr(form, field_name)
        field.errors = [
            *field.errors,
            gettext(
                "Too many files have been sent from your connection recently. Send your report without "
                "the files now (you can add them later with your tracking code), or try again in an hour."
            ),
        ]
        raise UploadsRefused(429)


def receive(form: CitizenForm, channel: Channel) -> cases.Submitted | None:
    """Validate a submitted form and store the case; None when the form has errors (set on its fields)."""
    valid = form.validate()
    files = _files_or_error(form, "attachments" if channel != Channel.QUESTION else None)
    if not valid or files is None:
        attachments.close_all(files or [])
        return None
    _charge(form, "attachments", files)
    body = form.text_body()
    try:
        return cases.submit(
            db.session(),
            channel=channel,
            body=body,
            contact=form.contact.data or None,
            files=files,
            instance_dir=current_app.config["INSTANCE_DIR"],
            category=body.get("category"),
        )
    finally:
        attachments.close_all(files)


class FollowupRefused(Exception):
    """The case is closed: it takes no more follow-ups (the message is on the form)."""


def follow_up(form: FollowupForm, found: cases.CitizenCase) -> bool:
    """Add the citizen's message (and files) to an open case; False when the form has errors."""
    if found.case.is_closed:
        raise FollowupRefused
    valid = form.validate()
    files = _files_or_error(form, "attachments")
    if not valid or files is None:
        attachments.close_all(files or [])
        return False
    _charge(form, "attachments", files)
    try:
        cases.add_followup(db.session(), found, form.message.data, files, current_app.config["INSTANCE_DIR"])
    except cases.CaseClosed as exc:
        raise FollowupRefused from exc
    finally:
        attachments.close_all(files)
    return True


def not_found_message() -> str:
    return gettext("No case was found for this code. Check it and try again.")
