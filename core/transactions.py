"""Where a request's transaction ends (issue 15): one commit per request, made here.

Views, API handlers and services write into ``db.session`` and never commit. When the response
is ready, :func:`_end_request` commits the request's changes if the response is a success or a
redirect (status below 400) and rolls them back otherwise: a refusal, an invalid form, a 404 or
a server error leaves nothing of the request behind. Command-line commands and background jobs
are their own "requests": they commit where the command (or each batch of a job) ends.

Three things need more than that, and have a function each:

- :func:`regardless`: a write that must persist whatever the response (a permission denial's
  audit entry, a failed sign-in, a session's last-seen time). It runs at the request's end: in
  the request's own transaction just before it commits, or, when the request rolls back, in a
  short transaction of its own just after the rollback. So it never commits the caller's
  pending changes, and it is not lost with them. It runs *after* the request's transaction and
  never beside it on a second connection: on SQLite a second writer would wait for the
  request's write lock (and time out), and on PostgreSQL an audit append would wait for the
  chain's advisory lock that the request may already hold (core/audit), so the request would
  wait for itself.
- :func:`after_commit`: work that needs the request's rows committed first (an export job
  reads its own row from another connection, maybe another host).
- :func:`commit_despite_error_status`: the rare answer whose error status reports a state the
  request itself established and must keep (an export found expired is marked so: its file
  is deleted).

:func:`own_transaction` is a short transaction on a connection of its own, committed at once,
for the one counter that must be visible to parallel requests while the request goes on (the
sign-in throttle, which must not hold its row lock during the slow password hash).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

from flask import Flask, g, has_request_context
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from core.extensions import db

_STATE: Final = "senim_request_transaction"
Write = Callable[[], object]


@dataclass
class _RequestEnd:
    regardless: list[Write] = field(default_factory=list)
    after_commit: list[Write] = field(default_factory=list)
    commit_anyway: bool = False


def _state() -> _RequestEnd:
    state: _RequestEnd | None = g.get(_STATE)
    if state is None:
        state = _RequestEnd()
        setattr(g, _STATE, state)
    return state


def regardless(write: Write) -> None:
    """Run ``write`` (database writes through ``db.session``, no commit) at the end of the
    request whatever its response: in its transaction if it commits, else in one of its own.

    Outside a request (a command, a job) it runs at once, in the caller's transaction: the
    caller commits where it ends, and no response can roll it back."""
    if not has_request_context():
        write()
        return
    _state().regardless.append(write)


def after_commit(work: Write) -> None:
    """Run ``work`` once the request's transaction has committed (not at all if it rolls
    back). Outside a request it runs at once: a command commits before it starts a job."""
    if not has_request_context():
        work()
        return
    _state().after_commit.append(work)


def commit_despite_error_status() -> None:
    """Commit this request's changes although its response has an error status."""
    _state().commit_anyway = True


@contextmanager
def own_transaction() -> Iterator[Session]:
    """A session on a connection of its own whose transaction commits when the block ends (and
    rolls back on an error), independent of ``db.session``.

    Only for writes that must be visible to other requests before this request ends. On
    SQLite the request's own session must not have written yet (it would hold the database's
    single write lock, and this connection would wait for it): the sign-in views, its only
    users, call it before they write anything."""
    with Session(db.engine, expire_on_commit=False) as session, session.begin():
        yield session


def _end_request(response: Response) -> Response:
    state: _RequestEnd | None = g.get(_STATE)
    if response.status_code < 400 or (state is not None and state.commit_anyway):
        _commit(state)
    else:
        _roll_back(state)
    return response


def _commit(state: _RequestEnd | None) -> None:
    # If a write or the commit fails, the exception becomes a 500 answer, which passes through
    # here again and rolls back; the writes that must persist are then written after it.
    for write in state.regardless if state is not None else ():
        write()
    db.session.commit()
    if state is None:
        return
    state.regardless.clear()
    work, state.after_commit = state.after_commit, []
    for job in work:
        job()


def _roll_back(state: _RequestEnd | None) -> None:
    db.session.rollback()
    if state is None or not state.regardless:
        return
    writes, state.regardless, state.after_commit = state.regardless, [], []
    try:
        for write in writes:
            write()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def init_app(app: Flask) -> None:
    # Registered first, so that it runs last of the after_request functions (Flask runs them
    # in reverse): every other one has done its work before the transaction ends.
    app.after_request(_end_request)
