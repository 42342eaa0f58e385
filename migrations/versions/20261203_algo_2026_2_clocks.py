"""routing 2026.2: units' working hours, working Saturdays, and 2026.2 for new installs

Revision ID: algo_2026_2_clocks
Revises: e1changereas
Create Date: 2026-12-03 12:00:00

Issue 14. ``agency_units`` gets its working time (minutes after local midnight, 09:00-18:00 by
default): an office-hours service's P1/P2 clocks count only that time. ``calendar_days_off``
may now hold a working Saturday (kind ``working_day``), so its ``kind`` widens.

Algorithm versions: a new install (no routing decision yet) gets the bundled 2026.1 kept for
reference and 2026.2 published as current. An existing install keeps the version in force: when
it routed with the bundled 2026.1 without ever publishing, 2026.1 is stored as current, so that
the upgrade changes no routing by itself; an administrator publishes 2026.2 through the
upload -> diff -> publish page (Routing algorithm -> Versions -> bundled 2026.2).
"""
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "algo_2026_2_clocks"
down_revision = "e1changereas"
branch_labels = None
depends_on = None

KEPT_REASON = "The bundled 2026.1, kept so that its decisions stay explainable."
NEW_INSTALL_REASON = "The bundled 2026.2, current on a new installation (issue 14)."
PINNED_REASON = ("The bundled 2026.1 in force before the upgrade; publish 2026.2 through the "
                 "administrators' page.")

_versions = sa.table(
    "algorithm_versions",
    sa.column("id", sa.String), sa.column("version", sa.String), sa.column("document", sa.Text),
    sa.column("digest", sa.String), sa.column("published_at", sa.DateTime(timezone=True)),
    sa.column("published_by", sa.String), sa.column("reason", sa.String),
    sa.column("is_current", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("agency_units") as batch:
        batch.add_column(sa.Column("work_start_minute", sa.Integer(), nullable=False,
                                   server_default=sa.text("540")))
        batch.add_column(sa.Column("work_end_minute", sa.Integer(), nullable=False,
                                   server_default=sa.text("1080")))
        batch.create_check_constraint(
            op.f("ck_agency_units_working_hours"), "work_start_minute >= 0 AND work_start_minute < work_end_minute "
            "AND work_end_minute <= 1440")
    with op.batch_alter_table("calendar_days_off") as batch:
        batch.drop_constraint(op.f("ck_calendar_days_off_kind"), type_="check")
        batch.alter_column("kind", existing_type=sa.String(length=10),
                           type_=sa.String(length=12), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_calendar_days_off_kind"), "kind IN ('transfer', 'holiday', 'working_day')")
    _publish_versions()


def _publish_versions() -> None:
    from referrals.routing.algorithm import bundled_algorithm

    connection = op.get_bind()
    stored = set(connection.scalars(sa.select(_versions.c.version)))
    has_current = connection.scalar(
        sa.select(sa.func.count()).select_from(_versions).where(_versions.c.is_current)) > 0
    if has_current:
        return  # an administrator publishes 2026.2 through the admin flow
    decided = connection.scalar(sa.text("SELECT count(*) FROM routing_decisions")) > 0
    old = bundled_algorithm("2026.1")
    if decided:
        _insert(connection, old, PINNED_REASON, current=True, stored=stored)
        return
    _insert(connection, old, KEPT_REASON, current=False, stored=stored)
    _insert(connection, bundled_algorithm("2026.2"), NEW_INSTALL_REASON, current=True,
            stored=stored)


def _insert(connection, algorithm, reason: str, *, current: bool, stored: set) -> None:
    if algorithm.version in stored:
        connection.execute(_versions.update().where(_versions.c.version == algorithm.version)
                           .values(is_current=current))
        return
    connection.execute(_versions.insert().values(
        id=str(uuid.uuid4()), version=algorithm.version, document=algorithm.source_text,
        digest=algorithm.digest, published_at=datetime.now(UTC), published_by=None,
        reason=reason, is_current=current))


def downgrade() -> None:
    # The algorithm rows stay: a stored decision may name 2026.2 (rows are never deleted).
    with op.batch_alter_table("calendar_days_off") as batch:
        batch.drop_constraint(op.f("ck_calendar_days_off_kind"), type_="check")
        batch.alter_column("kind", existing_type=sa.String(length=12),
                           type_=sa.String(length=10), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_calendar_days_off_kind"), "kind IN ('transfer', 'holiday')")
    with op.batch_alter_table("agency_units") as batch:
        batch.drop_constraint(op.f("ck_agency_units_working_hours"), type_="check")
        batch.drop_column("work_end_minute")
        batch.drop_column("work_start_minute")
