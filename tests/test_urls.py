"""Absolute links come from INTAKE_PUBLIC_URL through urls.public_base(), never from the Host header."""

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


@pytest.mark.parametrize("value", ["intake.example.go.th", "ftp://x.go.th", "https://x.go.th/sub", "https://"])
def test_public_url_must_be_an_origin(make_app: Any, value: str) -> None:
    with pytest.raises(ConfigError, match="INTAKE_PUBLIC_URL"):
        make_app(setup=False, PUBLIC_URL=value)


def test_production_requires_the_public_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_ENV", "production")
    monkeypatch.setenv("INTAKE_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("INTAKE_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("INTAKE_PUBLIC_URL", raising=False)
    with pytest.raises(ConfigError, match="INTAKE_PUBLIC_URL is required"):
        create_app()
