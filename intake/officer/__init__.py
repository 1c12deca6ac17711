"""Officer blueprint: `views` holds it; the sign-in, case and administration pages add their routes to it."""

from . import (  # noqa: F401 - routes register on views.bp
    admin_public_views,
    admin_views,
    case_views,
    notify_views,
    report_views,
    signin_views,
    views,
)
