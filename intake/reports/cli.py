"""`flask report`: the same file as the web download (same function), written to a path, audited as "cli"."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from .. import db
from ..cli import CommandFailed, for_tenant
from . import exports
from .periods import PERIOD_CODES, PeriodInvalid, period


@click.command("report")
@click.option("--fiscal-year", "fiscal_year", required=True, help="Fiscal year in Buddhist Era, e.g. 2569.")
@click.option("--period", "code", required=True, type=click.Choice(PERIOD_CODES), help="q1-q4, h1 or year.")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(exports.FORMATS),
    help="pdf, xlsx, csv, or csv-long (one tidy table for open data).",
)
@click.option(
    "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@click.option("--thai-digits", is_flag=True, help="Thai digits (๐-๙) in the PDF.")
@with_appcontext
@for_tenant
def report_command(fiscal_year: str, code: str, fmt: str, output: Path, thai_digits: bool) -> None:
    """Write the report of a fiscal year's period as PDF, XLSX, CSV or the long CSV."""
    try:
        p = period(fiscal_year, code)
    except PeriodInvalid as exc:
        raise CommandFailed(str(exc)) from exc
    if not output.parent.is_dir():
        raise CommandFailed(f"no such folder: {output.parent}")
    session = db.session()
    try:
        made = exports.export(session, "cli", p, fmt, thai_digits=thai_digits)
    except exports.FontMissing as exc:
        session.rollback()
        raise CommandFailed(str(exc)) from exc
    try:
        output.write_bytes(made.data)
    except OSError as exc:
        session.rollback()
        raise CommandFailed(f"cannot write {output}: {exc.strerror}") from exc
    session.commit()
    name = "long CSV" if fmt == "csv-long" else fmt.upper()
    click.echo(f"Wrote the {name} report for fiscal year {p.fiscal_year} {p.code} to {output}.")


def register(app: Flask) -> None:
    app.cli.add_command(report_command)
