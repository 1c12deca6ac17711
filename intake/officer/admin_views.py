"""Administration pages (administrators only): officers, channel grants, 2FA reset, settings, audit trail."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import audit, crest, db, settings
from .. import register_import as register_import_module
from ..forms import Form
from ..i18n import CHANNEL_LABELS
from ..models import CHANNELS, AuditEntry, Officer, Role
from ..sessions import current_officer, current_private_key, login_required
from . import accounts
from .forms import (
    MB,
    AuditFilterForm,
    ChannelForm,
    CrestForm,
    EmptyForm,
    ImportForm,
    NewOfficerForm,
    SettingsForm,
)
from .notify_forms import NotifyForm
from .views import bp

AUDIT_PAGE = 100
CONTACT_SETTINGS = ("contact_address", "contact_phone", "contact_email", "contact_hours")


def _officer_or_404(officer_id: int) -> Officer:
    target = db.session().get(Officer, officer_id)
    if target is None:
        abort(404)
    return target


@bp.get("/admin/")
@login_required(Role.ADMIN)
def admin_home() -> Response:
    return redirect(url_for("officer.admin_officers"))


@bp.get("/admin/officers")
@login_required(Role.ADMIN)
def admin_officers() -> tuple[str, int]:
    return render_template("officer/admin/officers.html", officers=accounts.officers(db.session())), 200


@bp.route("/admin/officers/new", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def admin_new_officer() -> tuple[str, int]:
    admin = current_officer()
    session = db.session()
    form = NewOfficerForm()
    form.channels.choices = [SelectChoice(c, CHANNEL_LABELS[c]) for c in CHANNELS if c in admin.channels]
    if form.validate_on_submit():
        try:
            officer, password = accounts.add_officer(
                session,
                admin,
                current_private_key(),
                (form.username.data or "").strip(),
                Role(form.role.data),
                list(form.channels.data or []),
            )
        except accounts.UsernameTaken:
            form.username.errors = [_("This username is taken.")]
        except accounts.ChannelNotHeld:
            form.channels.errors = [_("You can only grant channels you hold yourself.")]
        except accounts.NotAllowed:
            form.channels.errors = [_("An executive holds no channel.")]
        else:
            session.commit()
            # Shown once, in this answer only: it is stored nowhere in plaintext.
            return render_template("officer/admin/created.html", officer=officer, password=password), 200
        return render_template("officer/admin/new_officer.html", form=form), 400
    status = 400 if request.method == "POST" else 200
    return render_template("officer/admin/new_officer.html", form=form), status


@bp.get("/admin/officers/<int:officer_id>")
@login_required(Role.ADMIN)
def admin_officer(officer_id: int) -> tuple[str, int]:
    admin = current_officer()
    target = _officer_or_404(officer_id)
    grant_form = ChannelForm(formdata=None)
    grant_form.channel.choices = [
        SelectChoice(c, CHANNEL_LABELS[c])
        for c in CHANNELS
        if c in admin.channels and c not in target.channels
    ]
    return render_template(
        "officer/admin/officer.html",
        target=target,
        grant_form=grant_form,
        form=EmptyForm(formdata=None),
        is_self=target.id == admin.id,
        notify_form=NotifyForm(formdata=None, email=target.email or "", mode=target.notify_mode),
    ), 200


def _back(target: Officer, message: str, category: str = "success") -> Response:
    flash(message, category)
    return redirect(url_for("officer.admin_officer", officer_id=target.id), code=303)


Done = tuple[str, str]  # (the message shown on the officer's page, "success" or "error")
Act = Callable[[Session, Officer, Officer], Done | Response]


def _officer_action(officer_id: int, form: Form, act: Act, invalid: str | None = None) -> Response:
    """A POST of the officer page: the target (or 404), the form checked (`invalid` when it is refused),
    `act(session, admin, target)` run, committed when it succeeded, then back to the officer's page."""
    admin = current_officer()
    target = _officer_or_404(officer_id)
    if not form.validate_on_submit() and invalid is not None:
        return _back(target, invalid, "error")
    session = db.session()
    outcome = act(session, admin, target)
    if isinstance(outcome, Response):
        session.commit()
        return outcome
    message, category = outcome
    if category == "success":
        session.commit()
    else:
        session.rollback()
    return _back(target, message, category)


@bp.post("/admin/officers/<int:officer_id>/grant")
@login_required(Role.ADMIN)
def admin_grant(officer_id: int) -> Response:
    form = ChannelForm()

    def grant(session: Session, admin: Officer, target: Officer) -> Done:
        try:
            accounts.grant_channel(session, admin, current_private_key(), target, form.channel.data or "")
        except accounts.ChannelNotHeld:
            return _("You can only grant channels you hold yourself."), "error"
        except accounts.NotAllowed:
            return _("This account cannot hold channels."), "error"
        return _("Channel granted."), "success"

    return _officer_action(officer_id, form, grant, invalid=_("Choose a channel."))


@bp.post("/admin/officers/<int:officer_id>/revoke")
@login_required(Role.ADMIN)
def admin_revoke(officer_id: int) -> Response:
    form = ChannelForm()

    def revoke(session: Session, admin: Officer, target: Officer) -> Done:
        accounts.revoke_channel(session, admin, target, form.channel.data or "")
        return _("Channel access removed."), "success"

    return _officer_action(officer_id, form, revoke, invalid=_("Choose a channel."))


@bp.post("/admin/officers/<int:officer_id>/reset-2fa")
@login_required(Role.ADMIN)
def admin_reset_totp(officer_id: int) -> Response:
    def reset(session: Session, admin: Officer, target: Officer) -> Done | Response:
        accounts.reset_totp(session, admin, target)
        if target.id == admin.id:
            return redirect(url_for("officer.login"), code=303)
        return _("Two-step sign-in reset: the officer enrols again at the next sign-in."), "success"

    return _officer_action(officer_id, EmptyForm(), reset)


@bp.post("/admin/officers/<int:officer_id>/deactivate")
@login_required(Role.ADMIN)
def admin_deactivate(officer_id: int) -> Response:
    def deactivate(session: Session, admin: Officer, target: Officer) -> Done:
        try:
            accounts.deactivate(session, admin, target)
        except accounts.NotAllowed:
            return _("You cannot deactivate your own account."), "error"
        return _("Account deactivated: its channel keys and sessions are deleted."), "success"

    return _officer_action(officer_id, EmptyForm(), deactivate)


# --- settings --------------------------------------------------------------------------------------


def _settings_initial() -> dict[str, object]:
    session = db.session()
    data: dict[str, object] = {"municipality_name": settings.get(session, "municipality_name")}
    for name in CONTACT_SETTINGS:
        data[name] = settings.get(session, name)
    for channel in CHANNELS:
        limits = settings.deadlines(session, channel)
        data[f"ack_days_{channel}"] = limits.acknowledge_days
        data[f"answer_days_{channel}"] = limits.answer_days
    max_file, max_total = settings.attachment_limits(session)
    data["attachment_max_file_mb"] = max(1, max_file // MB)
    data["attachment_max_total_mb"] = max(1, max_total // MB)
    data["retention_years"] = settings.retention_years(session)
    return data


def _settings_page(
    form: SettingsForm | None = None, crest_form: CrestForm | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "officer/admin/settings.html",
        form=form or SettingsForm(formdata=None, data=_settings_initial()),
        crest_form=crest_form or CrestForm(formdata=None),
        remove_form=EmptyForm(formdata=None),
        crest=crest.current(db.session()),
    ), status


CREST_ERRORS = {
    "empty": _l("Choose an image file."),
    "size": _l("The file is too large: at most %(mb)d MB.", mb=crest.MAX_BYTES // MB),
    "type": _l("This is not a picture we can use: upload a PNG, JPEG, GIF or WebP image."),
    "pixels": _l("The picture is too large: at most 40 megapixels."),
    "image": _l("The file could not be read as an image. Save it again as PNG or JPEG and upload that."),
}


@bp.post("/admin/settings/crest")
@login_required(Role.ADMIN)
def admin_crest_upload() -> Response | tuple[str, int]:
    """Replace the crest shown on the municipality's documents (checked and re-encoded by crest.store)."""
    form = CrestForm()
    form.validate_on_submit()  # CSRFProtect already refused a POST without a valid token
    upload = form.crest.data
    data = upload.stream.read(crest.MAX_BYTES + 1) if upload and hasattr(upload, "stream") else b""
    session = db.session()
    try:
        crest.store(session, current_officer(), data)
    except crest.CrestInvalid as exc:
        session.rollback()
        form.crest.errors = [str(CREST_ERRORS[exc.reason])]
        return _settings_page(crest_form=form, status=400)
    session.commit()
    flash(_("Crest saved: it heads every PDF from now on."), "success")
    return redirect(url_for("officer.admin_settings"), code=303)


@bp.post("/admin/settings/crest/remove")
@login_required(Role.ADMIN)
def admin_crest_remove() -> Response:
    EmptyForm().validate_on_submit()  # CSRFProtect already refused a POST without a valid token
    session = db.session()
    removed = crest.remove(session, current_officer())
    session.commit()
    flash(_("Crest removed: documents show the name alone.") if removed else _("Nothing changed."), "success")
    return redirect(url_for("officer.admin_settings"), code=303)


@bp.get("/admin/settings/crest.png")
@login_required(Role.ADMIN)
def admin_crest_image() -> Response:
    """The stored crest, to preview it on the settings page."""
    row = crest.current(db.session())
    if row is None:
        abort(404)
    response = send_file(io.BytesIO(row.data), mimetype=row.media_type, etag=row.digest, max_age=0)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.route("/admin/settings", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def admin_settings() -> Response | tuple[str, int]:
    form = SettingsForm(data=_settings_initial()) if request.method == "GET" else SettingsForm()
    if form.validate_on_submit():
        values = {"municipality_name": (form.municipality_name.data or "").strip()}
        for name in CONTACT_SETTINGS:
            values[name] = (form[name].data or "").strip()
        for channel in CHANNELS:
            values[f"ack_days.{channel}"] = str(form[f"ack_days_{channel}"].data)
            values[f"answer_days.{channel}"] = str(form[f"answer_days_{channel}"].data)
        values["attachment_max_file"] = str(int(form.attachment_max_file_mb.data or 0) * MB)
        values["attachment_max_total"] = str(int(form.attachment_max_total_mb.data or 0) * MB)
        values["retention_years"] = str(form.retention_years.data)
        session = db.session()
        changed = accounts.save_settings(session, current_officer(), values)
        session.commit()
        flash(_("Settings saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("officer.admin_settings"), code=303)
    return _settings_page(form=form, status=400 if request.method == "POST" else 200)


# --- audit trail -----------------------------------------------------------------------------------


@bp.get("/admin/audit")
@login_required(Role.ADMIN)
def admin_audit() -> tuple[str, int]:
    """The trail, newest first and filtered; the entries shown are verified as shown (no write), and the
    last full verification (`flask audit verify`) is reported as it was recorded."""
    session = db.session()
    form = AuditFilterForm(request.args)
    query = select(AuditEntry)
    if form.validate():
        if form.actor.data:
            query = query.where(AuditEntry.actor == form.actor.data.strip())
        if form.action.data:
            query = query.where(AuditEntry.action.startswith(form.action.data.strip(), autoescape=True))
        if form.target.data:
            query = query.where(AuditEntry.target == form.target.data.strip())
    before = request.args.get("before", "")
    if re.fullmatch(r"[0-9]{1,9}", before):  # "²".isdigit() is true; a huge id overflows the column
        query = query.where(AuditEntry.id < int(before))
    entries = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE + 1)))
    more = len(entries) > AUDIT_PAGE
    entries = entries[:AUDIT_PAGE]
    checkpoint = audit.latest_checkpoint(session)
    return render_template(
        "officer/admin/audit.html",
        form=form,
        entries=entries,
        more=more,
        next_before=entries[-1].id if entries and more else None,
        broken=audit.verify_entries(session, entries),  # what is shown; the whole chain: `audit verify`
        checkpoint=checkpoint,
        checkpoint_genuine=checkpoint is not None and audit.checkpoint_genuine(checkpoint),
        filters={k: v for k, v in request.args.items() if k in ("actor", "action", "target") and v},
    ), 200


# --- importing a paper register ------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def register_import() -> tuple[str, int]:
    """Import an existing register (XLSX or CSV): all rows or none, each bad row named by its line."""
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("officer/import.html", form=form), 400 if request.method == "POST" else 200
    upload = form.register.data
    limit = register_import_module.MAX_BYTES + 1
    data = upload.stream.read(limit) if upload and hasattr(upload, "stream") else b""
    name = str(getattr(upload, "filename", "") or "")
    session = db.session()
    officer = current_officer()
    try:
        if not data:
            raise register_import_module.RegisterInvalid([register_import_module.LineError(0, "empty")])
        result = register_import_module.import_file(session, data, name, officer.username, officer)
    except register_import_module.RegisterInvalid as exc:
        session.rollback()
        errors = [register_import_module.describe(e) for e in exc.errors]
        return render_template("officer/import.html", form=form, errors=errors), 400
    session.commit()
    return render_template("officer/import.html", form=ImportForm(formdata=None), result=result), 200
