"""The case page and its actions: each a POST with CSRF, each written to the audit trail with the change."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import attachments, audit, cases, crypto, dates, db, filenames, storage
from ..answers import publishing
from ..i18n import CHANNEL_LABELS
from ..models import Agency, Case, EntryKind, KeyKind, Officer, Status
from ..sessions import current_officer, current_private_key, login_required
from . import accounts, queue
from .forms import (
    AssignForm,
    DuplicateForm,
    EmptyForm,
    NoteForm,
    PublishForm,
    ReferForm,
    ReplyForm,
    StatusForm,
)
from .views import CASE_ROLES, bp

KIND_LABELS = {
    "received": _l("Received"),
    "satisfaction": _l("The citizen's rating of the handling"),
    "followup": _l("Follow-up from the citizen"),
    "reply": _l("Reply to the citizen"),
    "status": _l("Status changed"),
    "note": _l("Internal note"),
    "assign": _l("Assignment changed"),
    "referral": _l("Referred"),
    cases.UNDECRYPTABLE: _l("Cannot be decrypted"),
}


def internal_flags(case: Case) -> list[bool]:
    """Per timeline item (officer_view skips the contact entry): is its text kept from the citizen?"""
    flags = []
    for entry in case.entries:
        if entry.kind == EntryKind.CONTACT:
            continue
        flags.append(
            entry.kind in (EntryKind.NOTE, EntryKind.REFERRAL)
            or (entry.kind == EntryKind.STATUS and entry.key == KeyKind.INTERNAL)
        )
    return flags


# Every refusal of a case operation, in words, in one place (the operations raise, the views map).
def refusal(exc: Exception) -> str:
    if isinstance(exc, cases.AlreadyAcknowledged):
        return _("This case has been acknowledged already.")
    if isinstance(exc, cases.CaseClosed):
        return _("The case is closed: reopen it (change its status) before replying.")
    if isinstance(exc, cases.NotEligible):
        return _("Choose an officer who holds this channel.")
    if isinstance(exc, publishing.NoConsent):
        return _("The asker did not agree to publication.")
    if isinstance(exc, cases.DuplicateRefused):
        return {
            "self": _("A case cannot be a duplicate of itself (or of a case already joined with it)."),
            "not_found": _("There is no case with that number in this channel."),
            "already": _("This case is already joined with that one."),
        }[exc.reason]
    return _("That change does not apply to this case as it is now.")


REFUSED = (cases.InvalidTransition, cases.CaseClosed, cases.DuplicateRefused, publishing.NoConsent)


@dataclass
class Opened:
    officer: Officer
    case: Case
    keys: cases.CaseKeys


def open_case(case_id: int) -> Opened:
    """The case if the officer's channels cover it and their keys open it; 404 otherwise."""
    officer = current_officer()
    session = db.session()
    try:
        case = cases.get_for_officer(session, case_id, officer.channels)
        keys = cases.officer_keys(session, officer, current_private_key(), case)
    except cases.CaseUndecryptable:  # the officer may see the case, but its sealed keys were altered
        cases.record_damage(session, officer.username, case, ["case keys"])
        session.commit()
        abort(make_response(render_template("officer/case_damaged.html", case=case), 200))
    except (cases.CaseNotFound, cases.ChannelForbidden) as exc:
        refused(case_id, exc)
    return Opened(officer, case, keys)


def refused(case_id: int, exc: Exception) -> NoReturn:
    """Answer 404, as for a case that does not exist, after putting the refused attempt on the record."""
    cases.record_refusal(db.session(), current_officer().username, case_id, exc, _what())
    abort(404)


def _what() -> str:
    return f"{request.method} {request.endpoint}"


def _forms(case: Case, bound: dict[str, FlaskForm]) -> dict[str, Any]:
    """Every action form of the case page; the bound one keeps what was typed and its errors."""
    assign = bound.get("assign_form") or AssignForm(formdata=None, officer=str(case.assignee_id or ""))
    assign.officer.choices = assignee_choices(case)
    current_status = case.status if case.status != Status.NEW else None
    return {
        "ack_form": EmptyForm(formdata=None),
        "status_form": bound.get("status_form") or StatusForm(formdata=None, status=current_status),
        "reply_form": bound.get("reply_form") or ReplyForm(formdata=None),
        "note_form": bound.get("note_form") or NoteForm(formdata=None),
        "assign_form": assign,
        "refer_form": bound.get("refer_form") or ReferForm(formdata=None),
        "duplicate_form": bound.get("duplicate_form") or DuplicateForm(formdata=None),
        "unpublish_form": EmptyForm(formdata=None),
        "publish_form": bound.get("publish_form"),
    }


def assignee_choices(case: Case) -> list[SelectChoice]:
    holders = accounts.holders(db.session(), {case.channel})
    return [SelectChoice("", _("Nobody")), *(SelectChoice(str(o.id), o.username) for o in holders)]


def _render(
    case_id: int,
    status: int = 200,
    bound: dict[str, FlaskForm] | None = None,
    error: dict[str, str] | None = None,
) -> tuple[str, int]:
    """The case page: opening it decrypts it, marks it seen and puts the view on the record."""
    officer = current_officer()
    session = db.session()
    try:
        view = cases.open_for_officer(session, officer, current_private_key(), case_id)
    except cases.CaseUndecryptable:  # the officer may see the case, but its sealed keys were altered
        damaged = cases.get_for_officer(session, case_id, officer.channels)
        cases.record_damage(session, officer.username, damaged, ["case keys"])
        session.commit()
        return render_template("officer/case_damaged.html", case=damaged), 200
    except cases.CaseNotFound as exc:
        refused(case_id, exc)
    case = view.case
    if view.damaged:  # shown in place of each item as "cannot be decrypted", and put on the record
        cases.record_damage(session, officer.username, case, view.damaged)
    session.commit()
    can_publish = publishing.may_publish(case, view.body)
    forms = _forms(case, bound or {})
    if can_publish and forms["publish_form"] is None:
        replies = [item.text for item in view.timeline if item.kind == "reply" and item.text]
        forms["publish_form"] = PublishForm(
            formdata=None, question=view.body.details, answer=replies[-1] if replies else ""
        )
    return render_template(
        "officer/case.html",
        view=view,
        late=queue.overdue_kinds(case, dates.now()),
        internal_flags=internal_flags(case),
        kind_labels=KIND_LABELS,
        case=case,
        channel_label=CHANNEL_LABELS.get(case.channel),
        can_publish=can_publish,
        published=publishing.for_case(session, case.id),
        action_errors=error or {},
        **forms,
    ), status


@bp.get("/cases/<int:case_id>")
@login_required(*CASE_ROLES, hide=True)
def case_page(case_id: int) -> tuple[str, int]:
    officer = current_officer()
    try:
        case = cases.get_for_officer(db.session(), case_id, officer.channels)
    except cases.CaseNotFound as exc:
        refused(case_id, exc)
    if case.purged_at is not None:  # retention deleted the content; the figures stay
        return render_template("officer/case_purged.html", case=case), 200
    return _render(case_id)


def _act(
    case_id: int,
    form: FlaskForm,
    name: str,
    action: Callable[[Opened], object],
    said: Callable[[], str] | None = None,
) -> Response | tuple[str, int]:
    """Validate `form`, run the one operation `action` calls, commit and go back to the case (303);
    a refusal or an invalid form shows the case page again with the message beside that form."""
    opened = open_case(case_id)
    if isinstance(form, AssignForm):
        form.officer.choices = assignee_choices(opened.case)
    error = None
    if form.validate_on_submit():
        try:
            action(opened)
        except REFUSED as exc:
            error = refusal(exc)
        else:
            db.session().commit()
            flash(" ".join([_("Saved."), said() if said else ""]).strip(), "success")
            return redirect(url_for("officer.case_page", case_id=case_id), code=303)
        db.session().rollback()
    return _render(case_id, 400, {name: form}, {name: error} if error else None)


@bp.post("/cases/<int:case_id>/acknowledge")
@login_required(*CASE_ROLES, hide=True)
def acknowledge(case_id: int) -> Response | tuple[str, int]:
    return _act(
        case_id, EmptyForm(), "ack_form", lambda o: cases.acknowledge(db.session(), o.case, o.officer, o.keys)
    )


@bp.post("/cases/<int:case_id>/status")
@login_required(*CASE_ROLES, hide=True)
def change_status(case_id: int) -> Response | tuple[str, int]:
    form = StatusForm()
    return _act(
        case_id,
        form,
        "status_form",
        lambda o: cases.change_status(
            db.session(), o.case, o.officer, o.keys, Status(form.status.data), form.note.data or "",
            public=bool(form.public.data),
        ),
    )


@bp.post("/cases/<int:case_id>/reply")
@login_required(*CASE_ROLES, hide=True)
def reply(case_id: int) -> Response | tuple[str, int]:
    form = ReplyForm()
    return _act(
        case_id,
        form,
        "reply_form",
        lambda o: cases.reply(db.session(), o.case, o.officer, o.keys, form.message.data or ""),
    )


@bp.post("/cases/<int:case_id>/note")
@login_required(*CASE_ROLES, hide=True)
def note(case_id: int) -> Response | tuple[str, int]:
    form = NoteForm()
    return _act(
        case_id,
        form,
        "note_form",
        lambda o: cases.add_note(db.session(), o.case, o.officer, o.keys, form.note.data or ""),
    )


@bp.post("/cases/<int:case_id>/assign")
@login_required(*CASE_ROLES, hide=True)
def assign(case_id: int) -> Response | tuple[str, int]:
    form = AssignForm()

    def run(o: Opened) -> object:
        session = db.session()
        assignee = session.get(Officer, int(form.officer.data)) if form.officer.data else None
        if form.officer.data and assignee is None:
            raise cases.NotEligible(form.officer.data)
        return cases.assign(session, o.case, o.officer, assignee)

    return _act(case_id, form, "assign_form", run)


@bp.post("/cases/<int:case_id>/refer")
@login_required(*CASE_ROLES, hide=True)
def refer(case_id: int) -> Response | tuple[str, int]:
    form = ReferForm()
    return _act(
        case_id,
        form,
        "refer_form",
        lambda o: cases.refer(
            db.session(),
            o.case,
            o.officer,
            o.keys,
            Agency(form.agency.data),
            (form.reference.data or "").strip(),
            form.referred_on.day.isoformat() if form.referred_on.day else "",
            form.note.data or "",
            public=bool(form.public.data),
        ),
        said=form.referred_on.read_back,
    )


@bp.post("/cases/<int:case_id>/duplicate")
@login_required(*CASE_ROLES, hide=True)
def duplicate(case_id: int) -> Response | tuple[str, int]:
    form = DuplicateForm()
    return _act(
        case_id,
        form,
        "duplicate_form",
        lambda o: cases.mark_duplicate(db.session(), o.case, o.officer, o.keys, form.case_id()),
    )


@bp.post("/cases/<int:case_id>/publish")
@login_required(*CASE_ROLES, hide=True)
def publish(case_id: int) -> Response | tuple[str, int]:
    form = PublishForm()
    return _act(
        case_id,
        form,
        "publish_form",
        lambda o: publishing.publish_answer(
            db.session(), o.case, o.officer, cases.submission_of(o.case, o.keys),
            form.question.data or "", form.answer.data or "",
        ),
    )


@bp.post("/answers/<int:answer_id>/unpublish")
@login_required(*CASE_ROLES, hide=True)
def unpublish(answer_id: int) -> Response:
    session = db.session()
    if not EmptyForm().validate_on_submit():
        abort(404)
    try:
        case = publishing.unpublish_answer(session, current_officer(), answer_id)
    except publishing.AnswerNotFound:
        audit.refused(session, current_officer().username, "answer", answer_id, _what())
        abort(404)
    session.commit()
    flash(_("The answer is no longer published."), "success")
    if case is not None:
        return redirect(url_for("officer.case_page", case_id=case.number), code=303)
    return redirect(url_for("officer.queue"), code=303)


# --- attachments -----------------------------------------------------------------------------------


@bp.get("/cases/<int:case_id>/attachments/<int:attachment_id>")
@login_required(*CASE_ROLES, hide=True)
def attachment(case_id: int, attachment_id: int) -> Response:
    opened = open_case(case_id)
    session = db.session()
    try:
        row = cases.attachment_for(opened.case, attachment_id)
        key = opened.keys.for_kind(row.key)
        meta = attachments.read_meta(row, key)
        chunks = attachments.open_plain(storage.current(), row, key)  # StoreUnavailable: the 503 page
        first = next(chunks, b"")  # a file altered from its first chunk on is refused before any byte goes
    except (cases.CaseNotFound, cases.ChannelForbidden, attachments.AttachmentMissing) as exc:
        refused(case_id, exc)
    except (crypto.CryptoError, ValueError, KeyError):
        cases.record_damage(session, opened.officer.username, opened.case, [f"attachment={attachment_id}"])
        session.commit()
        return make_response(render_template("officer/case_damaged_file.html", case=opened.case), 200)
    audit.record(
        session, opened.officer.username, "attachment.download", opened.case.id, f"attachment={row.id}"
    )
    session.commit()
    response = Response(
        itertools.chain([first], chunks), mimetype="application/octet-stream", direct_passthrough=True
    )
    response.headers["Content-Disposition"] = filenames.content_disposition(str(meta.get("name") or ""))
    response.headers["X-Content-Type-Options"] = "nosniff"
    size = meta.get("size")
    if isinstance(size, int):
        response.headers["Content-Length"] = str(size)
    return response
