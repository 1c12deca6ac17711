"""The web side of receipts (receipts.py): the form's one-time field, the 303 that follows a filed form,
and the cookie that carries the form's value to the receipt page.

The cookie holds the rendered form's one-time value, never the code; it is HttpOnly, SameSite=Lax,
Secure over HTTPS, scoped to the receipt page's path and kept as long as the receipt can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import redirect, request, url_for
from werkzeug.wrappers import Response
from wtforms import HiddenField

from . import receipts

KEEP = 5  # receipts a browser can come back to (a form restored by Back and sent again: receipts.resent)


@dataclass(frozen=True)
class Scope:
    """Where a kind of receipt lives: the cookie's name and the path that covers its forms and its page."""

    cookie: str
    path: str


CITIZEN = Scope("intake_receipt", "/")
OFFICER = Scope("intake_slip", "/officer/intake")


def redirect_to(endpoint: str, form_id: str, scope: Scope) -> Response:
    """303 to the receipt page `endpoint`, with the cookie that opens it (this receipt first)."""
    response = redirect(url_for(endpoint), code=303)
    kept = [form_id, *(f for f in form_ids(scope) if f != form_id)][:KEEP]
    response.set_cookie(
        scope.cookie,
        ".".join(kept),
        max_age=int(receipts.SHOW_FOR.total_seconds()),
        path=scope.path,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


def form_ids(scope: Scope) -> list[str]:
    """The one-time values of this browser's latest receipts, newest first."""
    return [v for v in request.cookies.get(scope.cookie, "").split(".") if receipts.usable(v)][:KEEP]


def form_id(scope: Scope) -> str | None:
    """The one-time value of the form whose receipt this browser sees."""
    found = form_ids(scope)
    return found[0] if found else None


class OneTime:
    """A form that files something carries a one-time value per rendering: the same rendered form sent
    again files nothing new (mixed into the citizen forms, the follow-up and the offline intake)."""

    form_id = HiddenField()

    def stamp(self) -> str:
        """This rendering's one-time value: kept from the form sent, or a new one."""
        field = self.form_id
        if not receipts.usable(field.data):
            field.data = receipts.new_form_id()
        return str(field.data)
