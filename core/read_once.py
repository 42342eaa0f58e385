"""Reference values read once per unit of work, where the caller asks for it.

A contact submission asks for the current routing algorithm and the calendar of days off about
ten times (validation, routing, deadlines, each notification); each ask was a query. Inside
``with read_once():`` the first ask loads and the rest reuse the value. Outside such a block
nothing is remembered, so code holding a long transaction still sees what others committed
meanwhile (READ COMMITTED), exactly as before.

The memo lives in the session's ``info`` and ends with the block. Whoever changes such a
value in the same session drops it with :func:`forget` (see referrals.routing_app.service).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from core.extensions import db

T = TypeVar("T")
_KEY: Final = "senim.read_once"


@contextmanager
def read_once() -> Iterator[None]:
    info = db.session.info
    if _KEY in info:  # nested: join the outer block
        yield
        return
    info[_KEY] = {}
    try:
        yield
    finally:
        info.pop(_KEY, None)


def remembered(name: str, load: Callable[[], T]) -> T:
    """``load()``, once per ``read_once`` block (every time outside one)."""
    memo: dict[str, Any] | None = db.session.info.get(_KEY)
    if memo is None:
        return load()
    if name not in memo:
        memo[name] = load()
    value: T = memo[name]
    return value


def forget(session: Any, *names: str) -> None:
    memo: dict[str, Any] | None = session.info.get(_KEY)
    if memo is not None:
        for name in names:
            memo.pop(name, None)
