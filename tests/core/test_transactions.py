"""One commit per request, made where the request ends (issue 15, item 1; core/transactions.py).

- a failed request (an error status, an exception) leaves nothing of itself behind;
- a denial is recorded although its request rolls back, in a transaction of its own after the
  rollback, without committing or losing what the request had pending, and the chain stays one
  chain (on SQLite and on PostgreSQL: run the suite with SENIM_DATABASE_URL for the latter);
- no view, API handler or service commits: a request's commits all come from
  core/transactions.py (checked while requests run), and the source has commits only where a
  request, a command or a job's batch ends (checked on the source).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, has_request_context, jsonify
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core import audit, permissions
from core.access import note_denied
from core.app import create_app
from core.audit import AuditEntry
from core.clock import FrozenClock
from core.errors import ApiError
from core.extensions import csrf, db
from core.models import AgencyUnit, ApiToken, User
from core.roles import Role
from core.users_service import issue_token
from tests.conftest import TEST_APPS, IsolatedClient, make_config
from tests.factories import sign_in

ROOT = Path(__file__).resolve().parents[2]
PROBE_ENDPOINTS = ("txn_probe.write_then_answer", "txn_probe.write_then_raise",
                   "txn_probe.write_then_deny")


# ---- a probe application: endpoints that write, then fail in each way ---------------------------


def _write_something() -> None:
    """A row and an audit entry: the entry takes the chain's append lock (PostgreSQL's advisory
    lock, SQLite's write lock) and holds it until the request's transaction ends."""
    db.session.add(AgencyUnit(agency="police", region="KZ-27", name_kk="probe", name_ru="probe",
                              name_en="probe", services=[]))
    db.session.flush()
    audit.record("probe.wrote", object_type="agency_unit")


def _probe_blueprint() -> Blueprint:
    bp = Blueprint("txn_probe", __name__, url_prefix="/api/v1/probe")

    @bp.get("/answer/<int:status>")
    def write_then_answer(status: int) -> tuple[Response, int]:
        _write_something()
        return jsonify({"status": status}), status

    @bp.get("/raise")
    def write_then_raise() -> Response:
        _write_something()
        raise RuntimeError("the probe fails after writing")

    @bp.get("/deny")
    def write_then_deny() -> Response:
        _write_something()
        note_denied("case", "probe-case")
        raise ApiError(404, "not found")

    return bp


@pytest.fixture
def probe(app: Flask, database_url: str, tmp_path: Path, clock: FrozenClock,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An application of its own (routes cannot be added to one that has served requests),
    on the same database, with the probe's endpoints open to operators."""
    probe_app = create_app(make_config(tmp_path, database_url), clock=clock)
    probe_app.test_client_class = IsolatedClient
    probe_app.config["PROPAGATE_EXCEPTIONS"] = False  # a real 500, as in production
    blueprint = _probe_blueprint()
    csrf.exempt(blueprint)
    probe_app.register_blueprint(blueprint)
    for endpoint in PROBE_ENDPOINTS:
        monkeypatch.setitem(permissions.ENDPOINT_ROLES, endpoint, frozenset({Role.OPERATOR}))
    TEST_APPS.append(probe_app)
    yield probe_app
    TEST_APPS.remove(probe_app)
    with probe_app.app_context():
        db.engine.dispose()


@pytest.fixture
def token(create_user: Callable[..., User]) -> tuple[User, str]:
    operator = create_user(Role.OPERATOR, username="probe.operator")
    _row, value = issue_token(operator, "probe", 30)
    db.session.commit()
    return operator, value


def call(probe: Flask, token: tuple[User, str], path: str) -> Any:
    return probe.test_client().get(f"/api/v1/probe{path}",
                                   headers={"Authorization": f"Bearer {token[1]}"})


def stored(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def units() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AgencyUnit)) or 0)


def test_a_successful_request_commits_what_it_wrote(probe: Flask, token: tuple[User, str]) -> None:
    assert call(probe, token, "/answer/201").status_code == 201
    assert units() == 1 and len(stored("probe.wrote")) == 1


@pytest.mark.parametrize("path,status", [("/answer/422", 422), ("/answer/409", 409),
                                         ("/raise", 500)])
def test_a_failed_request_leaves_nothing_behind(probe: Flask, token: tuple[User, str],
                                                path: str, status: int) -> None:
    assert call(probe, token, path).status_code == status
    assert units() == 0 and stored("probe.wrote") == []
    assert audit.verify().ok


def test_a_denial_is_recorded_although_the_request_rolls_back(
        probe: Flask, token: tuple[User, str]) -> None:
    operator, _value = token
    response = call(probe, token, "/deny")
    assert response.status_code == 404
    # What the request had pending is gone, not committed by the denial ...
    assert units() == 0 and stored("probe.wrote") == []
    # ... and the denial is there, made by the request's user, in a chain that verifies.
    [denied] = stored("permission.denied")
    assert (denied.object_type, denied.object_id, denied.actor_id) == ("case", "probe-case",
                                                                       operator.id)
    assert audit.verify().ok
    # The token's last use is written the same way, whatever the answer.
    db.session.expire_all()
    found = db.session.scalar(select(ApiToken).where(ApiToken.user_id == operator.id))
    assert found is not None and found.last_used_at is not None


def test_the_gate_records_a_refused_endpoint_and_commits_nothing_else(
        app: Flask, create_user: Callable[..., User]) -> None:
    client = app.test_client()
    assert sign_in(client, create_user(Role.OPERATOR, username="gate.operator")).status_code == 302
    assert client.get("/admin/users").status_code == 403
    [denied] = stored("permission.denied")
    assert (denied.object_type, denied.object_id) == ("endpoint", "admin.users")
    assert audit.verify().ok


def test_a_locked_sign_in_keeps_its_count_though_it_answers_429(
        app: Flask, create_user: Callable[..., User]) -> None:
    from core.auth import throttle
    from tests.factories import csrf_token

    user = create_user(Role.OPERATOR, username="locked.operator")
    client = app.test_client()
    for _attempt in range(throttle.MAX_FAILURES):
        client.post("/login", data={"username": user.username, "password": "wrong password!",
                                    "csrf_token": csrf_token(client, "/login")})
    assert throttle.is_locked(user.username)
    assert len(stored("auth.failure")) == throttle.MAX_FAILURES
    assert len(stored("auth.lockout")) == 1
    locked = client.post("/login", data={"username": user.username, "password": "wrong again!!",
                                         "csrf_token": csrf_token(client, "/login")})
    assert locked.status_code == 429 and throttle.is_locked(user.username)


# ---- nothing but core/transactions.py commits during a request ---------------------------------


@pytest.fixture
def commits_outside_the_request_end() -> Iterator[list[str]]:
    """Every commit made while a request runs whose stack does not pass through
    core/transactions.py: the function that asked for it, as ``path:function``."""
    found: list[str] = []

    def guard(session: Session) -> None:
        if not has_request_context() or session.in_nested_transaction():
            return  # not a request, or a savepoint's release (begin_nested), not a commit
        frames = inspect.stack(context=0)
        if any(frame.filename.endswith("core/transactions.py") for frame in frames):
            return
        ours = next((f for f in frames if f.filename.startswith(str(ROOT))
                     and "/tests/" not in f.filename), None)
        found.append(f"{ours.filename}:{ours.function}" if ours else "unknown")

    event.listen(Session, "before_commit", guard)
    yield found
    event.remove(Session, "before_commit", guard)


def test_no_view_api_handler_or_service_commits_during_a_request(
        app: Flask, create_user: Callable[..., User], probe: Flask, token: tuple[User, str],
        commits_outside_the_request_end: list[str]) -> None:
    admin = create_user(Role.ADMIN, username="guard.admin")
    client = app.test_client()
    assert sign_in(client, admin).status_code == 302  # the throttle's own transaction is allowed
    from tests.factories import csrf_token

    assert client.post("/admin/users/new", data={
        "username": "guard.new", "display_name": "New", "role": "operator", "unit_id": "",
        "region": "KZ-27", "csrf_token": csrf_token(client, "/admin/users/new")}).status_code == 200
    assert client.get("/account/sessions").status_code == 200
    assert call(probe, token, "/deny").status_code == 404
    assert call(probe, token, "/answer/200").status_code == 200
    assert commits_outside_the_request_end == []


def test_the_guard_sees_a_commit_made_during_a_request(
        app: Flask, commits_outside_the_request_end: list[str]) -> None:
    with app.test_request_context("/"):
        db.session.commit()  # as a view that commits would
    assert len(commits_outside_the_request_end) == 1


# ---- on the source: commits only where a request, a command or a job's batch ends -------------

# Every ``.commit()`` in the application, by file and function, and why it is there.
ALLOWED_COMMITS = {
    # the end of a request
    "core/transactions.py::_commit": "the request's one commit",
    "core/transactions.py::_roll_back": "what must persist after a failed request, on its own",
    # commands: each is its own request and commits where it ends (or per batch)
    "core/keys_cli.py::_rotate_table": "key rotation, one batch per transaction",
    "core/keys_cli.py::_leftovers": "key rotation, one batch per transaction",
    "core/keys_cli.py::rotate": "key rotation's steps",
    "core/keys_cli.py::_retire_old_keys": "key rotation's last step",
    "core/keys_cli.py::destroy_retired": "senim keys destroy-retired",
    "core/keys_cli.py::rewrap": "senim keys rewrap",
    "core/users_cli.py::create": "senim users create",
    "core/users_cli.py::disable": "senim users disable",
    "core/users_cli.py::enable": "senim users enable",
    "core/users_cli.py::create_token_command": "senim tokens create",
    "intake/flags_cli.py::encrypt_legacy_flags": "senim keys encrypt-risk-flags, per batch",
    "intake/text/cli.py::import_command": "senim schools import",
    "intake/text/cli.py::rotate_command": "senim schools rotate",
    "referrals/demo.py::demo_command": "senim demo",
    "referrals/reports/cli.py::refresh": "senim reports refresh, per month",
    "referrals/retention/cli.py::apply_command": "senim retention apply --dry-run",
    # jobs: long batches commit each batch (an interruption loses one batch at most)
    "referrals/handoffs/escalation.py::_sweep_batch": "the escalation sweep, per batch",
    "referrals/reports/aggregate.py::refresh": "the report months job, per month",
    "referrals/reports/exports.py::run": "the export job's state",
    "referrals/reports/exports.py::_run": "the export job's progress, per step",
    "referrals/reports/exports.py::sweep": "the export expiry sweep, per batch",
    "referrals/retention/service.py::_in_batches": "the retention job, per batch",
}


def _commits_in(path: Path) -> Iterator[str]:
    yield from _commits_in_source(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


def _commits_in_source(source: str, relative: str) -> Iterator[str]:
    def walk(node: ast.AST, function: str) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) \
                else function
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr == "commit"):
                yield f"{relative}::{function}"
            yield from walk(child, inner)

    yield from walk(ast.parse(source), "<module>")


def _application_modules() -> list[Path]:
    return sorted(p for package in ("core", "intake", "referrals")
                  for p in (ROOT / package).rglob("*.py"))


def test_commits_are_only_where_a_request_a_command_or_a_batch_ends() -> None:
    found = {place for path in _application_modules() for place in _commits_in(path)}
    assert found - ALLOWED_COMMITS.keys() == set(), "a commit outside a request's end"
    assert ALLOWED_COMMITS.keys() - found == set(), "an allowed commit that is gone: drop it"


def test_no_service_function_commits_the_session() -> None:
    services = [p for p in _application_modules()
                if p.stem == "service" or p.stem.endswith("_service") or p.parent.name == "services"]
    assert len(services) >= 8, services  # the check must see the service modules
    committing = {place for path in services for place in _commits_in(path)}
    # The one left is not the caller's session: the retention job's batches (run by ``senim
    # retention apply`` only). PostgreSQL's case-number counter commits too, on a connection of
    # its own, but as one statement in autocommit: no commit() to find.
    assert committing == {"referrals/retention/service.py::_in_batches"}


def test_the_source_check_names_the_function_that_commits() -> None:
    source = ("def page():\n    form = 1\n    db.session.commit()\n"
              "class Job:\n    def step(self):\n        connection.commit()\n")
    assert list(_commits_in_source(source, "x/views.py")) == ["x/views.py::page",
                                                              "x/views.py::step"]


def test_outside_a_request_a_kept_entry_goes_into_the_callers_transaction(
        app: Flask, create_user: Callable[..., User]) -> None:
    user = create_user(Role.OPERATOR, username="kept.operator")
    audit.record_kept("permission.denied", object_type="case", object_id="outside", actor=user)
    db.session.rollback()  # the caller's transaction decides: rolled back, it is gone
    assert stored("permission.denied") == []
    audit.record_kept("permission.denied", object_type="case", object_id="outside", actor=user)
    db.session.commit()
    [entry] = stored("permission.denied")
    assert entry.actor_id == user.id and entry.object_id == "outside"
