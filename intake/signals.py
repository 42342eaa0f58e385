"""Intake announces what happened; the referrals side listens (architecture.md).

Receivers run inside the submitting transaction, so the contact, the case, the decision and the
referrals commit together or not at all.
"""

from blinker import Namespace

signals = Namespace()

# sender: the Flask app; kwargs: submission (intake.service.Submission)
case_submitted = signals.signal("case-submitted")

# sender: the Flask app; kwargs: case, decision, decision_row, services, actor, now
referrals_requested = signals.signal("referrals-requested")

# sender: the Flask app; kwargs: report (intake.text.models.TextReport), now. Sent inside the
# transaction that found the risk, so the supervisors' notifications commit with the report.
text_report_urgent = signals.signal("text-report-urgent")
