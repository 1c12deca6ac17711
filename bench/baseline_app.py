"""Baseline for the submit benchmark: a bare Flask app that parses a form and inserts and commits one row.

Served by gunicorn exactly as the real app is (same config file, same number of workers), on the same
database engine with the same settings (intake.db.make_engine: SQLite WAL, synchronous=FULL), so the
difference between the two is what intake adds: CSRF, validation, templates, encryption, its rows.
Database: BENCH_BASELINE_DATABASE_URL (the table is made by bench/submit.py before serving).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, request
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text

_CHECKOUT = str(Path(__file__).resolve().parent.parent)  # where `intake` is (submit.py imports this first)
if _CHECKOUT not in sys.path:
    sys.path.insert(0, _CHECKOUT)

from intake.db import make_engine  # noqa: E402

metadata = MetaData()
rows = Table(
    "baseline_rows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("details", Text, nullable=False),
    Column("service", Text),
    Column("rating", Text),
    Column("contact", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

FORM_PAGE = (
    '<!doctype html><title>form</title><form method="post" enctype="multipart/form-data">'
    '<input type="hidden" name="csrf_token" value="baseline"><textarea name="details"></textarea>'
    "<button>send</button></form>"
)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 26 * 1024 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = 512 * 1024
    engine = make_engine(os.environ["BENCH_BASELINE_DATABASE_URL"])

    @app.get("/")
    def index() -> str:
        return "ok"

    @app.route("/form", methods=["GET", "POST"])
    def form() -> tuple[str, int]:
        if request.method == "GET":
            return FORM_PAGE, 200
        data = request.form
        with engine.begin() as conn:
            new_id = conn.execute(
                rows.insert()
                .values(
                    details=data["details"],
                    service=data.get("service"),
                    rating=data.get("rating"),
                    contact=data.get("contact"),
                    created_at=datetime.now(UTC),
                )
                .returning(rows.c.id)
            ).scalar_one()
        return f'<!doctype html><p id="case-token">{new_id}</p>', 200

    return app


def create_table(url: str) -> None:
    engine = make_engine(url)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    engine.dispose()


if __name__ != "__main__" and "BENCH_BASELINE_DATABASE_URL" in os.environ:
    app = create_app()
