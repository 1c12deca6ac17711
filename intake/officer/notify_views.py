"""Notification pages: an officer's own address and digest choice; for administrators, any officer's, the
mail page (outbox state, test mail, escalation settings, failed notices) and the delivery log."""

from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from .. import audit, db, mailer, notices, notify, sessions, settings
from ..models import CHANNELS, Delivery, NotifyMode, Officer, Role
from ..sessions import current_officer, login_required
from .forms import EmptyForm
from .notify_forms import EscalationForm, NotifyForm, TestMailForm
from .views import bp

LOG_PAGE = 100


@bp.app_context_processor
def _mail_trouble() -> dict[str, object]:
    """For administrators' pages: failed notices, or due ones nobody sends (no query for anyone else)."""
    current = sessions.loaded()
    if current is None or current.officer.role != Role.ADMIN or not notices.enabled():
        return {"mail_trouble": None}
    try:
        state = notify.outbox_state(db.session())
    except SQLAlchemyError:
        return {"mail_trouble": None}
    return {"mail_trouble": state if state.failed or state.stalled else None}


def _save(target: Officer, form: NotifyForm) -> bool:
    session = db.session()
    changed = notices.set_preferences(
        session, target, form.email.data or None, NotifyMode(form.mode.data), by=current_officer()
    )
    session.commit()
    return changed


def notify_form_for(target: Officer) -> NotifyForm:
    return NotifyForm(formdata=None, email=target.email or "", mode=target.notify_mode)


@bp.route("/profile", methods=["GET", "POST"])
@login_required()
def profile() -> Response | tuple[str, int]:
    """The officer's own page: where notices go and how often."""
    officer = current_officer()
    form = NotifyForm() if request.method == "POST" else notify_form_for(officer)
    if request.method == "POST" and form.validate_on_submit():
        changed = _save(officer, form)
        flash(_("Saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("officer.profile"), code=303)
    return render_template(
        "officer/profile.html", form=form, officer=officer, mail_on=notices.enabled()
    ), 400 if form.errors else 200


@bp.post("/admin/officers/<int:officer_id>/notifications")
@login_required(Role.ADMIN)
def admin_officer_notifications(officer_id: int) -> Response:
    target = db.session().get(Officer, officer_id)
    if target is None:
        abort(404)
    form = NotifyForm()
    if not form.validate_on_submit():
        errors = [str(e) for field in (form.email, form.mode) for e in field.errors]
        flash(" ".join(errors) or _("Check the form."), "error")
    else:
        flash(_("Saved.") if _save(target, form) else _("Nothing changed."), "success")
    return redirect(url_for("officer.admin_officer", officer_id=officer_id) + "#notifications", code=303)


# --- the administrators' mail page -----------------------------------------------------------------------


def _escalation_initial() -> dict[str, object]:
    session = db.session()
    data: dict[str, object] = {
        "escalation_days": notices.escalation_days(session),
        "digest_hour": notices.digest_hour(session),
    }
    for channel in CHANNELS:
        data[f"escalation_email_{channel}"] = notices.escalation_address(session, channel)
    return data


def _page(
    escalation: EscalationForm | None = None, test: TestMailForm | None = None, status: int = 200
) -> tuple[str, int]:
    session = db.session()
    admin = current_officer()
    config = mailer.MailConfig.from_app(current_app.config)
    return render_template(
        "officer/admin/notifications.html",
        state=notify.outbox_state(session),
        mail=config,
        mail_on=notices.enabled(),
        escalation_form=escalation or EscalationForm(formdata=None, data=_escalation_initial()),
        test_form=test or TestMailForm(formdata=None, address=admin.email or ""),
        action_form=EmptyForm(formdata=None),
        recent=list(session.scalars(select(Delivery).order_by(Delivery.id.desc()).limit(10))),
        kind_label=notify.kind_label,
        result_labels=notify.RESULT_LABELS,
    ), status


@bp.route("/admin/notifications", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def admin_notifications() -> Response | tuple[str, int]:
    """GET: the page; POST: the escalation and digest settings."""
    if request.method == "GET":
        return _page()
    form = EscalationForm()
    if not form.validate_on_submit():
        return _page(escalation=form, status=400)
    session = db.session()
    values = {"escalation_days": str(form.escalation_days.data), "digest_hour": str(form.digest_hour.data)}
    for channel in CHANNELS:
        values[f"escalation_email.{channel}"] = form[f"escalation_email_{channel}"].data or ""
    current = {name: notices.setting(session, name) for name in values}
    changed = [name for name, value in values.items() if current[name] != value]
    for name in changed:
        settings.put(session, name, values[name])
    if changed:
        shown = {
            n: ("set" if values[n] else "-") if n.startswith("escalation_email") else values[n]
            for n in changed
        }
        audit.record(
            session,
            current_officer().username,
            "settings.change",
            None,
            "; ".join(f"{n}={v}" for n, v in shown.items()),
        )
    session.commit()
    flash(_("Settings saved.") if changed else _("Nothing changed."), "success")
    return redirect(url_for("officer.admin_notifications"), code=303)


@bp.post("/admin/notifications/test")
@login_required(Role.ADMIN)
def admin_test_mail() -> Response | tuple[str, int]:
    form = TestMailForm()
    if not form.validate_on_submit():
        return _page(test=form, status=400)
    if not notices.enabled():
        form.address.errors = [_("No mail server is configured (INTAKE_MAIL_SERVER): nothing can be sent.")]
        return _page(test=form, status=400)
    session = db.session()
    ok, detail = notify.send_test(session, form.address.data or "", current_officer())
    session.commit()
    if ok:
        flash(
            _(
                "The mail server accepted the test mail for %(address)s. Check that it arrives.",
                address=form.address.data,
            ),
            "success",
        )
    else:
        flash(_("The test mail could not be sent: %(reason)s", reason=detail), "error")
    return redirect(url_for("officer.admin_notifications"), code=303)


@bp.post("/admin/notifications/retry")
@login_required(Role.ADMIN)
def admin_retry_failed() -> Response:
    EmptyForm().validate_on_submit()  # CSRFProtect already refused a POST without a valid token
    session = db.session()
    count = notify.retry_failed(session, current_officer())
    session.commit()
    flash(
        _("%(n)d notices are back in the queue; the worker sends them on its next round.", n=count), "success"
    )
    return redirect(url_for("officer.admin_notifications"), code=303)


@bp.post("/admin/notifications/dismiss")
@login_required(Role.ADMIN)
def admin_dismiss_failed() -> Response:
    EmptyForm().validate_on_submit()
    session = db.session()
    count = notify.dismiss_failed(session, current_officer())
    session.commit()
    flash(_("%(n)d failed notices dismissed.", n=count), "success")
    return redirect(url_for("officer.admin_notifications"), code=303)


@bp.get("/admin/notifications/log")
@login_required(Role.ADMIN)
def admin_delivery_log() -> tuple[str, int]:
    """Every attempt: time, recipient, kinds, result, the server's answer. No content (there is none)."""
    session = db.session()
    query = select(Delivery)
    before = request.args.get("before", "")
    if re.fullmatch(r"[0-9]{1,9}", before):
        query = query.where(Delivery.id < int(before))
    result = request.args.get("result", "")
    if result in notify.RESULT_LABELS:
        query = query.where(Delivery.result == result)
    rows = list(session.scalars(query.order_by(Delivery.id.desc()).limit(LOG_PAGE + 1)))
    more = len(rows) > LOG_PAGE
    rows = rows[:LOG_PAGE]
    return render_template(
        "officer/admin/deliveries.html",
        rows=rows,
        more=more,
        next_before=rows[-1].id if rows and more else None,
        result=result if result in notify.RESULT_LABELS else "",
        kind_label=notify.kind_label,
        result_labels=notify.RESULT_LABELS,
    ), 200
