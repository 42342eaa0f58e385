"""The policy: every "may this user do this to that?" in Senim is answered here.

Pure predicates over users and records (no database access, no Flask), used by the web views,
the API and the CLI alike; list queries apply the same rules in SQL through the scopes that the
feature packages build from ``case_scope`` below. Templates only use these to hide controls.

Deny by default: an endpoint that is not in ``ENDPOINT_ROLES`` (or public) answers 403 to every
signed-in user, and a test fails when an endpoint is missing from the table. Core lists its own
endpoints here; each feature package adds its table with ``register_endpoints`` when it
registers its blueprints, so core names no endpoint of intake or referrals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from core.roles import HELPLINE_ROLES, UNIT_ROLES, Role

ALL_STAFF = frozenset(Role)
HELPLINE = frozenset(HELPLINE_ROLES)
UNIT_STAFF = frozenset(UNIT_ROLES)
ADMIN_ONLY = frozenset({Role.ADMIN})

# Who may reach each endpoint at all. Object-level rules (which case, which referral) follow
# in the predicates below. Public endpoints are listed in core/access.py (and declared there
# by the feature packages).
AUDIT_READERS = frozenset({Role.AUDITOR, Role.SUPERVISOR})
# Who reads cases and referrals at all (object rules follow: region, unit).
CASE_READERS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.AGENCY_STAFF, Role.AGENCY_HEAD})
SUPERVISORS = frozenset({Role.SUPERVISOR})

# Core's own endpoints; ENDPOINT_ROLES below is this plus what the packages register.
CORE_ENDPOINT_ROLES: Mapping[str, frozenset[Role]] = MappingProxyType({
    "core.home": ALL_STAFF,
    "auth.logout": ALL_STAFF,
    "auth.password": ALL_STAFF,
    "api.me": ALL_STAFF,
    "api.list_users": ADMIN_ONLY,
    "api.audit_verify": AUDIT_READERS,
    # -- administration of users and tokens (core/admin) --
    "admin.users": ADMIN_ONLY,
    "admin.new_user": ADMIN_ONLY,
    "admin.edit_user": ADMIN_ONLY,
    "admin.confirm_disable": ADMIN_ONLY,
    "admin.disable_user": ADMIN_ONLY,
    "admin.enable_user": ADMIN_ONLY,
    "admin.confirm_reset_second_factor": ADMIN_ONLY,
    "admin.reset_second_factor": ADMIN_ONLY,
    "admin.confirm_reset_password": ADMIN_ONLY,
    "admin.reset_password": ADMIN_ONLY,
    "admin.tokens": ADMIN_ONLY,
    "admin.new_token": ADMIN_ONLY,
    "admin.confirm_revoke_token": ADMIN_ONLY,
    "admin.revoke_token": ADMIN_ONLY,
})
ENDPOINT_ROLES: dict[str, frozenset[Role]] = dict(CORE_ENDPOINT_ROLES)


def register_endpoints(table: dict[str, frozenset[Role]]) -> None:
    """Feature packages declare their endpoints' roles; a duplicate is a programming error."""
    clash = ENDPOINT_ROLES.keys() & table.keys()
    if clash and any(ENDPOINT_ROLES[name] != table[name] for name in clash):
        raise ValueError(f"endpoint policy declared twice: {sorted(clash)}")
    ENDPOINT_ROLES.update(table)


def may_reach(role: str, endpoint: str) -> bool:
    allowed = ENDPOINT_ROLES.get(endpoint)
    return allowed is not None and Role(role) in allowed


class UserLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def unit_id(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


class UnitLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def agency(self) -> str: ...


class CaseLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def region(self) -> str | None: ...
    @property
    def referral_unit_ids(self) -> Iterable[str]: ...


class GrantLike(Protocol):
    """A break-the-glass grant (core.models.BreakGlassGrant)."""

    @property
    def user_id(self) -> str: ...
    @property
    def case_id(self) -> str: ...
    @property
    def granted_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...


class ReferralLike(Protocol):
    @property
    def unit_id(self) -> str | None: ...


# ---- cases ---------------------------------------------------------------------------------


def helpline_sees_region(user: UserLike, region: str | None) -> bool:
    """Helpline staff see the helpline's cases, limited to their region when they have one."""
    return user.region is None or region is None or user.region == region


def can_view_case(user: UserLike, case: CaseLike, grants: Iterable[GrantLike] = (),
                  now: datetime | None = None) -> bool:
    """``grants`` and ``now``: the user's break-the-glass grants and the moment to judge them
    at. Only the reading of a case honours them; editing, reopening and referral actions are
    asked without grants, so break-the-glass never lets a supervisor act outside their scope."""
    if not user.active:
        return False
    role = Role(user.role)
    if role in HELPLINE:
        return helpline_sees_region(user, case.region) or has_break_glass(user, case, grants, now)
    if role in UNIT_STAFF:
        return user.unit_id is not None and user.unit_id in set(case.referral_unit_ids)
    return False  # admins and auditors never read case contents


def can_edit_case(user: UserLike, case: CaseLike) -> bool:
    """Corrections, follow-ups and closing are the helpline's (routing.md §8)."""
    return Role(user.role) in HELPLINE and can_view_case(user, case)


def can_reopen_case(user: UserLike, case: CaseLike) -> bool:
    return Role(user.role) is Role.SUPERVISOR and can_view_case(user, case)


def can_submit_contact(user: UserLike) -> bool:
    return user.active and Role(user.role) in HELPLINE


def can_view_caseless_contact(user: UserLike, region: str | None) -> bool:
    """A contact that opened no case (information, feedback, silent…): the helpline's, within
    the reader's region like a case (``region``: the child's, else the receiving desk's)."""
    return can_submit_contact(user) and helpline_sees_region(user, region)


def can_remove_mandatory_referral(user: UserLike) -> bool:
    return user.active and Role(user.role) is Role.SUPERVISOR


def can_break_glass(user: UserLike) -> bool:
    return user.active and Role(user.role) is Role.SUPERVISOR


def needs_break_glass(user: UserLike, case: CaseLike) -> bool:
    """A supervisor may open this case only through break-the-glass (it is outside their
    scope); False for a case already in scope and for users who may not break the glass."""
    return can_break_glass(user) and not helpline_sees_region(user, case.region)


def has_break_glass(user: UserLike, case: CaseLike, grants: Iterable[GrantLike],
                    now: datetime | None) -> bool:
    """An unexpired grant of this user for this case: granted at or before ``now``, and
    expiring after it (a grant is over at its ``expires_at`` exactly)."""
    if now is None or not can_break_glass(user):
        return False
    return any(grant.user_id == user.id and grant.case_id == case.id
               and grant.granted_at <= now < grant.expires_at for grant in grants)



# ---- referrals (routing.md §8) ----------------------------------------------------------------

# Who may take which action is the transitions table's "who" column
# (referrals/handoffs/transitions.py), the one source; the policy answers the object-level half:
# which referral, which case. An actor kind names a column of that table.
UNIT_STAFF_ACTOR, SUPERVISOR_ACTOR, OPERATOR_ACTOR = "unit_staff", "supervisor", "operator"


def actor_kind(user: UserLike) -> str | None:
    """The table column a user acts in; None for roles that never act on referrals."""
    role = Role(user.role)
    if role in UNIT_STAFF:
        return UNIT_STAFF_ACTOR
    if role is Role.SUPERVISOR:
        return SUPERVISOR_ACTOR
    if role is Role.OPERATOR:
        return OPERATOR_ACTOR
    return None


def is_unit_staff_of(user: UserLike, unit_id: str | None) -> bool:
    return Role(user.role) in UNIT_STAFF and unit_id is not None and user.unit_id == unit_id


def can_view_referral(user: UserLike, referral: ReferralLike, case: CaseLike,
                      grants: Iterable[GrantLike] = (), now: datetime | None = None) -> bool:
    """``grants``/``now`` as for ``can_view_case``: reading only, never acting."""
    if not user.active:
        return False
    if Role(user.role) in UNIT_STAFF:
        return is_unit_staff_of(user, referral.unit_id)
    return can_view_case(user, case, grants, now)


# What a unit sees of another agency's referral on a shared case (security.md §2, "status and
# outcome only"): which agency it went to, and how it stands. Not its service (police must not
# learn of "health.forensic_exam"), unit, deadlines, rules, events or notes.
OTHER_AGENCY_REFERRAL_FIELDS = frozenset({"id", "case_id", "agency", "status", "outcome"})


def sees_referral_in_full(user: UserLike, referral: ReferralLike) -> bool:
    """Another agency's referral shows only ``OTHER_AGENCY_REFERRAL_FIELDS`` (security.md §2):
    not its service, unit, deadlines, events or notes. The helpline sees every referral in
    full. Pages, the API and the case timeline all ask this one question."""
    if Role(user.role) in HELPLINE:
        return True
    return user.unit_id is not None and user.unit_id == referral.unit_id


def can_read_note(user: UserLike, reader_agency: str | None, author_agency: str | None) -> bool:
    """Notes on a referral (security.md §2): the helpline reads every note; a unit reads the
    helpline's (no author agency) and its own agency's, never another agency's."""
    if Role(user.role) in HELPLINE:
        return True
    return author_agency is None or author_agency == reader_agency


def can_transition(user: UserLike, referral: ReferralLike, case: CaseLike,
                   who: Iterable[str]) -> bool:
    """Whether the user may attempt an action whose table row allows the actor kinds ``who``;
    whether the state allows it is the state machine's question (409), asked after this one
    (403/404). Unit staff act on their own unit's referrals, the helpline on cases it sees."""
    kind = actor_kind(user)
    if not user.active or kind is None or kind not in set(who):
        return False
    if kind == UNIT_STAFF_ACTOR:
        return is_unit_staff_of(user, referral.unit_id)
    return can_view_case(user, case)


# ---- what each agency sees of a case (security.md §2) ----------------------------------------

CHILD_IDENTITY = frozenset({"child.name", "child.age", "child.sex", "child.address", "child.iin"})
CASE_FACTS = frozenset({"categories", "urgency", "flags", "place", "perpetrator.relation",
                        "summary"})
CALLER_CONTACT = frozenset({"caller.name", "caller.phone"})
# Risk-group flags that only some agencies need to know (the one place this is written down):
# each sensitive flag with the agencies that may see it, on case pages and in the risk-group
# register alike. The helpline (operators, supervisors) sees every flag; a flag not listed here
# is seen by every agency that sees the child. Medical facts are health's; a minor's pregnancy
# is also for the police (sexual-integrity offences, WKO item 30) and education (guardianship).
SENSITIVE_RISK_FLAGS: dict[str, frozenset[str]] = {
    "pregnancy": frozenset({"health", "police", "education"}),
    "mental_illness": frozenset({"health"}),
    "hiv_sti": frozenset({"health"}),
    "substance_dependence": frozenset({"health"}),
    "parental_sexual_deviation": frozenset({"health"}),
}
HEALTH_ONLY_RISK_FLAGS = frozenset(flag for flag, agencies in SENSITIVE_RISK_FLAGS.items()
                                   if agencies == {"health"})


def risk_flags_hidden_from(agency: str | None) -> frozenset[str]:
    """The sensitive flags an agency's staff may not see (all of them without an agency)."""
    return frozenset(flag for flag, agencies in SENSITIVE_RISK_FLAGS.items()
                     if agency not in agencies)
AGENCIES_SEEING_SCHOOL = frozenset({"police", "education", "commission"})


@dataclass(frozen=True)
class FieldView:
    """The personal fields and risk flags a viewer may see; everything else stays hidden."""

    fields: frozenset[str]
    hidden_risk_flags: frozenset[str]
    other_referrals: str  # "full" or "status_outcome"
    other_agencies_notes: bool

    def shows(self, field: str) -> bool:
        return field in self.fields

    def risk_flags(self, flags: Iterable[str]) -> list[str]:
        return [flag for flag in flags if flag not in self.hidden_risk_flags]


HELPLINE_VIEW = FieldView(
    fields=CHILD_IDENTITY | CASE_FACTS | CALLER_CONTACT | {"child.school", "caller.relation"},
    hidden_risk_flags=frozenset(), other_referrals="full", other_agencies_notes=True,
)


def agency_view(agency: str, caller_consented: bool) -> FieldView:
    fields = set(CHILD_IDENTITY | CASE_FACTS)
    if agency in AGENCIES_SEEING_SCHOOL:
        fields.add("child.school")
    if caller_consented:
        fields |= CALLER_CONTACT
    return FieldView(
        fields=frozenset(fields),
        hidden_risk_flags=risk_flags_hidden_from(agency),
        other_referrals="status_outcome",
        other_agencies_notes=False,
    )


def field_view(user: UserLike, unit: UnitLike | None, caller_consented: bool) -> FieldView | None:
    """None: the user sees nothing of the case."""
    role = Role(user.role)
    if role in HELPLINE:
        return HELPLINE_VIEW
    if role in UNIT_STAFF and unit is not None:
        return agency_view(unit.agency, caller_consented)
    return None


# ---- administration and audit ---------------------------------------------------------------


def can_administer(user: UserLike) -> bool:
    return user.active and Role(user.role) is Role.ADMIN


def can_read_access_log(user: UserLike, case: CaseLike, grants: Iterable[GrantLike] = (),
                        now: datetime | None = None) -> bool:
    """Who looked at a case: auditors for every case (they see the log, never the case's
    contents); supervisors for the cases they may view."""
    if not user.active:
        return False
    role = Role(user.role)
    if role is Role.AUDITOR:
        return True
    return role is Role.SUPERVISOR and can_view_case(user, case, grants, now)


# ---- the anonymous school channel (issue 12) -------------------------------------------------


def can_handle_text_report(user: UserLike, region: str | None) -> bool:
    """Anonymous text reports are the helpline's, within the reader's region like a case."""
    return can_submit_contact(user) and helpline_sees_region(user, region)


def can_manage_schools(user: UserLike) -> bool:
    """The school directory, its posters and token rotation: administrators and supervisors."""
    return user.active and Role(user.role) in {Role.ADMIN, Role.SUPERVISOR}


# ---- the risk-group register and the reconciliation act (issue 11) ----------------------------

REGISTER_READERS = frozenset({Role.SUPERVISOR, Role.AGENCY_HEAD, Role.AUDITOR})
# interfaces.md: identities in the register only for supervisors and heads of these agencies.
REGISTER_IDENTITY_AGENCIES = frozenset({"education", "health"})
# The agencies that reconcile monthly (WKO item 30) and sign the act.
RECONCILING_AGENCIES = ("health", "police", "education")
RECONCILIATION_READERS = frozenset({Role.SUPERVISOR, Role.AGENCY_HEAD})
RECONCILIATION_SIGNERS = frozenset({Role.AGENCY_HEAD})


class PlacedUnitLike(Protocol):
    @property
    def agency(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def district(self) -> str | None: ...


@dataclass(frozen=True)
class RegisterView:
    """What one reader gets of the risk-group register of one region."""

    items: bool            # the list of children at all (auditors: counts only)
    identities: bool       # names and IINs in the list
    hidden_flags: frozenset[str]  # neither counted, listed nor filterable for this reader
    district: str | None   # the only district this reader may see (None: the whole region)

    def flags(self, codes: Iterable[str]) -> list[str]:
        return [code for code in codes if code not in self.hidden_flags]


def register_view(user: UserLike, unit: PlacedUnitLike | None, region: str) -> RegisterView | None:
    """None: the register of ``region`` is not visible to this user (404 on the API).

    Supervisors see their region (or every region) with identities and every flag; a unit's
    head sees the region of their unit (a district unit's head: that district only), with
    identities for education and health heads and the flags their agency may see; auditors
    see the counts of every region and flag, never a child."""
    if not user.active:
        return None
    role = Role(user.role)
    if role is Role.SUPERVISOR and helpline_sees_region(user, region):
        return RegisterView(items=True, identities=True, hidden_flags=frozenset(), district=None)
    if role is Role.AUDITOR:
        return RegisterView(items=False, identities=False, hidden_flags=frozenset(),
                            district=None)
    if role is Role.AGENCY_HEAD and unit is not None and unit.region == region:
        return RegisterView(items=True, identities=unit.agency in REGISTER_IDENTITY_AGENCIES,
                            hidden_flags=risk_flags_hidden_from(unit.agency),
                            district=unit.district)
    return None


def can_read_reconciliation(user: UserLike, unit: PlacedUnitLike | None, region: str) -> bool:
    """Supervisors of the region (or of every region); heads of the region's health, police
    and education units, district units included."""
    if not user.active:
        return False
    role = Role(user.role)
    if role is Role.SUPERVISOR:
        return helpline_sees_region(user, region)
    return (role is Role.AGENCY_HEAD and unit is not None and unit.region == region
            and unit.agency in RECONCILING_AGENCIES)


def can_sign_reconciliation(user: UserLike, unit: PlacedUnitLike | None, region: str) -> bool:
    """Only the head of a region-level (not district) health, police or education unit of the
    region signs, once for their agency (the once is the act's rule, 409)."""
    return (can_read_reconciliation(user, unit, region) and Role(user.role) is Role.AGENCY_HEAD
            and unit is not None and unit.district is None)


# ---- reports upward, exports and retention (issue 11) ------------------------------------------
#
# Reports upward (decree §2–3) are written by the helpline's supervisors: a regional supervisor
# reads and submits their region's report; a supervisor of the whole helpline (no region) reads
# every region's and the country's, and submits the country's report (the ministry's, to the
# Government). Nobody submits another region's report. Exports are the supervisors' too; the
# report exports hold aggregates only, so no role receives identities through them.

NATIONAL_SCOPE = "KZ"  # the country as a report's scope (referrals.reports.models.NATIONAL)
EXPORT_ROLES: dict[str, frozenset[Role]] = {"report": SUPERVISORS}
# Export kinds that carry identities, and the roles that need them there: none today (every
# export is of aggregates); a kind listed here must also say so on its page.
IDENTITY_EXPORTS: dict[str, frozenset[Role]] = {}


def can_read_report(user: UserLike, region: str | None) -> bool:
    """``region`` None: the whole country."""
    if not user.active or Role(user.role) is not Role.SUPERVISOR:
        return False
    return user.region is None or user.region == region


def can_submit_report(user: UserLike, scope: str) -> bool:
    """``scope``: a region code, or ``NATIONAL_SCOPE``. Only the scope's own supervisor."""
    if not user.active or Role(user.role) is not Role.SUPERVISOR:
        return False
    if scope == NATIONAL_SCOPE:
        return user.region is None
    return user.region == scope


def can_export(user: UserLike, kind: str) -> bool:
    return user.active and Role(user.role) in EXPORT_ROLES.get(kind, frozenset())


def export_includes_identities(user: UserLike, kind: str) -> bool:
    """Exports are de-identified unless the role needs identities for that kind."""
    return can_export(user, kind) and Role(user.role) in IDENTITY_EXPORTS.get(kind, frozenset())


def can_download_export(user: UserLike, requested_by: str) -> bool:
    """An export's file is its requester's alone (it was scoped to them)."""
    return user.active and user.id == requested_by


def can_manage_legal_hold(user: UserLike, case: CaseLike) -> bool:
    """Legal holds (retention): a supervisor, on a case in their scope (no break-the-glass)."""
    return user.active and Role(user.role) is Role.SUPERVISOR and can_view_case(user, case)


def can_list_legal_holds(user: UserLike) -> bool:
    return user.active and Role(user.role) is Role.SUPERVISOR
