"""sessions: server-side sign-in sessions, so that sign-out and "end this session" hold

Revision ID: security_sessions
Revises: e1changereas
Create Date: 2026-12-03 12:30:00

Issue 16 item 2: the signed cookie names a row here (by the SHA-256 of its secret); a session
ended at sign-out, by its user or by an administrator stops working at once.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "security_sessions"
down_revision = "e1changereas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=20), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_user_sessions_secret_hash")),
    )
    with op.batch_alter_table("user_sessions") as batch:
        batch.create_index(batch.f("ix_user_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_sessions") as batch:
        batch.drop_index(batch.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
