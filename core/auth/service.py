"""Credential checks and changes, shared by the web pages, the admin pages and the CLI."""

from __future__ import annotations

from sqlalchemy import select

from core.extensions import db
from core.models import User
from core.passwords import dummy_hash, hash_password, needs_rehash, verify_password
from core.users_service import UserError, check_password_policy, disable_user


def authenticate(username: str, password: str) -> User | None:
    """The user whose password this is, or None (same cost either way: one Argon2 run)."""
    dummy_hash()  # made on the first attempt whoever it names, so even that one costs the same
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: needs the current password; ends every other session."""
    if not verify_password(user.password_hash, current):
        raise UserError("the current password is not correct", "wrong_password")
    if current == new:
        raise UserError("the new password equals the current one", "same")
    check_password_policy(new)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.end_all_sessions()


def reset_password(user: User, temporary: str) -> None:
    """An administrator's reset: the user must choose a new password at next sign-in."""
    check_password_policy(temporary)
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.end_all_sessions()


def disable(user: User) -> None:
    """Disable with no named actor (a system job); people go through ``disable_user``."""
    disable_user(user, actor=None, via="system")


def reset_second_factor(user: User) -> None:
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.last_totp_step = None
    user.end_all_sessions()
