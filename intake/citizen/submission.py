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

from .. import attachments, bodies, cases, db, receipts, settings, storage, tokens
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


def _chosen(form: Any) -> bool:
    """The form carries at least one chosen file."""
    field = getattr(form, "attachments", None)
    return field is not None and any(isinstance(u, FileStorage) and u.filename for u in field.data or [])


def _files_or_error(form: Any, field_name: str | None) -> list[CleanFile] | None:
    """The checked files of the form's attachments field; None (with the error on the field) if refused."""
    if field_name is None or not hasattr(form, field_name):
        return []
    field = getattr(form, field_name)
    limits = upload_limits()
    try:
        return check_uploads(field.data or [], limits)
    except AttachmentRejected as exc:
        field.errors = [*field.errors, rejection_message(exc, limits)]
        return None


class NotStored(Exception):
    """The store was away: nothing was accepted, the form goes back with its text and a message (503)."""


def not_stored_message() -> str:
    return gettext(
        "Nothing was sent: the system could not store your files just now. Your text is still here. "
        "Please attach your files again and send it again in a few minutes."
    )


def _not_stored(form: Any) -> NotStored:
    field = getattr(form, "attachments", None) or form.details
    field.errors = [*field.errors, not_stored_message()]
    return NotStored()


@dataclass(frozen=True)
class Filed:
    """The form filed its case (now or before): its receipt opens with this one-time value."""

    form_id: str


def receive(form: CitizenForm, channel: Channel, earlier: list[str]) -> Filed | None:
    """Validate a submitted form and store the case; None when the form has errors (set on its fields).

    The same rendered form sent again files nothing: it is answered with its first receipt
    (receipts.py), and so is a form restored by Back that says exactly what one of this browser's
    `earlier` receipts said. Raises NotStored (the message set on the form) when the store is away: no
    case, no token."""
    session = db.session()
    form_id = form.stamp()
    if receipts.find(session, form_id) is not None:
        return Filed(form_id)
    valid = form.validate()
    content = ""
    if valid:  # only a valid form has a body to compare
        said = bodies.to_json(form.text_body())
        content = receipts.content_digest(channel.value, said, form.contact.data or "")
        # Browsers never restore chosen files: a form with files is sent on purpose, not restored by Back.
        if not _chosen(form) and (again := receipts.resent(session, earlier, content)) is not None:
            return Filed(again)
    files = _files_or_error(form, "attachments" if channel != Channel.QUESTION else None)
    if not valid or files is None:
        attachments.close_all(files or [])
        return None
    try:
        cases.submit(
            session,
            channel=channel,
            body=form.text_body(),
            contact=form.contact.data or None,
            files=files,
            store=storage.current(),
            before_commit=lambda made: receipts.claim(session, form_id, made.case, made.token, content),
        )
    except receipts.AlreadyFiled:  # a copy of this form filed it a moment ago: show that one
        return Filed(form_id)
    except storage.StoreUnavailable as exc:
        raise _not_stored(form) from exc
    finally:
        attachments.close_all(files)
    return Filed(form_id)


class FollowupRefused(Exception):
    """The case is closed: it takes no more follow-ups (the message is on the form)."""


def follow_up(form: FollowupForm, found: cases.CitizenCase) -> bool:
    """Add the citizen's message (and files) to an open case; False when the form has errors.

    The same rendered form sent again adds nothing (True: it was added). Raises NotStored when the store
    is away (nothing added; the message is on the form)."""
    if found.case.is_closed:
        raise FollowupRefused
    session = db.session()
    form_id = form.stamp()
    if receipts.find(session, form_id) is not None:
        return True
    valid = form.validate()
    if valid and cases.repeats_last_followup(found, form.message.data or ""):
        return True  # the same message again (Back and resend): it is there already
    files = _files_or_error(form, "attachments")
    if not valid or files is None:
        attachments.close_all(files or [])
        return False
    token = tokens.display(tokens.normalise(form.token.data or ""))
    try:
        cases.add_followup(
            session,
            found,
            form.message.data,
            files,
            storage.current(),
            before_commit=lambda _entry: receipts.claim(session, form_id, found.case, token),
        )
    except receipts.AlreadyFiled:
        return True
    except cases.CaseClosed as exc:
        raise FollowupRefused from exc
    except storage.StoreUnavailable as exc:
        raise _not_stored(form) from exc
    finally:
        attachments.close_all(files)
    return True


def not_found_message() -> str:
    return gettext("No case was found for this code. Check it and try again.")
