"""Seed the instance that CI's external tools attack: schema, the demo directory, one user per
API role with a bearer token, and a few contacts so that ids, cases and referrals exist.

Run with the instance's environment (SENIM_ENV=testing, SENIM_DATABASE_URL, keys). Prints one
JSON object {role: token}. Fictional data only.
"""

from __future__ import annotations

import json
import secrets
import sys

from flask_migrate import upgrade
from sqlalchemy import select

from core.app import create_app
from core.extensions import db
from core.models import AgencyUnit
from core.roles import Role
from core.users_service import create_user, issue_token
from referrals import demo

# Nobody signs in with these users: the tools use their tokens.
PASSWORD = secrets.token_urlsafe(24)


def main() -> None:
    app = create_app()
    if app.config["SENIM"].env != "testing":
        sys.exit("seed_instance: refusing to seed anything but SENIM_ENV=testing")
    with app.app_context():
        upgrade()
        demo.load_directory()
        police = db.session.scalar(select(AgencyUnit).where(
            AgencyUnit.agency == "police", AgencyUnit.district == "KZ-27-TEREKTI"))
        # Seeded as `senim users create` does: through the one audited path.
        users = {
            "supervisor": create_user("ci_supervisor", "CI supervisor", Role.SUPERVISOR, PASSWORD,
                                      actor=None, via="cli"),
            "operator": create_user("ci_operator", "CI operator", Role.OPERATOR, PASSWORD,
                                    actor=None, via="cli"),
            "agency_head": create_user("ci_police_head", "CI police head", Role.AGENCY_HEAD, PASSWORD,
                                       unit=police, actor=None, via="cli"),
            "auditor": create_user("ci_auditor", "CI auditor", Role.AUDITOR, PASSWORD,
                                   actor=None, via="cli"),
        }
        tokens = {role: issue_token(user, "ci external tools", 1)[1] for role, user in users.items()}
        db.session.commit()
    print(json.dumps(tokens))


if __name__ == "__main__":
    main()
