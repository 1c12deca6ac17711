"""Officer pages: start page, triage queue, offline intake (sign-in, cases, admin: sibling modules)."""

from __future__ import annotations

import contextlib

from flask import Blueprint, flash, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import (
    audit,
    bodies,
    capacity,
    cases,
    dates,
    db,
    receipts,
    sessions,
    storage,
    uploads,
    urls,
    web_receipts,
)
from ..i18n import CHANNEL_LABELS
from ..models import CHANNELS, CLOSED_STATUSES, Case, Channel, Officer, Role, Source
from ..sessions import current_officer, current_private_key, login_required
from . import accounts, queue
from .forms import IntakeForm

bp = Blueprint("officer", __name__, url_prefix="/officer")

CASE_ROLES = (Role.ADMIN, Role.OFFICER)
SLIP = web_receipts.OFFICER


@bp.app_context_processor
def _officer_context() -> dict[str, object]:
    """The signed-in officer for the navigation, only when a guarded view already loaded it (no query)."""
    current = sessions.loaded()
    if current is None:
        return {"officer_user": None, "officer_ready": False, "storage_low": None}
    # Until sign-in is complete (code, enrolment, forced password change) the menu offers only "sign out".
    ready = sessions.stage_of(current) == sessions.Stage.READY
    # Administrators are told on every page when storage runs low (new files are refused meanwhile).
    low = capacity.storage_low() if ready and current.officer.role == Role.ADMIN else None
    return {"officer_user": current.officer, "officer_ready": ready, "storage_low": low}


@bp.get("/")
@login_required()
def index() -> Response:
    return redirect(sessions.home_url(current_officer()))


def channel_choices(officer: Officer) -> list[SelectChoice]:
    return [SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS if c in officer.channels]


@bp.get("/queue", endpoint="queue")
@login_required(*CASE_ROLES)
def queue_page() -> tuple[str, int]:
    officer = current_officer()
    session = db.session()
    flt = queue.QueueFilter.from_args(request.args.to_dict())
    now = dates.now()
    page = queue.fetch(session, flt, officer.channels, officer.id, now)
    shown = cases.subjects(session, officer, current_private_key(), page.cases)
    queue.record_view(session, officer, flt, page, shown)
    session.commit()
    colleagues = accounts.holders(session, officer.channels)
    return render_template(
        "officer/queue.html",
        page=page,
        flt=flt,
        now=now,
        subjects=shown,
        overdue_kinds=queue.overdue_kinds,
        channels=channel_choices(officer),
        colleagues=colleagues,
        officer=officer,
        closed_statuses=CLOSED_STATUSES,
    ), 200


# --- offline intake --------------------------------------------------------------------------------


def _intake_page(form: IntakeForm, status: int = 200) -> tuple[str, int]:
    form.stamp()
    return render_template("officer/intake.html", form=form), status


@bp.route("/intake", methods=["GET", "POST"])
@login_required(*CASE_ROLES)
def intake() -> Response | tuple[str, int]:
    officer = current_officer()
    session = db.session()
    form = IntakeForm()
    form.channel.choices = channel_choices(officer)
    form_id = form.stamp()
    if request.method == "POST" and receipts.find(session, form_id) is not None:
        return web_receipts.redirect_to("officer.intake_receipt", form_id, SLIP)  # sent again: the same case
    if not form.validate_on_submit():
        return _intake_page(form, 400 if request.method == "POST" else 200)
    content = receipts.content_digest(
        form.channel.data, form.source.data, form.received_day().isoformat(), form.category.data or "",
        form.details.data or "", form.contact.data or "",
    )
    chosen = any(f and f.filename for f in form.attachments.data or [])  # files are never restored by Back
    if not chosen and (again := receipts.resent(session, web_receipts.form_ids(SLIP), content)) is not None:
        return web_receipts.redirect_to("officer.intake_receipt", again, SLIP)  # Back and sent again
    if chosen and capacity.storage_low() is not None:
        form.attachments.errors = [capacity.refusal_message()]
        return _intake_page(form, 503)
    files = uploads.checked_files(form.attachments, uploads.Sender.OFFICER)
    if files is None:
        return _intake_page(form, 400)
    channel = Channel(form.channel.data)
    source = Source(form.source.data)
    body = bodies.from_json(
        channel.value, {"details": form.details.data or "", "category": form.category.data or None}
    )

    def put_on_record(made: cases.Submitted) -> None:
        receipts.claim(session, form_id, made.case, made.token, content)
        detail = f"channel={channel.value}; source={source.value}; date={form.received_at.era}"
        audit.record(session, officer.username, "case.intake", made.case.number, detail)

    try:
        cases.submit(
            session,
            channel=channel,
            body=body,
            contact=(form.contact.data or "").strip() or None,
            files=files,
            store=storage.current(),
            source=source,
            received_at=dates.received_from_date(form.received_day()),
            officer=officer,
            before_commit=put_on_record,
        )
    except receipts.AlreadyFiled:
        pass  # a copy of this form (a double click) recorded it a moment ago: its receipt
    except storage.StoreUnavailable:
        form.attachments.errors = [
            _("The case was not recorded: the files could not be stored just now. Attach them again "
              "and try again in a few minutes.")
        ]
        return _intake_page(form, 503)
    except db.UNAVAILABLE:  # the database went away under the commit: nothing recorded, form kept
        with contextlib.suppress(Exception):
            session.rollback()
        form.details.errors = [
            _("The case was not recorded: the system could not save it just now. Try again in a few "
              "minutes (attach the files again).")
        ]
        return _intake_page(form, 503)
    else:
        flash(form.received_at.read_back(), "success")
    return web_receipts.redirect_to("officer.intake_receipt", form_id, SLIP)


@bp.get("/intake/receipt")
@login_required(*CASE_ROLES)
def intake_receipt() -> tuple[str, int]:
    """The slip of the case this browser's intake form recorded (receipts.SHOW_FOR), for the person."""
    officer = current_officer()
    session = db.session()
    shown = receipts.find(session, web_receipts.form_id(SLIP))
    case = session.get(Case, shown.case_id) if shown and shown.case_id is not None else None
    if shown is None or shown.token is None or case is None or case.channel not in officer.channels:
        return render_template("officer/receipt_gone.html"), 404
    return render_template(
        "officer/receipt.html",
        token=shown.token,
        case=case,
        track_url=urls.public_url("citizen.track"),
    ), 200
