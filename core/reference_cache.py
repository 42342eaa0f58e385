"""Reference data each process keeps in memory, checked against a version the database holds.

The directory of agency units and the calendar of days off are small, read on every submission
and changed rarely (issue 13). A process keeps its copy keyed by a version: every flush that
writes one of the watched models bumps that kind's row in ``counters`` in the same transaction,
so that another process's change is seen at the next read of the version, and a process also
counts its own changes (a generation), which covers tables emptied and refilled underneath (the
tests do that between tests, resetting the counters).

A transaction that changed a kind and has not committed yet sees its own uncommitted rows: the
owner of the cache must then answer from the tables and keep that view out of the shared copy
(``Watched.changed_in``). Its end, committed or rolled back, starts a new generation: the shared
copy may hold neither version.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, ScalarSelect, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from core.extensions import db
from core.read_once import forget

#: The read_once name under which a submission keeps the versions it read (see
#: referrals.routing_app.service.stored_versions); dropped when a flush changes one.
REMEMBERED = "stored_versions"
_generations = itertools.count(1)


class Watched:
    """One kind of reference data: its counter and the models whose writes change it."""

    def __init__(self, name: str, models: tuple[type, ...]) -> None:
        self.name = name
        self.models = models
        self.generation = 0
        self._changed_key = f"senim.changed.{name}"
        self._listeners: list[Callable[[Session], None]] = []

    def version(self, stored: int | None) -> tuple[int | None, int]:
        """What a cached copy is keyed by: the stored counter and this process's generation."""
        return stored, self.generation

    def changed_in(self, session: Session | scoped_session[Any]) -> bool:
        """Whether this session's open transaction wrote the kind (and has not ended)."""
        return bool(session.info.get(self._changed_key))

    def on_change(self, listener: Callable[[Session], None]) -> None:
        """Call ``listener(session)`` after each flush that writes the kind."""
        self._listeners.append(listener)

    def counter(self) -> ScalarSelect[Any]:
        """The stored version as a scalar subquery, to read several in one statement."""
        counters = _counters()
        return select(counters.c.value).where(counters.c.name == self.name).scalar_subquery()

    def stored(self) -> int | None:
        """The stored version alone (one statement)."""
        value: int | None = db.session.execute(select(self.counter())).scalar()
        return value

    def _touched_by(self, objects: Iterable[object]) -> bool:
        return any(isinstance(obj, self.models) for obj in objects)

    def _changed(self, session: Session) -> None:
        self.generation = next(_generations)
        session.info[self._changed_key] = True
        forget(session, REMEMBERED)
        _bump(session.connection(), self.name)
        for listener in self._listeners:
            listener(session)

    def _ended(self, session: Session) -> None:
        if session.info.pop(self._changed_key, None):
            self.generation = next(_generations)


_WATCHED: list[Watched] = []


def watch(name: str, *models: type) -> Watched:
    """Register a kind of reference data (once per process, at import)."""
    watched = Watched(name, models)
    _WATCHED.append(watched)
    return watched


def watched() -> tuple[Watched, ...]:
    return tuple(_WATCHED)


def _counters() -> Any:
    # By name: the table is intake's (the case numbers share it), and core imports no feature.
    return db.metadata.tables["counters"]


def _bump(connection: Connection, name: str) -> None:
    counters = _counters()
    bumped = connection.execute(update(counters).where(counters.c.name == name)
                                .values(value=counters.c.value + 1))
    if bumped.rowcount == 0:
        dialect = connection.dialect.name
        upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = upsert(counters).values(name=name, value=1)
        connection.execute(statement.on_conflict_do_update(
            index_elements=[counters.c.name], set_={"value": counters.c.value + 1}))


def _after_flush(session: Session, flush_context: Any) -> None:
    touched = [*session.new, *session.dirty, *session.deleted]
    for kind in _WATCHED:
        if kind._touched_by(touched):
            kind._changed(session)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for kind in _WATCHED:
            kind._ended(session)


def install() -> None:
    """Once per process: several apps (tests, the live server) share the Session class."""
    for name, hook in (("after_flush", _after_flush),
                       ("after_transaction_end", _after_transaction_end)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
