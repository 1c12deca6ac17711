"""intake: anonymous, encrypted complaint, feedback and question channels for Thai local government."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config import ASSETS, PACKAGE, load_config

from . import (
    cli,
    errors,
    findable,
    i18n,
    maintenance,
    notify,
    proxy_page,
    security,
    storage,
    tenancy,
    tenant_cli,
    urls,
)
from .answers.views import bp as answers
from .citizen.views import bp as citizen
from .db import Database
from .extensions import babel, csrf, limiter, select_locale
from .guide.views import bp as guide
from .host import cli as host_cli
from .host.views import bp as host
from .ita.views import bp as ita
from .officer.views import bp as officer
from .reports import cli as report_cli
from .reports.national_views import bp as national
from .reports.views import bp as reports


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error pages, security, commands."""
    app = Flask(
        __name__,
        template_folder=str(ASSETS / "templates"),
        static_folder=str(PACKAGE / "static"),
    )
    configure(app, overrides)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security(app)
    register_commands(app)
    return app


def configure(app: Flask, overrides: dict[str, Any] | None) -> None:
    load_config(app, overrides)
    app.instance_path = app.config["INSTANCE_DIR"]


def register_extensions(app: Flask) -> None:
    Database().init_app(app)
    storage.init_app(app)
    tenancy.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    i18n.register(app)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = security.DatabaseId  # before any route: ids beyond the range are 404
    app.register_blueprint(citizen)
    app.register_blueprint(officer)
    app.register_blueprint(reports)
    app.register_blueprint(national)
    app.register_blueprint(answers)
    app.register_blueprint(guide)
    app.register_blueprint(ita)
    app.register_blueprint(findable.bp)
    app.register_blueprint(host)
    urls.register(app)


def register_errorhandlers(app: Flask) -> None:
    errors.register(app)


def register_security(app: Flask) -> None:
    security.register(app)


def register_commands(app: Flask) -> None:
    cli.register(app)
    report_cli.register(app)
    maintenance.register(app)
    notify.register(app)
    proxy_page.register(app)
    tenant_cli.register(app)
    host_cli.register(app)
