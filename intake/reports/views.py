"""Reports: fiscal-year figures as HTML, CSV, XLSX and PDF."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
