"""``senim retention apply [--dry-run]`` (interfaces.md)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from core.clock import utcnow
from core.extensions import db
from referrals.retention import service


@click.group("retention")
def retention_cli() -> None:
    """Retention of personal data."""


@retention_cli.command("apply")
@click.option("--dry-run", is_flag=True, help="only count what is past its period")
@with_appcontext
def apply_command(dry_run: bool) -> None:
    """Anonymise records past their retention period unless on legal hold."""
    periods = current_app.config["SENIM"].retention
    now = utcnow()
    if dry_run:
        found = service.dry_run(periods, now)
        db.session.commit()  # its audit entry: the command is its own request
        click.echo("dry run: nothing changed")
    else:
        found = service.apply(periods, now)
    verb = "would anonymise" if dry_run else "anonymised"
    click.echo(f"closed cases {verb}: {found.closed_cases} "
               f"(period {periods.closed_case_days} days after closing)")
    click.echo(f"caseless contacts {verb}: {found.caseless_contacts} "
               f"(period {periods.caseless_contact_days} days)")
    click.echo(f"drafts {'would be deleted' if dry_run else 'deleted'}: {found.drafts} "
               f"(period {periods.draft_days} days)")
    click.echo(f"closed anonymous threads {verb}: {found.text_threads} "
               f"(period {periods.caseless_contact_days} days after closing)")
    click.echo(f"closed cases kept under legal hold: {found.held_cases}")
