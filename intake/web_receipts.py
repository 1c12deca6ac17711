"""The web side of receipts (receipts.py): the form's one-time field, the 303 that follows a filed form,
and the cookie that carries the form's value to the receipt page.

The cookie holds the rendered form's one-time value, never the code; it is HttpOnly, SameSite=Lax,
Secure over HTTPS, scoped to the receipt page's path and kept as long as the receipt can be shown.
"""

from __future__ import annotations

from flask import redirect, request, url_for
from werkzeug.wrappers import Response
from wtforms import HiddenField

from . import receipts

COOKIE = "intake_receipt"


def redirect_to(endpoint: str, form_id: str) -> Response:
    """303 to the receipt page of `endpoint`, with the cookie that opens it."""
    target = url_for(endpoint)
    response = redirect(target, code=303)
    response.set_cookie(
        COOKIE,
        form_id,
        max_age=int(receipts.SHOW_FOR.total_seconds()),
        path=target,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


def form_id() -> str | None:
    """The one-time value of the form whose receipt this browser may see."""
    value = request.cookies.get(COOKIE)
    return value if receipts.usable(value) else None


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
