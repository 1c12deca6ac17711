"""The public page of published questions and answers (no sign-in, no JavaScript)."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import db
from . import publishing

bp = Blueprint("answers", __name__)


@bp.get("/faq")
def faq() -> tuple[str, int]:
    return render_template("answers/faq.html", answers=publishing.listing(db.session())), 200
