"""The citizen knows when, and says how it went: deadlines on the receipt, the tracking page and the slip;
satisfaction asked once on a closed case and counted in the reports by channel (issue 11 item 6)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from intake import cases, dates, db, keyring, settings
from intake.models import Case, Entry, Status
from intake.reports import exports, figures, periods, tables

from .citizen_helpers import domain, submit, token_of, track
from .conftest import PASSWORD, csrf_token
from .i18n_helpers import thai


def _close(app: Flask, token: str, status: Status = Status.RESOLVED) -> None:
    with domain(app) as factory:
        s = factory.session
        case = cases.find_by_token(s, token).case
        admin = factory.admin()
        keys = cases.officer_keys(s, admin, keyring.unlock(admin, PASSWORD), case)
        cases.change_status(s, case, admin, keys, status, "แก้ไขแล้ว", public=True)


def _rate(client: FlaskClient, token: str, rating: str, comment: str = "") -> TestResponse:
    data = {"csrf_token": csrf_token(client, "/track"), "token": token, "rating": rating, "comment": comment}
    return client.post("/track/satisfaction", data=data)


def test_receipt_and_tracking_page_say_by_when_in_buddhist_era_and_whom_to_call(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        settings.put(db.session(), "contact_phone", "045-123456")
        db.session().commit()
    receipt = submit(client, "feedback")
    token = token_of(receipt)
    with app.app_context():
        case = db.session().scalars(select(Case)).one()
        ack = dates.format_date(dates.last_day(case.ack_due_at), "th")
        answer = dates.format_date(dates.last_day(case.answer_due_at), "th")
        assert dates.last_day(case.ack_due_at) == dates.local_date(case.received_at) + timedelta(days=7)
    for page in (receipt.get_data(as_text=True), track(client, token).get_data(as_text=True)):
        assert re.search(r'id="ack-due">[^<]*' + re.escape(ack), page)
        assert re.search(r'id="answer-due">[^<]*' + re.escape(answer), page)
        assert "045-123456" in page and "1567" in page
    assert str(dates.be_year(dates.now())) in ack or str(dates.be_year(dates.now()) + 1) in ack


def test_a_closed_case_asks_once_and_the_answer_is_kept(app: Flask, client: FlaskClient) -> None:
    token = token_of(submit(client, "question"))
    assert 'name="rating"' not in track(client, token).get_data(as_text=True)  # open: not yet
    _close(app, token)
    page = track(client, token).get_data(as_text=True)
    assert 'action="/track/satisfaction"' in page and thai("How did we do?") in page
    empty = _rate(client, token, "")
    assert empty.status_code == 400 and thai("Choose from 1 to 5.") in empty.get_data(as_text=True)
    done = _rate(client, token, "4", "ตอบเร็ว ขอบคุณ")
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and thai("Thank you: your answer has been recorded.") in text
    assert "ตอบเร็ว ขอบคุณ" in text and 'name="rating"' not in text
    assert _rate(client, token, "1").status_code == 409
    with domain(app) as factory:
        case = factory.session.scalars(select(Case)).one()
        assert case.satisfaction == 4 and case.satisfied_at is not None
        (entry,) = factory.session.scalars(select(Entry).where(Entry.kind == "satisfaction")).all()
        assert entry.body is not None and "ตอบเร็ว".encode() not in entry.body  # the comment is encrypted


def test_ratings_count_in_every_report_format_by_channel(app: Flask, client: FlaskClient) -> None:
    ratings = {"feedback": ["5", "4"], "question": ["2"]}
    for channel, values in ratings.items():
        for value in values:
            token = token_of(submit(client, channel, {"details": f"เรื่อง {value}"}))
            _close(app, token)
            assert _rate(client, token, value).status_code == 200
    now = dates.now()
    p = periods.period(dates.fiscal_year_of(now), "year")
    with domain(app) as factory:
        s = factory.session
        report = figures.compute(s, p, now)
        assert report.satisfaction["feedback"].scores == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
        assert report.satisfaction["feedback"].mean == 4.5 and report.satisfaction["all"].answers == 3
        corruption = report.satisfaction["corruption"]
        assert corruption.answers == 0 and corruption.mean is None
        long = exports.render(s, p, "csv-long", as_of=now).data.decode()
        book = openpyxl.load_workbook(io.BytesIO(exports.render(s, p, "xlsx", as_of=now).data))
        with app.test_request_context():
            table = next(t for t in tables.document(report, "x").tables if t.key == "satisfaction")
    assert f"{p.slug},feedback,all,satisfaction_answers,2" in long
    assert f"{p.slug},feedback,all,satisfaction_average,4.5" in long
    assert f"{p.slug},question,all,satisfaction_2,1" in long
    sheet = book["ความพึงพอใจ"]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert any(row[:3] == [thai("Feedback and suggestions"), 2, 0] and row[-1] == 4.5 for row in cells)
    assert table.rows[-1][1] == 3  # all channels
