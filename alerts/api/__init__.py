"""The Python API of the alert engine for the web process and the CLI.

Every function takes an asyncpg pool or connection (``db``) first.  Changes to alerts
are announced on ``envgrid_alerts`` (``"<id>:<state>"``) and changes to the
configuration on ``envgrid_alert_config`` (payload: the table), inside the same
transaction as the change.  Invalid input raises :class:`AlertApiError` (a
``ValueError``) with a message meant for the user; a missing object raises
:class:`NotFound`.  Configuration objects come back as JSON-ready dicts; alerts as
:class:`~alerts.model.AlertView` (``.to_json()``).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit

import asyncpg

from store.settings import Settings

from .. import queries
from ..config import LEVELS, RULE_PARAMS, coerce_params, load_config
from ..limits import LimitSpec
from ..model import ALERTS_CHANNEL, CONFIG_CHANNEL, STATES, AlertView, jsonable
from ..notifiers import NOTIFIERS
from ..routing import (
    MATCHER_LABELS,
    ROLES,
    SCOPES,
    Route,
    RoutingError,
    parse_matchers,
    parse_time_ranges,
)
from ..rules import RULES, SEVERITIES, RuleError

__all__ = [
    "AlertApiError",
    "AlertDetail",
    "AlertPage",
    "NotFound",
    "Page",
    "acknowledge_alert",
    "add_responsibility",
    "assign_alert",
    "comment_alert",
    "create_receiver",
    "create_route",
    "create_silence",
    "create_window",
    "delete_limit",
    "delete_receiver",
    "delete_route",
    "delete_rule_config",
    "delete_silence",
    "delete_window",
    "effective_rules",
    "expire_silence",
    "get_alert",
    "get_notification",
    "get_receiver",
    "list_alerts",
    "list_limits",
    "list_notifications",
    "list_receivers",
    "list_responsibilities",
    "list_routes",
    "list_rule_configs",
    "list_silences",
    "list_windows",
    "remove_responsibility",
    "resolve_alert",
    "set_limit",
    "set_rule_config",
    "update_receiver",
    "update_route",
    "update_window",
]

Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"
Record: TypeAlias = dict[str, Any]

_EMAIL: Final = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_MAX_PAGE: Final = 1000


class AlertApiError(ValueError):
    """Invalid input; the message says what to change."""


class NotFound(AlertApiError):
    """The object does not exist."""


@asynccontextmanager
async def _tx(db: Db) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with db.transaction():
            yield db


def _record(row: Mapping[str, Any]) -> Record:
    return {k: jsonable(v) for k, v in dict(row).items()}


def _page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= _MAX_PAGE:
        raise AlertApiError(f"limit must be 1..{_MAX_PAGE} (got {limit})")
    if offset < 0:
        raise AlertApiError(f"offset must be ≥ 0 (got {offset})")
    return limit, offset


def _choices(values: Sequence[str] | None, allowed: Sequence[str], what: str) -> list[str] | None:
    if values is None:
        return None
    out = [str(v) for v in values]
    for v in out:
        if v not in allowed:
            raise AlertApiError(f"unknown {what} {v!r}; {what}s: {', '.join(allowed)}")
    return out


# ------------------------------------------------------------------------------------------
# alerts


@dataclass(frozen=True, slots=True)
class AlertPage:
    items: list[AlertView]
    total: int

    def to_json(self) -> Record:
        return {"items": [a.to_json() for a in self.items], "total": self.total}


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Record]
    total: int | None = None

    def to_json(self) -> Record:
        return {"items": self.items, "total": self.total}


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
    limit, offset = _page(limit, offset)
    state_list = _choices(states, STATES, "state")
    args = (
        state_list,
        station_id,
        region,
        grid_id,
        _choices(rules, RULES, "rule"),
        _choices(severities, SEVERITIES, "severity"),
        since,
        until,
        include_unfired or (state_list is not None and "pending" in state_list),
    )
    rows = await db.fetch(queries.LIST_ALERTS_SQL, *args, limit, offset)
    total = await db.fetchval(queries.COUNT_ALERTS_SQL, *args)
    return AlertPage([AlertView.from_record(r) for r in rows], int(total))


async def get_alert(db: Db, alert_id: int) -> AlertDetail | None:
    """One alert with its history and the notifications that mentioned it."""
    row = await db.fetchrow(queries.GET_ALERT_SQL, alert_id)
    if row is None:
        return None
    events = [_record(r) for r in await db.fetch(queries.ALERT_EVENTS_SQL, alert_id)]
    notes = [_record(r) for r in await db.fetch(queries.ALERT_NOTIFICATIONS_SQL, alert_id)]
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
    refuse: str = "",
) -> AlertView:
    if not user:
        raise AlertApiError("user must name who does this (for the alert's history)")
    async with _tx(db) as conn:
        before = await conn.fetchval(queries.ALERT_STATE_SQL, alert_id)
        if before is None:
            raise NotFound(f"alert {alert_id} does not exist")
        after = await conn.fetchval(sql, alert_id, arg) if sql else before
        if after is None:
            raise AlertApiError(refuse.format(id=alert_id, state=before))
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
        refuse="alert {id} is {state}; only firing alerts can be acknowledged",
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
        refuse="alert {id} is already resolved",
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
        raise AlertApiError("comment must not be empty")
    return await _alert_change(db, alert_id, "", None, kind="comment", user=user, comment=comment)


# ------------------------------------------------------------------------------------------
# the notification log


async def list_notifications(
    db: Db,
    *,
    receiver_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    alert_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """The delivery log, newest first (without message bodies; see get_notification)."""
    limit, offset = _page(limit, offset)
    if status is not None:
        _choices([status], ("queued", "sending", "sent", "failed"), "status")
    if kind is not None:
        _choices([kind], ("alert", "reminder", "ranking", "test"), "kind")
    rows = await db.fetch(
        queries.LIST_NOTIFICATIONS_SQL, receiver_id, status, kind, alert_id, since, limit, offset
    )
    return Page([_record(r) for r in rows])


async def get_notification(db: Db, notification_id: int) -> Record | None:
    """One delivery log row with the rendered message (subject, text, html, markdown)."""
    row = await db.fetchrow(queries.GET_NOTIFICATION_SQL, notification_id)
    return None if row is None else _record(row)


async def _notify_config(conn: asyncpg.Connection, table: str) -> None:
    await conn.execute(queries.NOTIFY_ONE_SQL, CONFIG_CHANNEL, table)


async def _deleted(db: Db, sql: str, ident: int, table: str, what: str) -> None:
    async with _tx(db) as conn:
        if await conn.fetchval(sql, ident) is None:
            raise NotFound(f"{what} {ident} does not exist")
        await _notify_config(conn, table)


# ------------------------------------------------------------------------------------------
# receivers and responsibilities


def _check_receiver(kind: str, address: str, settings: Mapping[str, Any] | None) -> None:
    if kind not in NOTIFIERS:
        raise AlertApiError(f"unknown receiver kind {kind!r}; kinds: {', '.join(NOTIFIERS)}")
    if kind == "email":
        parts = [a for a in re.split(r"[,;\s]+", address.strip()) if a]
        bad = [a for a in parts if not _EMAIL.match(a)]
        if not parts or bad:
            raise AlertApiError(
                "email receiver needs email addresses separated by commas"
                f" (bad: {bad or address!r})"
            )
    else:
        url = urlsplit(address)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise AlertApiError(f"{kind} receiver needs an http(s) URL (got {address!r})")
    if settings is not None and not isinstance(settings, Mapping):
        raise AlertApiError("receiver settings must be an object")


async def create_receiver(
    db: Db,
    *,
    name: str,
    kind: str,
    address: str,
    secret: str | None = None,
    settings: Mapping[str, Any] | None = None,
    enabled: bool = True,
) -> int:
    """A contact point: ``email`` (addresses), ``webhook``/``wecom``/``dingtalk`` (URL;
    secret = DingTalk signing secret or the webhook HMAC key)."""
    if not name.strip():
        raise AlertApiError("receiver name must not be empty")
    _check_receiver(kind, address, settings)
    async with _tx(db) as conn:
        try:
            rid = await conn.fetchval(
                queries.INSERT_RECEIVER_SQL,
                name.strip(),
                kind,
                address.strip(),
                secret or None,
                dict(settings or {}),
                enabled,
            )
        except asyncpg.UniqueViolationError:
            raise AlertApiError(f"a receiver named {name!r} exists already") from None
        await _notify_config(conn, "alert_receivers")
    return int(rid)


async def update_receiver(
    db: Db,
    receiver_id: int,
    *,
    name: str,
    kind: str,
    address: str,
    settings: Mapping[str, Any] | None = None,
    enabled: bool = True,
    secret: str | None = None,
    keep_secret: bool = True,
) -> None:
    """Replace a receiver's fields; the secret stays unless ``keep_secret=False``."""
    _check_receiver(kind, address, settings)
    async with _tx(db) as conn:
        try:
            found = await conn.fetchval(
                queries.UPDATE_RECEIVER_SQL,
                receiver_id,
                name.strip(),
                kind,
                address.strip(),
                not keep_secret,
                secret or None,
                dict(settings or {}),
                enabled,
            )
        except asyncpg.UniqueViolationError:
            raise AlertApiError(f"a receiver named {name!r} exists already") from None
        if found is None:
            raise NotFound(f"receiver {receiver_id} does not exist")
        await _notify_config(conn, "alert_receivers")


async def list_receivers(db: Db) -> list[Record]:
    """Receivers; secrets are not returned (``has_secret``)."""
    return [_record(r) for r in await db.fetch(queries.LIST_RECEIVERS_SQL)]


async def get_receiver(db: Db, ident: int | str) -> Record | None:
    """A receiver by id or name, with its secret (for the notifiers and the CLI)."""
    text = str(ident)
    number = int(text) if text.isascii() and text.isdigit() else -1
    row = await db.fetchrow(queries.GET_RECEIVER_SQL, number, str(ident))
    return None if row is None else _record(row)


async def delete_receiver(db: Db, receiver_id: int) -> None:
    await _deleted(db, queries.DELETE_RECEIVER_SQL, receiver_id, "alert_receivers", "receiver")


async def add_responsibility(
    db: Db, *, receiver_id: int, role: str, scope: str, scope_key: str | int = ""
) -> int:
    """``receiver_id`` is ``role`` (maintainer/officer) for a station (id), a region
    (name), an area (id: the area and every grid below it) or ``all``."""
    _choices([role], ROLES, "role")
    _choices([scope], SCOPES, "scope")
    key = "" if scope == "all" else str(scope_key).strip()
    if scope != "all" and not key:
        raise AlertApiError(f"scope {scope!r} needs a scope_key (station id, region or area id)")
    if scope in ("station", "area") and not (key.isascii() and key.isdigit()):
        raise AlertApiError(f"scope {scope!r} needs a numeric id (got {key!r})")
    async with _tx(db) as conn:
        try:
            rid = await conn.fetchval(
                queries.INSERT_RESPONSIBILITY_SQL, receiver_id, role, scope, key
            )
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(f"receiver {receiver_id} does not exist") from None
        await _notify_config(conn, "alert_responsibilities")
    return int(rid)


async def list_responsibilities(db: Db, *, receiver_id: int | None = None) -> list[Record]:
    return [_record(r) for r in await db.fetch(queries.LIST_RESPONSIBILITIES_SQL, receiver_id)]


async def remove_responsibility(db: Db, responsibility_id: int) -> None:
    await _deleted(
        db,
        queries.DELETE_RESPONSIBILITY_SQL,
        responsibility_id,
        "alert_responsibilities",
        "responsibility",
    )


# ------------------------------------------------------------------------------------------
# routes


def _route_args(
    name: str,
    position: int,
    matchers: Mapping[str, Any] | None,
    receiver_ids: Sequence[int],
    to_roles: Sequence[str],
    group_by: Sequence[str],
    group_wait_s: float | None,
    group_interval_s: float | None,
    repeat_interval_s: float | None,
    send_resolved: bool,
    mute_window_ids: Sequence[int],
    continue_matching: bool,
    enabled: bool,
) -> tuple[Any, ...]:
    if not name.strip():
        raise AlertApiError("route name must not be empty")
    try:
        parsed = parse_matchers(matchers or {})
        Route(
            0,
            name,
            position,
            parsed,
            tuple(receiver_ids),
            tuple(to_roles),
            tuple(group_by),
            group_wait_s,
            group_interval_s,
            repeat_interval_s,
            send_resolved,
            tuple(mute_window_ids),
            continue_matching,
            enabled,
        ).validate()
    except RoutingError as exc:
        raise AlertApiError(str(exc)) from None
    if not receiver_ids and not to_roles:
        raise AlertApiError("a route needs receivers or roles (maintainer/officer) to send to")
    return (
        name.strip(),
        position,
        {k: sorted(v) for k, v in parsed.items()},
        list(receiver_ids),
        list(to_roles),
        list(group_by),
        group_wait_s,
        group_interval_s,
        repeat_interval_s,
        send_resolved,
        list(mute_window_ids),
        continue_matching,
        enabled,
    )


async def create_route(
    db: Db,
    *,
    name: str,
    position: int = 100,
    matchers: Mapping[str, Any] | None = None,
    receiver_ids: Sequence[int] = (),
    to_roles: Sequence[str] = (),
    group_by: Sequence[str] = ("region", "rule"),
    group_wait_s: float | None = None,
    group_interval_s: float | None = None,
    repeat_interval_s: float | None = None,
    send_resolved: bool = True,
    mute_window_ids: Sequence[int] = (),
    continue_matching: bool = False,
    enabled: bool = True,
) -> int:
    """A routing rule (see :mod:`alerts.routing`); timers None = the alerts.* settings."""
    args = _route_args(
        name,
        position,
        matchers,
        receiver_ids,
        to_roles,
        group_by,
        group_wait_s,
        group_interval_s,
        repeat_interval_s,
        send_resolved,
        mute_window_ids,
        continue_matching,
        enabled,
    )
    async with _tx(db) as conn:
        try:
            rid = await conn.fetchval(queries.INSERT_ROUTE_SQL, *args)
        except asyncpg.UniqueViolationError:
            raise AlertApiError(f"a route named {name!r} exists already") from None
        await _notify_config(conn, "alert_routes")
    return int(rid)


async def update_route(
    db: Db,
    route_id: int,
    *,
    name: str,
    position: int = 100,
    matchers: Mapping[str, Any] | None = None,
    receiver_ids: Sequence[int] = (),
    to_roles: Sequence[str] = (),
    group_by: Sequence[str] = ("region", "rule"),
    group_wait_s: float | None = None,
    group_interval_s: float | None = None,
    repeat_interval_s: float | None = None,
    send_resolved: bool = True,
    mute_window_ids: Sequence[int] = (),
    continue_matching: bool = False,
    enabled: bool = True,
) -> None:
    """Replace a route's fields."""
    args = _route_args(
        name,
        position,
        matchers,
        receiver_ids,
        to_roles,
        group_by,
        group_wait_s,
        group_interval_s,
        repeat_interval_s,
        send_resolved,
        mute_window_ids,
        continue_matching,
        enabled,
    )
    async with _tx(db) as conn:
        if await conn.fetchval(queries.UPDATE_ROUTE_SQL, route_id, *args) is None:
            raise NotFound(f"route {route_id} does not exist")
        await _notify_config(conn, "alert_routes")


async def list_routes(db: Db) -> list[Record]:
    return [_record(r) for r in await db.fetch(queries.LIST_ROUTES_SQL)]


async def delete_route(db: Db, route_id: int) -> None:
    await _deleted(db, queries.DELETE_ROUTE_SQL, route_id, "alert_routes", "route")


# ------------------------------------------------------------------------------------------
# silences and maintenance windows


def _matchers(matchers: Mapping[str, Any] | None) -> dict[str, list[str]]:
    try:
        return {k: sorted(v) for k, v in parse_matchers(matchers or {}).items()}
    except RoutingError as exc:
        raise AlertApiError(str(exc)) from None


def _aware(value: datetime | None, what: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise AlertApiError(f"{what} must carry a time zone (e.g. +08:00)")
    return value


async def create_silence(
    db: Db,
    *,
    matchers: Mapping[str, Any],
    ends_at: datetime,
    created_by: str,
    starts_at: datetime | None = None,
    comment: str = "",
) -> int:
    """Mute the notifications of matching alerts from ``starts_at`` (default now) to
    ``ends_at``; the alerts stay visible.  Matchers by label: station, region, rule, …"""
    parsed = _matchers(matchers)
    if not parsed:
        raise AlertApiError(
            "a silence needs at least one matcher (station, region, rule …);"
            f" labels: {', '.join(MATCHER_LABELS)}"
        )
    if not created_by:
        raise AlertApiError("created_by must name who creates the silence")
    start = _aware(starts_at, "starts_at")
    end = _aware(ends_at, "ends_at")
    async with _tx(db) as conn:
        if start is None:
            start = await conn.fetchval(queries.DB_NOW_TS_SQL)
        assert end is not None and start is not None
        if end <= start:
            raise AlertApiError("ends_at must be after starts_at")
        sid = await conn.fetchval(
            queries.INSERT_SILENCE_SQL, parsed, start, end, created_by, comment
        )
        await _notify_config(conn, "alert_silences")
    return int(sid)


async def list_silences(db: Db, *, active_only: bool = False) -> list[Record]:
    return [_record(r) for r in await db.fetch(queries.LIST_SILENCES_SQL, active_only)]


async def expire_silence(db: Db, silence_id: int, *, user: str = "") -> None:
    """End a silence now (kept in the list for the record)."""
    async with _tx(db) as conn:
        if await conn.fetchval(queries.EXPIRE_SILENCE_SQL, silence_id, user) is None:
            raise NotFound(f"silence {silence_id} does not exist or has ended")
        await _notify_config(conn, "alert_silences")


async def delete_silence(db: Db, silence_id: int) -> None:
    await _deleted(db, queries.DELETE_SILENCE_SQL, silence_id, "alert_silences", "silence")


def _window_args(
    name: str,
    matchers: Mapping[str, Any] | None,
    recurring: bool,
    starts_at: datetime | None,
    ends_at: datetime | None,
    weekdays: Sequence[int],
    time_ranges: Sequence[Sequence[str]],
    timezone: str | None,
    enabled: bool,
    comment: str,
) -> tuple[Any, ...]:
    if not name.strip():
        raise AlertApiError("window name must not be empty")
    start, end = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    if not recurring and (start is None or end is None):
        raise AlertApiError("a one-off window needs starts_at and ends_at")
    if start is not None and end is not None and end <= start:
        raise AlertApiError("ends_at must be after starts_at")
    days = sorted({int(d) for d in weekdays})
    if any(not 1 <= d <= 7 for d in days):
        raise AlertApiError(f"weekdays are ISO numbers 1 (Monday) .. 7 (Sunday), got {days}")
    try:
        ranges = parse_time_ranges([list(r) for r in time_ranges])
    except RoutingError as exc:
        raise AlertApiError(str(exc)) from None
    if timezone:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise AlertApiError(f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)") from None
    return (
        name.strip(),
        _matchers(matchers),
        recurring,
        start,
        end,
        days,
        [[f"{a // 60:02d}:{a % 60:02d}", f"{b // 60:02d}:{b % 60:02d}"] for a, b in ranges],
        timezone or None,
        enabled,
        comment,
    )


async def create_window(
    db: Db,
    *,
    name: str,
    matchers: Mapping[str, Any] | None = None,
    recurring: bool = False,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    weekdays: Sequence[int] = (),
    time_ranges: Sequence[Sequence[str]] = (),
    timezone: str | None = None,
    enabled: bool = True,
    created_by: str = "",
    comment: str = "",
) -> int:
    """A maintenance window: one-off (starts_at..ends_at) or recurring (ISO weekdays and
    ``[["HH:MM", "HH:MM"], …]`` in ``timezone``, default core.timezone)."""
    args = _window_args(
        name,
        matchers,
        recurring,
        starts_at,
        ends_at,
        weekdays,
        time_ranges,
        timezone,
        enabled,
        comment,
    )
    async with _tx(db) as conn:
        try:
            wid = await conn.fetchval(queries.INSERT_WINDOW_SQL, *args[:9], created_by, comment)
        except asyncpg.UniqueViolationError:
            raise AlertApiError(f"a window named {name!r} exists already") from None
        await _notify_config(conn, "alert_maintenance_windows")
    return int(wid)


async def update_window(
    db: Db,
    window_id: int,
    *,
    name: str,
    matchers: Mapping[str, Any] | None = None,
    recurring: bool = False,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    weekdays: Sequence[int] = (),
    time_ranges: Sequence[Sequence[str]] = (),
    timezone: str | None = None,
    enabled: bool = True,
    comment: str = "",
) -> None:
    args = _window_args(
        name,
        matchers,
        recurring,
        starts_at,
        ends_at,
        weekdays,
        time_ranges,
        timezone,
        enabled,
        comment,
    )
    async with _tx(db) as conn:
        if await conn.fetchval(queries.UPDATE_WINDOW_SQL, window_id, *args) is None:
            raise NotFound(f"maintenance window {window_id} does not exist")
        await _notify_config(conn, "alert_maintenance_windows")


async def list_windows(db: Db) -> list[Record]:
    return [_record(r) for r in await db.fetch(queries.LIST_WINDOWS_SQL)]


async def delete_window(db: Db, window_id: int) -> None:
    await _deleted(db, queries.DELETE_WINDOW_SQL, window_id, "alert_maintenance_windows", "window")


# ------------------------------------------------------------------------------------------
# limits and rule configuration


def _level(level: str, scope_key: str | int) -> str:
    _choices([level], LEVELS, "level")
    key = "" if level == "default" else str(scope_key).strip()
    if level != "default" and not key:
        raise AlertApiError(f"level {level!r} needs a scope_key (ST code, region or station id)")
    return key


async def set_limit(
    db: Db,
    *,
    factor_code: str,
    level: str = "default",
    scope_key: str | int = "",
    rule: str = "exceedance",
    upper: float | None = None,
    lower: float | None = None,
    aqi_level: int | None = None,
    severity: str | None = None,
    enabled: bool = True,
    source: str = "",
    user: str = "",
) -> int:
    """Set (insert or replace) a limit at one level; ``enabled=False`` removes the limit at
    that level (e.g. exempts a station from the station-type limit)."""
    key = _level(level, scope_key)
    _choices([rule], ("exceedance", "aqi_level"), "rule")
    if severity is not None:
        _choices([severity], SEVERITIES, "severity")
    if not factor_code:
        raise AlertApiError("factor_code must name a factor (e.g. a34004 for PM2.5)")
    if enabled:
        if rule == "aqi_level":
            if aqi_level is None or not 2 <= aqi_level <= 6:
                raise AlertApiError("an aqi_level limit needs aqi_level 2..6 (HJ 633 levels)")
        else:
            try:
                LimitSpec(upper, lower)
                if upper is None and lower is None:
                    raise AlertApiError("a limit needs upper and/or lower")
                if upper is not None and lower is not None and lower >= upper:
                    raise AlertApiError("lower must be below upper")
            except TypeError as exc:
                raise AlertApiError(str(exc)) from None
    async with _tx(db) as conn:
        lid = await conn.fetchval(
            queries.UPSERT_LIMIT_SQL,
            rule,
            level,
            key,
            factor_code,
            upper,
            lower,
            aqi_level,
            severity,
            enabled,
            source,
            user,
        )
        await _notify_config(conn, "alert_limits")
    return int(lid)


async def list_limits(
    db: Db,
    *,
    factor_code: str | None = None,
    level: str | None = None,
    scope_key: str | None = None,
) -> list[Record]:
    """The limits users set (the built-in ones: :func:`effective_rules`)."""
    return [
        _record(r) for r in await db.fetch(queries.LIST_LIMITS_SQL, factor_code, level, scope_key)
    ]


async def delete_limit(db: Db, limit_id: int) -> None:
    await _deleted(db, queries.DELETE_LIMIT_SQL, limit_id, "alert_limits", "limit")


async def set_rule_config(
    db: Db,
    *,
    rule: str,
    level: str = "default",
    scope_key: str | int = "",
    factor_code: str = "",
    enabled: bool | None = None,
    severity: str | None = None,
    params: Mapping[str, Any] | None = None,
    user: str = "",
) -> int:
    """Rule parameters at one level (merged over the alerts.* settings; see
    :data:`alerts.config.RULE_PARAMS` for the names)."""
    key = _level(level, scope_key)
    _choices([rule], tuple(RULE_PARAMS), "rule")
    if severity is not None:
        _choices([severity], SEVERITIES, "severity")
    try:
        checked = coerce_params(rule, params or {})
    except RuleError as exc:
        raise AlertApiError(str(exc)) from None
    async with _tx(db) as conn:
        cid = await conn.fetchval(
            queries.UPSERT_RULE_CONFIG_SQL,
            rule,
            level,
            key,
            factor_code,
            enabled,
            severity,
            checked,
            user,
        )
        await _notify_config(conn, "alert_rule_config")
    return int(cid)


async def list_rule_configs(db: Db, *, rule: str | None = None) -> list[Record]:
    return [_record(r) for r in await db.fetch(queries.LIST_RULE_CONFIG_SQL, rule)]


async def delete_rule_config(db: Db, config_id: int) -> None:
    await _deleted(
        db, queries.DELETE_RULE_CONFIG_SQL, config_id, "alert_rule_config", "rule config"
    )


async def effective_rules(db: Db, settings: Settings, station: int | str) -> list[Record]:
    """What the engine applies to one station (id or MN): per factor the exceedance limit
    (with its source), the hourly-AQI threshold and the flatline/jump/maintenance
    parameters — built-in defaults and every override resolved."""
    sid = await db.fetchval(queries.STATION_ID_SQL, str(station))
    if sid is None:
        raise NotFound(f"station {station!r} does not exist")
    config = await load_config(db, settings)
    info = config.stations[sid]
    out: list[Record] = []
    for factor in sorted(config.factors.values(), key=lambda f: f.code):
        rules = config.rules_for(info, factor)
        if rules.empty:
            continue
        entry: Record = {
            "factor_code": factor.code,
            "factor_name": factor.name_zh,
            "unit": factor.unit,
        }
        for name, rule in (
            ("exceedance", rules.exceedance),
            ("aqi_level", rules.aqi),
            ("flatline", rules.flatline),
            ("jump", rules.jump),
            ("maintenance", rules.maintenance),
        ):
            if rule is not None:
                entry[name] = {
                    k: jsonable(getattr(rule, k)) for k in rule.__slots__ if not k.startswith("_")
                }
        out.append(entry)
    offline = config.offline_rule(info)
    if offline is not None:
        out.append(
            {"factor_code": "", "offline": {k: getattr(offline, k) for k in offline.__slots__}}
        )
    return out
