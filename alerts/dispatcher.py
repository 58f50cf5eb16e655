"""Notifications decided: routing, grouping, muting, recorded in the delivery log.

Theory of operation
-------------------
*Deciding* (:class:`Dispatcher`, one ``tick`` per second).  The dispatcher keeps the
alerts that may still need a message — firing and acknowledged ones, and resolved ones
whose resolution has not been told to everybody who heard of them — and reloads an alert
whenever ``envgrid_alerts`` announces a change.  Each alert goes through the routes
(:mod:`alerts.routing`) to receivers, into groups (route × receiver × group labels); per
group :func:`alerts.grouping.decide` applies the Alertmanager timers.  Silences,
maintenance windows (global, or a route's quiet hours) and inhibition (an open
``offline_mass`` alert covering the alert) mute members.

*Recording before sending.*  A decision becomes, in one transaction: the rendered message
as a row of ``alert_notifications`` (status ``queued``) whose ``idempotency_key`` is
derived from route, receiver, group, kind and the alerts it announces (a reminder also
from the time of the previous message), the per-alert marks in ``alert_deliveries``
("told as firing", "told as resolved") and the group's timing in ``alert_groups``.  After
a restart the marks and groups are read back, so nothing is decided twice; the unique
key makes a second insert of the same message a no-op.

*Sending* is :mod:`alerts.outbox`'s (the delivery log's) business.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from . import queries
from .config import AlertConfig, Receiver
from .grouping import Decision, GroupState, Member, Timers, decide, idle
from .model import AlertView, columns
from .outbox import idempotency_key, queue_message
from .routing import Route, group_key, muted_by, select_routes, window_active
from .templates import render_alerts

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)

GroupKey = tuple[int, int, str]  # route, receiver, group key


@dataclass(slots=True)
class _Mark:
    group_key: str
    firing: bool = False
    resolved: bool = False


@dataclass(slots=True)
class _Queued:
    key: GroupKey
    decision: Decision
    state: GroupState
    route: Route
    receiver: Receiver
    labels: dict[str, str]


class Dispatcher:
    """Decides what to send (see the module docstring)."""

    def __init__(
        self,
        get_config: Callable[[], AlertConfig],
        *,
        clock: Callable[[], float] = time.time,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.get_config = get_config
        self.clock = clock
        self.on_queued = on_queued
        self.alerts: dict[int, AlertView] = {}
        #: alert id → (route id, receiver id) → what that receiver was told
        self.marks: dict[int, dict[tuple[int, int], _Mark]] = {}
        self.groups: dict[GroupKey, GroupState] = {}
        self.dirty: set[int] = set()
        self._targets: dict[int, list[tuple[Route, int, str]]] = {}
        self._labels: dict[int, dict[str, str]] = {}
        self._config: AlertConfig | None = None
        self._forget_groups: list[GroupKey] = []
        self.queued = 0

    # -- state ---------------------------------------------------------------------------
    async def load(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.alerts = {
            r["id"]: AlertView.from_record(r)
            for r in await conn.fetch(queries.LOAD_ACTIVE_ALERTS_SQL)
        }
        self.marks = {}
        for r in await conn.fetch(queries.LOAD_DELIVERIES_SQL):
            self.marks.setdefault(r[0], {})[(r[1], r[2])] = _Mark(r[3], r[4], r[5])
        self.groups = {
            (r[0], r[1], r[2]): GroupState(r[3], r[4])
            for r in await conn.fetch(queries.LOAD_GROUPS_SQL)
        }
        self._targets.clear()
        self._labels.clear()
        log.info(
            "dispatcher: %d active alerts, %d delivery marks, %d groups",
            len(self.alerts),
            len(self.marks),
            len(self.groups),
        )

    def changed(self, alert_id: int) -> None:
        """``envgrid_alerts`` said this alert changed."""
        self.dirty.add(alert_id)

    async def _refresh(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        if not self.dirty:
            return
        ids, self.dirty = list(self.dirty), set()
        for r in await conn.fetch(queries.LOAD_ALERTS_BY_ID_SQL, ids):
            alert = AlertView.from_record(r)
            self._targets.pop(alert.id, None)
            self._labels.pop(alert.id, None)
            told = any(m.firing for m in self.marks.get(alert.id, {}).values())
            if alert.firing or (alert.state == "resolved" and told):
                self.alerts[alert.id] = alert
            else:
                self.alerts.pop(alert.id, None)

    # -- routing -------------------------------------------------------------------------
    def _labels_of(self, alert: AlertView) -> dict[str, str]:
        found = self._labels.get(alert.id)
        if found is None:
            found = self._labels[alert.id] = alert.routing_labels()
        return found

    def _targets_of(self, alert: AlertView, config: AlertConfig) -> list[tuple[Route, int, str]]:
        found = self._targets.get(alert.id)
        if found is not None:
            return found
        labels = self._labels_of(alert)
        station = config.stations.get(alert.station_id) if alert.station_id is not None else None
        areas = station.areas if station is not None else ()
        out: list[tuple[Route, int, str]] = []
        for route in select_routes(config.routes, labels):
            receivers = set(route.receiver_ids) | config.responsibilities.receivers(
                route.to_roles, labels, areas
            )
            gk = group_key(route, labels)
            for receiver_id in sorted(receivers):
                receiver = config.receivers.get(receiver_id)
                if receiver is not None and receiver.enabled:
                    out.append((route, receiver_id, gk))
        self._targets[alert.id] = out
        return out

    def _muted(self, alert: AlertView, config: AlertConfig, now: float) -> bool:
        if alert.inhibited_by is not None:
            source = self.alerts.get(alert.inhibited_by)
            if source is not None and source.firing:
                return True
        return (
            muted_by(self._labels_of(alert), config.silences, config.windows.values(), now)
            is not None
        )

    @staticmethod
    def _route_muted(route: Route, config: AlertConfig, now: float) -> bool:
        for window_id in route.mute_window_ids:
            window = config.windows.get(window_id)
            if window is not None and window_active(window, now):
                return True
        return False

    # -- one round -----------------------------------------------------------------------
    async def tick(self, pool: asyncpg.Pool | asyncpg.Connection) -> int:
        """Decide and queue; returns the number of messages queued."""
        await self._refresh(pool)
        config = self.get_config()
        if config is not self._config:
            self._targets.clear()
            self._config = config
        now = self.clock()
        members: dict[GroupKey, list[Member]] = defaultdict(list)
        routes: dict[GroupKey, Route] = {}
        labels_of: dict[GroupKey, dict[str, str]] = {}
        rule_of: dict[GroupKey, str] = {}
        route_muted: dict[int, bool] = {}
        for alert in self.alerts.values():
            targets = self._targets_of(alert, config)
            if not targets:
                continue
            muted = alert.firing and self._muted(alert, config, now)
            marks = self.marks.get(alert.id, {})
            for route, receiver_id, gk in targets:
                key = (route.id, receiver_id, gk)
                mark = marks.get((route.id, receiver_id))
                if route.id not in route_muted:
                    route_muted[route.id] = self._route_muted(route, config, now)
                members[key].append(
                    Member(
                        alert.id,
                        alert.firing,
                        alert.state == "acknowledged",
                        mark.firing if mark else False,
                        mark.resolved if mark else False,
                        muted or (alert.firing and route_muted[route.id]),
                    )
                )
                if key not in routes:
                    routes[key] = route
                    labels = self._labels_of(alert)
                    labels_of[key] = {label: labels.get(label, "") for label in route.group_by}
                    rule_of[key] = alert.rule
        queued: list[_Queued] = []
        for key, group in members.items():
            route = routes[key]
            wait, interval, repeat = config.timers(route, rule_of[key])
            timers = Timers(wait, interval, repeat, route.send_resolved)
            state = self.groups.get(key) or GroupState()
            decision = decide(group, state, now, timers)
            if decision is not None:
                queued.append(
                    _Queued(key, decision, state, route, config.receivers[key[1]], labels_of[key])
                )
            elif state.created_at is not None or state.last_sent_at is not None:
                self.groups[key] = state
        if queued:
            await self._queue(pool, queued, config, now)
        self._cleanup(members, routes)
        return len(queued)

    async def _queue(
        self,
        pool: asyncpg.Pool | asyncpg.Connection,
        items: Sequence[_Queued],
        config: AlertConfig,
        now: float,
    ) -> None:
        s = config.alerts
        mark_rows: list[tuple[int, int, int, str, bool, bool]] = []
        group_rows: list[tuple[int, int, str, dict[str, str], float, float]] = []
        rendered = []
        for item in items:
            d = item.decision
            new = [self.alerts[i] for i in d.new_firing]
            resolved = [self.alerts[i] for i in d.resolved]
            firing = [self.alerts[i] for i in d.firing]
            message = render_alerts(
                d.kind,
                new,
                resolved,
                firing,
                group_labels=item.labels,
                receiver=item.receiver.name,
                tz=config.tz,
                dashboard_url=s.dashboard_url,
                max_items=s.message_max_items,
            )
            route_id, receiver_id, gk = item.key
            seq = int(item.state.last_sent_at or 0) if d.kind == "reminder" else 0
            key = idempotency_key(d.kind, route_id, receiver_id, gk, d.new_firing, d.resolved, seq)
            ids = sorted({*d.new_firing, *d.resolved, *d.firing})
            rendered.append((key, item, message, ids))
            mark_rows += [(i, route_id, receiver_id, gk, True, False) for i in d.new_firing]
            mark_rows += [(i, route_id, receiver_id, gk, False, True) for i in d.resolved]
            created = item.state.created_at if item.state.created_at is not None else now
            group_rows.append((route_id, receiver_id, gk, item.labels, created, now))
        acquire = pool.acquire() if isinstance(pool, asyncpg.Pool) else _Same(pool)
        async with acquire as conn, conn.transaction():
            for key, item, message, ids in rendered:
                await queue_message(
                    conn,
                    key=key,
                    receiver=item.receiver,
                    kind=item.decision.kind,
                    message=message,
                    alert_ids=ids,
                    route_id=item.route.id,
                    group=item.key[2],
                )
            if mark_rows:
                await conn.execute(queries.MARK_DELIVERIES_SQL, *columns(mark_rows, 6))
            groups = [(*g[:3], orjson.dumps(g[3]).decode(), *g[4:]) for g in group_rows]
            await conn.execute(queries.UPSERT_GROUPS_SQL, *columns(groups, 6))
        # committed
        for alert_id, route_id, receiver_id, gk, told_firing, told_resolved in mark_rows:
            mark = self.marks.setdefault(alert_id, {}).setdefault(
                (route_id, receiver_id), _Mark(gk)
            )
            mark.firing = mark.firing or told_firing
            mark.resolved = mark.resolved or told_resolved
        for item in items:
            item.state.last_sent_at = now
            if item.state.created_at is None:
                item.state.created_at = now
            self.groups[item.key] = item.state
        self.queued += len(items)
        if self.on_queued is not None:
            self.on_queued()

    def _cleanup(
        self, members: dict[GroupKey, list[Member]], routes: dict[GroupKey, Route]
    ) -> None:
        gone_groups = [k for k in self.groups if k not in members]
        for key, group in members.items():
            if idle(group, routes[key].send_resolved):
                gone_groups.append(key)
        for key in gone_groups:
            self.groups.pop(key, None)
        self._forget_groups = gone_groups
        done: list[int] = []
        for alert in self.alerts.values():
            if alert.firing:
                continue
            pending = False
            marks = self.marks.get(alert.id, {})
            for route, receiver_id, _ in self._targets.get(alert.id, ()):
                mark = marks.get((route.id, receiver_id))
                if mark is not None and mark.firing and not mark.resolved and route.send_resolved:
                    pending = True
                    break
            if not pending:
                done.append(alert.id)
        for alert_id in done:
            self.alerts.pop(alert_id, None)
            self._targets.pop(alert_id, None)
            self._labels.pop(alert_id, None)
            self.marks.pop(alert_id, None)

    async def forget_idle_groups(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        """Delete the rows of groups that went idle in the last tick."""
        keys, self._forget_groups = self._forget_groups, []
        if keys:
            await conn.execute(
                queries.DELETE_GROUPS_SQL,
                [k[0] for k in keys],
                [k[1] for k in keys],
                [k[2] for k in keys],
            )


class _Same:
    """``async with`` over an already held connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def __aenter__(self) -> Any:
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        return None
