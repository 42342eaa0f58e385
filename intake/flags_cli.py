"""`senim keys encrypt-risk-flags`: encrypt the risk-group flags written in clear before the
migration ``register_flags_signoffs`` (a migration has no keys to do it with)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from core import audit
from core.extensions import db
from intake.models import Child

BATCH = 500


def encrypt_legacy_flags(batch: int = BATCH) -> int:
    """Encrypt every child's legacy clear flags, one batch per transaction (an interruption
    loses one batch at most; running again resumes). Returns how many children it encrypted."""
    done = 0
    while True:
        rows = list(db.session.scalars(select(Child).where(Child.risk_flags_legacy.is_not(None))
                                       .order_by(Child.id).limit(batch)))
        if not rows:
            return done
        for child in rows:
            # Merged with any flags written encrypted since the upgrade: nothing is lost.
            child.risk_flags = [*child.risk_flags, *(child.risk_flags_legacy or [])]
            child.risk_flags_legacy = None
        audit.record("keys.risk_flags_encrypted", object_type="children",
                     details={"rows": len(rows)})
        db.session.commit()
        done += len(rows)


@click.command("encrypt-risk-flags")
@with_appcontext
def encrypt_risk_flags() -> None:
    """Encrypt risk-group flags still stored in clear (run once after `senim db upgrade`)."""
    waiting = db.session.scalar(select(func.count()).select_from(Child)
                                .where(Child.risk_flags_legacy.is_not(None))) or 0
    click.echo(f"{waiting} children with flags in clear")
    done = encrypt_legacy_flags()
    click.echo(f"encrypted the flags of {done} children")
