"""SLA clocks and escalation (routing.md §8) with an injected clock: just before and just after
each deadline, P1/P2/P3 (working days), the recipients of each level, exactly once per level,
also when two sweeps run at the same moment on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.clock import FrozenClock
from core.extensions import db
from core.models import User
from referrals.handoffs import escalation
from referrals.handoffs.cli import referrals_cli
from referrals.handoffs.models import Referral, ReferralEscalation
from referrals.handoffs.notification_models import Notification
from tests.referrals.handoffs.conftest import Acting, People, referral
from tests.referrals.handoffs.sweeps import POLICE, levels, sweep_at

ALMATY = ZoneInfo("Asia/Almaty")
SECOND = timedelta(seconds=1)


def notified(kind: str) -> set[str]:
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


# (urgency case, service under test, submitted changes, expected ack and action delays)
URGENCIES: dict[str, tuple[str, dict[str, Any], timedelta, timedelta]] = {
    "P1": (POLICE, {"flags": ["immediate_danger"]}, timedelta(minutes=15), timedelta(hours=2)),
    "P2": (POLICE, {}, timedelta(hours=4), timedelta(hours=24)),
    # Bullying by a peer: P3, education.school; submitted on Friday 20 November 2026 at 10:00,
    # one working day is Monday 23 November 10:00, three are Wednesday 25 November 10:00.
    "P3": ("education.school", {"categories": ["violence.bullying"], "urgency": "P3",
                                "perpetrator": {"relation": "peer", "lives_with_child": False},
                                "place": "school"},
           datetime(2026, 11, 23, 10, tzinfo=ALMATY) - datetime(2026, 11, 20, 10, tzinfo=ALMATY),
           datetime(2026, 11, 25, 10, tzinfo=ALMATY) - datetime(2026, 11, 20, 10, tzinfo=ALMATY)),
}


@pytest.mark.parametrize("urgency", sorted(URGENCIES))
def test_acknowledgement_overdue_escalates_just_after_the_deadline_and_once(
        clock: FrozenClock, people: People, submit: Any, urgency: str) -> None:
    service, changes, ack_delay, _ = URGENCIES[urgency]
    submitted = clock.now()
    referral_id = submit(**changes)["referrals"][service]
    due = referral(referral_id).ack_due_at
    assert due == submitted + ack_delay  # stored at submission, working days included

    assert sweep_at(clock, due - SECOND).total == 0
    assert sweep_at(clock, due).total == 0  # at the deadline it is not yet past
    assert levels(referral_id) == []
    result = sweep_at(clock, due + SECOND)
    assert result.escalated[escalation.ACKNOWLEDGEMENT] >= 1
    assert levels(referral_id) == [1] and referral(referral_id).escalation_level == 1
    assert sweep_at(clock, due + timedelta(minutes=1)).escalated[escalation.ACKNOWLEDGEMENT] == 0
    assert levels(referral_id) == [1]


def test_p3_deadlines_skip_the_weekend(clock: FrozenClock, submit: Any) -> None:
    service, changes, _, _ = URGENCIES["P3"]
    referral_id = submit(**changes)["referrals"][service]
    saturday_evening = datetime(2026, 11, 21, 20, tzinfo=ALMATY)  # 34 hours later
    assert sweep_at(clock, saturday_evening).total == 0
    assert sweep_at(clock, datetime(2026, 11, 23, 9, 59, 59, tzinfo=ALMATY)).total == 0
    assert sweep_at(clock, datetime(2026, 11, 23, 10, 0, 1, tzinfo=ALMATY)).total >= 1
    assert levels(referral_id) == [1]


@pytest.mark.parametrize("urgency", sorted(URGENCIES))
def test_action_overdue_escalates_just_after_the_deadline(
        clock: FrozenClock, people: People, submit: Any, acting: Callable[[User], Acting],
        urgency: str) -> None:
    service, changes, _, action_delay = URGENCIES[urgency]
    submitted = clock.now()
    referral_id = submit(**changes)["referrals"][service]
    staff = people.police if service.startswith("police") else people.education
    acting(staff).act(referral_id, "accept")  # acknowledged in time: level 1 never comes
    due = referral(referral_id).action_due_at
    assert due == submitted + action_delay
    sweep_at(clock, due - SECOND)
    assert levels(referral_id) == []
    sweep_at(clock, due)
    assert levels(referral_id) == []
    sweep_at(clock, due + SECOND)
    assert levels(referral_id) == [2] and referral(referral_id).escalation_level == 2


def test_a_recorded_action_stops_the_action_clock(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    police = acting(people.police)
    police.act(referral_id, "accept")
    police.act(referral_id, "record_action", {"action": "child_seen"})
    sweep_at(clock, referral(referral_id).action_due_at + timedelta(days=3))
    assert levels(referral_id) == []


def test_level_one_goes_to_the_units_heads_and_the_supervisors(
        clock: FrozenClock, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    sweep_at(clock, referral(referral_id).ack_due_at + SECOND)
    got = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_ack", Notification.referral_id == referral_id)))
    assert got == {people.police_head.id, people.supervisor.id}
    # not the staff (they have the referral already), not another region's supervisor


def test_level_two_goes_to_the_districts_commission_and_the_supervisors(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    acting(people.police).act(referral_id, "acknowledge")
    sweep_at(clock, referral(referral_id).action_due_at + SECOND)
    got = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_action", Notification.referral_id == referral_id)))
    assert got == {people.commission_head.id, people.supervisor.id}


def test_a_late_commission_escalates_to_the_regions_commission(
        clock: FrozenClock, people: People, case: dict[str, Any],
        create_user: Callable[..., User]) -> None:
    referral_id = case["referrals"]["commission.case_control"]
    sweep_at(clock, referral(referral_id).action_due_at + SECOND)
    assert levels(referral_id) == [1, 2]  # both deadlines passed unseen: both levels, once
    action = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_action", Notification.referral_id == referral_id)))
    assert action == {people.region_commission_head.id, people.supervisor.id}
    ack = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_ack", Notification.referral_id == referral_id)))
    assert ack == {people.commission_head.id, people.supervisor.id}


def test_an_unassigned_referral_escalates_to_the_supervisors_only(
        clock: FrozenClock, people: People, case: dict[str, Any]) -> None:
    referral_id = case["referrals"][POLICE]
    found = referral(referral_id)
    found.status, found.unit_id = "unassigned", None
    db.session.commit()
    sweep_at(clock, found.ack_due_at + SECOND)
    got = set(db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "escalation_ack", Notification.referral_id == referral_id)))
    assert got == {people.supervisor.id}


def test_closed_and_declined_referrals_never_escalate(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    police_id = case["referrals"][POLICE]
    acting(people.police).act(police_id, "decline", {"reason": "wrong_district"})
    education_id = case["referrals"]["education.guardianship"]
    acting(people.supervisor).act(education_id, "override", {"reason": "дубликат"})
    sweep_at(clock, clock.now() + timedelta(days=30))
    assert levels(police_id) == [] and levels(education_id) == []


def test_a_transfer_does_not_raise_a_level_twice(
        clock: FrozenClock, people: People, case: dict[str, Any],
        acting: Callable[[User], Acting]) -> None:
    referral_id = case["referrals"][POLICE]
    sweep_at(clock, referral(referral_id).ack_due_at + SECOND)
    acting(people.police).act(referral_id, "transfer", {"unit_id": people.police_oral.unit_id})
    sweep_at(clock, referral(referral_id).ack_due_at + timedelta(minutes=5))
    assert levels(referral_id) == [1]


def test_each_batch_is_audited_without_personal_data(
        clock: FrozenClock, people: People, case: dict[str, Any]) -> None:
    sweep_at(clock, clock.now() + timedelta(days=2))
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "referral.escalation_sweep").order_by(AuditEntry.sequence)))
    assert len(entries) == 2  # one batch per level here
    assert all(e.actor_id is None for e in entries)
    assert "Әсел" not in "".join(e.details or "" for e in entries)
    assert escalation.sweep(now=clock.now()).total == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "referral.escalation_sweep")) == 2  # an empty sweep adds nothing


def test_small_batches_cover_everything(clock: FrozenClock, case: dict[str, Any],
                                        submit: Any) -> None:
    submit()
    # Thursday 26 November 10:00: a working morning, past every deadline (office-hours bodies
    # are escalated only in their working time)
    result = escalation.sweep(now=clock.now() + timedelta(days=6), batch_size=3)
    assert result.total == 16 and result.batches == 6  # 8 referrals x 2 levels, 3 per batch


def test_the_cli_prints_the_counts(app: Flask, clock: FrozenClock, case: dict[str, Any]) -> None:
    clock.advance(timedelta(hours=5))
    runner = CliRunner()
    result = runner.invoke(referrals_cli, ["escalate"], obj=_script_info(app))
    assert result.exit_code == 0, result.output
    assert "4 escalations: 4 acknowledgement overdue, 0 action overdue" in result.output
    again = runner.invoke(referrals_cli, ["escalate"], obj=_script_info(app))
    assert "0 escalations" in again.output


def _script_info(app: Flask) -> Any:
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


# ---- several hosts at the same minute (PostgreSQL) --------------------------------------------


def _in_threads(app: Flask, work: Callable[[], Any], count: int = 2) -> list[Any]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(work())
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.postgres_only
def test_two_concurrent_sweeps_escalate_each_level_once(
        app: Flask, clock: FrozenClock, people: People, case: dict[str, Any],
        submit: Any) -> None:
    submit()
    clock.advance(timedelta(days=6))  # Thursday 10:00: offices open, every deadline past
    db.session.commit()
    results = _in_threads(app, lambda: escalation.sweep(batch_size=2))
    assert sum(r.total for r in results) == 16
    rows = db.session.execute(select(ReferralEscalation.referral_id, ReferralEscalation.level,
                                     func.count()).group_by(ReferralEscalation.referral_id,
                                                            ReferralEscalation.level)).all()
    assert len(rows) == 16 and all(count == 1 for *_, count in rows)
    supervisor_warnings = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == people.supervisor.id, Notification.kind.like("escalation%")))
    assert supervisor_warnings == 16  # one per referral and level, never twice
    assert all(r.escalation_level == 2 for r in db.session.scalars(select(Referral)))


@pytest.mark.postgres_only
def test_the_unique_escalation_record_decides_when_locks_are_bypassed(
        app: Flask, clock: FrozenClock, case: dict[str, Any]) -> None:
    """Even two escalations of one referral that skip the candidate lock raise it once."""
    referral_id = case["referrals"][POLICE]
    moment = referral(referral_id).ack_due_at + SECOND
    db.session.commit()

    def escalate() -> bool:
        raised = escalation.escalate(referral_id, escalation.ACKNOWLEDGEMENT, moment)
        db.session.commit()
        return raised

    assert sorted(_in_threads(app, escalate)) == [False, True]
    assert levels(referral_id) == [1]


def test_recipients_exclude_inactive_people(clock: FrozenClock, people: People,
                                            case: dict[str, Any]) -> None:
    people.police_head.active = False
    db.session.commit()
    referral_id = case["referrals"][POLICE]
    sweep_at(clock, referral(referral_id).ack_due_at + SECOND)
    assert people.police_head.id not in notified("escalation_ack")
    assert people.supervisor.id in notified("escalation_ack")


# ---- office-hours bodies are never escalated at night (issue 14) ------------------------------


def _local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=ALMATY)


def _call_before(moment: datetime) -> dict[str, str]:
    """The contact's times: a call that ended just before ``moment``."""
    return {"started_at": (moment - timedelta(minutes=10)).isoformat(),
            "ended_at": (moment - timedelta(minutes=1)).isoformat()}


def test_an_office_hours_referral_due_at_night_escalates_when_the_office_opens(
        clock: FrozenClock, people: People, submit: Any) -> None:
    clock.set(_local(17, 22))  # Tuesday 22:00: P3 is due on Wednesday at 22:00
    bullying = {"categories": ["violence.bullying"], "urgency": "P3",
                "perpetrator": {"relation": "peer", "lives_with_child": False}, "place": "school"}
    school = submit(**bullying, **_call_before(_local(17, 22)))["referrals"]["education.school"]
    assert referral(school).ack_due_at == _local(18, 22)
    assert sweep_at(clock, _local(18, 22, 0, 1)).total == 0  # overdue, but at night
    assert sweep_at(clock, _local(19, 3)).total == 0
    assert sweep_at(clock, _local(19, 8, 59)).total == 0
    assert levels(school) == []
    assert sweep_at(clock, _local(19, 9)).escalated[escalation.ACKNOWLEDGEMENT] >= 1
    assert levels(school) == [1]


def test_a_units_own_hours_decide_when_it_is_escalated(
        clock: FrozenClock, people: People, submit: Any) -> None:
    unit = people.education.unit
    assert unit is not None
    unit.work_start_minute, unit.work_end_minute = 8 * 60, 17 * 60
    db.session.commit()
    clock.set(_local(17, 22))
    school = submit(categories=["violence.bullying"], urgency="P3",
                    perpetrator={"relation": "peer", "lives_with_child": False},
                    place="school", **_call_before(_local(17, 22)))["referrals"]["education.school"]
    assert sweep_at(clock, _local(19, 7, 59)).total == 0
    assert sweep_at(clock, _local(19, 8)).total >= 1
    assert levels(school) == [1]


def test_round_the_clock_bodies_are_still_escalated_at_night(
        clock: FrozenClock, people: People, submit: Any) -> None:
    clock.set(_local(17, 17))  # Tuesday 17:00, P2 sexual violence
    referrals = submit(**_call_before(_local(17, 17)))["referrals"]
    assert referral(referrals[POLICE]).ack_due_at == _local(17, 21)
    assert referral(referrals["education.guardianship"]).ack_due_at == _local(18, 12)
    sweep_at(clock, _local(17, 21, 0, 1))
    assert levels(referrals[POLICE]) == [1]
    assert levels(referrals["education.guardianship"]) == []
    sweep_at(clock, _local(18, 12, 0, 1))
    assert levels(referrals["education.guardianship"]) == [1]


def test_a_weekend_defers_an_office_hours_escalation_to_monday(
        clock: FrozenClock, people: People, submit: Any) -> None:
    referrals = submit()["referrals"]  # Friday 10:00, P2
    guardianship = referrals["education.guardianship"]
    due = referral(guardianship).action_due_at
    assert due == _local(24, 16)  # 24 working hours: Friday, Monday, Tuesday
    commission = referrals["commission.case_control"]
    sweep_at(clock, _local(21, 11))  # Saturday: police and health are late, offices closed
    assert levels(referrals[POLICE]) == [1, 2]
    assert levels(guardianship) == [] and levels(commission) == []
