"""intake: the reasons for changing a routing proposal, encrypted apart from the codes

Revision ID: e1changereas
Revises: d1supervis01
Create Date: 2026-11-29 03:00:00

An operator's reason for removing or adding a referral is free text that may name people; it
moves out of the clear JSON ``routing_decisions.changes`` into the encrypted
``change_reasons``. Rows written before keep their reasons where they were (a migration has no
keys to encrypt them with); ``RoutingDecision.referral_changes`` reads both.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "e1changereas"
down_revision = "d1supervis01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.add_column(sa.Column("change_reasons", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.drop_column("change_reasons")
