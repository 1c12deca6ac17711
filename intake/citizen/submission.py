"""Form-to-domain glue for the citizen pages: checked uploads (intake/uploads.py), the case body, errors."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext

from .. import attachments, cases, db, storage, uploads
from ..attachments import CleanFile
from ..models import Channel
from .forms import CitizenForm, FollowupForm


def _files_or_error(form: Any, field_name: str | None) -> list[CleanFile] | None:
    """The checked files of the form's attachments field; None (with the error on the field) if refused."""
    if field_name is None or not hasattr(form, field_name):
        return []
    field = getattr(form, field_name)
    keep = getattr(form, "keep_filename", None)
    return uploads.checked_files(field, keep_names=bool(keep is not None and keep.data))


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


def receive(form: CitizenForm, channel: Channel) -> cases.Submitted | None:
    """Validate a submitted form and store the case; None when the form has errors (set on its fields).

    Raises NotStored (the message set on the form) when the store is away: no case, no token."""
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
            store=storage.current(),
            category=body.get("category"),
        )
    except storage.StoreUnavailable as exc:
        raise _not_stored(form) from exc
    finally:
        attachments.close_all(files)


class FollowupRefused(Exception):
    """The case is closed: it takes no more follow-ups (the message is on the form)."""


def follow_up(form: FollowupForm, found: cases.CitizenCase) -> bool:
    """Add the citizen's message (and files) to an open case; False when the form has errors.

    Raises NotStored when the store is away (nothing added; the message is on the form)."""
    if found.case.is_closed:
        raise FollowupRefused
    valid = form.validate()
    files = _files_or_error(form, "attachments")
    if not valid or files is None:
        attachments.close_all(files or [])
        return False
    try:
        cases.add_followup(db.session(), found, form.message.data, files, storage.current())
    except cases.CaseClosed as exc:
        raise FollowupRefused from exc
    except storage.StoreUnavailable as exc:
        raise _not_stored(form) from exc
    finally:
        attachments.close_all(files)
    return True


def not_found_message() -> str:
    return gettext("No case was found for this code. Check it and try again.")
