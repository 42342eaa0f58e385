"""`senim referrals escalate`: one SLA sweep (routing.md §8, interfaces.md).

Idempotent and safe to run from cron every minute on several hosts at once: each escalation
level is raised once per referral, whoever sweeps first.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from referrals.handoffs import escalation


@click.group("referrals")
def referrals_cli() -> None:
    """Referrals after routing: the SLA sweep."""


@referrals_cli.command("escalate")
@click.option("--batch-size", default=escalation.BATCH_SIZE, show_default=True,
              type=click.IntRange(1, 10_000), help="Referrals per transaction.")
@with_appcontext
def escalate_command(batch_size: int) -> None:
    """Escalate referrals past their acknowledgement or action deadline, once per level."""
    result = escalation.sweep(batch_size=batch_size)
    # levels, not referrals: one referral late on both deadlines is raised twice
    click.echo(f"{result.total} escalations: "
               f"{result.escalated[escalation.ACKNOWLEDGEMENT]} acknowledgement overdue, "
               f"{result.escalated[escalation.ACTION]} action overdue"
               + (f" ({result.skipped} already escalated by another sweep)" if result.skipped else ""))
