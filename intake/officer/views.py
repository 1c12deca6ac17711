"""Officer pages: sign-in, queue, case handling, offline intake, administration."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("officer", __name__, url_prefix="/officer")
