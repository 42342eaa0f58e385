"""The endpoint policy after each package registers its own table (issue 15): who may reach
each endpoint is exactly what the single table in core/permissions.py said before, and an
endpoint in no table is refused to everyone (deny by default)."""

from __future__ import annotations

import pytest
from flask import Flask

from core import permissions
from core.access import public_endpoints
from core.roles import Role

# The table as it stood in core/permissions.py (plus the packages' own additions) before the
# packages registered theirs: endpoint -> the roles that may reach it.
BEFORE: dict[str, set[str]] = {
    "admin.confirm_disable": {"admin"},
    "admin.confirm_reset_password": {"admin"},
    "admin.confirm_reset_second_factor": {"admin"},
    "admin.confirm_revoke_token": {"admin"},
    "admin.disable_user": {"admin"},
    "admin.edit_user": {"admin"},
    "admin.enable_user": {"admin"},
    "admin.end_user_session": {"admin"},
    "admin.end_user_sessions": {"admin"},
    "admin.new_token": {"admin"},
    "admin.new_user": {"admin"},
    "admin.reset_password": {"admin"},
    "admin.reset_second_factor": {"admin"},
    "admin.revoke_token": {"admin"},
    "admin.tokens": {"admin"},
    "admin.user_sessions": {"admin"},
    "admin.users": {"admin"},
    "api.audit_verify": {"auditor", "supervisor"},
    "api.claim_text_report": {"operator", "supervisor"},
    "api.close_text_report": {"operator", "supervisor"},
    "api.convert_text_report": {"operator", "supervisor"},
    "api.create_contact": {"operator", "supervisor"},
    "api.get_case": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.get_contact": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.get_referral": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.get_text_report": {"operator", "supervisor"},
    "api.list_referrals": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.list_text_reports": {"operator", "supervisor"},
    "api.list_users": {"admin"},
    "api.me": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "api.reconciliation_act": {"agency_head", "supervisor"},
    "api.referral_accept": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_acknowledge": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_complete": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_decline": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_note": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_override": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_record_action": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_reroute": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.referral_transfer": {"agency_head", "agency_staff", "operator", "supervisor"},
    "api.release_text_report": {"operator", "supervisor"},
    "api.reply_text_report": {"operator", "supervisor"},
    "api.risk_group_register": {"agency_head", "auditor", "supervisor"},
    "api.route_facts": {"operator", "supervisor"},
    "api.search_cases": {"operator", "supervisor"},
    "api.search_cases_post": {"operator", "supervisor"},
    "api.sign_reconciliation_act": {"agency_head"},
    "auth.end_my_other_sessions": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "auth.end_my_session": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "auth.logout": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "auth.my_sessions": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "auth.password": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "core.home": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "handoffs.act": {"agency_head", "agency_staff", "operator", "supervisor"},
    "handoffs.close_case": {"operator", "supervisor"},
    "handoffs.inbox": {"agency_head", "agency_staff"},
    "handoffs.notifications": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "handoffs.read_notifications": {"admin", "agency_head", "agency_staff", "auditor", "operator", "supervisor"},
    "handoffs.referral_page": {"agency_head", "agency_staff", "operator", "supervisor"},
    "handoffs.reopen_case": {"supervisor"},
    "handoffs.reroute_list": {"supervisor"},
    "intake.apply_routing": {"operator", "supervisor"},
    "intake.autosave": {"operator", "supervisor"},
    "intake.case_page": {"agency_head", "agency_staff", "operator", "supervisor"},
    "intake.cases": {"operator", "supervisor"},
    "intake.correct_case": {"operator", "supervisor"},
    "intake.discard_draft": {"operator", "supervisor"},
    "intake.lookup": {"operator", "supervisor"},
    "intake.new_contact": {"operator", "supervisor"},
    "intake.preview": {"operator", "supervisor"},
    "registers.child_history": {"agency_head", "auditor", "supervisor"},
    "registers.reconciliation": {"agency_head", "supervisor"},
    "registers.reconciliation_pdf": {"agency_head", "supervisor"},
    "registers.risk_group": {"agency_head", "auditor", "supervisor"},
    "registers.sign": {"agency_head"},
    "reports.download": {"supervisor"},
    "reports.export": {"supervisor"},
    "reports.export_list": {"supervisor"},
    "reports.export_page": {"supervisor"},
    "reports.report": {"supervisor"},
    "reports.submission_list": {"supervisor"},
    "reports.submit": {"supervisor"},
    "retention.change_legal_hold": {"supervisor"},
    "retention.legal_hold": {"supervisor"},
    "retention.legal_holds": {"supervisor"},
    "routing_admin.activate_unit": {"admin"},
    "routing_admin.algorithm": {"admin"},
    "routing_admin.calendar": {"admin"},
    "routing_admin.deactivate_unit": {"admin"},
    "routing_admin.edit_unit": {"admin"},
    "routing_admin.new_unit": {"admin"},
    "routing_admin.publish": {"admin"},
    "routing_admin.review_bundled": {"admin"},
    "routing_admin.units": {"admin"},
    "routing_admin.upload": {"admin"},
    "routing_admin.version": {"admin"},
    "routing_admin.versions": {"admin"},
    "supervision.access_log": {"auditor", "supervisor"},
    "supervision.audit_verify_page": {"auditor", "supervisor"},
    "supervision.break_glass": {"supervisor"},
    "supervision.dashboard": {"supervisor"},
    "supervision.find_access_log": {"auditor", "supervisor"},
    "supervision.find_case": {"supervisor"},
    "supervision.routing": {"supervisor"},
    "supervision.routing_audit": {"supervisor"},
    "text_reports.claim": {"operator", "supervisor"},
    "text_reports.close": {"operator", "supervisor"},
    "text_reports.poster": {"admin", "supervisor"},
    "text_reports.queue": {"operator", "supervisor"},
    "text_reports.release": {"operator", "supervisor"},
    "text_reports.reply": {"operator", "supervisor"},
    "text_reports.report_page": {"operator", "supervisor"},
    "text_reports.rotate": {"admin", "supervisor"},
    "text_reports.schools": {"admin", "supervisor"},
}
PUBLIC_BEFORE = {
    "api.openapi_json",
    "api.public_create_report",
    "api.public_report_message",
    "api.public_report_thread",
    "auth.enrol",
    "auth.login",
    "auth.second_factor",
    "health.healthz",
    "i18n.choose_language",
    "static",
    "text_public.exit_page",
    "text_public.message",
    "text_public.report_page",
    "text_public.submit_report",
    "text_public.thread",
}


def test_the_registered_tables_say_what_the_single_table_said(app: Flask) -> None:
    merged = {name: {role.value for role in roles}
              for name, roles in permissions.ENDPOINT_ROLES.items()}
    assert merged == BEFORE
    assert public_endpoints() == PUBLIC_BEFORE


def test_core_names_no_endpoint_of_intake_or_referrals() -> None:
    blueprints = {name.split(".")[0] for name in permissions.CORE_ENDPOINT_ROLES}
    assert blueprints == {"core", "auth", "api", "admin"}
    assert not {name for name in permissions.CORE_ENDPOINT_ROLES if name.startswith("api.")} - {
        "api.me", "api.list_users", "api.audit_verify"}


@pytest.mark.parametrize("role", list(Role))
def test_an_endpoint_in_no_table_is_reached_by_no_role(app: Flask, role: Role) -> None:
    assert not permissions.may_reach(role.value, "probe.not_registered")


def test_a_package_cannot_change_an_endpoint_another_declared(app: Flask) -> None:
    with pytest.raises(ValueError, match="declared twice"):
        permissions.register_endpoints({"handoffs.inbox": permissions.ADMIN_ONLY})
    assert permissions.ENDPOINT_ROLES["handoffs.inbox"] == permissions.UNIT_STAFF
