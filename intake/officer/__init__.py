"""Officer blueprint: `views` holds it; the sign-in, case and administration pages add their routes to it."""

from . import admin_public_views, admin_views, case_views, report_views, signin_views, views  # noqa: F401 - routes on views.bp
