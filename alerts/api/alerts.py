"""Alerts: the list, one alert with its history, and what users do to one
(acknowledge, resolve, assign, comment)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import queries
from ..model import ALERTS_CHANNEL, STATE_ZH, STATES, AlertView
from ..rules import RULES, SEVERITIES
from .common import (
    AlertApiError,
    Conflict,
    Db,
    NotFound,
    Record,
    absent,
    choices,
    page_bounds,
    record,
    transaction,
)

__all__ = [
    "AlertDetail",
    "AlertPage",
    "acknowledge_alert",
    "assign_alert",
    "comment_alert",
    "get_alert",
    "list_alerts",
    "resolve_alert",
]


@dataclass(frozen=True, slots=True)
class AlertPage:
    items: list[AlertView]
    total: int

    def to_json(self) -> Record:
        return {"items": [a.to_json() for a in self.items], "total": self.total}


@dataclass(frozen=True, slots=True)
class AlertDetail:
    alert: AlertView
    #: the full history: transitions, acknowledgements, assignments, comments, inhibition
    events: list[Record] = field(default_factory=list)
    #: every message that mentioned the alert (delivery log rows, without the body)
    notifications: list[Record] = field(default_factory=list)

    def to_json(self) -> Record:
        return {
            "alert": self.alert.to_json(),
            "events": self.events,
            "notifications": self.notifications,
        }


async def list_alerts(
    db: Db,
    *,
    states: Sequence[str] | None = None,
    station_id: int | None = None,
    region: str | None = None,
    grid_id: int | None = None,
    rules: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    include_unfired: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> AlertPage:
    """Alerts, newest first.  ``grid_id`` matches the area and every grid below it;
    ``since``/``until`` bound ``first_seen``; pending alerts that never fired are left out
    unless ``include_unfired`` (or ``states`` names ``pending``)."""
    limit, offset = page_bounds(limit, offset)
    state_list = choices(states, STATES, "state")
    args = (
        state_list,
        station_id,
        region,
        grid_id,
        choices(rules, RULES, "rule"),
        choices(severities, SEVERITIES, "severity"),
        since,
        until,
        include_unfired or (state_list is not None and "pending" in state_list),
    )
    rows = await db.fetch(queries.LIST_ALERTS_SQL, *args, limit, offset)
    items = [AlertView.from_record(r) for r in rows if r["id"] is not None]
    return AlertPage(items, int(rows[0]["total"]))


async def get_alert(db: Db, alert_id: int) -> AlertDetail | None:
    """One alert with its history and the notifications that mentioned it."""
    row = await db.fetchrow(queries.GET_ALERT_SQL, alert_id)
    if row is None:
        return None
    events = [record(r) for r in await db.fetch(queries.ALERT_EVENTS_SQL, alert_id)]
    notes = [record(r) for r in await db.fetch(queries.ALERT_NOTIFICATIONS_SQL, alert_id)]
    return AlertDetail(AlertView.from_record(row), events, notes)


async def _alert_change(
    db: Db,
    alert_id: int,
    sql: str,
    arg: Any,
    *,
    kind: str,
    user: str,
    comment: str,
    data: Mapping[str, Any] | None = None,
    refuse: tuple[str, str] = ("", ""),
) -> AlertView:
    if not user:
        raise AlertApiError(
            "user must name who does this (for the alert's history)", "须注明操作人（记入告警记录）"
        )
    async with transaction(db) as conn:
        before = await conn.fetchval(queries.ALERT_STATE_SQL, alert_id)
        if before is None:
            raise NotFound(*absent(("alert", "告警"), alert_id))
        after = await conn.fetchval(sql, alert_id, arg) if sql else before
        if after is None:
            state = STATE_ZH.get(before, before)
            raise Conflict(
                refuse[0].format(id=alert_id, state=before),
                refuse[1].format(id=alert_id, state=state),
            )
        await conn.execute(
            queries.INSERT_EVENT_SQL,
            alert_id,
            kind,
            before,
            after,
            user,
            comment,
            dict(data or {}),
        )
        await conn.execute(queries.NOTIFY_ONE_SQL, ALERTS_CHANNEL, f"{alert_id}:{after}")
        row = await conn.fetchrow(queries.GET_ALERT_SQL, alert_id)
    return AlertView.from_record(row)


async def acknowledge_alert(db: Db, alert_id: int, *, user: str, comment: str = "") -> AlertView:
    """firing → acknowledged (no reminders any more; the resolution is still notified)."""
    return await _alert_change(
        db,
        alert_id,
        queries.ACK_ALERT_SQL,
        user,
        kind="acknowledged",
        user=user,
        comment=comment,
        refuse=(
            "alert {id} is {state}; only firing alerts can be acknowledged",
            "只有“告警中”的告警可以确认（告警 {id} 当前：{state}）",
        ),
    )


async def resolve_alert(db: Db, alert_id: int, *, user: str, comment: str = "") -> AlertView:
    """Close an alert by hand.  If its condition persists, the engine raises a new alert
    after the pending period (to stop that, silence it or change the limit)."""
    return await _alert_change(
        db,
        alert_id,
        queries.RESOLVE_ALERT_SQL,
        user,
        kind="resolved",
        user=user,
        comment=comment,
        refuse=("alert {id} is already resolved", "告警 {id} 已恢复"),
    )


async def assign_alert(
    db: Db, alert_id: int, *, assignee: str | None, user: str, comment: str = ""
) -> AlertView:
    """Set (or clear, with None) the person in charge."""
    return await _alert_change(
        db,
        alert_id,
        queries.ASSIGN_ALERT_SQL,
        assignee or None,
        kind="assigned",
        user=user,
        comment=comment,
        data={"assignee": assignee or None},
    )


async def comment_alert(db: Db, alert_id: int, *, user: str, comment: str) -> AlertView:
    if not comment.strip():
        raise AlertApiError("comment must not be empty", "备注不能为空")
    return await _alert_change(db, alert_id, "", None, kind="comment", user=user, comment=comment)
