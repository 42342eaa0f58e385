"""routing: published algorithm versions and the calendar's decree transfers (routing.md §4)

Revision ID: b1routing001
Revises: 3ffb931896e9
Create Date: 2026-11-22 10:00:00

Hand-written to match referrals/models.py. ``algorithm_versions`` keeps every published
document, so a decision can always be explained by the version that made it; the partial unique
index lets at most one row be current, even when two administrators publish at the same moment.
``calendar_days_off`` holds the days off administrators add on top of core/data/holidays-KZ.csv.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b1routing001"
down_revision = "3ffb931896e9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('algorithm_versions',
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=36), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['published_by'], ['users.id'], name=op.f('fk_algorithm_versions_published_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_algorithm_versions')),
    sa.UniqueConstraint('digest', name=op.f('uq_algorithm_versions_digest')),
    sa.UniqueConstraint('version', name=op.f('uq_algorithm_versions_version'))
    )
    with op.batch_alter_table('algorithm_versions', schema=None) as batch_op:
        batch_op.create_index('uq_algorithm_versions_one_current', ['is_current'], unique=True,
                              sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))

    op.create_table('calendar_days_off',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('added_by', sa.String(length=36), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.CheckConstraint("kind IN ('transfer', 'holiday')", name=op.f('ck_calendar_days_off_kind')),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_calendar_days_off_added_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days_off')),
    sa.UniqueConstraint('date', name=op.f('uq_calendar_days_off_date'))
    )


def downgrade():
    op.drop_table('calendar_days_off')
    with op.batch_alter_table('algorithm_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_algorithm_versions_one_current')

    op.drop_table('algorithm_versions')
