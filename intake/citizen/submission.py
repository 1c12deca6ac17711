"""Form-to-domain glue for the citizen pages: checked uploads, the case body, errors in plain words."""

from __future__ import annotations

import io
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from flask import current_app
from flask_babel import force_locale, gettext
from werkzeug.datastructures import FileStorage

from .. import attachments, budgets, cases, db, settings
from ..attachments import AttachmentRejected, CleanFile
from ..i18n import human_size
from ..models import Channel
from .forms import CitizenForm, FollowupForm


@dataclass(frozen=True)
class UploadLimits:
    per_file: int
    total: int
    count: int
    megapixels: int = attachments.DEFAULT_MAX_PIXELS // 1_000_000
    tool_timeout: float = 30.0


def upload_limits() -> UploadLimits:
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


def check_uploads(uploads: Iterable[Any], limits: UploadLimits, keep_names: bool = False) -> list[CleanFile]:
    """Every chosen file checked by content and cleaned; AttachmentRejected for the first bad one.

    Sizes are checked first (cheap), then `attachments.inspect_all` recognises every file and counts
    the pictures' pixels before cleaning any, charging them to the sender's megapixel budget.
    """
    chosen = [u for u in uploads if isinstance(u, FileStorage) and u.filename]
    if len(chosen) > limits.count:
        raise AttachmentRejected("too_many")
    total = 0
    for upload in chosen:
        name = upload.filename or ""
        size = _raw_size(upload.stream)
        if size is not None:
            if size > limits.per_file:
                raise AttachmentRejected("too_large", name)
            total += size
            if total > limits.total:
                raise AttachmentRejected("total_too_large", name)
    policy = attachments.Policy(
        max_bytes=limits.per_file,
        max_pixels=limits.megapixels * 1_000_000,
        keep_names=keep_names,
        neutral_stem=neutral_stem(),
        tool_timeout=limits.tool_timeout,
        charge=budgets.charge_megapixels,
    )
    return attachments.inspect_all([(cast(BinaryIO, u.stream), u.filename or "") for u in chosen], policy)


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
            "“%(name)s” is not a type of file we accept. Accepted: photos (JPEG, PNG, WebP), PDF, Word "
            "(DOCX), Excel (XLSX), OpenDocument text (ODT), audio and video from a phone (MP4, M4A, 3GP, "
            "MOV) and plain text.",
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
    return _cleaning_message(exc, limits, name)


def _cleaning_message(exc: AttachmentRejected, limits: UploadLimits, name: str) -> str:
    """The reasons that come from cleaning files (and from the cost of doing so)."""
    if exc.reason == "pixels_total":
        return gettext(
            "The pictures together are too large to process: at most %(megapixels)d megapixels in one "
            "sending (a phone photo is about 12). Nothing else you wrote is lost: send fewer or smaller "
            "pictures now, and the others later as a follow-up on the tracking page.",
            megapixels=limits.megapixels,
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


def _files_or_error(form: Any, field_name: str | None) -> list[CleanFile] | None:
    """The checked files of the form's attachments field; None (with the error on the field) if refused."""
    if field_name is None or not hasattr(form, field_name):
        return []
    field = getattr(form, field_name)
    limits = upload_limits()
    keep = getattr(form, "keep_filename", None)
    try:
        return check_uploads(field.data or [], limits, keep_names=bool(keep is not None and keep.data))
    except AttachmentRejected as exc:
        field.errors = [*field.errors, rejection_message(exc, limits)]
        return None


def receive(form: CitizenForm, channel: Channel) -> cases.Submitted | None:
    """Validate a submitted form and store the case; None when the form has errors (set on its fields)."""
    valid = form.validate()
    files = _files_or_error(form, "attachments" if channel != Channel.QUESTION else None)
    if not valid or files is None:
        attachments.close_all(files or [])
        return None
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
    try:
        cases.add_followup(db.session(), found, form.message.data, files, current_app.config["INSTANCE_DIR"])
    except cases.CaseClosed as exc:
        raise FollowupRefused from exc
    finally:
        attachments.close_all(files)
    return True


def not_found_message() -> str:
    return gettext("No case was found for this code. Check it and try again.")
