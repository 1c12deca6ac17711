"""The app factory, language switch, security headers and error pages."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


def test_home_is_thai_by_default(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="th">' in page and "ช่องทางรับเรื่องจากประชาชน" in page


def test_language_switch_without_javascript(client: FlaskClient) -> None:
    response = client.get("/lang/en?next=/")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Citizen channels" in page


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_language_switch_only_redirects_to_our_pages(client: FlaskClient, target: str) -> None:
    response = client.get("/lang/en", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-store"
    assert "X-Robots-Tag" not in headers  # the home page may be indexed (issue 13); forms may not
    assert "noindex" in client.get("/report/corruption").headers["X-Robots-Tag"]


def test_404_page_in_thai(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "ไม่พบหน้าที่ต้องการ" in response.get_data(as_text=True)
