"""Citizen pages: the three channels, the receipt, tracking, public statistics."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("citizen", __name__)
