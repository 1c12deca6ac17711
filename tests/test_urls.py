"""urls.public_base(): INTAKE_PUBLIC_URL when set (checked at start-up, required in production), else the
request's own root; absolute links never come from a forged Host header where the setting is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from config import ConfigError
from intake import create_app, urls

from .citizen_helpers import submit
from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions

PUBLIC = "https://intake.example.go.th"
FORGED = "attacker.example"


def test_finding_11_receipts_link_to_the_public_url_not_the_host_header(make_app: Any) -> None:
    """Issue 9, finding 11: a forged Host header does not reach the tracking link on a receipt."""
    app: Flask = make_app(PUBLIC_URL=PUBLIC)
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = FORGED
    receipt = submit(client, "question").get_data(as_text=True)
    assert f"{PUBLIC}/track" in receipt and FORGED not in receipt
    actions = OfficerActions(client)
    actions.login(ADMIN, PASSWORD)
    intake = {"channel": "question", "source": "phone", "details": "by phone"}
    from datetime import timedelta

    from intake import dates

    intake["received_at"] = (dates.local_date(dates.now()) - timedelta(days=1)).isoformat()
    slip = actions.post("/officer/intake", intake, follow_redirects=True).get_data(as_text=True)
    assert 'id="case-token"' in slip
    assert f"{PUBLIC}/track" in slip and FORGED not in slip


def test_public_base_is_the_one_door(make_app: Any) -> None:
    app: Flask = make_app(setup=False, PUBLIC_URL=PUBLIC + "/")
    with app.test_request_context("/", base_url=f"http://{FORGED}"):
        assert urls.public_base() == PUBLIC
        assert urls.public_url("citizen.track") == f"{PUBLIC}/track"


def test_production_requires_the_public_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("INTAKE_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("INTAKE_PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError, match="INTAKE_PUBLIC_URL is required"):
        create_app()



def test_public_base_falls_back_to_the_request(app: Flask) -> None:
    with app.test_request_context("/x", base_url="http://10.0.0.5:8080/"):
        assert urls.public_base() == "http://10.0.0.5:8080"
        assert urls.public_url("guide.page") == "http://10.0.0.5:8080/guide"


def test_configured_public_url_wins_and_keeps_its_path(make_app: Any) -> None:
    app = make_app(PUBLIC_URL="https://www.example.go.th/intake/")
    with app.test_request_context("/x", base_url="http://127.0.0.1:5000/"):
        assert urls.public_base() == "https://www.example.go.th/intake"
        assert urls.public_url("reports.public_stats", fiscal_year=2569) == (
            "https://www.example.go.th/intake/stats?fiscal_year=2569"
        )
    with app.app_context():  # a command, no request: the setting alone
        assert urls.public_url("ita.page") == "https://www.example.go.th/intake/ita"


def test_no_address_outside_a_request_is_a_named_error(app: Flask) -> None:
    with app.app_context(), pytest.raises(urls.PublicUrlUnknown):
        urls.public_base()


@pytest.mark.parametrize("bad", ["ftp://example.go.th", "www.example.go.th", "https://example.go.th/?a=1",
                                 "https://user:pw@example.go.th", "https://"])  # fmt: skip
def test_a_bad_public_url_stops_the_app(make_app: Any, bad: str) -> None:
    with pytest.raises(ConfigError, match="INTAKE_PUBLIC_URL"):
        make_app(setup=False, PUBLIC_URL=bad)
