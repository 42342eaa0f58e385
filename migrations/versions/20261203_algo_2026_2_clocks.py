"""routing 2026.2: units' working hours, working Saturdays, and 2026.2 for new installs

Revision ID: algo_2026_2_clocks
Revises: reports_tables
Create Date: 2026-12-03 12:00:00

Issue 14. ``agency_units`` gets its working time (minutes after local midnight, 09:00-18:00 by
default): an office-hours service's P1/P2 clocks count only that time. ``calendar_days_off``
may now hold a working Saturday (kind ``working_day``), so its ``kind`` widens.

Every place's education unit (the one offering the guardianship body, else the first) also
offers the new ``education.department`` (rule 11 of 2026.2 asks for it; no 2026.1 rule does).

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
down_revision = "reports_tables"
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
    _offer_education_department()
    _publish_versions()


_units = sa.table("agency_units", sa.column("id", sa.String), sa.column("agency", sa.String),
                  sa.column("region", sa.String), sa.column("district", sa.String),
                  sa.column("active", sa.Boolean), sa.column("created_at", sa.DateTime))
_unit_services = sa.table("agency_unit_services", sa.column("unit_id", sa.String),
                          sa.column("service", sa.String))
DEPARTMENT, GUARDIANSHIP = "education.department", "education.guardianship"


def _offer_education_department() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_units.c.id, _units.c.region, _units.c.district)
        .where(_units.c.agency == "education", _units.c.active.is_(True))
        .order_by(_units.c.created_at, _units.c.id)).all()
    offered = {(r.unit_id, r.service) for r in connection.execute(
        sa.select(_unit_services.c.unit_id, _unit_services.c.service))}
    places: dict[tuple, list[str]] = {}
    for row in rows:
        places.setdefault((row.region, row.district), []).append(row.id)
    for ids in places.values():
        if any((unit, DEPARTMENT) in offered for unit in ids):
            continue  # at most one active unit offers a service in a place
        chosen = next((unit for unit in ids if (unit, GUARDIANSHIP) in offered), ids[0])
        connection.execute(_unit_services.insert().values(unit_id=chosen, service=DEPARTMENT))


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
    # The algorithm rows and the units' services stay: a stored decision may name 2026.2.
    with op.batch_alter_table("calendar_days_off") as batch:
        batch.drop_constraint(op.f("ck_calendar_days_off_kind"), type_="check")
        batch.alter_column("kind", existing_type=sa.String(length=12),
                           type_=sa.String(length=10), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_calendar_days_off_kind"), "kind IN ('transfer', 'holiday')")
    with op.batch_alter_table("agency_units") as batch:
        batch.drop_constraint(op.f("ck_agency_units_working_hours"), type_="check")
        batch.drop_column("work_end_minute")
        batch.drop_column("work_start_minute")
