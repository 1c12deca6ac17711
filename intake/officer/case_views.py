"""The case page and its actions: each a POST with CSRF, each written to the audit trail with the change."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import attachments, audit, cases, crypto, dates, db, filenames, storage
from ..answers import publishing
from ..i18n import CHANNEL_LABELS
from ..models import Agency, Case, Channel, EntryKind, KeyKind, Officer, PublishedAnswer, Role, Status
from ..sessions import current_officer, current_private_key, login_required
from . import accounts, queue
from .forms import AssignForm, EmptyForm, NoteForm, PublishForm, ReferForm, ReplyForm, StatusForm
from .views import CASE_ROLES, bp

KIND_LABELS = {
    "received": _l("Received"),
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
    except (cases.CaseNotFound, cases.ChannelForbidden):
        abort(404)
    return Opened(officer, case, keys)


def _forms(opened: Opened, bound: dict[str, FlaskForm]) -> dict[str, Any]:
    """Every action form of the case page; the bound one keeps what was typed and its errors."""
    case = opened.case
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
        "unpublish_form": EmptyForm(formdata=None),
        "publish_form": bound.get("publish_form"),
    }


def assignee_choices(case: Case) -> list[SelectChoice]:
    holders = accounts.holders(db.session(), {case.channel})
    return [SelectChoice("", _("Nobody")), *(SelectChoice(str(o.id), o.username) for o in holders)]


def _render(
    opened: Opened,
    status: int = 200,
    bound: dict[str, FlaskForm] | None = None,
    error: dict[str, str] | None = None,
) -> tuple[str, int]:
    session = db.session()
    view = cases.officer_view(session, opened.case, opened.keys)
    if view.damaged:  # shown in place of each item as "cannot be decrypted", and put on the record
        cases.record_damage(session, opened.officer.username, opened.case, view.damaged)
        session.commit()
    can_publish = opened.case.channel == Channel.QUESTION and bool(view.submission.get("publish_ok"))
    forms = _forms(opened, bound or {})
    if can_publish and forms["publish_form"] is None:
        replies = [item.text for item in view.timeline if item.kind == "reply" and item.text]
        forms["publish_form"] = PublishForm(
            formdata=None, question=view.submission.get("details", ""), answer=replies[-1] if replies else ""
        )
    return render_template(
        "officer/case.html",
        view=view,
        late=queue.overdue_kinds(opened.case, dates.now()),
        internal_flags=internal_flags(opened.case),
        kind_labels=KIND_LABELS,
        case=opened.case,
        channel_label=CHANNEL_LABELS.get(opened.case.channel),
        can_publish=can_publish,
        published=publishing.for_case(session, opened.case.id),
        action_errors=error or {},
        **forms,
    ), status


@bp.get("/cases/<int:case_id>")
@login_required(*CASE_ROLES, hide=True)
def case_page(case_id: int) -> tuple[str, int]:
    officer = current_officer()
    try:
        case = cases.get_for_officer(db.session(), case_id, officer.channels)
    except cases.CaseNotFound:
        abort(404)
    if case.purged_at is not None:  # retention deleted the content; the figures stay
        return render_template("officer/case_purged.html", case=case), 200
    opened = open_case(case_id)
    session = db.session()
    audit.record(session, opened.officer.username, "case.view", opened.case.id)
    session.commit()
    return _render(opened)


def _done(opened: Opened, message: str) -> Response:
    db.session().commit()
    flash(message, "success")
    return redirect(url_for("officer.case_page", case_id=opened.case.id), code=303)


def _act(
    case_id: int, form: FlaskForm, name: str, action: Callable[[Opened], str | None]
) -> Response | tuple[str, int]:
    """Validate `form`; run `action` (which returns an error message or None); commit and go back."""
    opened = open_case(case_id)
    if isinstance(form, AssignForm):
        form.officer.choices = assignee_choices(opened.case)
    error = None
    if form.validate_on_submit():
        try:
            error = action(opened)
        except cases.InvalidTransition:
            error = _("That change does not apply to this case as it is now.")
        if error is None:
            return _done(opened, _("Saved."))
        db.session().rollback()
    # The page shows the decrypted case again: a case view, on the record like the GET.
    audit.record(db.session(), opened.officer.username, "case.view", opened.case.id)
    db.session().commit()
    return _render(opened, 400, {name: form}, {name: error} if error else None)


@bp.post("/cases/<int:case_id>/acknowledge")
@login_required(*CASE_ROLES, hide=True)
def acknowledge(case_id: int) -> Response | tuple[str, int]:
    def run(o: Opened) -> str | None:
        if o.case.status != Status.NEW:
            return _("This case has been acknowledged already.")
        cases.acknowledge(db.session(), o.case, o.officer, o.keys)
        audit.record(db.session(), o.officer.username, "case.acknowledge", o.case.id)
        return None

    return _act(case_id, EmptyForm(), "ack_form", run)


def _note_kind(note: str | None, public: bool) -> str:
    if not note:
        return "-"
    return "public" if public else "internal"


@bp.post("/cases/<int:case_id>/status")
@login_required(*CASE_ROLES, hide=True)
def change_status(case_id: int) -> Response | tuple[str, int]:
    form = StatusForm()

    def run(o: Opened) -> str | None:
        status = Status(form.status.data)
        public = bool(form.public.data)
        cases.change_status(
            db.session(), o.case, o.officer, o.keys, status, form.note.data or "", public=public
        )
        audit.record(
            db.session(),
            o.officer.username,
            "case.status",
            o.case.id,
            f"status={status.value}; note={_note_kind(form.note.data, public)}",
        )
        return None

    return _act(case_id, form, "status_form", run)


@bp.post("/cases/<int:case_id>/reply")
@login_required(*CASE_ROLES, hide=True)
def reply(case_id: int) -> Response | tuple[str, int]:
    form = ReplyForm()

    def run(o: Opened) -> str | None:
        if o.case.is_closed:
            return _("The case is closed: reopen it (change its status) before replying.")
        cases.reply(db.session(), o.case, o.officer, o.keys, form.message.data or "")
        audit.record(db.session(), o.officer.username, "case.reply", o.case.id)
        return None

    return _act(case_id, form, "reply_form", run)


@bp.post("/cases/<int:case_id>/note")
@login_required(*CASE_ROLES, hide=True)
def note(case_id: int) -> Response | tuple[str, int]:
    form = NoteForm()

    def run(o: Opened) -> str | None:
        cases.add_note(db.session(), o.case, o.officer, o.keys, form.note.data or "")
        audit.record(db.session(), o.officer.username, "case.note", o.case.id)
        return None

    return _act(case_id, form, "note_form", run)


@bp.post("/cases/<int:case_id>/assign")
@login_required(*CASE_ROLES, hide=True)
def assign(case_id: int) -> Response | tuple[str, int]:
    form = AssignForm()

    def run(o: Opened) -> str | None:
        session = db.session()
        assignee = None
        if form.officer.data:
            assignee = session.get(Officer, int(form.officer.data))
            if assignee is None:
                return _("Choose an officer who holds this channel.")
        cases.assign(session, o.case, o.officer, assignee)
        audit.record(
            session,
            o.officer.username,
            "case.assign",
            o.case.id,
            f"assignee={assignee.username if assignee else '-'}",
        )
        return None

    return _act(case_id, form, "assign_form", run)


@bp.post("/cases/<int:case_id>/refer")
@login_required(*CASE_ROLES, hide=True)
def refer(case_id: int) -> Response | tuple[str, int]:
    form = ReferForm()

    def run(o: Opened) -> str | None:
        agency = Agency(form.agency.data)
        public = bool(form.public.data)
        cases.refer(
            db.session(),
            o.case,
            o.officer,
            o.keys,
            agency,
            (form.reference.data or "").strip(),
            form.referred_on.data or "",
            form.note.data or "",
            public=public,
        )
        audit.record(db.session(), o.officer.username, "case.refer", o.case.id, f"agency={agency.value}")
        return None

    return _act(case_id, form, "refer_form", run)


@bp.post("/cases/<int:case_id>/publish")
@login_required(*CASE_ROLES, hide=True)
def publish(case_id: int) -> Response | tuple[str, int]:
    form = PublishForm()

    def run(o: Opened) -> str | None:
        session = db.session()
        view = cases.officer_view(session, o.case, o.keys)
        if o.case.channel != Channel.QUESTION or not view.submission.get("publish_ok"):
            return _("The asker did not agree to publication.")
        answer = publishing.publish(
            session, o.case, o.officer, form.question.data or "", form.answer.data or ""
        )
        audit.record(session, o.officer.username, "answer.publish", o.case.id, f"answer={answer.id}")
        return None

    return _act(case_id, form, "publish_form", run)


@bp.post("/answers/<int:answer_id>/unpublish")
@login_required(*CASE_ROLES, hide=True)
def unpublish(answer_id: int) -> Response:
    officer = current_officer()
    session = db.session()
    answer = session.get(PublishedAnswer, answer_id)
    if answer is None or not EmptyForm().validate_on_submit():
        abort(404)
    case = session.get(Case, answer.case_id) if answer.case_id is not None else None
    if case is None and officer.role != Role.ADMIN:
        abort(404)
    if case is not None and case.channel not in officer.channels:
        abort(404)
    publishing.unpublish(session, answer)
    audit.record(session, officer.username, "answer.unpublish", answer.case_id, f"answer={answer_id}")
    session.commit()
    flash(_("The answer is no longer published."), "success")
    if case is not None:
        return redirect(url_for("officer.case_page", case_id=case.id), code=303)
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
    except (cases.CaseNotFound, cases.ChannelForbidden, attachments.AttachmentMissing):
        abort(404)
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
