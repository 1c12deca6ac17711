"""Findable: the public pages may be indexed (meta, description, canonical, no X-Robots-Tag), robots.txt
and sitemap.xml say so; forms, receipts, tracking, officer and error pages stay noindex in header and page."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from .citizen_helpers import submit, token_of, track
from .conftest import ADMIN, PASSWORD
from .officer_helpers import OfficerActions

PUBLIC_PAGES = ["/", "/stats", "/faq", "/guide", "/ita", "/stats?fiscal_year=2570&view=halves"]
PUBLIC_FILES = ["/stats.pdf", "/stats.xlsx", "/guide.pdf", "/robots.txt", "/sitemap.xml"]
NOINDEX_PAGES = ["/report/corruption", "/report/feedback", "/ask", "/track", "/officer/login",
                 "/no-such-page", "/stats?fiscal_year=abc", "/ita?fiscal_year=abc"]  # fmt: skip


def assert_noindex(response: Any) -> None:
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    page = response.get_data(as_text=True)
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert 'rel="canonical"' not in page


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_may_be_indexed(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert "X-Robots-Tag" not in response.headers
    page = response.get_data(as_text=True)
    assert '<meta name="robots" content="index, follow">' in page
    description = page.split('<meta name="description" content="', 1)[1].split('">', 1)[0]
    assert "เทศบาลตำบลตัวอย่าง" in description
    path = url.replace("&", "&amp;")
    assert f'<link rel="canonical" href="http://localhost{path}">' in page


@pytest.mark.parametrize("url", PUBLIC_FILES)
def test_public_files_may_be_indexed(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200 and "X-Robots-Tag" not in response.headers


@pytest.mark.parametrize("url", NOINDEX_PAGES)
def test_forms_tracking_officer_and_error_pages_stay_noindex(client: FlaskClient, url: str) -> None:
    assert_noindex(client.get(url))


def test_receipts_case_pages_and_officer_pages_stay_noindex(client: FlaskClient) -> None:
    receipt = submit(client, "feedback")
    assert_noindex(receipt)
    assert_noindex(track(client, token_of(receipt)))
    OfficerActions(client).login(ADMIN, PASSWORD)
    for url in ("/officer/queue", "/officer/reports", "/officer/admin/settings/guide",
                "/officer/admin/settings/ita"):  # fmt: skip
        assert_noindex(client.get(url))


def test_robots_txt_allows_the_public_pages(client: FlaskClient) -> None:
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert "User-agent: *" in lines and "Allow: /$" in lines
    for path in ("/stats", "/faq", "/guide", "/ita"):
        assert f"Allow: {path}" in lines
    assert "Disallow: /officer/" in lines and "Disallow: /" not in lines  # the forms stay crawlable (noindex)
    assert "Sitemap: http://localhost/sitemap.xml" in lines


def test_sitemap_and_robots_use_the_public_url(make_app: Any) -> None:
    client = make_app(PUBLIC_URL="https://www.example.go.th").test_client()
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert "Sitemap: https://www.example.go.th/sitemap.xml" in robots
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    for path in ("/", "/stats", "/faq", "/guide", "/ita"):
        assert f"<loc>https://www.example.go.th{path}</loc>" in sitemap
    page = client.get("/guide").get_data(as_text=True)
    assert '<link rel="canonical" href="https://www.example.go.th/guide">' in page
