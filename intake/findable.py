"""Which pages search engines may index, and robots.txt and sitemap.xml that say so.

The public pages an assessor or a citizen looks for (home, statistics and their files, the questions and
answers, the complaint-handling guideline and its PDF, the ITA evidence page) may be indexed: they carry
`<meta name="robots" content="index, follow">`, a description and no X-Robots-Tag. Everything else (the
forms, receipts, tracking, officer pages, error answers) says `noindex, nofollow` in both the header
(intake/security.py) and the page. robots.txt allows the public pages by name and keeps crawlers out of
the officer area; the forms stay crawlable so that a crawler can read their noindex.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for
from markupsafe import escape

from .urls import public_url

bp = Blueprint("findable", __name__)

# Endpoints whose successful answers may be indexed.
INDEXABLE = frozenset(
    {
        "citizen.home",
        "reports.public_stats",
        "reports.public_stats_pdf",
        "reports.public_stats_xlsx",
        "answers.faq",
        "guide.page",
        "guide.pdf",
        "ita.page",
        "national.page",  # 404 unless the host publishes the national figures
        "national.xlsx",
        "national.csv",
        "findable.robots_txt",
        "findable.sitemap",
    }
)
# The pages a sitemap lists (files are linked from them).
SITEMAP = ("citizen.home", "reports.public_stats", "answers.faq", "guide.page", "ita.page")
INDEX = "index, follow"
NOINDEX = "noindex, nofollow"


def may_index(status: int = 200) -> bool:
    return request.endpoint in INDEXABLE and status == 200


def directive(status: int = 200) -> str:
    """The robots directive of the page being answered (the meta tag and the X-Robots-Tag header)."""
    return INDEX if may_index(status) else NOINDEX


@bp.get("/robots.txt")
def robots_txt() -> Response:
    lines = [
        "# Public pages may be indexed; forms, receipts, tracking and officer pages carry noindex.",
        "User-agent: *",
        "Allow: /$",
        *(f"Allow: {url_for(endpoint)}" for endpoint in SITEMAP[1:]),
        f"Allow: {url_for('static', filename='')}",
        f"Disallow: {url_for('officer.login').rsplit('/', 1)[0]}/",
        f"Disallow: {url_for('citizen.set_language', code='th').rsplit('/', 1)[0]}/",
        f"Sitemap: {public_url('findable.sitemap')}",
        "",
    ]
    return Response("\n".join(lines), mimetype="text/plain")


@bp.get("/sitemap.xml")
def sitemap() -> Response:
    urls = "".join(f"<url><loc>{escape(public_url(endpoint))}</loc></url>" for endpoint in SITEMAP)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
    )
    return Response(body, mimetype="application/xml")
