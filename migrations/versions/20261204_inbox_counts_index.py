"""the unit inbox's counts from an index alone

Revision ID: inbox_counts_index
Revises: algo_2026_2_clocks
Create Date: 2026-12-04 19:40:00

Issue 13. The unit inbox counts its open, new and overdue referrals; at national scale a busy
unit holds tens of thousands, scattered over the table, and reading them from the heap took
most of a second. ``ix_referrals_unit_status`` (unit, status) becomes
``ix_referrals_unit_deadlines`` (unit, status and the three columns "overdue" reads), so that
PostgreSQL answers the counts with an index-only scan. On a large installation, create it first
by hand with CREATE INDEX CONCURRENTLY under the same name to keep writes going.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "inbox_counts_index"
down_revision = "algo_2026_2_clocks"
branch_labels = None
depends_on = None

COLUMNS = ["unit_id", "status", "ack_due_at", "action_due_at", "first_action_at"]


def upgrade() -> None:
    op.create_index("ix_referrals_unit_deadlines", "referrals", COLUMNS, if_not_exists=True)
    op.drop_index("ix_referrals_unit_status", table_name="referrals")


def downgrade() -> None:
    op.create_index("ix_referrals_unit_status", "referrals", ["unit_id", "status"])
    op.drop_index("ix_referrals_unit_deadlines", table_name="referrals")
