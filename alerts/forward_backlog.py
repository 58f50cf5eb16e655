"""The alert "forwarding backlog older than N minutes" (转发积压): per forwarding target
(forward/), fires when the oldest frame still waiting for the upstream's 9014 is older
than the target's ``backlog_alert_minutes``; resolves when the backlog is empty or its
oldest frame is younger than half of that (hysteresis).  One alert per target, key
``("forward_backlog", "forward:<name>", 0)``; a removed or disabled target's alert resolves.

:func:`evaluate` is pure; :func:`sweep` reads the backlog (one query), evaluates and
writes through the engine's :class:`~alerts.writer.AlertWriter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import asyncpg

from forward.queries import BACKLOG_SQL

from . import queries
from .rules import Change
from .writer import AlertKey, AlertWriter, Transition

__all__ = ["FORWARD_BACKLOG", "evaluate", "sweep"]

FORWARD_BACKLOG: Final = "forward_backlog"
_SCOPE: Final = "forward:"


def evaluate(
    rows: Iterable[Mapping[str, Any]], open_keys: Iterable[AlertKey], now: float
) -> list[Transition]:
    """``rows``: per enabled target ``name``, ``backlog_alert_minutes``, ``backlog`` (frames)
    and ``oldest_s`` (age of the oldest, None when empty) → the transitions to write."""
    open_now = {k for k in open_keys if k[0] == FORWARD_BACKLOG}
    out: list[Transition] = []
    seen: set[AlertKey] = set()
    for r in rows:
        key: AlertKey = (FORWARD_BACKLOG, _SCOPE + r["name"], 0)
        seen.add(key)
        limit_s = 60.0 * r["backlog_alert_minutes"]
        age = r["oldest_s"] if r["backlog"] else None
        minutes = None if age is None else round(age / 60.0, 1)
        labels = {"target": r["name"], "backlog": r["backlog"]}
        threshold = float(r["backlog_alert_minutes"])
        action: Literal["touch", "firing", "resolved"] | None = None
        if age is not None and age > limit_s:
            action = "touch" if key in open_now else "firing"
        elif key in open_now and (age is None or age < limit_s / 2):
            action = "resolved"
        if action is not None:
            reason = "drained" if action == "resolved" else "backlog"
            change = Change(action, FORWARD_BACKLOG, now, minutes, "major", threshold, reason)
            out.append(Transition(key, change, labels=labels))
    for key in open_now - seen:
        change = Change("resolved", FORWARD_BACKLOG, now, None, "major", None, "removed")
        out.append(Transition(key, change))
    return out


async def sweep(conn: asyncpg.Connection, writer: AlertWriter) -> int:
    """One sweep; returns the number of transitions written."""
    now = float(await conn.fetchval(queries.DB_NOW_SQL))
    transitions = evaluate(await conn.fetch(BACKLOG_SQL), writer.open.keys(), now)
    if transitions:
        await writer.apply(conn, transitions, now=now)
    return len(transitions)
