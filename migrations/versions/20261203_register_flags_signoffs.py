"""registers: encrypted risk-group flags with a keyed bitmask; reconciliation act sign-offs

Revision ID: register_flags_signoffs
Revises: qr_text_channel
Create Date: 2026-12-03 12:40:00

``children.risk_flags`` held the risk-group flags (pregnancy, HIV, a parent's diagnosis…) in
clear JSON. It becomes an encrypted value (``risk_flags``) with a keyed bitmask
(``risk_flags_mask``) and the id of the key the mask was made under (``risk_flags_key``), so
the register counts and filters in SQL without the codes being readable in the database.

Existing rows: a migration has no keys to encrypt with, so their clear flags move to
``risk_flags_legacy``; run ``senim keys encrypt-risk-flags`` right after ``senim db upgrade``:
it encrypts them in batches (resumably) and empties the legacy column. Until it has run, those
children show no flags and the register does not count them. The downgrade puts the legacy
values back and cannot restore flags that were only ever encrypted (run it only before new
flags were written).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "register_flags_signoffs"
down_revision = "qr_text_channel"
branch_labels = None
depends_on = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("children") as batch:
        batch.alter_column("risk_flags", new_column_name="risk_flags_legacy",
                           existing_type=JSON_TYPE, nullable=True)
    with op.batch_alter_table("children") as batch:
        batch.add_column(sa.Column("risk_flags", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("risk_flags_mask", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("risk_flags_key", sa.Integer(), nullable=True))
        batch.create_index("ix_children_risk_flags_mask", ["risk_flags_mask"])
    # Rows without flags have nothing to encrypt: only the others wait for the CLI step.
    op.execute("UPDATE children SET risk_flags_legacy = NULL WHERE risk_flags_legacy IS NOT NULL"
               " AND CAST(risk_flags_legacy AS TEXT) = '[]'")
    with op.batch_alter_table("children") as batch:
        batch.alter_column("risk_flags_mask", server_default=None)
        batch.create_index("ix_children_register",
                           ["region", "district", "risk_flags_key", "risk_flags_mask"])
        batch.create_index("ix_children_region_updated", ["region", "updated_at", "id"])
    op.create_index("ix_cases_region_opened", "cases", ["region", "opened_at"])
    # The register links each child to its case; deleting a child checks the same key.
    op.create_index("ix_cases_child_id", "cases", ["child_id"])

    op.create_table(
        "reconciliation_signoffs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("agency", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("snapshot", JSON_TYPE, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["agency_units.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region", "month", "agency"),
    )


def downgrade() -> None:
    op.drop_table("reconciliation_signoffs")
    op.drop_index("ix_cases_region_opened", table_name="cases")
    op.drop_index("ix_cases_child_id", table_name="cases")
    with op.batch_alter_table("children") as batch:
        batch.drop_index("ix_children_region_updated")
        batch.drop_index("ix_children_register")
        batch.drop_index("ix_children_risk_flags_mask")
        batch.drop_column("risk_flags_key")
        batch.drop_column("risk_flags_mask")
        batch.drop_column("risk_flags")
    op.execute("UPDATE children SET risk_flags_legacy = '[]' WHERE risk_flags_legacy IS NULL")
    with op.batch_alter_table("children") as batch:
        batch.alter_column("risk_flags_legacy", new_column_name="risk_flags",
                           existing_type=JSON_TYPE, nullable=False)
