"""One audited path per account action (issue 15, item 2): the admin page and ``senim users``
create an account through ``users_service.create_user``, and so write the same audit entry."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from core.audit import AuditEntry
from core.extensions import db
from core.models import User
from core.roles import Role
from tests.factories import csrf_token, sign_in

PASSWORD = "a long enough passphrase 7"


def created_entry(username: str) -> AuditEntry:
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None
    [entry] = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "user.created", AuditEntry.object_id == user.id))
    return entry


def test_the_page_and_the_cli_write_the_same_user_created_entry(
        app: Flask, create_user: Callable[..., User]) -> None:
    admin = create_user(Role.ADMIN, username="root.admin")
    client: FlaskClient = app.test_client()
    assert sign_in(client, admin).status_code == 302
    response = client.post("/admin/users/new", data={
        "username": "dana.web", "display_name": "Dana", "role": "operator", "unit_id": "",
        "region": "KZ-27", "csrf_token": csrf_token(client, "/admin/users/new")})
    assert response.status_code == 200
    result = app.test_cli_runner().invoke(
        args=["users", "create", "dana.cli", "--role", "operator", "--region", "KZ-27",
              "--name", "Dana"], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output

    web, cli = created_entry("dana.web"), created_entry("dana.cli")
    assert web.details_map == {"role": "operator", "unit": None, "region": "KZ-27", "via": "web"}
    assert cli.details_map == {**web.details_map, "via": "cli"}
    assert (web.object_type, web.fields, web.reason) == (cli.object_type, cli.fields, cli.reason)
    assert (web.actor_username, cli.actor_username) == ("root.admin", None)
    # Only the page's temporary password must be changed; the CLI's was typed by its owner.
    page_user = db.session.get(User, web.object_id)
    cli_user = db.session.get(User, cli.object_id)
    assert page_user is not None and cli_user is not None
    assert (page_user.must_change_password, cli_user.must_change_password) == (True, False)
