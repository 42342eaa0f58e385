"""escalation flags with their partial indexes, and snapshots of the supervisor's figures

Revision ID: perf_sweep_snapshots
Revises: security_sessions
Create Date: 2026-12-03 13:00:00

Issue 13. ``referrals.ack_escalated`` / ``action_escalated`` say which levels were raised, so
that partial indexes hold only the referrals still to escalate: on three million referrals the
sweep reads those, not the backlog escalated long ago. Existing rows take their flags from
``referral_escalations``. ``supervision_timing_snapshots`` keeps the dashboard's long-period
figures (referrals/supervision/snapshots.py).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "perf_sweep_snapshots"
down_revision = "security_sessions"
branch_labels = None
depends_on = None

# As in referrals/handoffs/models.py (migrations never import application code).
ACK_DUE_WHERE = "(status = 'sent' OR status = 'unassigned') AND NOT ack_escalated"
ACTION_DUE_WHERE = ("(status = 'accepted' OR status = 'acknowledged' OR status = 'sent' "
                    "OR status = 'unassigned') "
                    "AND first_action_at IS NULL AND NOT action_escalated")


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("ack_escalated", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("action_escalated", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.execute("UPDATE referrals SET ack_escalated = true WHERE id IN "
               "(SELECT referral_id FROM referral_escalations WHERE level = 1)")
    op.execute("UPDATE referrals SET action_escalated = true WHERE id IN "
               "(SELECT referral_id FROM referral_escalations WHERE level = 2)")
    op.create_index("ix_referrals_ack_escalation_due", "referrals", ["ack_due_at", "id"],
                    postgresql_where=sa.text(ACK_DUE_WHERE), sqlite_where=sa.text(ACK_DUE_WHERE))
    op.create_index("ix_referrals_action_escalation_due", "referrals", ["action_due_at", "id"],
                    postgresql_where=sa.text(ACTION_DUE_WHERE),
                    sqlite_where=sa.text(ACTION_DUE_WHERE))
    op.create_table(
        "supervision_timing_snapshots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_timing_snapshots")),
        sa.UniqueConstraint("scope", "period_start", "period_end",
                            name=op.f("uq_supervision_timing_snapshots_scope")),
    )


def downgrade() -> None:
    op.drop_table("supervision_timing_snapshots")
    op.drop_index("ix_referrals_action_escalation_due", table_name="referrals")
    op.drop_index("ix_referrals_ack_escalation_due", table_name="referrals")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("action_escalated")
        batch.drop_column("ack_escalated")
