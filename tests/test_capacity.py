"""Room for evidence files: a byte budget per address, a floor of free space, and administrators told."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from intake import capacity, dates
from intake.models import Case

from .citizen_helpers import followup, submit, submit_ok, valid_data
from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions, world

BIG = b"a" * 1_500_000  # plain text, 1.5 MB: two megabytes of the budget
SMALL = b"evidence"


def _cases(app: Flask) -> int:
    with world(app) as (s, _f):
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


def test_finding_10_upload_budget_per_address_refuses_files_not_the_report(make_app: Any) -> None:
    """Issue 9, finding 10: a byte budget per address (the limiter, cost = megabytes stored)."""
    app: Flask = make_app(RATELIMIT_UPLOAD_MB="2 per hour", RATELIMIT_SUBMIT="100 per minute")
    client = app.test_client()
    submit_ok(client, "feedback", files=[(BIG, "big.txt")])
    data = valid_data("feedback", "KEPT-TEXT")
    refused = submit(client, "feedback", data=data, files=[(SMALL, "one-more.txt")])
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "KEPT-TEXT" in page and "มีการส่งไฟล์จากการเชื่อมต่อของท่านมากเกินไป" in page
    assert _cases(app) == 1
    submit_ok(client, "feedback", data=data)  # the same report without files is taken
    assert _cases(app) == 2
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"  # another address has its own budget
    submit_ok(other, "corruption", files=[(SMALL, "e.txt")])


def test_finding_10_low_storage_refuses_new_files_keeps_the_form_and_tells_admins(make_app: Any) -> None:
    """Issue 9, finding 10: below INTAKE_STORAGE_MIN_FREE_MB, files get 503 with the form as typed; a
    report without files still goes; administrators see it; storage_low() says so for a worker."""
    app: Flask = make_app(STORAGE_MIN_FREE_MB=10**9)  # a petabyte: always "low"
    client = app.test_client()
    assert 'id="uploads-paused"' in client.get("/report/corruption").get_data(as_text=True)
    data = valid_data("corruption", "KEPT-TEXT")
    refused = submit(client, "corruption", data=data, files=[(SMALL, "e.txt")])
    assert refused.status_code == 503
    page = refused.get_data(as_text=True)
    assert "KEPT-TEXT" in page and "พื้นที่จัดเก็บข้อมูลของเซิร์ฟเวอร์ใกล้เต็ม" in page
    assert _cases(app) == 0
    token = submit_ok(client, "corruption", data=data)
    assert followup(client, token, "more", files=[(SMALL, "later.txt")]).status_code == 503
    assert followup(client, token, "more, no file").status_code == 200
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    for page_url in ("/officer/admin/officers", "/officer/admin/settings", "/officer/queue"):
        assert 'id="storage-low"' in client.get(page_url).get_data(as_text=True), page_url
    day = (dates.local_date(dates.now()) - timedelta(days=1)).isoformat()
    intake = {"channel": "feedback", "source": "letter", "received_at": day, "details": "by letter"}
    import io

    slip = actions.post("/officer/intake", {**intake, "attachments": (io.BytesIO(SMALL), "scan.txt")},
                        content_type="multipart/form-data")
    assert slip.status_code == 503 and "by letter" in slip.get_data(as_text=True)
    with app.app_context():
        low = capacity.storage_low()
        assert low is not None and "storage low" in str(low)


def test_room_enough_means_no_warning(app: Flask) -> None:
    with app.app_context():
        assert capacity.storage_low() is None
    client = app.test_client()
    assert 'id="uploads-paused"' not in client.get("/report/feedback").get_data(as_text=True)
    OfficerActions(client).login(ADMIN, PASSWORD)
    assert 'id="storage-low"' not in client.get("/officer/queue").get_data(as_text=True)


@pytest.mark.parametrize(("size", "cost"), [(0, 0), (1, 1), (1024 * 1024, 1), (1024 * 1024 + 1, 2)])
def test_megabytes_round_up(size: int, cost: int) -> None:
    assert capacity.megabytes(size) == cost
