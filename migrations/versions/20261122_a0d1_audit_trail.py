"""audit trail: the hash-chained, append-only audit table (security.md §3)

Revision ID: a0d1audit001
Revises: fe2b4bf927bf
Create Date: 2026-11-22 09:00:00

Hand-written. On PostgreSQL a statement-level trigger refuses UPDATE, DELETE and TRUNCATE on
``audit_entries`` for every role, the owner included; the application's own role should in
addition hold only INSERT and SELECT on the table (deployment grants, not this migration, since
the role's name belongs to the deployment). SQLite has no trigger: the application's mapper
refuses changes there, and verification detects what is done behind its back.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "a0d1audit001"
down_revision = "fe2b4bf927bf"
branch_labels = None
depends_on = None

REFUSE_FUNCTION = """
CREATE FUNCTION audit_entries_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_entries is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'The audit trail can only be added to (security.md §3).';
END;
$$
"""

# FOR EACH STATEMENT: refuses even an UPDATE or DELETE that matches no row, and is the only
# level TRUNCATE triggers have.
REFUSE_TRIGGER = """
CREATE TRIGGER audit_entries_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse_change()
"""


def upgrade():
    op.create_table('audit_entries',
    sa.Column('sequence', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('actor_username', sa.String(length=64), nullable=True),
    sa.Column('actor_role', sa.String(length=20), nullable=True),
    sa.Column('unit_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('fields', sa.Text(), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=32), nullable=True),
    sa.Column('client_address', sa.String(length=45), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entries_unit_id'), ['unit_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_FUNCTION)
        op.execute(REFUSE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_refuse_change()")

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_unit_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entries_action'))
        batch_op.drop_index('ix_audit_entries_object')

    op.drop_table('audit_entries')
