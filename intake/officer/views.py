"""Officer pages: start page, triage queue, offline intake (sign-in, cases, admin: sibling modules)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import attachments, audit, bodies, cases, dates, db, receipts, settings, storage, web_receipts
from ..i18n import CHANNEL_LABELS, human_size
from ..models import Case, Channel, Officer, Role, Source
from . import accounts, auth, queue
from .auth import current_officer, current_private_key, login_required
from .forms import IntakeForm

bp = Blueprint("officer", __name__, url_prefix="/officer")

CASE_ROLES = (Role.ADMIN, Role.OFFICER)
SLIP = web_receipts.OFFICER


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
        return {"officer_user": None, "officer_ready": False}
    # Until sign-in is complete (code, enrolment, forced password change) the menu offers only "sign out".
    return {"officer_user": current.officer, "officer_ready": auth.stage_of(current) == auth.Stage.READY}


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
    try:
        files = clean_uploads(form.attachments.data or [])
    except FilesRejected as exc:
        form.attachments.errors = [str(exc)]
        return _intake_page(form, 400)
    channel = Channel(form.channel.data)
    source = Source(form.source.data)
    body = bodies.from_json(
        channel.value, {"details": form.details.data or "", "category": form.category.data or None}
    )

    def put_on_record(made: cases.Submitted) -> None:
        receipts.claim(session, form_id, made.case, made.token, content)
        detail = f"channel={channel.value}; source={source.value}; date={form.received_at.era}"
        audit.record(session, officer.username, "case.intake", made.case.id, detail)

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
        track_url=url_for("citizen.track", _external=True),
    ), 200
