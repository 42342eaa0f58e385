"""Counting the SQL statements a block of code sends, so that a query storm cannot come back
unnoticed (issue 13: one contact submission once ran about 78 statements)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

# Transaction bookkeeping, not work: savepoints come and go with the session's flush logic.
_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK TO", "SET ")


class Statements(list[str]):
    """The statements seen, in order (bookkeeping excluded)."""

    def report(self) -> str:
        return "\n".join(f"{i:3d} {s.split(chr(10))[0][:160]}" for i, s in enumerate(self, 1))


@contextmanager
def counting_statements(engine: Engine) -> Iterator[Statements]:
    """Every statement ``engine`` executes inside the block, on any connection."""
    seen = Statements()

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(_BOOKKEEPING):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
