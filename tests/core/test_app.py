"""The application shell: configuration, languages, errors, headers, sign-in."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from core.app import create_app
from core.config import Config, ConfigError
from core.urls import safe_next
from tests.conftest import make_config
from tests.factories import TEST_PASSWORD, csrf_token, sign_in
from tests.reading import json_of

KEY = base64.b64encode(bytes(range(1, 33))).decode()


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="^SENIM_ENV"):
        Config.from_env({"SENIM_ENV": "staging"})


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()])
def test_malformed_master_key_is_refused(key: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^SENIM_MASTER_KEY"):
        Config.from_env({"SENIM_MASTER_KEY": key, "SENIM_INSTANCE_PATH": str(tmp_path)})


def test_production_requires_keys_and_refuses_sqlite(tmp_path: Path) -> None:
    base = {"SENIM_ENV": "production", "SENIM_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigError, match="^SENIM_SECRET_KEY"):
        Config.from_env(base)
    with pytest.raises(ConfigError, match="^SENIM_MASTER_KEY"):
        Config.from_env({**base, "SENIM_SECRET_KEY": "s" * 40})
    keyed = {**base, "SENIM_SECRET_KEY": "s" * 40, "SENIM_MASTER_KEY": KEY}
    with pytest.raises(ConfigError, match="^SENIM_DATABASE_URL: SQLite is refused"):
        Config.from_env(keyed)
    assert Config.from_env({**keyed, "SENIM_ALLOW_SQLITE": "1"}).is_production


def test_development_generates_keys_once_into_the_instance_folder(tmp_path: Path) -> None:
    first = Config.from_env({"SENIM_INSTANCE_PATH": str(tmp_path)})
    second = Config.from_env({"SENIM_INSTANCE_PATH": str(tmp_path)})
    assert first.master_key == second.master_key and len(base64.b64decode(first.master_key)) == 32
    assert (tmp_path / "master_key").stat().st_mode & 0o077 == 0


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ConfigError, match="^SENIM_TIMEZONE"):
        Config.from_env({"SENIM_TIMEZONE": "Mars/Olympus"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SENIM_ENV": "nonsense"}, "SENIM_ENV"),
        ({"SENIM_MASTER_KEY": "%%%"}, "SENIM_MASTER_KEY"),
        ({"SENIM_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}, "SENIM_DATABASE_URL"),
    ],
)
def test_bad_configuration_stops_the_cli_with_one_line(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from core.cli import main; main()", "routes"],
        env={"PATH": "/usr/bin:/bin", "SENIM_INSTANCE_PATH": str(tmp_path), **env},
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if '"level"' not in line]
    assert lines == [lines[0]] and expected in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_login_page_language_follows_accept_language(client: FlaskClient, lang: str) -> None:
    response = client.get("/login", headers={"Accept-Language": f"{lang},en;q=0.1"})
    assert response.status_code == 200
    assert f'<html lang="{lang}">'.encode() in response.data


def test_kazakh_is_the_default_language(client: FlaskClient) -> None:
    response = client.get("/login", headers={"Accept-Language": "de"})
    assert b'<html lang="kk">' in response.data
    assert "Кіру".encode() in response.data


def test_language_choice_beats_accept_language(client: FlaskClient) -> None:
    client.get("/login")
    token = csrf_token(client, "/login")
    client.post("/lang", data={"lang": "ru", "csrf_token": token, "next": "/login"})
    response = client.get("/login", headers={"Accept-Language": "en"})
    assert b'<html lang="ru">' in response.data


def test_pages_redirect_anonymous_users_to_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json == {"error": {"code": "not_found", "message": json_of(response)["error"]["message"]}}


def test_page_errors_are_friendly_pages(client: FlaskClient, create_user) -> None:
    sign_in(client, create_user())
    response = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert response.status_code == 404 and b"Page not found" in response.data


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/login", "/", "/static/css/senim.css", "/api/v1/x"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_sign_in_and_out(client: FlaskClient, create_user) -> None:
    user = create_user("supervisor", display_name="Демо Супервайзер")
    response = sign_in(client, user, lang="ru")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/", headers={"Accept-Language": "ru"})
    assert "Демо Супервайзер".encode() in home.data and "Супервайзер".encode() in home.data
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient, create_user) -> None:
    user = create_user()
    en = {"Accept-Language": "en"}
    wrong = client.post("/login", headers=en, data={
        "username": user.username, "password": "wrong password here",
        "csrf_token": csrf_token(client, "/login")})
    unknown = client.post("/login", headers=en, data={
        "username": "nobody-at-all", "password": "wrong password here",
        "csrf_token": csrf_token(client, "/login")})
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.data.count(b"flash-error") == unknown.data.count(b"flash-error") == 1
    assert b"not correct" in wrong.data and b"not correct" in unknown.data


def test_login_without_csrf_token_is_refused(client: FlaskClient, create_user) -> None:
    user = create_user()
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 400


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example",
                                    "javascript:alert(1)", " //evil", "/\t/evil", "http:/evil"])
def test_open_redirects_are_refused(target: str) -> None:
    assert safe_next(target) is None


def test_local_next_is_kept() -> None:
    assert safe_next("/cases?q=1") == "/cases?q=1"


def test_app_factory_uses_the_config_it_is_given(tmp_path: Path) -> None:
    config = make_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", timezone="Asia/Aqtobe",
                         check_database=False)
    app = create_app(config)
    assert app.config["SENIM"] is config
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Aqtobe"


def test_hsts_is_sent_in_production_only(tmp_path: Path) -> None:
    def hsts(env: str) -> str | None:
        config = make_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", env=env,
                             allow_sqlite=True, check_database=False)
        return create_app(config).test_client().get("/login").headers.get(
            "Strict-Transport-Security")

    assert hsts("production") == "max-age=63072000; includeSubDomains"
    assert hsts("testing") is None
