"""Form-to-domain glue for the citizen pages: checked uploads (intake/uploads.py), the case body, errors."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from .. import attachments, bodies, capacity, cases, db, receipts, storage, tokens, uploads
from ..attachments import CleanFile
from ..models import Channel
from .forms import CitizenForm, FollowupForm


class UploadsRefused(Exception):
    """Files cannot be taken now, whatever they are: the server is short of space (503) or this client's
    upload budget is spent (429). The message is on the form, which keeps everything typed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _chosen(form: Any) -> bool:
    """Files were chosen in the form (browsers never restore them: such a form is sent on purpose)."""
    field = getattr(form, "attachments", None)
    return field is not None and any(isinstance(u, FileStorage) and u.filename for u in field.data or [])


def _files_or_error(form: Any, field_name: str | None) -> list[CleanFile] | None:
    """The checked files of the form's attachments field; None (with the error on the field) if refused.

    Raises UploadsRefused when files were chosen but none can be taken now (intake/capacity.py).
    """
    if field_name is None or not hasattr(form, field_name):
        return []
    field = getattr(form, field_name)
    if _chosen(form) and capacity.storage_low() is not None:  # before any costly check of the files
        field.errors = [*field.errors, capacity.refusal_message()]
        raise UploadsRefused(503)
    keep = getattr(form, "keep_filename", None)
    return uploads.checked_files(field, keep_names=bool(keep is not None and keep.data))


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


class NotStored(Exception):
    """The store or the database was away: nothing was accepted, the form goes back with its text and a
    message (503)."""


def not_stored_message() -> str:
    return gettext(
        "Nothing was sent: the system could not store your files just now. Your text is still here. "
        "Please attach your files again and send it again in a few minutes."
    )


def not_saved_message() -> str:
    return gettext(
        "Nothing was sent: the system could not save your message just now. Your text is still here. "
        "Please send it again in a few minutes (attach any files again)."
    )


def _not_stored(form: Any, message: str | None = None) -> NotStored:
    field = getattr(form, "attachments", None) or form.details
    field.errors = [*field.errors, message or not_stored_message()]
    return NotStored()


def _database_away(form: Any) -> NotStored:
    """The database failed under the submission: roll back what the session held (the objects already put
    in the store are orphans the sweep removes) and give the form back."""
    with contextlib.suppress(Exception):
        db.session().rollback()
    return _not_stored(form, not_saved_message())


@dataclass(frozen=True)
class Filed:
    """The form filed its case (now or before): its receipt opens with this one-time value."""

    form_id: str


def receive(form: CitizenForm, channel: Channel, earlier: list[str]) -> Filed | None:
    """Validate a submitted form and store the case; None when the form has errors (set on its fields).

    The same rendered form sent again files nothing: it is answered with its first receipt
    (receipts.py), and so is a form restored by Back that says exactly what one of this browser's
    `earlier` receipts said. Raises NotStored (the message set on the form) when the store or the database
    is away: no case, no token."""
    try:
        return _receive(form, channel, earlier)
    except db.UNAVAILABLE as exc:  # reading receipts and settings, storing, committing: any may fail
        raise _database_away(form) from exc


def _receive(form: CitizenForm, channel: Channel, earlier: list[str]) -> Filed | None:
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
    _charge(form, "attachments", files)
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
    or the database is away (nothing added; the message is on the form)."""
    try:
        return _follow_up(form, found)
    except db.UNAVAILABLE as exc:
        raise _database_away(form) from exc


def _follow_up(form: FollowupForm, found: cases.CitizenCase) -> bool:
    if found.case.is_closed:
        raise FollowupRefused
    session = db.session()
    form_id = form.stamp()
    if receipts.find(session, form_id) is not None:
        return True
    valid = form.validate()
    # The same message again (Back and resend) is there already; one with files chosen is sent on purpose.
    if valid and not _chosen(form) and cases.repeats_last_followup(found, form.message.data or ""):
        return True
    files = _files_or_error(form, "attachments")
    if not valid or files is None:
        attachments.close_all(files or [])
        return False
    _charge(form, "attachments", files)
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


def thai_keyboard_message() -> str:
    return gettext(
        "The code you typed has Thai letters: your keyboard may be set to Thai. Switch it to English "
        "(the code has only the letters A to Z and the digits 0 to 9) and type the code again."
    )
