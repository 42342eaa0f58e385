"""The index the monthly aggregation leans on (created by migration ``reports_tables``):
a month's contacts by their time of receipt, whatever their type."""

from __future__ import annotations

from sqlalchemy import Index

from intake.models import Contact

CONTACTS_RECEIVED = Index("ix_contacts_received_at", Contact.received_at)
