"""The signed-in user's home (`/`): each feature registers the home of the roles it serves."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, current_app, g, render_template

from core.models import User
from core.roles import Role

bp = Blueprint("core", __name__)
HomeView = Callable[[User], str]


def register_home(app: Flask, roles: set[Role], view: HomeView) -> None:
    homes: dict[Role, HomeView] = app.extensions.setdefault("senim.homes", {})
    for role in roles:
        homes[role] = view


@bp.get("/")
def home() -> str:
    user: User = g.user
    homes: dict[Role, HomeView] = current_app.extensions.get("senim.homes", {})
    view = homes.get(Role(user.role))
    if view is not None:
        return view(user)
    return render_template("core/home.html", user=user)
