"""urls.public_base(): INTAKE_PUBLIC_URL when set (checked at start-up), else the request's own root."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from config import ConfigError
from intake import urls


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
