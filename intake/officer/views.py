"""Officer pages: start page, triage queue, offline intake (sign-in, cases, admin: sibling modules)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import audit, capacity, cases, dates, db, sessions, storage, uploads, urls
from ..i18n import CHANNEL_LABELS
from ..models import CHANNELS, CLOSED_STATUSES, Case, Channel, Officer, Role, Source
from ..sessions import current_officer, login_required
from . import accounts, queue
from .forms import IntakeForm

bp = Blueprint("officer", __name__, url_prefix="/officer")

CASE_ROLES = (Role.ADMIN, Role.OFFICER)


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
    colleagues = accounts.holders(session, officer.channels)
    return render_template(
        "officer/queue.html",
        page=page,
        flt=flt,
        now=now,
        overdue_kinds=queue.overdue_kinds,
        channels=channel_choices(officer),
        colleagues=colleagues,
        officer=officer,
        closed_statuses=CLOSED_STATUSES,
    ), 200


# --- offline intake --------------------------------------------------------------------------------


@bp.route("/intake", methods=["GET", "POST"])
@login_required(*CASE_ROLES)
def intake() -> tuple[str, int]:
    officer = current_officer()
    session = db.session()
    form = IntakeForm()
    form.channel.choices = channel_choices(officer)
    if form.validate_on_submit():
        chosen = [f for f in form.attachments.data or [] if f and f.filename]
        if chosen and capacity.storage_low() is not None:
            form.attachments.errors = [capacity.refusal_message()]
            return render_template("officer/intake.html", form=form), 503
        files = uploads.checked_files(form.attachments, uploads.Sender.OFFICER)
        if files is None:
            return render_template("officer/intake.html", form=form), 400
        channel = Channel(form.channel.data)
        source = Source(form.source.data)

        def put_on_record(case: Case) -> None:
            audit.record(
                session,
                officer.username,
                "case.intake",
                case.id,
                f"channel={channel.value}; source={source.value}",
            )

        try:
            submitted = cases.submit(
                session,
                channel=channel,
                body={"details": form.details.data or ""},
                contact=(form.contact.data or "").strip() or None,
                files=files,
                store=storage.current(),
                source=source,
                received_at=dates.received_from_date(form.received_day()),
                category=form.category.data or None,
                officer=officer,
                before_commit=put_on_record,
            )
        except storage.StoreUnavailable:
            form.attachments.errors = [
                _("The case was not recorded: the files could not be stored just now. Attach them again "
                  "and try again in a few minutes.")
            ]
            return render_template("officer/intake.html", form=form), 503
        return render_template(
            "officer/receipt.html",
            token=submitted.token,
            case=submitted.case,
            track_url=urls.public_url("citizen.track"),
        ), 200
    status = 400 if request.method == "POST" else 200
    return render_template("officer/intake.html", form=form), status
