"""Administration of the public documents: the guideline's settings and the ITA item codes per year."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import db, settings
from ..guide import content, editing
from ..ita import catalogue
from ..ita.catalogue import ITEM_KEYS, Item
from ..models import Role
from ..reports.periods import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, current_fiscal_year
from ..sessions import current_officer, login_required
from .forms import EmptyForm
from .public_forms import GuideForm, ItaItemsForm, ItaYearForm
from .views import bp

# --- the guideline ---------------------------------------------------------------------------------


def _guide_initial() -> dict[str, Any]:
    session = db.session()
    return {
        "unit_corruption": settings.get(session, "guide.unit.corruption"),
        "unit_feedback": settings.get(session, "guide.unit.feedback"),
        "unit_question": settings.get(session, "guide.unit.question"),
        "offline_sources": content.offline_sources(session),
        "offline_contact": settings.get(session, "guide.offline_contact"),
        "own_text": settings.get(session, "guide.text"),
    }


@bp.route("/admin/settings/guide", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def admin_guide() -> Response | tuple[str, int]:
    """What the guideline says that the other settings do not: units, offline channels, own text."""
    form = GuideForm(data=_guide_initial()) if request.method == "GET" else GuideForm()
    if form.validate_on_submit():
        values = {
            "guide.unit.corruption": (form.unit_corruption.data or "").strip(),
            "guide.unit.feedback": (form.unit_feedback.data or "").strip(),
            "guide.unit.question": (form.unit_question.data or "").strip(),
            "guide.offline_sources": ",".join(form.offline_sources.data or []),
            "guide.offline_contact": (form.offline_contact.data or "").strip(),
            "guide.text": (form.own_text.data or "").strip(),
        }
        session = db.session()
        changed = editing.save(session, current_officer(), values)
        session.commit()
        saved = _("Guideline saved: /guide and its PDF show it now.")
        flash(saved if changed else _("Nothing changed."), "success")
        return redirect(url_for("officer.admin_guide"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("officer/admin/guide.html", form=form), status


# --- ITA item codes --------------------------------------------------------------------------------


def _year_arg() -> int | None:
    try:
        year = int(request.values.get("fiscal_year", ""))
    except ValueError:
        return None
    return year if MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR else None


def _ita_page(year: int, form: Any = None, status: int = 200) -> tuple[str, int]:
    session = db.session()
    current = current_fiscal_year()
    items = catalogue.for_year(session, year)
    choices = sorted({*catalogue.years(session), current, current + 1, year}, reverse=True)
    selector = ItaYearForm(formdata=None, data={"fiscal_year": str(year)})
    selector.fiscal_year.choices = [SelectChoice(str(y), str(y)) for y in choices]
    if form is None:
        data: dict[str, str] = {}
        for item in items.items:
            data[f"code_{item.key}"], data[f"title_{item.key}"] = item.code, item.title
            data[f"title_en_{item.key}"] = item.title_en
        form = ItaItemsForm(formdata=None, data=data)
    return render_template(
        "officer/admin/ita.html",
        year=items,
        selector=selector,
        form=form,
        reset_form=EmptyForm(formdata=None),
        keys=ITEM_KEYS,
    ), status


@bp.get("/admin/settings/ita")
@login_required(Role.ADMIN)
def admin_ita() -> tuple[str, int]:
    """A year's ITA item codes and titles, to check or to enter for a new year."""
    year = _year_arg()
    if request.args.get("fiscal_year") and year is None:
        return _ita_page(current_fiscal_year(), status=400)
    return _ita_page(year or current_fiscal_year())


@bp.post("/admin/settings/ita")
@login_required(Role.ADMIN)
def admin_ita_save() -> Response | tuple[str, int]:
    year = _year_arg()
    form = ItaItemsForm()
    if year is None or not form.validate_on_submit():
        return _ita_page(year or current_fiscal_year(), form=form, status=400)
    items = {
        key: Item(
            key,
            (form[f"code_{key}"].data or "").strip(),
            (form[f"title_{key}"].data or "").strip(),
            (form[f"title_en_{key}"].data or "").strip(),
        )
        for key in ITEM_KEYS
    }
    session = db.session()
    changed = catalogue.save_year(session, current_officer(), year, items)
    session.commit()
    saved = _("Item codes saved for fiscal year %(year)s.", year=year)
    flash(saved if changed else _("Nothing changed."), "success")
    return redirect(url_for("officer.admin_ita", fiscal_year=year), code=303)


@bp.post("/admin/settings/ita/reset")
@login_required(Role.ADMIN)
def admin_ita_reset() -> Response | tuple[str, int]:
    year = _year_arg()
    EmptyForm().validate_on_submit()  # CSRFProtect already refused a POST without a valid token
    if year is None:
        return _ita_page(current_fiscal_year(), status=400)
    session = db.session()
    removed = catalogue.reset_year(session, current_officer(), year)
    session.commit()
    message = _("Your codes for fiscal year %(year)s are removed: the repository's apply again.", year=year)
    flash(message if removed else _("Nothing changed."), "success")
    return redirect(url_for("officer.admin_ita", fiscal_year=year), code=303)
