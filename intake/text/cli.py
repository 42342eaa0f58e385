"""``senim schools``: import and export the directory of schools (interfaces.md), print a
poster, give a school a new QR token."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from core.clock import utcnow
from core.extensions import db
from intake.text import posters
from intake.text import schools as directory
from intake.text.models import School

EXPORT_COLUMNS = ("id", "name_kk", "name_ru", "region", "district", "report_token", "report_url")


@click.group("schools")
def schools() -> None:
    """The schools whose posters carry a QR code to the anonymous report page."""


@schools.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Import schools from FILE.csv (columns name_kk,name_ru,region,district); idempotent on
    (name, district). Nothing is imported when a line is wrong."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            rows = directory.read_csv(handle)
    except directory.ImportError_ as error:
        for problem in error.problems:
            click.echo(f"senim: {file.name}: {problem}", err=True)
        sys.exit(1)
    except UnicodeDecodeError:
        click.echo(f"senim: {file.name}: not UTF-8 text", err=True)
        sys.exit(1)
    result = directory.import_rows(rows, utcnow())
    db.session.commit()
    click.echo(f"{len(result.created)} schools imported, {result.existing} already there")


@schools.command("export")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of CSV")
@with_appcontext
def export_command(as_json: bool) -> None:
    """List schools with their QR report token and report URL."""
    rows = [directory.export_row(s) for s in directory.schools_in_order()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _school(school_id: str) -> School:
    school = db.session.get(School, school_id)
    if school is None:
        click.echo(f"senim: no school {school_id}", err=True)
        sys.exit(1)
    return school


@schools.command("poster")
@click.argument("school_id")
@click.option("--lang", type=click.Choice(["kk", "ru"]), default="kk", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["pdf", "png"]), default="pdf", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def poster_command(school_id: str, lang: str, fmt: str, output: Path) -> None:
    """Write the school's A4 poster (PDF or PNG) in Kazakh or Russian."""
    school = _school(school_id)
    token = school.current_token
    if token is None:
        click.echo("senim: the school has no current token; run senim schools rotate", err=True)
        sys.exit(1)
    render = posters.poster_pdf if fmt == "pdf" else posters.poster_png
    output.write_bytes(render(school, token.token, lang))
    click.echo(f"{output}")


@schools.command("rotate")
@click.argument("school_id")
@with_appcontext
def rotate_command(school_id: str) -> None:
    """Give the school a new report token (old posters then show a "replaced" page)."""
    school = _school(school_id)
    token = directory.rotate_token(school, utcnow())
    db.session.commit()
    click.echo(directory.report_url(token.token))
