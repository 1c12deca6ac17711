"""The guideline as a page (/guide) and as a PDF (/guide.pdf, always Thai: it is an official document)."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, send_file
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from .. import crest, db
from ..extensions import limiter
from ..reports import exports
from ..reports.pdf import FontMissing, Letterhead, render_pdf
from . import content

bp = Blueprint("guide", __name__)


@bp.get("/guide")
@limiter.limit("60 per minute")
def page() -> tuple[str, int]:
    return render_template("guide/guide.html", guide=content.build(db.session())), 200


@bp.get("/guide.pdf")
@limiter.limit("10 per minute")
def pdf() -> Response | tuple[str, int]:
    session = db.session()
    try:
        with force_locale("th"):  # an official document: Thai whatever the page's language
            guide = content.build(session)
            data = render_pdf(
                "guide/guide_pdf.html",
                {"guide": guide},
                Letterhead(guide.municipality, crest.png(session)),
                title=_("Complaint-handling guideline of %(name)s", name=guide.municipality),
                created=exports.day_of(guide.as_of),
                font_dir=current_app.config.get("REPORT_FONT_DIR"),
            )
    except FontMissing as exc:
        current_app.logger.error("guideline PDF failed: %s", exc)
        return render_template("errors/503.html", code=503), 503
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name="guideline.pdf")
