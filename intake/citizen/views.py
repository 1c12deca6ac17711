"""Citizen pages: the three channels, the receipt, tracking."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

bp = Blueprint("citizen", __name__)

LANG_COOKIE_AGE = 365 * 24 * 3600


@bp.get("/")
def home() -> str:
    return render_template("citizen/home.html")


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    """Switch language without JavaScript: a cookie, then back to the same page of our own site."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        target = url_for("citizen.home")
    response = redirect(target, code=303)
    if code in ("th", "en"):
        response.set_cookie("lang", code, max_age=LANG_COOKIE_AGE, httponly=True, samesite="Lax",
                            secure=request.is_secure)
    return response
