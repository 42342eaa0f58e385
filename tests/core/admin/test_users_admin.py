"""Administration of staff accounts, /admin/users (issue 4 item 6; security.md §2 and §5):
each action works for an administrator and is audited, every other role is refused, forms
refuse smuggled roles and units, and what the pages show is escaped and structured."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from core.audit.models import AuditEntry
from core.extensions import db
from core.models import AgencyUnit, User
from core.roles import Role
from tests.factories import TEST_PASSWORD, csrf_token, sign_in
from tests.reading import first_group

NON_ADMIN_ROLES = [role for role in Role if role is not Role.ADMIN]
TEMPORARY = re.compile(r'id="temporary-password">([^<]+)<')
# A page every signed-in user may open, owned by core: "is this session still alive?"
ANY_PAGE = "/account/password"
SCRIPT = "<script>alert(1)</script>"

CreateUser = Callable[..., User]
CreateUnit = Callable[..., AgencyUnit]


# ---- helpers -------------------------------------------------------------------------------


@pytest.fixture
def admin(create_user: CreateUser) -> User:
    return create_user(Role.ADMIN, username="root.admin", display_name="Root Admin")


@pytest.fixture
def admin_client(app: Flask, admin: User) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, admin).status_code == 302
    choose_language(client, "en")  # the messages asserted below are the English ones
    return client


@pytest.fixture
def unit(create_unit: CreateUnit) -> AgencyUnit:
    return create_unit("police", "KZ-27", "KZ-27-TEREKTI")


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None) -> TestResponse:
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, ANY_PAGE)})


def choose_language(client: FlaskClient, lang: str) -> None:
    assert post(client, "/lang", {"lang": lang, "next": ANY_PAGE}).status_code == 302


def fresh(user: User) -> User:
    db.session.expire_all()
    found = db.session.get(User, user.id)
    assert found is not None
    return found


def audited(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.sequence)))


def admin_actions() -> list[str]:
    return [action for action in db.session.scalars(
        select(AuditEntry.action).order_by(AuditEntry.sequence))
        if action.startswith(("user.", "token."))]


def audit_text() -> str:
    rows = db.session.execute(select(AuditEntry.__table__)).all()
    return " ".join(str(value) for row in rows for value in row)


def usernames_listed(response: TestResponse) -> list[str]:
    return re.findall(r'<a href="/admin/users/[0-9a-f-]+">([^<]+)</a>', response.get_data(as_text=True))


def new_user_data(**fields: Any) -> dict[str, Any]:
    return {"username": "new.person", "display_name": "New Person", "role": "operator",
            "unit_id": "", "region": "", **fields}


def create_on_page(client: FlaskClient, **fields: Any) -> TestResponse:
    return post(client, "/admin/users/new", new_user_data(**fields))


def admin_rules(app: Flask, *, methods: set[str]) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("admin.") and "/tokens" not in rule.rule
            and (rule.methods or set()) & methods]


def build(rule: Rule, user: User) -> str:
    return rule.rule.replace("<user_id>", user.id)


def signed_in(app: Flask, user: User, password: str = TEST_PASSWORD) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, user, password=password).status_code == 302
    assert client.get(ANY_PAGE).status_code == 200
    return client


# A small HTML tree, enough to check a page's structure without a browser.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text = ""

    def find_all(self, tag: str) -> list[Node]:
        found = [child for child in self.children if child.tag == tag]
        for child in self.children:
            found.extend(child.find_all(tag))
        return found

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = self.current = Node("#root", {}, None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.text += data


def parse(response: TestResponse) -> Node:
    builder = TreeBuilder()
    builder.feed(response.get_data(as_text=True))
    return builder.root


# ---- the list ------------------------------------------------------------------------------


def test_the_users_list_is_an_accessible_table_in_the_viewers_language(
        admin_client: FlaskClient, create_user: CreateUser, unit: AgencyUnit) -> None:
    unit.name_kk, unit.name_ru, unit.name_en = ("Теректі ауданының полициясы",
                                                "Полиция Теректинского района", "Terekti Police")
    create_user(Role.AGENCY_STAFF, username="aliya.police", unit=unit)
    create_user(Role.OPERATOR, username="bota.op", region="KZ-27", enrolled=False)
    choose_language(admin_client, "ru")
    response = admin_client.get("/admin/users")
    assert response.status_code == 200
    page = parse(response)
    html = response.get_data(as_text=True)

    assert len(page.find_all("h1")) == 1
    [table] = page.find_all("table")
    headers = table.find_all("th")
    assert len(headers) == 7 and all(th.attrs.get("scope") == "col" for th in headers)
    rows = table.find_all("tbody")[0].find_all("tr")
    assert [len(row.find_all("td")) for row in rows] == [7, 7, 7]
    by_name = {row.find_all("a")[0].all_text(): [td.all_text().strip() for td in row.find_all("td")]
               for row in rows}
    assert set(by_name) == {"root.admin", "aliya.police", "bota.op"}
    assert by_name["aliya.police"][3] == unit.name_ru  # the unit in the viewer's language
    assert unit.name_en not in html and unit.name_kk not in html
    assert by_name["aliya.police"][4] == "Западно-Казахстанская область"
    assert by_name["bota.op"][4] == "Западно-Казахстанская область"
    assert by_name["aliya.police"][6] != by_name["bota.op"][6]  # enrolled or not

    labels = {label.attrs.get("for") for label in page.find_all("label")}
    controls = [*page.find_all("input"), *page.find_all("select")]
    visible = [c for c in controls if c.attrs.get("type") not in ("hidden", "submit")]
    assert visible and all(c.attrs.get("id") in labels for c in visible)
    [search] = [f for f in page.find_all("form") if f.attrs.get("role") == "search"]
    assert search.attrs.get("method") == "get"
    navs = [nav.attrs.get("aria-label") for nav in page.find_all("nav")]
    assert all(navs) and len(set(navs)) == len(navs)  # every navigation landmark is named
    assert not page.find_all("script") and not page.find_all("style")
    assert " style=" not in html and not re.search(r"\son[a-z]+=", html)


def test_search_and_filters(admin_client: FlaskClient, create_user: CreateUser) -> None:
    create_user(Role.OPERATOR, username="alice.op")
    create_user(Role.SUPERVISOR, username="bob.sup", active=False)
    create_user(Role.AUDITOR, username="carol_100%")

    def listed(query: str) -> list[str]:
        response = admin_client.get(f"/admin/users?{query}")
        assert response.status_code == 200, query
        return usernames_listed(response)

    assert listed("q=ALICE") == ["alice.op"]
    assert listed("role=supervisor") == ["bob.sup"]
    assert listed("active=no") == ["bob.sup"]
    assert listed("active=yes&role=operator") == ["alice.op"]
    assert listed("q=0%25") == ["carol_100%"]  # LIKE wildcards are searched literally
    assert listed("q=_") == ["carol_100%"]
    assert listed("q=%25") == ["carol_100%"]
    assert len(listed("role=superuser&active=maybe")) == 4  # unknown filters are ignored
    assert admin_client.get("/admin/users?q=a%00b").status_code == 400  # nor the database
    assert listed("page=99999999999999999999999") == []  # nor does an absurd page


def test_pagination_shows_the_second_page(admin_client: FlaskClient, create_user: CreateUser) -> None:
    for number in range(55):
        create_user(Role.OPERATOR, username=f"op{number:03d}")
    first = admin_client.get("/admin/users?role=operator")
    assert usernames_listed(first) == [f"op{n:03d}" for n in range(50)]
    html = first.get_data(as_text=True)
    assert 'rel="prev"' not in html
    next_link = re.search(r'href="([^"]+)" rel="next"', html)
    assert next_link and "page=2" in next_link.group(1) and "role=operator" in next_link.group(1)
    second = admin_client.get(next_link.group(1).replace("&amp;", "&"))
    assert usernames_listed(second) == [f"op{n:03d}" for n in range(50, 55)]
    assert 'rel="prev"' in second.get_data(as_text=True)
    assert 'rel="next"' not in second.get_data(as_text=True)


def test_the_navigation_offers_administration_to_administrators_only(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser) -> None:
    assert 'href="/admin/users"' in admin_client.get(ANY_PAGE).get_data(as_text=True)
    operator = signed_in(app, create_user(Role.OPERATOR))
    assert 'href="/admin/users"' not in operator.get(ANY_PAGE).get_data(as_text=True)


# ---- creating ------------------------------------------------------------------------------


def test_creating_a_unit_user_shows_a_temporary_password_once(
        app: Flask, admin_client: FlaskClient, unit: AgencyUnit) -> None:
    response = create_on_page(admin_client, username="aigerim.police", display_name="Aigerim",
                              role="agency_staff", unit_id=unit.id)
    assert response.status_code == 200
    temporary = first_group(TEMPORARY, response.get_data(as_text=True))
    user = db.session.scalar(select(User).where(User.username == "aigerim.police"))
    assert user is not None
    assert (user.role, user.unit_id, user.region, user.active) == ("agency_staff", unit.id, None, True)
    assert user.must_change_password and user.totp_confirmed_at is None
    assert temporary not in user.password_hash

    [entry] = audited("user.created")
    assert entry.object_type == "user" and entry.object_id == user.id
    assert entry.details_map == {"role": "agency_staff", "unit": unit.id, "region": None,
                                 "via": "web"}
    assert temporary not in audit_text() and "Aigerim" not in audit_text()
    assert temporary not in admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)

    client = app.test_client()
    response = client.post("/login", data={"username": "aigerim.police", "password": temporary,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/enrol")


def test_creating_a_helpline_user_with_a_region(admin_client: FlaskClient) -> None:
    response = create_on_page(admin_client, username="dana.sup", role="supervisor", region="KZ-27")
    assert response.status_code == 200 and TEMPORARY.search(response.get_data(as_text=True))
    user = db.session.scalar(select(User).where(User.username == "dana.sup"))
    assert user is not None and (user.role, user.region, user.unit_id) == ("supervisor", "KZ-27", None)
    assert admin_actions() == ["user.created"]


SMUGGLED = {
    "unknown role": {"role": "superadmin"},
    "no role": {"role": ""},
    "unit role without a unit": {"role": "agency_staff"},
    "helpline role with a unit": {"role": "operator", "unit_id": "UNIT"},
    "administrator with a unit": {"role": "admin", "unit_id": "UNIT"},
    "administrator with a region": {"role": "admin", "region": "KZ-27"},
    "unit role with a region": {"role": "agency_head", "unit_id": "UNIT", "region": "KZ-27"},
    "inactive unit": {"role": "agency_staff", "unit_id": "INACTIVE"},
    "unknown unit": {"role": "agency_staff", "unit_id": "01234567-89ab-7cde-8f01-23456789abcd"},
    "unknown region": {"role": "operator", "region": "KZ-99"},
}


@pytest.mark.parametrize("fields", SMUGGLED.values(), ids=SMUGGLED.keys())
def test_smuggled_roles_units_and_regions_are_refused(
        admin_client: FlaskClient, create_unit: CreateUnit, unit: AgencyUnit,
        fields: dict[str, str]) -> None:
    inactive = create_unit("health", "KZ-27", active=False)
    ids = {"UNIT": unit.id, "INACTIVE": inactive.id}
    data = {name: ids.get(value, value) for name, value in fields.items()}
    response = create_on_page(admin_client, username="smuggler", display_name="Kept Name", **data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'class="field-error"' in html
    assert 'value="smuggler"' in html and 'value="Kept Name"' in html  # nothing typed is lost
    assert db.session.scalar(select(User).where(User.username == "smuggler")) is None
    assert admin_actions() == []


@pytest.mark.parametrize("fields", [
    {"username": ""}, {"username": "has space"}, {"username": "x" * 65},
    {"display_name": ""}, {"display_name": "line\nbreak"},
    {"display_name": "x" * 201}, {"username": "ROOT.ADMIN"},
], ids=["empty username", "space", "long username", "empty name", "newline",
        "long name", "taken in another case"])
def test_bad_account_fields_are_refused(admin_client: FlaskClient, admin: User,
                                        fields: dict[str, str]) -> None:
    response = create_on_page(admin_client, **fields)
    assert response.status_code == 422 and b'class="field-error"' in response.data
    assert db.session.scalars(select(User.username)).all() == ["root.admin"]
    assert admin_actions() == []


def test_a_display_name_with_markup_is_shown_escaped(admin_client: FlaskClient) -> None:
    response = create_on_page(admin_client, username="xss.test", display_name=SCRIPT)
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "xss.test"))
    assert user is not None and user.display_name == SCRIPT
    for path in ("/admin/users", f"/admin/users/{user.id}"):
        html = admin_client.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert SCRIPT not in html, path
    html = admin_client.get("/admin/users?q=<script>").get_data(as_text=True)
    assert 'value="&lt;script&gt;"' in html and 'value="<script>"' not in html


# ---- editing -------------------------------------------------------------------------------


def test_changing_the_role_ends_the_users_sessions(app: Flask, admin_client: FlaskClient,
                                                   create_user: CreateUser) -> None:
    target = create_user(Role.OPERATOR, region="KZ-27")
    elsewhere = signed_in(app, target)
    edit = admin_client.get(f"/admin/users/{target.id}")
    assert edit.status_code == 200  # the form starts from the current values
    assert b'<option selected value="operator">' in edit.data
    assert b'<option selected value="KZ-27">' in edit.data
    response = post(admin_client, f"/admin/users/{target.id}",
                    {"display_name": target.display_name, "role": "supervisor", "unit_id": "",
                     "region": ""})
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/users/{target.id}"
    changed = fresh(target)
    assert (changed.role, changed.region) == ("supervisor", None)
    assert elsewhere.get(ANY_PAGE).headers["Location"].startswith("/login")
    [entry] = audited("user.updated")
    assert entry.object_id == target.id
    assert entry.details_map == {"changed": "region,role", "role": "supervisor", "unit": None,
                                 "region": None, "sessions_ended": True}


def test_moving_a_user_to_another_unit_ends_their_sessions(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser, create_unit: CreateUnit,
        unit: AgencyUnit) -> None:
    other = create_unit("police", "KZ-27", "KZ-27-ORAL")
    target = create_user(Role.AGENCY_STAFF, unit=unit)
    elsewhere = signed_in(app, target)
    response = post(admin_client, f"/admin/users/{target.id}",
                    {"display_name": target.display_name, "role": "agency_staff",
                     "unit_id": other.id, "region": ""})
    assert response.status_code == 302
    assert fresh(target).unit_id == other.id
    assert elsewhere.get(ANY_PAGE).status_code == 302
    assert audited("user.updated")[0].details_map["changed"] == "unit_id"


def test_renaming_keeps_the_sessions_and_logs_no_name(app: Flask, admin_client: FlaskClient,
                                                      create_user: CreateUser) -> None:
    target = create_user(Role.AUDITOR)
    elsewhere = signed_in(app, target)
    response = post(admin_client, f"/admin/users/{target.id}",
                    {"display_name": "Zhanar Renamed", "role": "auditor", "unit_id": "", "region": ""})
    assert response.status_code == 302
    assert fresh(target).display_name == "Zhanar Renamed"
    assert elsewhere.get(ANY_PAGE).status_code == 200
    [entry] = audited("user.updated")
    assert entry.details_map["changed"] == "display_name"
    assert entry.details_map["sessions_ended"] is False
    assert "Zhanar" not in audit_text()


def test_saving_unchanged_values_records_nothing(admin_client: FlaskClient,
                                                 create_user: CreateUser) -> None:
    target = create_user(Role.OPERATOR)
    post(admin_client, f"/admin/users/{target.id}",
         {"display_name": target.display_name, "role": "operator", "unit_id": "", "region": ""})
    assert admin_actions() == []


@pytest.mark.parametrize("fields", [
    {"role": "agency_staff"}, {"role": "root"}, {"role": "operator", "unit_id": "UNIT"},
    {"role": "operator", "region": "KZ-00"},
])
def test_smuggling_on_the_edit_page_is_refused(admin_client: FlaskClient, create_user: CreateUser,
                                               unit: AgencyUnit, fields: dict[str, str]) -> None:
    target = create_user(Role.OPERATOR)
    data = {"display_name": "Changed", "unit_id": "", "region": "", **fields}
    data = {name: unit.id if value == "UNIT" else value for name, value in data.items()}
    response = post(admin_client, f"/admin/users/{target.id}", data)
    assert response.status_code == 422 and b'class="field-error"' in response.data
    unchanged = fresh(target)
    assert (unchanged.role, unchanged.unit_id, unchanged.display_name) == ("operator", None, "Test operator")
    assert admin_actions() == []


def test_an_administrator_cannot_remove_their_own_admin_role(admin_client: FlaskClient,
                                                             admin: User) -> None:
    response = post(admin_client, f"/admin/users/{admin.id}",
                    {"display_name": admin.display_name, "role": "operator", "unit_id": "", "region": ""})
    assert response.status_code == 422
    assert 'id="role-error"' in response.get_data(as_text=True)
    assert "your own administrator role" in response.get_data(as_text=True)
    assert fresh(admin).role == "admin" and admin_actions() == []
    assert admin_client.get("/admin/users").status_code == 200


def test_another_administrators_role_can_be_changed(admin_client: FlaskClient,
                                                    create_user: CreateUser) -> None:
    other = create_user(Role.ADMIN)
    response = post(admin_client, f"/admin/users/{other.id}",
                    {"display_name": other.display_name, "role": "auditor", "unit_id": "", "region": ""})
    assert response.status_code == 302 and fresh(other).role == "auditor"


# ---- disabling, enabling, resets -----------------------------------------------------------


def test_disabling_asks_first_then_ends_the_users_sessions(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser) -> None:
    target = create_user(Role.SUPERVISOR)
    elsewhere = signed_in(app, target)
    page = parse(admin_client.get(f"/admin/users/{target.id}/disable/confirm"))
    [form] = [f for f in page.find_all("form") if (f.attrs.get("action") or "").endswith("/disable")]
    assert form.attrs["method"] == "post" and form.attrs["action"] == f"/admin/users/{target.id}/disable"
    assert fresh(target).active  # the confirmation page changed nothing

    response = post(admin_client, f"/admin/users/{target.id}/disable")
    assert response.status_code == 302
    assert not fresh(target).active
    assert elsewhere.get(ANY_PAGE).headers["Location"].startswith("/login")
    assert sign_in(app.test_client(), target).status_code == 200  # refused: the form again
    assert [e.object_id for e in audited("user.disabled")] == [target.id]


def test_an_administrator_cannot_disable_themselves(admin_client: FlaskClient, admin: User) -> None:
    confirm = admin_client.get(f"/admin/users/{admin.id}/disable/confirm")
    assert confirm.status_code == 302
    response = post(admin_client, f"/admin/users/{admin.id}/disable")
    assert response.status_code == 302
    follow = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" in follow and "your own account" in follow
    assert f"/admin/users/{admin.id}/disable" not in follow  # no such button on one's own page
    assert fresh(admin).active and admin_actions() == []


def test_enabling_a_disabled_account(app: Flask, admin_client: FlaskClient,
                                     create_user: CreateUser) -> None:
    target = create_user(Role.OPERATOR, active=False)
    page = admin_client.get(f"/admin/users/{target.id}").get_data(as_text=True)
    assert f'action="/admin/users/{target.id}/enable"' in page
    assert post(admin_client, f"/admin/users/{target.id}/enable").status_code == 302
    assert fresh(target).active and admin_actions() == ["user.enabled"]
    signed_in(app, target)


def test_resetting_the_second_factor_makes_the_user_enrol_again(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser) -> None:
    target = create_user(Role.OPERATOR)
    elsewhere = signed_in(app, target)
    confirm = admin_client.get(f"/admin/users/{target.id}/reset-second-factor/confirm")
    assert confirm.status_code == 200
    assert f'action="/admin/users/{target.id}/reset-second-factor"' in confirm.get_data(as_text=True)

    assert post(admin_client, f"/admin/users/{target.id}/reset-second-factor").status_code == 302
    reset = fresh(target)
    assert reset.totp_confirmed_at is None and reset.totp_secret is None
    assert elsewhere.get(ANY_PAGE).status_code == 302
    client = app.test_client()
    response = client.post("/login", data={"username": target.username, "password": TEST_PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"].startswith("/login/enrol")
    assert [e.object_id for e in audited("user.second_factor_reset")] == [target.id]


def test_resetting_the_password_forces_a_change_at_next_sign_in(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser) -> None:
    target = create_user(Role.AGENCY_HEAD)
    elsewhere = signed_in(app, target)
    confirm = admin_client.get(f"/admin/users/{target.id}/reset-password/confirm")
    assert f'action="/admin/users/{target.id}/reset-password"' in confirm.get_data(as_text=True)

    response = post(admin_client, f"/admin/users/{target.id}/reset-password")
    assert response.status_code == 200
    temporary = first_group(TEMPORARY, response.get_data(as_text=True))
    assert fresh(target).must_change_password
    assert elsewhere.get(ANY_PAGE).status_code == 302
    assert sign_in(app.test_client(), target).status_code == 200  # the old password is gone
    client = app.test_client()
    assert sign_in(client, fresh(target), password=temporary).headers["Location"] == "/account/password"
    assert client.get("/").headers["Location"] == "/account/password"
    assert [e.object_id for e in audited("user.password_reset")] == [target.id]
    assert temporary not in audit_text()


@pytest.mark.parametrize("action", ["reset-password", "reset-second-factor"])
def test_an_administrator_does_not_reset_their_own_credentials_here(
        admin_client: FlaskClient, admin: User, action: str) -> None:
    assert admin_client.get(f"/admin/users/{admin.id}/{action}/confirm").status_code == 302
    assert post(admin_client, f"/admin/users/{admin.id}/{action}").status_code == 302
    unchanged = fresh(admin)
    assert unchanged.totp_confirmed_at is not None and not unchanged.must_change_password
    assert admin_actions() == [] and admin_client.get("/admin/users").status_code == 200


# ---- who may do it, and how ----------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_every_other_role_is_refused_on_every_user_endpoint(
        app: Flask, create_user: CreateUser, unit: AgencyUnit, role: Role) -> None:
    user = create_user(role, unit=unit if role.value.startswith("agency") else None)
    target = create_user(Role.OPERATOR, username="target")
    client = signed_in(app, user)
    token = csrf_token(client, ANY_PAGE)
    requests = 0
    for rule in admin_rules(app, methods={"GET", "POST"}):
        path = build(rule, target)
        for method in {"GET", "POST"} & (rule.methods or set()):
            data = {**new_user_data(role="admin", username="smuggled"), "csrf_token": token}
            response = client.open(path, method=method, data=data if method == "POST" else None)
            assert response.status_code == 403, (role.value, method, path, response.status_code)
            requests += 1
    unchanged = fresh(target)
    assert unchanged.active and unchanged.role == "operator" and unchanged.totp_confirmed_at
    assert db.session.scalar(select(User).where(User.username == "smuggled")) is None
    assert admin_actions() == []
    assert len(audited("permission.denied")) == requests


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_posts_without_or_with_a_foreign_csrf_token_are_400(
        app: Flask, admin_client: FlaskClient, create_user: CreateUser) -> None:
    target = create_user(Role.OPERATOR)
    foreign = csrf_token(app.test_client(), "/login")
    for rule in admin_rules(app, methods={"POST"}):
        path = build(rule, target)
        data = new_user_data(role="admin", display_name="Changed")
        assert admin_client.post(path, data=data).status_code == 400, path
        assert admin_client.post(path, data={**data, "csrf_token": foreign}).status_code == 400, path
    unchanged = fresh(target)
    assert unchanged.active and unchanged.display_name == "Test operator"
    assert admin_actions() == []


def test_get_on_state_changing_routes_is_405(app: Flask, admin_client: FlaskClient,
                                             create_user: CreateUser) -> None:
    target = create_user(Role.OPERATOR)
    post_only = [rule for rule in admin_rules(app, methods={"POST"}) if "GET" not in (rule.methods or ())]
    assert {rule.endpoint for rule in post_only} == {
        "admin.disable_user", "admin.enable_user", "admin.reset_second_factor", "admin.reset_password",
        "admin.end_user_session", "admin.end_user_sessions"}
    for rule in post_only:
        assert admin_client.get(build(rule, target)).status_code == 405, rule.rule
    assert fresh(target).active and admin_actions() == []


@pytest.mark.parametrize("user_id", ["01234567-89ab-7cde-8f01-23456789abcd", "%00", "x' OR '1'='1",
                                     "a" * 300])
def test_unknown_users_are_404(admin_client: FlaskClient, user_id: str) -> None:
    assert admin_client.get(f"/admin/users/{user_id}").status_code == 404
    assert admin_client.get(f"/admin/users/{user_id}/disable/confirm").status_code == 404
    assert post(admin_client, f"/admin/users/{user_id}/disable").status_code == 404
