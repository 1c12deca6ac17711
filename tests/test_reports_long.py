"""The long CSV for open data (format csv-long): one figure per row, machine codes, the same figures."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from intake.reports import exports, periods
from intake.reports.as_csv import LONG_HEADER

from .factories import Factory
from .officer_helpers import audit_actions, world
from .reports_helpers import bkk, build_known_cases
from .test_reports_formats import Q1_BY_CHANNEL
from .test_reports_views import Q1_URL, executive  # noqa: F401 - the fixture

Q1 = periods.period(2569, "q1")
AS_OF = bkk(2026, 1, 20, 9)
COUNTS = ("carried_over", "received", "total", "pending", "in_progress", "referred", "resolved",
          "dismissed", "closed")  # fmt: skip


def long_rows(data: bytes) -> list[dict[str, str]]:
    assert not data.startswith(b"\xef\xbb\xbf")  # plain UTF-8 for machines
    text = data.decode("ascii")  # machine codes only
    return list(csv.DictReader(io.StringIO(text, newline="")))


def value(rows: list[dict[str, str]], period: str, channel: str, source: str, figure: str) -> str:
    found = [r["value"] for r in rows if (r["period"], r["channel"], r["source"], r["figure"])
             == (period, channel, source, figure)]  # fmt: skip
    assert len(found) == 1, (period, channel, source, figure, found)
    return found[0]


def test_long_csv_has_the_hand_worked_figures(factory: Factory, session: Session) -> None:
    build_known_cases(factory, session)
    made = exports.render(session, Q1, "csv-long", as_of=AS_OF)
    assert made.filename == "report-fy2569-q1-long.csv" and made.mimetype.startswith("text/csv")
    assert made.data.split(b"\r\n", 1)[0].decode() == ",".join(LONG_HEADER)
    rows = long_rows(made.data)
    by_channel = {"corruption": "ร้องเรียนการทุจริต", "feedback": "ความคิดเห็น/คำติชม", "question": "ถาม-ตอบ",
                  "all": "รวม"}  # fmt: skip
    for code, label in by_channel.items():
        got = [int(value(rows, "fy2569-q1", code, "all", f)) for f in COUNTS]
        assert got == Q1_BY_CHANNEL[label]
    assert value(rows, "fy2569-q1", "all", "phone", "referred") == "1"
    assert value(rows, "fy2569-q1", "all", "letter", "received") == "1"
    # Timeliness: all four due by 20 Jan 2569; 3 acknowledged on time, 1 answered; medians in days.
    assert value(rows, "fy2569-q1", "all", "all", "ack_on_time_percent") == "75.0"
    assert value(rows, "fy2569-q1", "all", "all", "ack_not_yet_due") == "0"
    assert value(rows, "fy2569-q1", "all", "all", "answer_on_time") == "1"
    assert value(rows, "fy2569-q1", "all", "all", "median_days_to_close") == "106.0"
    assert value(rows, "fy2569-q1", "feedback", "all", "median_days_to_close") == ""  # none closed
    assert value(rows, "fy2569-q1", "corruption", "all", "category_procurement_referred") == "1"
    assert value(rows, "fy2569-q1", "corruption", "all", "category_none_received") == "0"
    # Months in ISO year-month.
    assert value(rows, "2025-10", "feedback", "all", "received") == "1"
    assert value(rows, "2025-12", "all", "all", "received") == "2"
    assert value(rows, "2025-10", "corruption", "all", "closed") == "1"
    # Tidy: every row has the five columns filled but the value, and no (period, channel, source, figure)
    # twice.
    keys = [(r["period"], r["channel"], r["source"], r["figure"]) for r in rows]
    assert len(keys) == len(set(keys)) and all(all(k) for k in keys)


def test_long_csv_from_the_page_and_the_command_line(app: Flask, executive: Any, tmp_path: Path) -> None:  # noqa: F811
    web = executive.get(Q1_URL + "&format=csv-long")
    assert web.status_code == 200
    assert "filename=report-fy2569-q1-long.csv" in web.headers["Content-Disposition"]
    out = tmp_path / "q1-long.csv"
    result = app.test_cli_runner().invoke(
        args=["report", "--fiscal-year", "2569", "--period", "q1", "--format", "csv-long",
              "--output", str(out)]
    )  # fmt: skip
    assert result.exit_code == 0 and "long CSV" in result.output
    assert long_rows(out.read_bytes())[0] == long_rows(web.data)[0]
    assert [e.detail for e in audit_actions(app, "report.export")] == [
        "fy=2569 period=q1 format=csv-long",
        "fy=2569 period=q1 format=csv-long",
    ]
    page = executive.get(Q1_URL).get_data(as_text=True)
    assert 'name="format" value="csv-long"' in page


def test_long_csv_of_an_empty_period_is_all_zeros(app: Flask) -> None:
    with world(app) as (session, _factory):
        rows = long_rows(exports.render(session, periods.period(2566, "year"), "csv-long").data)
    counts = [r for r in rows if r["figure"] in COUNTS]
    assert counts and all(r["value"] == "0" for r in counts)
    assert value(rows, "fy2566-year", "all", "all", "ack_on_time_percent") == ""
    assert len({r["period"] for r in rows}) == 13  # the year and its 12 months
