"""`senim audit verify` and `senim audit checkpoint` (interfaces.md, security.md §3)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.audit import (
    AuditChainError,
    CheckpointError,
    VerifyResult,
    sign_head,
    verify,
    write_checkpoint,
)


@click.group("audit")
def audit_cli() -> None:
    """Check and checkpoint the audit trail."""


@audit_cli.command("verify")
@with_appcontext
def verify_command() -> None:
    """Replay the whole chain and check every signed checkpoint, then sign the head (so that a
    later cut of what was verified now is detected)."""
    try:
        result = verify()
        if result.ok:
            sign_head(result)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None
    if not result.ok:
        _fail(result)
    click.echo(f"{result.entries} entries verified")


@audit_cli.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Verify up to the head, then sign (sequence, head hash) into the checkpoint folder."""
    try:
        checkpoint = write_checkpoint()
    except AuditChainError as error:
        _fail(error.result)
    except CheckpointError as error:
        raise click.ClickException(str(error)) from None
    if checkpoint is None:
        click.echo("the audit trail is empty: no checkpoint written")
    else:
        click.echo(f"checkpoint at entry {checkpoint.sequence} written to {checkpoint.path}")


def _fail(result: VerifyResult) -> None:
    where = f"entry {result.first_bad}" if result.first_bad is not None else "a checkpoint"
    click.echo(f"audit trail verification failed at {where}: {result.problem}", err=True)
    raise SystemExit(1)
