"""Citizen pages: the three channels, the receipt, tracking."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import capacity, cases, db, tokens, uploads, urls
from ..errors import unavailable_headers
from ..extensions import limiter, refund
from ..models import Channel
from . import submission
from .forms import CitizenForm, CorruptionForm, FeedbackForm, FollowupForm, QuestionForm, TrackForm

bp = Blueprint("citizen", __name__)
bp.add_app_template_global(uploads.neutral_stem, "neutral_stem")

LANG_COOKIE_AGE = 365 * 24 * 3600
DAMAGE_ACTOR = "tracking page"  # who saw altered ciphertext, in the audit trail (never the visitor)
Page = tuple[str, int] | tuple[str, int, dict[str, str]]


def _submit_limit() -> str:
    return str(current_app.config["RATELIMIT_SUBMIT"])


def _track_failure_limit() -> str:
    return str(current_app.config["RATELIMIT_TRACK_FAILURES"])


TRACK_FAILURES = "citizen-track-failures"
TRACKED = ("citizen.track", "citizen.followup")

# One budget for every way a citizen can store something; one for wrong tokens, however they arrive.
# The tracking budget is hit before the code is looked up (atomic) and refunded unless it was wrong.
submit_limit = limiter.shared_limit(_submit_limit, scope="citizen-submit", methods=["POST"])
track_failures = limiter.shared_limit(_track_failure_limit, scope=TRACK_FAILURES, methods=["POST"])


@bp.after_request
def _refund_unless_wrong(response: Response) -> Response:
    """Only a wrong (or malformed) token counts against the tracking limit; successes cost nothing."""
    if request.method == "POST" and request.endpoint in TRACKED and not g.get("token_failed"):
        refund(TRACK_FAILURES)
    return response


@bp.context_processor
def _uploads_paused() -> dict[str, object]:
    """The file field says at once when files cannot be taken (storage low), before anyone chooses one."""
    return {"uploads_paused": capacity.storage_low() is not None}


@bp.get("/")
def home() -> str:
    return render_template("citizen/home.html")


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    """Switch language without JavaScript: a cookie, then back to the same page of our own site."""
    target = urls.own_path(request.args.get("next")) or url_for("citizen.home")
    response = redirect(target, code=303)
    if code in ("th", "en"):
        response.set_cookie("lang", code, max_age=LANG_COOKIE_AGE, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response


def _report(channel: Channel, form: CitizenForm) -> Page:
    """The form of one channel; on success the receipt, answered directly (the token never goes in a URL)."""
    if request.method == "POST":
        try:
            submitted = submission.receive(form, channel)
        except submission.NotStored:  # the store is away: the form again, with its text and a message
            page = render_template(f"citizen/{channel.value}.html", form=form)
            return page, 503, unavailable_headers()
        except submission.UploadsRefused as refused:
            return render_template(f"citizen/{channel.value}.html", form=form), refused.status
        if submitted is not None:
            return render_template("citizen/receipt.html", case=submitted.case, token=submitted.token), 200
    return render_template(f"citizen/{channel.value}.html", form=form), 400 if form.errors else 200


@bp.route("/report/corruption", methods=["GET", "POST"])
@submit_limit
def report_corruption() -> Page:
    return _report(Channel.CORRUPTION, CorruptionForm())


@bp.route("/report/feedback", methods=["GET", "POST"])
@submit_limit
def report_feedback() -> Page:
    return _report(Channel.FEEDBACK, FeedbackForm())


@bp.route("/ask", methods=["GET", "POST"])
@submit_limit
def ask() -> Page:
    return _report(Channel.QUESTION, QuestionForm())


def _not_found() -> Page:
    """The one answer to a wrong or malformed code: nothing typed is echoed, so both look the same."""
    g.token_failed = True
    form = TrackForm(formdata=None)
    form.token.errors = [submission.not_found_message()]
    return render_template("citizen/track.html", form=form, not_found=True), 404


def _case_page(found: cases.CitizenCase, typed: str, form: FollowupForm | None = None,
               added: bool = False, status: int = 200) -> tuple[str, int]:
    code = tokens.display(tokens.normalise(typed))
    form = form or FollowupForm(formdata=None, token=code)
    session = db.session()
    timeline = cases.citizen_timeline(session, found)
    damaged = cases.damaged_items(timeline)
    if damaged:  # shown as "cannot be decrypted" in place of each item; the administrators see the record
        cases.record_damage(session, DAMAGE_ACTOR, found.case, damaged)
        session.commit()
    return render_template("citizen/case.html", case=found.case, timeline=timeline, form=form,
                           added=added), status


@bp.route("/track", methods=["GET", "POST"])
@track_failures
def track() -> Page:
    form = TrackForm()
    if request.method == "POST" and form.validate():
        try:
            found = cases.find_by_token(db.session(), form.token.data)
        except cases.TokenNotFound:
            return _not_found()
        return _case_page(found, form.token.data)
    return render_template("citizen/track.html", form=form), 400 if form.errors else 200


@bp.get("/track/followup")
def followup_form() -> Response:
    """Someone who lands here by a link (e.g. the language switch) goes to the tracking form."""
    return redirect(url_for("citizen.track"), code=303)


@bp.post("/track/followup")
@track_failures
@submit_limit
def followup() -> Page:
    """A follow-up on an open case: the token travels in the POST body, the answer is the case page."""
    form = FollowupForm()
    try:
        found = cases.find_by_token(db.session(), form.token.data or "")
    except cases.TokenNotFound:
        return _not_found()
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
