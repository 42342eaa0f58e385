"""supervision: break-the-glass grants and the indexes of the supervisor's dashboard

Revision ID: d1supervis01
Revises: c1handoffs01
Create Date: 2026-11-22 12:00:00

Hand-written to match core/models/break_glass.py and referrals/supervision/indexes.py.
``break_glass_grants`` keeps every time-limited opening of a case outside a supervisor's scope
(the reason encrypted, like every free text); ``case_id`` has no foreign key because core never
depends on the feature packages. ``ix_referrals_created_at`` and ``ix_referrals_region_created``
serve the handoff timing and breach rates, which read the referrals created in a chosen period
(of every region, or of one); the two partial indexes hold only what the live queues count
(referrals awaiting acknowledgement or action, declined mandatory ones; open cases) with every
column those queries read, so PostgreSQL answers them from the index alone.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "d1supervis01"
down_revision = "c1handoffs01"
branch_labels = None
depends_on = None

# The partial indexes' predicates (referrals/supervision/indexes.py), copied, not imported: a
# migration must keep meaning what it meant when it was written.
OPEN_QUEUE_WHERE = ("status IN ('sent', 'unassigned') "
                    "OR (status IN ('acknowledged', 'accepted') AND first_action_at IS NULL) "
                    "OR (status = 'declined' AND mandatory)")
OPEN_CASE_WHERE = "status = 'open'"


def upgrade():
    op.create_table('break_glass_grants',
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.LargeBinary(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_break_glass_grants_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_break_glass_grants'))
    )
    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_break_glass_grants_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_break_glass_grants_user_expires', ['user_id', 'expires_at'], unique=False)

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_referrals_region_created', ['region', 'created_at'], unique=False)
        batch_op.create_index('ix_referrals_open_queue',
                              ['agency', 'district', 'status', 'ack_due_at', 'action_due_at',
                               'first_action_at', 'mandatory', 'region'], unique=False,
                              postgresql_where=sa.text(OPEN_QUEUE_WHERE),
                              sqlite_where=sa.text(OPEN_QUEUE_WHERE))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_open_region_urgency', ['region', 'urgency'], unique=False,
                              postgresql_where=sa.text(OPEN_CASE_WHERE),
                              sqlite_where=sa.text(OPEN_CASE_WHERE))


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_open_region_urgency')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_open_queue')
        batch_op.drop_index('ix_referrals_region_created')
        batch_op.drop_index('ix_referrals_created_at')

    with op.batch_alter_table('break_glass_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_break_glass_grants_user_expires')
        batch_op.drop_index(batch_op.f('ix_break_glass_grants_case_id'))

    op.drop_table('break_glass_grants')
