"""Officer pages: start page, triage queue, offline intake (sign-in, cases, admin: sibling modules)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import attachments, audit, capacity, cases, dates, db, settings, urls
from ..i18n import CHANNEL_LABELS, human_size
from ..models import Case, Channel, Officer, Role, Source
from . import accounts, auth, queue
from .auth import current_officer, login_required
from .forms import IntakeForm

bp = Blueprint("officer", __name__, url_prefix="/officer")

CASE_ROLES = (Role.ADMIN, Role.OFFICER)


@bp.before_request
def _refuse_nul() -> None:
    """Nobody types NUL, and PostgreSQL text cannot hold it: a request carrying one is a clean 400."""
    for fields in (request.args, request.form):
        if any("\x00" in value for _name, values in fields.lists() for value in values):
            abort(400)


@bp.app_context_processor
def _officer_context() -> dict[str, object]:
    """The signed-in officer for the navigation, only when a guarded view already loaded it (no query)."""
    current = auth.loaded()
    if current is None:
        return {"officer_user": None, "officer_ready": False, "storage_low": None}
    # Until sign-in is complete (code, enrolment, forced password change) the menu offers only "sign out".
    ready = auth.stage_of(current) == auth.Stage.READY
    # Administrators are told on every page when storage runs low (new files are refused meanwhile).
    low = capacity.storage_low() if ready and current.officer.role == Role.ADMIN else None
    return {"officer_user": current.officer, "officer_ready": ready, "storage_low": low}


@bp.get("/")
@login_required()
def index() -> Response:
    return redirect(auth.home_url(current_officer()))


def channel_choices(officer: Officer) -> list[SelectChoice]:
    return [SelectChoice(c.value, CHANNEL_LABELS[c.value]) for c in Channel if c.value in officer.channels]


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
    ), 200


# --- offline intake --------------------------------------------------------------------------------


class FilesRejected(Exception):
    """An upload on the intake form cannot be accepted; the message is ready to show."""


def clean_uploads(uploads: list[FileStorage]) -> list[attachments.CleanFile]:
    """Check every uploaded file by content; raises FilesRejected with a message in the page's language."""
    session = db.session()
    max_file, max_total = settings.attachment_limits(session)
    files = [f for f in uploads if f and f.filename]
    if len(files) > int(current_app.config["ATTACHMENT_MAX_FILES"]):
        raise FilesRejected(_("At most %(n)d files.", n=int(current_app.config["ATTACHMENT_MAX_FILES"])))
    clean: list[attachments.CleanFile] = []
    total = 0
    try:
        for upload in files:
            item = attachments.inspect(upload.stream, upload.filename, max_file)  # type: ignore[arg-type]
            clean.append(item)
            total += item.size
            if total > max_total:
                raise attachments.AttachmentRejected("total_too_large", upload.filename or "")
    except attachments.AttachmentRejected as exc:
        attachments.close_all(clean)
        messages = {
            "type": _("This kind of file is not accepted (photos, PDF or text only)."),
            "too_large": _("A file is larger than %(size)s.", size=human_size(max_file)),
            "total_too_large": _("The files together are larger than %(size)s.", size=human_size(max_total)),
            "empty": _("A file is empty."),
            "image": _("A picture could not be read."),
        }
        raise FilesRejected(f"{exc.filename}: {messages.get(exc.reason, messages['type'])}") from exc
    return clean


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
        try:
            files = clean_uploads(form.attachments.data or [])
        except FilesRejected as exc:
            form.attachments.errors = [str(exc)]
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

        submitted = cases.submit(
            session,
            channel=channel,
            body={"details": form.details.data or ""},
            contact=(form.contact.data or "").strip() or None,
            files=files,
            instance_dir=current_app.config["INSTANCE_DIR"],
            source=source,
            received_at=dates.received_from_date(form.received_day()),
            category=form.category.data or None,
            officer=officer,
            before_commit=put_on_record,
        )
        return render_template(
            "officer/receipt.html",
            token=submitted.token,
            case=submitted.case,
            track_url=urls.public_url("citizen.track"),
        ), 200
    status = 400 if request.method == "POST" else 200
    return render_template("officer/intake.html", form=form), status
