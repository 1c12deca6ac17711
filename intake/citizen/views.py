"""Citizen pages: the three channels, the receipt, tracking."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response

from .. import PACKAGE, capacity, cases, db, receipts, settings, tokens, uploads, urls, web_receipts
from ..errors import unavailable_headers
from ..extensions import limiter
from ..i18n import human_wait
from ..models import Case, Channel
from . import guessing, submission
from .forms import (
    CitizenForm,
    CorruptionForm,
    FeedbackForm,
    FollowupForm,
    QuestionForm,
    ReceiptContinueForm,
    SatisfactionForm,
    TrackForm,
)

bp = Blueprint("citizen", __name__)
bp.add_app_template_global(uploads.neutral_stem, "neutral_stem")

LANG_COOKIE_AGE = 365 * 24 * 3600
DAMAGE_ACTOR = "tracking page"  # who saw altered ciphertext, in the audit trail (never the visitor)
Page = tuple[str, int] | tuple[str, int, dict[str, str]]


def _submit_limit() -> str:
    return str(current_app.config["RATELIMIT_SUBMIT"])


# One budget for every way a citizen can store something. Tracking codes have their own limits, applied
# around each look-up (guessing.py): a right code is never refused for the wrong ones before it.
submit_limit = limiter.shared_limit(_submit_limit, scope="citizen-submit", methods=["POST"])


@bp.context_processor
def _uploads_paused() -> dict[str, object]:
    """The file field says at once when files cannot be taken (storage low), before anyone chooses one."""
    return {"uploads_paused": capacity.storage_low() is not None}


@bp.get("/")
def home() -> str:
    return render_template("citizen/home.html")


@bp.get("/privacy")
def privacy() -> str:
    """The privacy notice under the PDPA: what is collected, why, for how long, who sees it, who answers."""
    return render_template("citizen/privacy.html", retention_years=settings.retention_years(db.session()))


@bp.get("/contact")
def contact() -> str:
    """The municipality's address, telephone, e-mail and office hours, as the administrator set them."""
    return render_template("citizen/contact.html")


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever the page says: the same icon, from the package."""
    return send_from_directory(
        PACKAGE / "static", "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    """Switch language without JavaScript: a cookie, then back to the same page of our own site."""
    target = urls.own_path(request.args.get("next")) or url_for("citizen.home")
    response = redirect(target, code=303)
    if code in ("th", "en"):
        response.set_cookie("lang", code, max_age=LANG_COOKIE_AGE, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def _report(channel: Channel, form: CitizenForm) -> Page | Response:
    """The form of one channel; once it filed its case, a 303 to the receipt (never a token in a URL)."""
    if request.method == "POST":
        try:
            filed = submission.receive(form, channel, web_receipts.form_ids(web_receipts.CITIZEN))
        except submission.NotStored:  # the store is away: the form again, with its text and a message
            page = render_template(f"citizen/{channel.value}.html", form=form)
            return page, 503, unavailable_headers()
        except submission.UploadsRefused as refused:
            return render_template(f"citizen/{channel.value}.html", form=form), refused.status
        if filed is not None:
            return web_receipts.redirect_to("citizen.receipt", filed.form_id, web_receipts.CITIZEN)
    form.stamp()
    return render_template(f"citizen/{channel.value}.html", form=form), 400 if form.errors else 200


def _receipt_page(form: ReceiptContinueForm, status: int = 200) -> Page:
    """The code of the case this browser's form filed, for as long as receipts.SHOW_FOR allows."""
    session = db.session()
    shown = receipts.find(session, web_receipts.form_id(web_receipts.CITIZEN))
    case = session.get(Case, shown.case_id) if shown and shown.case_id is not None else None
    if shown is None or shown.token is None or case is None:
        return render_template("citizen/receipt_gone.html", shown=shown), 404
    return render_template("citizen/receipt.html", case=case, token=shown.token, form=form), status


@bp.get("/receipt")
def receipt() -> Page:
    return _receipt_page(ReceiptContinueForm(formdata=None))


@bp.get("/receipt/continue")
def receipt_continue() -> Page | Response:
    """On to tracking once the citizen says the code is written down; else the receipt again, with why."""
    form = ReceiptContinueForm(formdata=request.args)
    if form.written.data:
        return redirect(url_for("citizen.track"), code=303)
    form.written.errors = [gettext("Write your code down (or print this page) first: it is shown only here.")]
    return _receipt_page(form, 400)


@bp.route("/report/corruption", methods=["GET", "POST"])
@submit_limit
def report_corruption() -> Page | Response:
    return _report(Channel.CORRUPTION, CorruptionForm())


@bp.route("/report/feedback", methods=["GET", "POST"])
@submit_limit
def report_feedback() -> Page | Response:
    return _report(Channel.FEEDBACK, FeedbackForm())


@bp.route("/ask", methods=["GET", "POST"])
@submit_limit
def ask() -> Page | Response:
    return _report(Channel.QUESTION, QuestionForm())


def _not_found(typed: str) -> Page:
    """The one answer to a wrong or malformed code: said plainly, what was typed kept in the field."""
    form = TrackForm(formdata=None, token=typed)
    form.token.errors = [submission.not_found_message()]
    if tokens.thai_letters_in(typed):  # the walk found codes typed with the keyboard left in Thai
        form.token.errors.append(submission.thai_keyboard_message())
    return render_template("citizen/track.html", form=form, not_found=True), 404


def _too_many(typed: str, refused: guessing.TooMany) -> Page:
    """429 with `Retry-After`, the wait in words, and the form with what was typed."""
    form = TrackForm(formdata=None, token=typed)
    page = render_template("citizen/track.html", form=form, too_many=refused,
                           wait=human_wait(refused.retry_after))
    return page, 429, {"Retry-After": str(refused.retry_after)}


def _look_up(typed: str) -> cases.CitizenCase | Page:
    """The case a code opens, or the page that says why not (guessing.lookup applies the limits)."""
    try:
        return guessing.lookup(db.session(), typed)
    except cases.TokenNotFound:
        return _not_found(typed)
    except guessing.TooMany as refused:
        return _too_many(typed, refused)


def _case_page(found: cases.CitizenCase, typed: str, form: FollowupForm | None = None,
               added: bool = False, status: int = 200, rating: SatisfactionForm | None = None,
               rated: bool = False) -> tuple[str, int]:
    code = tokens.display(tokens.normalise(typed))
    form = form or FollowupForm(formdata=None, token=code)
    form.stamp()
    if rating is None and cases.can_rate(found.case):
        rating = SatisfactionForm(formdata=None, token=code)
    session = db.session()
    timeline = cases.citizen_timeline(session, found)
    damaged = cases.damaged_items(timeline)
    if damaged:  # shown as "cannot be decrypted" in place of each item; the administrators see the record
        cases.record_damage(session, DAMAGE_ACTOR, found.case, damaged)
        session.commit()
    return render_template("citizen/case.html", case=found.case, timeline=timeline, form=form,
                           added=added, rating=rating if cases.can_rate(found.case) else None,
                           rated=rated), status


@bp.route("/track", methods=["GET", "POST"])
def track() -> Page:
    form = TrackForm()
    if request.method == "POST" and form.validate():
        found = _look_up(form.token.data)
        if not isinstance(found, cases.CitizenCase):
            return found
        return _case_page(found, form.token.data)
    return render_template("citizen/track.html", form=form), 400 if form.errors else 200


@bp.get("/track/followup")
def followup_form() -> Response:
    """Someone who lands here by a link (e.g. the language switch) goes to the tracking form."""
    return redirect(url_for("citizen.track"), code=303)


@bp.post("/track/followup")
@submit_limit
def followup() -> Page:
    """A follow-up on an open case: the token travels in the POST body, the answer is the case page."""
    form = FollowupForm()
    found = _look_up(form.token.data or "")
    if not isinstance(found, cases.CitizenCase):
        return found
    try:
        added = submission.follow_up(form, found)
    except submission.FollowupRefused:
        return _case_page(found, form.token.data, status=409)
    except submission.NotStored:
        page, _status = _case_page(found, form.token.data, form=form)
        return page, 503, unavailable_headers()
    except submission.UploadsRefused as refused:
        return _case_page(found, form.token.data, form=form, status=refused.status)
    if added:
        return _case_page(found, form.token.data, added=True)
    return _case_page(found, form.token.data, form=form, status=400)


@bp.post("/track/satisfaction")
def satisfaction() -> Page:
    """The citizen's rating of the handling of a closed case (once); the answer is the case page."""
    form = SatisfactionForm()
    found = _look_up(form.token.data or "")
    if not isinstance(found, cases.CitizenCase):
        return found
    if not form.validate():
        return _case_page(found, form.token.data, rating=form, status=400)
    try:
        cases.rate(db.session(), found, int(form.rating.data), form.comment.data or "")
    except cases.NotRatable:
        db.session().rollback()
        return _case_page(found, form.token.data, status=409)
    db.session().commit()
    return _case_page(found, form.token.data, rated=True)
