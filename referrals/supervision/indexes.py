"""Indexes the supervisor's figures need on tables other packages own.

Declared here, beside the queries that use them, and created by the supervision migration
(``d1supervis01``), so that the models and the migrations stay in step (tests/core/
test_migrations.py) without the supervision pages reaching into other packages' model files.

The two partial indexes hold only what the live queues count (open cases; referrals awaiting
acknowledgement, open ones with no action yet, declined mandatory ones), so they stay small
while the tables grow, and they carry every column their queries read: PostgreSQL answers those
from the index alone. The queries repeat the predicates
with inline constants (``stats.OPEN_QUEUE``, ``stats.CASE_IS_OPEN``) so that the planner can
prove them, prepared statement or not.
"""

from __future__ import annotations

from sqlalchemy import Index, text

from intake.models import Case
from referrals.handoffs.models import Referral

# The predicates, exactly as the migration writes them.
OPEN_QUEUE_WHERE = ("status IN ('sent', 'unassigned') "
                    "OR (status IN ('acknowledged', 'accepted') AND first_action_at IS NULL) "
                    "OR (status = 'declined' AND mandatory)")
OPEN_CASE_WHERE = "status = 'open'"

# Live queues: referrals by agency and district, with what "awaiting" and "overdue" look at.
REFERRALS_OPEN_QUEUE = Index(
    "ix_referrals_open_queue", Referral.agency, Referral.district, Referral.status,
    Referral.ack_due_at, Referral.action_due_at, Referral.first_action_at, Referral.mandatory,
    Referral.region,
    postgresql_where=text(OPEN_QUEUE_WHERE), sqlite_where=text(OPEN_QUEUE_WHERE))

# Open cases by urgency, for every region or one.
CASES_OPEN_BY_REGION = Index(
    "ix_cases_open_region_urgency", Case.region, Case.urgency,
    postgresql_where=text(OPEN_CASE_WHERE), sqlite_where=text(OPEN_CASE_WHERE))

# Handoff timing and breach rates over a period: the referrals created in it, of every region
# or of one.
REFERRALS_CREATED = Index("ix_referrals_created_at", Referral.created_at)
REFERRALS_REGION_CREATED = Index("ix_referrals_region_created", Referral.region, Referral.created_at)
