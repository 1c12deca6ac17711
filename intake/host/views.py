"""The host administrator's pages (/host): sign-in, tenants and their no-content figures, national figures.

Served only on the names in INTAKE_HOST_ADMIN_HOSTS that no tenant claims (tenancy.serves_host_admin,
checked before anything else of the request): on a tenant's site every /host page is 404. There is
no link to any case, and nothing here could open one (no channel key).
"""

from __future__ import annotations

import base64

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from .. import db, storage, tenancy, tenants, urls
from ..extensions import limiter, refund
from ..i18n import lang
from ..models import TenantStatus
from ..officer.signin import SignInFailed
from ..officer.signin_views import qr_svg
from ..reports import national
from ..reports.forms import year_choices
from ..reports.periods import current_fiscal_year, period
from ..reports.tables import period_name
from . import accounts, operations, sessions
from .forms import CodeForm, EmptyForm, HostNameForm, LoginForm, NationalForm, RemoveForm, TenantForm

bp = Blueprint("host", __name__, url_prefix="/host")

FAILED = _l("Wrong username, password or code, or the account is locked for a while.")
LIMITED = ("host.login", "host.totp_enrol")
Page = tuple[str, int]
PER_PAGE = 50  # tenants per page of the list (a country has thousands)
ACTIONS = {
    "host_admin.create": _l("host administrator made"),
    "host_admin.remove": _l("host administrator removed"),
    "login.success": _l("signed in"),
    "login.failure": _l("sign-in refused"),
    "logout": _l("signed out"),
    "totp.enrol": _l("two-step sign-in turned on"),
    "tenant.create": _l("tenant made"),
    "tenant.admin": _l("first administrator made"),
    "tenant.suspend": _l("suspended"),
    "tenant.resume": _l("resumed"),
    "tenant.host_add": _l("host name added"),
    "tenant.host_remove": _l("host name removed"),
    "tenant.remove": _l("tenant removed"),
    "national.export": _l("national figures downloaded"),
}
REFUSALS = {  # tenants.TenantRefused.reason, in the reader's language
    "slug": _l("the short name holds lower-case letters, digits and dashes only, at most 63"),
    "host": _l("that is not a host name"),
    "exists": _l("a tenant with this short name exists already"),
    "made_already": _l(
        "it was made a moment ago: this form was sent again (a reload or a second tap). Its recovery key "
        "was shown once, on the page after making it; if it was not saved, remove the tenant and make it "
        "again"
    ),
    "host_taken": _l("this host name belongs to another tenant"),
    "host_not_theirs": _l("this host name is not one of this tenant's"),
    "last_host": _l(
        "it is the tenant's only host name: without it its citizens would reach another municipality's "
        "site. Add another name first, or suspend the tenant"
    ),
    "last": _l("the last tenant of a deployment is not removed"),
    "not_confirmed": _l("type the tenant's short name exactly to confirm"),
    "not_exported": _l(
        "it was never exported: write its export first, or tick the box to remove it without one"
    ),
}


def _why(exc: tenants.TenantRefused) -> str:
    return str(REFUSALS.get(exc.reason, exc))


@bp.after_request
def _refund_unless_failed(response: Response) -> Response:
    """As the officers' sign-in: only failed attempts count against the client's allowance."""
    if (
        request.method == "POST"
        and request.endpoint in LIMITED
        and not request.environ.get("intake.login_failed")
    ):
        refund(request.endpoint or "")
    return response


@bp.context_processor
def _names() -> dict[str, object]:
    return {
        "municipality_name": _("Host administration"),
        "host_admin": _signed_in_admin(),
        "actions": ACTIONS,
    }


def _signed_in_admin() -> object:
    try:
        state = sessions.current()
    except sessions.NotSignedIn:
        return None
    return state.admin if state.row.totp_done else None


def _login_limit() -> str:
    return str(current_app.config["RATELIMIT_LOGIN"])


def _actor() -> str:
    return sessions.current_admin().username


# --- sign-in ----------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | Page:
    form = LoginForm()
    if form.validate_on_submit():
        session = db.session()
        try:
            admin = accounts.sign_in(
                session, form.username.data or "", form.password.data or "", form.code.data or ""
            )
        except SignInFailed:
            request.environ["intake.login_failed"] = True
            form.password.errors = [str(FAILED)]
            return render_template("host/login.html", form=form), 200
        enrolled = admin.totp_secret is not None
        sessions.start(session, admin, totp_done=enrolled)
        if enrolled:
            accounts.succeeded(session, admin)
        session.commit()
        return redirect(url_for("host.tenant_list" if enrolled else "host.totp_enrol"), code=303)
    return render_template("host/login.html", form=form), 200


@bp.route("/totp", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@sessions.password_checked_required
def totp_enrol() -> Response | Page:
    state = sessions.current()
    if state.row.totp_done:
        return redirect(url_for("host.tenant_list"))
    session = db.session()
    secret = accounts.pending_secret(state.row)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            accounts.finish_enrolment(session, state.admin, state.row, form.code.data or "")
        except accounts.EnrolmentFailed:
            request.environ["intake.login_failed"] = True
            form.code.errors = [_("That code does not match. Check the time on your phone and try again.")]
        else:
            session.commit()
            flash(_("Two-step sign-in is on."), "success")
            return redirect(url_for("host.tenant_list"), code=303)
    session.commit()  # the same pending secret (and QR code) on reload
    text = base64.b32encode(secret).decode().rstrip("=")
    grouped = " ".join(text[i : i + 4] for i in range(0, len(text), 4))
    qr = qr_svg(accounts.provisioning_uri(secret, state.admin))
    return render_template("host/totp.html", form=form, qr=qr, secret=grouped), 200


@bp.post("/logout")
def logout() -> Response:
    EmptyForm().validate_on_submit()  # CSRFProtect already refused a POST without a valid token
    session = db.session()
    admin = sessions.end(session)
    if admin is not None:
        accounts.record(session, admin.username, "logout")
    session.commit()
    flash(_("You have signed out."), "success")
    return redirect(url_for("host.login"), code=303)


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    """The language switch of these pages (the citizens' one may be 404 on a host-admin name)."""
    target = urls.own_path(request.args.get("next"), under="/host") or url_for("host.tenant_list")
    response = redirect(target, code=303)
    if code in ("th", "en"):
        response.set_cookie(
            "lang", code, max_age=365 * 86400, httponly=True, samesite="Lax", secure=request.is_secure
        )
    return response


# --- tenants ----------------------------------------------------------------------------------------


@bp.get("/")
@sessions.signed_in_required
def tenant_list() -> Page:
    try:
        sizes: dict[str, int] | None = {info.name: info.size for info in storage.current().list_objects()}
    except storage.StorageError:
        sizes = None
    rows = tenants.figures(db.session(), sizes or {})
    wanted = (request.args.get("q") or "").strip().lower()[:100]
    if wanted:
        rows = [r for r in rows if wanted in f"{r.slug} {r.name} {r.province} {' '.join(r.hosts)}".lower()]
    pages = max(1, -(-len(rows) // PER_PAGE))
    number = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    return render_template(
        "host/tenants.html",
        rows=rows[(number - 1) * PER_PAGE : number * PER_PAGE],
        total=len(rows),
        q=wanted,
        page=number,
        pages=pages,
        sizes_known=sizes is not None,
        form=EmptyForm(),
        host_form=HostNameForm(),
        recent=accounts.recent(db.session(), 20),
        suspended=TenantStatus.SUSPENDED,
    ), 200


@bp.route("/tenants/new", methods=["GET", "POST"])
@sessions.signed_in_required
def tenant_new() -> Page:
    form = TenantForm()
    if form.validate_on_submit():
        asked = operations.TenantRequest(
            slug=form.slug.data or "",
            name=form.name.data or "",
            host=form.host.data or "",
            province=form.province.data or "",
            admin=form.admin.data or "",
            password=form.password.data or "",
            passphrase=form.passphrase.data or "",
        )
        try:
            made = operations.create_tenant(db.session(), _actor(), asked)
        except operations.PassphraseWeak:
            form.passphrase.errors = [
                _("The passphrase is too easy to guess: use four or more unrelated words.")
            ]
        except tenants.TenantRefused as exc:
            field = form.host if exc.reason in ("host", "host_taken") else form.slug
            field.errors = [_("The tenant cannot be made: %(why)s", why=_why(exc))]
        else:
            data_uri = "data:application/json;base64," + base64.b64encode(made.recovery_file).decode()
            return render_template(
                "host/tenant_made.html", made=made, data_uri=data_uri, text=made.recovery_file.decode()
            ), 200
    return render_template("host/tenant_new.html", form=form), 200


def _refused(exc: tenants.TenantRefused) -> Response:
    flash(_("Not done: %(why)s", why=_why(exc)), "error")
    return redirect(url_for("host.tenant_list"), code=303)


def _done(message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("host.tenant_list"), code=303)


@bp.post("/tenants/<slug>/suspend")
@sessions.signed_in_required
def tenant_suspend(slug: str) -> Response:
    EmptyForm().validate_on_submit()
    _status(slug, TenantStatus.SUSPENDED)
    return _done(_("Suspended %(slug)s: its site answers “temporarily closed”.", slug=slug))


@bp.post("/tenants/<slug>/resume")
@sessions.signed_in_required
def tenant_resume(slug: str) -> Response:
    EmptyForm().validate_on_submit()
    _status(slug, TenantStatus.ACTIVE)
    return _done(_("Resumed %(slug)s.", slug=slug))


def _status(slug: str, status: TenantStatus) -> None:
    try:
        operations.set_status(db.session(), _actor(), slug, status)
    except tenancy.TenantNotFound:
        abort(404)


@bp.post("/tenants/<slug>/hosts")
@sessions.signed_in_required
def host_add(slug: str) -> Response:
    form = HostNameForm()
    if not form.validate_on_submit():
        return _refused(tenants.TenantRefused("a host name is needed", "host"))
    try:
        operations.add_host(db.session(), _actor(), slug, form.host.data or "")
    except tenancy.TenantNotFound:
        abort(404)
    except tenants.TenantRefused as exc:
        return _refused(exc)
    return _done(
        _("%(slug)s answers on %(host)s.", slug=slug, host=tenancy.normalise_host(form.host.data or ""))
    )


@bp.post("/tenants/<slug>/hosts/remove")
@sessions.signed_in_required
def host_remove(slug: str) -> Response:
    form = HostNameForm()
    if not form.validate_on_submit():
        return _refused(tenants.TenantRefused("a host name is needed", "host"))
    try:
        operations.remove_host(db.session(), _actor(), slug, form.host.data or "")
    except tenancy.TenantNotFound:
        abort(404)
    except tenants.TenantRefused as exc:
        return _refused(exc)
    return _done(_("%(slug)s no longer answers on %(host)s.", slug=slug, host=form.host.data))


@bp.route("/tenants/<slug>/remove", methods=["GET", "POST"])
@sessions.signed_in_required
def tenant_remove(slug: str) -> Response | Page:
    session = db.session()
    try:
        tenant = tenants.get(session, slug)
    except tenancy.TenantNotFound:
        abort(404)
    form = RemoveForm()
    if form.validate_on_submit():
        try:
            files = operations.remove(
                session, _actor(), slug, form.typed.data or "", form.without_export.data
            )
        except tenants.TenantRefused as exc:
            form.typed.errors = [_("Not removed: %(why)s", why=_why(exc))]
        else:
            return _done(_("Removed tenant %(slug)s (%(n)d files deleted).", slug=slug, n=files))
    return render_template("host/tenant_remove.html", form=form, tenant=tenant), 200


# --- national figures -------------------------------------------------------------------------------


@bp.get("/national")
@sessions.signed_in_required
def national_figures() -> Response | Page:
    now_year = current_fiscal_year()
    form = NationalForm(request.args or None, data={"fiscal_year": str(now_year), "period": "q1"})
    valid = form.validate() if request.args else True
    chosen = int(form.fiscal_year.data) if valid and str(form.fiscal_year.data).isdecimal() else None
    form.fiscal_year.choices = year_choices(list(range(now_year, now_year - 6, -1)), chosen)
    if not valid or chosen is None:
        return render_template("host/national.html", form=form, table=None), 400
    p = period(chosen, form.period.data or "q1")
    table = national.compute(db.session(), p)
    fmt = request.args.get("format", "")
    if fmt in ("csv", "xlsx"):
        accounts.record(db.session(), _actor(), "national.export", None, f"{p.fiscal_year} {p.code} {fmt}")
        db.session().commit()
        mime = (
            "text/csv"
            if fmt == "csv"
            else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        )
        body = national.render(table, fmt, lang())
        name = f"national-{p.fiscal_year}-{p.code}.{fmt}"
        return Response(
            body, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    if fmt:
        abort(400)
    return render_template("host/national.html", form=form, table=table, p=p, period=period_name(p)), 200
