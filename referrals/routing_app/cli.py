"""``senim route [FILE]``: facts JSON in, decision JSON out (interfaces.md); no writes."""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from referrals.routing import FactsError
from referrals.routing_app import service as routing_service

INVALID = 2  # exit status for invalid input, as click uses for usage errors


@click.command("route")
@click.argument("source", metavar="[FILE]", type=click.File("rb"), default="-")
@with_appcontext
def route_command(source: IO[bytes]) -> None:
    """Route the facts in FILE (or standard input) and print the decision."""
    data = _read_json(source)
    try:
        decision = routing_service.decide(data)
    except SQLAlchemyError as error:
        # the published algorithm and the calendar live in the database: no silent fallback
        # to the bundled version, which may not be the one in force
        raise click.ClickException("cannot read the current algorithm from the database "
                                   f"(has `senim db upgrade` run?): {type(error).__name__}") from None
    except FactsError as error:
        for path, message in error.fields.items():
            click.echo(f"{path}: {message}", err=True)
        sys.exit(INVALID)
    body = routing_service.decision_json(decision)
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))


def _read_json(source: IO[bytes]) -> Any:
    # Bytes, decoded here: a file in another encoding is an error to report, not to guess.
    try:
        return json.loads(source.read().decode("utf-8"))
    except UnicodeDecodeError:
        click.echo("facts: the input is not UTF-8 text", err=True)
    except json.JSONDecodeError as error:
        click.echo(f"facts: not valid JSON ({error.msg}, line {error.lineno} column {error.colno})",
                   err=True)
    sys.exit(INVALID)
