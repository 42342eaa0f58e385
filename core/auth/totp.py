"""TOTP second factor (pyotp): enrolment, verification and the replay guard."""

from __future__ import annotations

import pyotp
import segno
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.extensions import db
from core.models import User

ISSUER = "Senim"
DRIFT_STEPS = 1  # accept the previous and next 30-second step for clock drift


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    # A data: URI keeps the CSP strict (no inline script; img-src allows data:).
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def matching_step(secret: str, code: str) -> int | None:
    """The time step the code belongs to, or None. Uses the app clock, so tests move time."""
    code = "".join(code.split())
    totp = pyotp.TOTP(secret)
    now = utcnow()
    step = totp.timecode(now)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_and_consume(user: User, code: str) -> bool:
    """True once per code: a step at or before the last used one is refused (no replay).

    The step is consumed by one conditional UPDATE, not read-then-write in Python: several
    half-signed-in sessions submitting the same code at once race for that row, and the
    database lets exactly one of them move ``last_totp_step`` forward (on PostgreSQL the
    others wait for its row lock, then find the condition false; SQLite has one writer)."""
    if not user.totp_secret:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None or (user.last_totp_step is not None and step <= user.last_totp_step):
        return False
    result = db.session.execute(
        update(User).where(User.id == user.id,
                           or_(User.last_totp_step.is_(None), User.last_totp_step < step))
        .values(last_totp_step=step).execution_options(synchronize_session=False))
    if getattr(result, "rowcount", 0) != 1:
        db.session.refresh(user, ["last_totp_step"])
        return False
    set_committed_value(user, "last_totp_step", step)
    return True


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(utcnow())


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, the RFC 4226 recommendation
