"""Alert transitions → the database, in batches, in one transaction per batch.

Theory of operation
-------------------
The rules (in-stream evaluator, offline sweeper) produce :class:`Transition` objects:
a :class:`~alerts.rules.Change` with the key of its alert — ``(rule, scope_key,
factor_id)``, the identity under which at most one alert is open (the partial unique
index ``alerts_open_idx``).  :meth:`AlertWriter.apply` turns a batch of them into:

1. the ids of the new alerts, reserved in one query (so the batch can refer to them
   before they exist, e.g. an offline alert inhibited by a grouped alert of the same
   batch);
2. one ``INSERT … SELECT FROM unnest`` of the new alerts, one ``UPDATE … FROM unnest`` of
   the open ones (count, last seen and latest value coalesced over the batch — never one
   statement per value), one update of the inhibition marks, one insert of the history
   events (``alert_events``);
3. ``pg_notify('envgrid_alerts', '<id>:<state>')`` for every alert that changed, inside
   the same transaction — PostgreSQL delivers it only when the transaction commits.

The writer keeps the map of open alerts (key → id, state).  It changes that map only
after COMMIT, so a batch that fails (database away) can be retried as it was.  Alerts a
user resolved meanwhile are skipped by the UPDATE (``state <> 'resolved'``) and reported
through :meth:`forget`, so the rule state can restart from normal.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
import orjson

from . import queries
from .model import ALERTS_CHANNEL
from .rules import SEVERITY_RANK, Change

__all__ = ["AlertKey", "AlertWriter", "OpenAlert", "Transition", "WriteOutcome"]

log = logging.getLogger(__name__)

#: (rule, scope_key, factor_id)
AlertKey: TypeAlias = tuple[str, str, int]
#: (alert id, kind, from state, to state, data)
_Event: TypeAlias = tuple[int, str, "str | None", "str | None", dict[str, Any]]
#: (alert id, inhibited by, inhibited?)
_Inhibit: TypeAlias = tuple[int, "int | None", bool]


@dataclass(frozen=True, slots=True)
class Transition:
    key: AlertKey
    change: Change
    station_id: int | None = None
    region: str = ""
    grid_id: int | None = None
    #: descriptive labels stored with the alert (station name, MN, factor, source …)
    labels: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OpenAlert:
    id: int
    state: str
    inhibited_by: int | None = None
    #: its severity (a touch with a worse one escalates it); "" = unknown
    severity: str = ""


@dataclass(slots=True)
class _Op:
    id: int
    key: AlertKey
    new: bool
    state: str  # new: the state to insert; existing: '' unchanged or the new state
    station_id: int | None = None
    region: str = ""
    grid_id: int | None = None
    severity: str | None = None
    first_seen: float = 0.0
    last_seen: float = 0.0
    fired_at: float | None = None
    resolved_at: float | None = None
    count: int = 0
    value: float | None = None
    threshold: float | None = None
    reason: str = ""
    data_kind: str = ""
    trigger_values: list[dict[str, Any]] | None = None
    labels: dict[str, Any] | None = None
    inhibited_by: int | None = None
    transition: bool = False


@dataclass(slots=True)
class WriteOutcome:
    created: int = 0
    updated: int = 0
    events: int = 0
    #: keys whose alert a user resolved meanwhile (the caller resets their rule state)
    gone: list[AlertKey] = field(default_factory=list)


def _worse(candidate: str, current: str) -> bool:
    """Whether ``candidate`` is a worse severity than ``current`` (known)."""
    return bool(current) and SEVERITY_RANK.get(candidate, 0) > SEVERITY_RANK.get(current, 0)


def _ts(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _json(value: Any) -> str:
    """jsonb values travel as text in array parameters (asyncpg would read a list of lists
    as a multi-dimensional array)."""
    return orjson.dumps(value).decode()


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _json(value)


def _samples(change: Change) -> list[dict[str, Any]]:
    return [
        {"t": datetime.fromtimestamp(t, UTC).isoformat(), "v": v, "f": f}
        for t, v, f in change.values
    ]


class AlertWriter:
    """Owns the open-alert map; writes batches of transitions (see module docstring)."""

    def __init__(self) -> None:
        self.open: dict[AlertKey, OpenAlert] = {}
        self.by_id: dict[int, AlertKey] = {}
        #: batches are planned against the open map and adopt it after COMMIT: one at a time
        self.lock = asyncio.Lock()
        #: our own ``envgrid_alerts`` payloads, so that the listener tells them apart from
        #: a user's (registered before COMMIT: the notice may arrive before apply returns)
        self._own: dict[str, int] = {}

    def own_notice(self, payload: str) -> bool:
        """True (once) if ``payload`` came from this writer."""
        count = self._own.get(payload, 0)
        if count <= 0:
            return False
        if count == 1:
            del self._own[payload]
        else:
            self._own[payload] = count - 1
        return True

    def _register(self, payloads: Sequence[str], delta: int) -> None:
        for p in payloads:
            count = self._own.get(p, 0) + delta
            if count > 0:
                self._own[p] = count
            else:
                self._own.pop(p, None)

    async def load(self, conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
        """Read the open alerts; returns the rows (the engine restores rule state)."""
        rows = await conn.fetch(queries.LOAD_OPEN_ALERTS_SQL)
        self.open.clear()
        self.by_id.clear()
        for r in rows:
            key = (r["rule"], r["scope_key"], r["factor_id"])
            self.open[key] = OpenAlert(r["id"], r["state"], r["inhibited_by"], r["severity"])
            self.by_id[r["id"]] = key
        return list(rows)

    def note_state(self, alert_id: int, state: str) -> AlertKey | None:
        """A transition announced on ``envgrid_alerts`` (maybe by a user).  Returns the key
        when the alert is no longer open (the caller resets its rule state)."""
        key = self.by_id.get(alert_id)
        if key is None:
            return None
        if state == "resolved":
            self.forget(alert_id)
            return key
        current = self.open.get(key)
        if current is not None and current.id == alert_id:
            current.state = state
        return None

    def forget(self, alert_id: int) -> AlertKey | None:
        key = self.by_id.pop(alert_id, None)
        if key is not None:
            current = self.open.get(key)
            if current is not None and current.id == alert_id:
                del self.open[key]
        return key

    # -- building the batch -------------------------------------------------------------------
    def _plan(
        self,
        transitions: Iterable[Transition],
        inhibit: Mapping[AlertKey, AlertKey | None] | None,
        now: float,
    ) -> tuple[dict[int, _Op], list[_Event], dict[AlertKey, OpenAlert], list[_Inhibit]]:
        ops: dict[int, _Op] = {}
        events: list[_Event] = []
        view: dict[AlertKey, OpenAlert] = {
            k: OpenAlert(v.id, v.state, v.inhibited_by, v.severity) for k, v in self.open.items()
        }
        placeholder = 0
        for tr in transitions:
            ch = tr.change
            action = ch.action
            current = view.get(tr.key)
            data: dict[str, Any] = {
                "ts": datetime.fromtimestamp(ch.ts, UTC).isoformat(),
                "value": ch.value,
                "threshold": ch.threshold,
                "reason": ch.reason,
            }
            if current is None:
                if action not in ("pending", "firing"):
                    continue  # touch/resolve of an alert that is not open (already closed)
                placeholder -= 1
                state = action
                op = _Op(
                    placeholder,
                    tr.key,
                    True,
                    state,
                    tr.station_id,
                    tr.region,
                    tr.grid_id,
                    ch.severity,
                    ch.values[0][0] if ch.values else ch.ts,
                    ch.ts,
                    ch.ts if action == "firing" else None,
                    None,
                    1,
                    ch.value,
                    ch.threshold,
                    ch.reason,
                    ch.kind,
                    _samples(ch),
                    dict(tr.labels),
                    transition=True,
                )
                ops[placeholder] = op
                view[tr.key] = OpenAlert(placeholder, state, None, ch.severity)
                events.append((placeholder, action, None, state, data))
                continue
            found = ops.get(current.id)
            if found is None:
                found = ops[current.id] = _Op(current.id, tr.key, False, "")
            op = found
            if action in ("pending", "firing", "touch"):
                if action == "firing" and current.state == "pending":
                    current.state = "firing"
                    op.state = "firing"
                    op.fired_at = ch.ts
                    op.severity = ch.severity
                    op.trigger_values = _samples(ch)
                    op.transition = True
                    events.append((current.id, "firing", "pending", "firing", data))
                    current.severity = ch.severity
                elif _worse(ch.severity, current.severity) and current.state != "pending":
                    # graded by ratio or duration (alerts.severity): escalate, never lower
                    events.append(
                        (
                            current.id,
                            "escalated",
                            current.state,
                            current.state,
                            {**data, "from": current.severity, "severity": ch.severity},
                        )
                    )
                    current.severity = op.severity = ch.severity
                    if not op.new:
                        op.transition = True
                op.count += 1
                op.last_seen = max(op.last_seen, ch.ts)
                if ch.value is not None:
                    op.value = ch.value
                if ch.threshold is not None:
                    op.threshold = ch.threshold
                if ch.reason and action != "touch":
                    op.reason = ch.reason
                if tr.labels:
                    op.labels = {**(op.labels or {}), **tr.labels}
                continue
            # resolved / cancelled
            previous = current.state
            op.state = "resolved"
            op.resolved_at = now
            op.transition = True
            if ch.value is not None:
                op.value = ch.value
            op.last_seen = max(op.last_seen, ch.ts)
            events.append((current.id, action, previous, "resolved", data))
            del view[tr.key]

        inhibition: list[_Inhibit] = []
        if inhibit is not None:
            for key, by_key in inhibit.items():
                target = view.get(key)
                if target is None:
                    continue
                by = view[by_key].id if by_key is not None and by_key in view else None
                if target.inhibited_by == by:
                    continue
                target.inhibited_by = by
                planned = ops.get(target.id)
                if planned is not None and planned.new:
                    planned.inhibited_by = by
                else:
                    inhibition.append((target.id, by, by is not None))
        return ops, events, view, inhibition

    # -- writing ----------------------------------------------------------------------------
    async def apply(
        self,
        conn: asyncpg.Connection,
        transitions: Sequence[Transition],
        *,
        inhibit: Mapping[AlertKey, AlertKey | None] | None = None,
        now: float | None = None,
    ) -> WriteOutcome:
        """Write a batch in one transaction (see the module docstring)."""
        async with self.lock:
            return await self._apply(conn, transitions, inhibit, now)

    async def _apply(
        self,
        conn: asyncpg.Connection,
        transitions: Sequence[Transition],
        inhibit: Mapping[AlertKey, AlertKey | None] | None,
        now: float | None,
    ) -> WriteOutcome:
        out = WriteOutcome()
        if not transitions and not inhibit:
            return out
        wall = time.time() if now is None else now
        ops, events, view, inhibition = self._plan(transitions, inhibit, wall)
        if not ops and not inhibition:
            return out
        new_ops = [op for op in ops.values() if op.new]
        registered: list[str] = []
        try:
            return await self._write(conn, ops, events, view, inhibition, new_ops, out, registered)
        except BaseException:
            self._register(registered, -1)  # rolled back: nothing of ours will be announced
            raise

    async def _write(
        self,
        conn: asyncpg.Connection,
        ops: dict[int, _Op],
        events: list[_Event],
        view: dict[AlertKey, OpenAlert],
        inhibition: list[_Inhibit],
        new_ops: list[_Op],
        out: WriteOutcome,
        registered: list[str],
    ) -> WriteOutcome:
        async with conn.transaction():
            ids: list[int] = []
            if new_ops:
                ids = [r[0] for r in await conn.fetch(queries.RESERVE_ALERT_IDS_SQL, len(new_ops))]
            remap = {op.id: real for op, real in zip(new_ops, ids, strict=True)}

            def real(alert_id: int | None) -> int | None:
                if alert_id is None:
                    return None
                return remap.get(alert_id, alert_id)

            for op in new_ops:
                op.id = remap[op.id]
                op.inhibited_by = real(op.inhibited_by)
            # the updates first: an alert of a key that resolves in this batch leaves the
            # open-alert index before the key's next alert of the same batch is inserted
            old_ops = [op for op in ops.values() if not op.new]
            updated: dict[int, str] = {}
            if old_ops:
                rows = await conn.fetch(
                    queries.UPDATE_ALERTS_SQL,
                    [op.id for op in old_ops],
                    [op.state for op in old_ops],
                    [op.severity for op in old_ops],
                    [_ts(op.last_seen) if op.last_seen else None for op in old_ops],
                    [_ts(op.fired_at) for op in old_ops],
                    [_ts(op.resolved_at) for op in old_ops],
                    [op.count for op in old_ops],
                    [op.value for op in old_ops],
                    [op.threshold for op in old_ops],
                    [op.reason for op in old_ops],
                    [_json_or_none(op.trigger_values) for op in old_ops],
                    [_json_or_none(op.labels) for op in old_ops],
                )
                updated = {r[0]: r[1] for r in rows}
            inserted: set[int] = set()
            if new_ops:
                rows = await conn.fetch(
                    queries.INSERT_ALERTS_SQL,
                    [
                        {
                            "i": op.id,
                            "r": op.key[0],
                            "sk": op.key[1],
                            "st": op.station_id,
                            "f": op.key[2],
                            "rg": op.region,
                            "g": op.grid_id,
                            "s": op.state,
                            "sv": op.severity or "major",
                            "fs": op.first_seen,
                            "ls": op.last_seen,
                            "fa": op.fired_at,
                            "ra": op.resolved_at,
                            "rb": "system" if op.state == "resolved" else None,
                            "c": op.count,
                            "v": op.value,
                            "th": op.threshold,
                            "re": op.reason,
                            "dk": op.data_kind,
                            "tv": op.trigger_values or [],
                            "lb": op.labels or {},
                            "ib": op.inhibited_by,
                        }
                        for op in new_ops
                    ],
                )
                inserted = {r[0] for r in rows}
                if len(inserted) != len(new_ops):
                    lost = [op.key for op in new_ops if op.id not in inserted]
                    log.warning(
                        "%d new alerts collided with open alerts unknown to the engine"
                        " (another engine running?): %s; reloading the open alerts",
                        len(lost),
                        lost[:5],
                    )
            inhibited_rows: dict[int, str] = {}
            if inhibition:
                rows = await conn.fetch(
                    queries.UPDATE_INHIBITION_SQL,
                    [i for i, _, _ in inhibition],
                    [real(by) for _, by, _ in inhibition],
                )
                inhibited_rows = {r[0]: r[1] for r in rows}
            written = inserted | set(updated)
            ev = [(real(a), k, f, t, d) for a, k, f, t, d in events]
            ev = [e for e in ev if e[0] in written]
            for alert_id, on, _ in inhibition:
                if alert_id in inhibited_rows:
                    kind = "inhibited" if on else "uninhibited"
                    ev.append((alert_id, kind, None, None, {"by": real(on)}))
            if ev:
                await conn.execute(
                    queries.INSERT_EVENTS_SQL,
                    [{"a": e[0], "k": e[1], "f": e[2], "t": e[3], "d": e[4]} for e in ev],
                )
            payloads: list[str] = []
            for op in new_ops:
                if op.id in inserted:
                    payloads.append(f"{op.id}:{op.state}")
            for op in old_ops:
                if op.id in updated and op.transition:
                    payloads.append(f"{op.id}:{updated[op.id]}")
            for alert_id, state in inhibited_rows.items():
                payloads.append(f"{alert_id}:{state}")
            if payloads:
                self._register(payloads, +1)
                registered.extend(payloads)
                await conn.execute(queries.NOTIFY_SQL, ALERTS_CHANNEL, payloads)
        # committed: adopt the new view
        gone: list[AlertKey] = []
        for op in old_ops:
            if op.id not in updated and op.key in self.open and self.open[op.key].id == op.id:
                gone.append(op.key)
        for op in new_ops:
            if op.id not in inserted:
                view.pop(op.key, None)
        fixed: dict[AlertKey, OpenAlert] = {}
        for key, alert in view.items():
            alert.id = remap.get(alert.id, alert.id)
            if alert.inhibited_by is not None:
                alert.inhibited_by = remap.get(alert.inhibited_by, alert.inhibited_by)
            if key not in gone:
                fixed[key] = alert
        self.open = fixed
        self.by_id = {a.id: k for k, a in fixed.items()}
        out.created = len(inserted)
        out.updated = len(updated)
        out.events = len(ev)
        out.gone = gone
        if len(inserted) != len(new_ops):
            await self.load(conn)
        return out
