"""SQL of the alert pages (``$n`` parameters only; ``$1`` is the data scope, ``int[]``,
NULL = unrestricted).

Data scope of an alert: a station alert is visible when its station is in the scope
(``envgrid_scope_stations``); an alert without a station (the grouped ``offline_mass``
alerts, scope ``region:<name>`` / ``worker:<n>`` / ``all``) when its region is the code
or name of an area of the scope, or its grid is one of those areas — so ``worker:``/
``all`` alerts are for unscoped users only.  A notification is visible to a scoped user
when every alert it mentions is.  Silences and maintenance windows of a scoped user must
name stations, regions or grids (matchers ``station``/``region``/``grid``) all inside the
scope; the lists show a scoped user those windows only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

#: The alert list, or one alert ($13 its id, then with any other filter NULL and $10 true).
LIST_ALERTS_SQL: Final = """
SELECT a.id, a.rule, a.scope_key, a.station_id, a.factor_id, a.region, a.grid_id, a.state,
       a.severity, a.first_seen, a.last_seen, a.fired_at, a.acknowledged_at,
       a.acknowledged_by, a.resolved_at, a.resolved_by, a.count, a.assignee, a.value,
       a.threshold, a.reason, a.data_kind, a.trigger_values, a.labels, a.inhibited_by,
       a.updated_at, s.mn AS station_mn, s.name AS station_name, s.st AS station_st,
       g.name AS grid_name,
       f.code AS factor_code, f.name_zh AS factor_name, f.unit AS factor_unit,
       count(*) OVER () AS total
FROM envgrid_scope_alerts($1::int[]) a
LEFT JOIN stations s ON s.id = a.station_id
LEFT JOIN areas g ON g.id = a.grid_id
LEFT JOIN factors f ON f.id = a.factor_id AND a.factor_id <> 0
WHERE ($2::text[] IS NULL OR a.state = ANY($2::text[]))
  AND ($3::int IS NULL OR a.station_id = $3)
  AND ($4::text IS NULL OR a.region = $4)
  AND ($5::int IS NULL OR a.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$5]::int[])))
  AND ($6::text[] IS NULL OR a.rule = ANY($6::text[]))
  AND ($7::text[] IS NULL OR a.severity = ANY($7::text[]))
  AND ($8::timestamptz IS NULL OR a.first_seen >= $8)
  AND ($9::timestamptz IS NULL OR a.first_seen < $9)
  AND (a.fired_at IS NOT NULL OR $10::boolean)
  AND ($13::bigint IS NULL OR a.id = $13)
ORDER BY a.first_seen DESC, a.id DESC
LIMIT $11 OFFSET $12
"""
SUMMARY_SQL: Final = """
SELECT a.state, a.severity, count(*) AS n
FROM envgrid_scope_alerts($1::int[]) a
WHERE a.state <> 'resolved' AND a.fired_at IS NOT NULL
GROUP BY a.state, a.severity
"""
#: A scoped user sees a notification when every alert it mentions is in the scope.
LIST_NOTIFICATIONS_SQL: Final = """
SELECT n.id, n.receiver_id, n.receiver_name, n.channel, n.route_id, r.name AS route_name,
       n.group_key, n.kind, n.alert_ids, n.subject, n.status, n.attempts, n.last_error,
       n.created_at, n.sent_at, count(*) OVER () AS total
FROM alert_notifications n
LEFT JOIN alert_routes r ON r.id = n.route_id
WHERE ($1::int[] IS NULL
       OR (cardinality(n.alert_ids) > 0
           AND (SELECT count(*) FROM envgrid_scope_alerts($1::int[]) a
                WHERE a.id = ANY(n.alert_ids)) = cardinality(n.alert_ids)))
  AND ($2::text IS NULL OR n.status = $2)
  AND ($3::text IS NULL OR n.kind = $3)
  AND ($4::bigint IS NULL OR n.alert_ids @> ARRAY[$4::bigint])
  AND ($5::int IS NULL OR n.receiver_id = $5)
  AND ($6::timestamptz IS NULL OR n.created_at >= $6)
ORDER BY n.id DESC
LIMIT $7 OFFSET $8
"""
NOTIFICATION_SQL: Final = """
SELECT n.id, n.receiver_id, n.receiver_name, n.channel, n.route_id, n.group_key, n.kind,
       n.alert_ids, n.subject, n.message, n.status, n.attempts, n.last_error, n.created_at,
       n.sent_at
FROM alert_notifications n
WHERE n.id = $2
  AND ($1::int[] IS NULL
       OR (cardinality(n.alert_ids) > 0
           AND (SELECT count(*) FROM envgrid_scope_alerts($1::int[]) a
                WHERE a.id = ANY(n.alert_ids)) = cardinality(n.alert_ids)))
"""
#: Whether matchers ($2, jsonb {label: [values]}) stay inside the data scope $1.
MATCHERS_IN_SCOPE_SQL: Final = """
SELECT $1::int[] IS NULL OR ($2::jsonb ?| '{station,region,grid}'
    AND NOT EXISTS (SELECT FROM envgrid_matchers_outside_scope($1::int[], $2::jsonb)))
"""
LIST_SILENCES_SQL: Final = """
SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at,
       (starts_at <= now() AND ends_at > now()) AS active
FROM alert_silences m
WHERE (NOT $2::boolean OR ends_at > now())
  AND ($1::int[] IS NULL OR (m.matchers ?| '{station,region,grid}'
       AND NOT EXISTS (SELECT FROM envgrid_matchers_outside_scope($1::int[], m.matchers))))
ORDER BY starts_at DESC, id DESC
"""
SILENCE_MATCHERS_SQL: Final = "SELECT matchers FROM alert_silences WHERE id = $1"
LIST_WINDOWS_SQL: Final = """
SELECT id, name, matchers, recurring, starts_at, ends_at, weekdays, time_ranges, timezone,
       enabled, created_by, comment, created_at, updated_at,
       (NOT recurring AND starts_at <= now() AND ends_at > now()) AS active
FROM alert_maintenance_windows m
WHERE $1::int[] IS NULL OR (m.matchers ?| '{station,region,grid}'
    AND NOT EXISTS (SELECT FROM envgrid_matchers_outside_scope($1::int[], m.matchers)))
ORDER BY name
"""
WINDOW_MATCHERS_SQL: Final = "SELECT matchers FROM alert_maintenance_windows WHERE id = $1"
LIST_RECEIVERS_SQL: Final = """
SELECT r.id, r.name, r.kind, r.address, r.secret IS NOT NULL AS has_secret, r.settings,
       r.enabled, r.user_id, u.username, u.display_name AS user_display_name, r.created_at,
       r.updated_at,
       COALESCE((SELECT json_agg(json_build_object('id', p.id, 'role', p.role, 'scope', p.scope,
                                                   'scope_key', p.scope_key) ORDER BY p.id)
                   FROM alert_responsibilities p WHERE p.receiver_id = r.id), '[]') AS
           responsibilities
FROM alert_receivers r LEFT JOIN web_users u ON u.id = r.user_id
ORDER BY r.name
"""
SET_RECEIVER_USER_SQL: Final = """
UPDATE alert_receivers SET user_id = $2, updated_at = now() WHERE id = $1 RETURNING id
"""
USER_EXISTS_SQL: Final = "SELECT EXISTS (SELECT 1 FROM web_users WHERE id = $1)"
#: People an alert can be assigned to: enabled users allowed to handle alerts.
ASSIGNEES_SQL: Final = """
SELECT u.username, u.display_name
FROM web_users u JOIN web_roles r ON r.name = u.role
WHERE u.enabled AND (r.permissions @> '{alerts:ack}' OR r.permissions @> '{*}')
ORDER BY u.username
"""


def _strip_total(rows: list[asyncpg.Record]) -> tuple[list[dict[str, Any]], int]:
    items, total = [], 0
    for r in rows:
        item = dict(r)
        total = int(item.pop("total"))
        items.append(item)
    return items, total


async def list_alerts(
    conn: asyncpg.Connection,
    scope: list[int] | None,
    *,
    states: list[str] | None,
    station: int | None,
    region: str | None,
    area: int | None,
    rules: list[str] | None,
    severities: list[str] | None,
    since: datetime | None,
    until: datetime | None,
    include_unfired: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    filters = (states, station, region, area, rules, severities, since, until, include_unfired)
    rows = await conn.fetch(LIST_ALERTS_SQL, scope, *filters, limit, offset, None)
    return _strip_total(rows)


async def summary(conn: asyncpg.Connection, scope: list[int] | None) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(SUMMARY_SQL, scope)]


async def alert(
    conn: asyncpg.Connection, scope: list[int] | None, alert_id: int
) -> dict[str, Any] | None:
    args = (None,) * 8
    rows, _ = _strip_total(await conn.fetch(LIST_ALERTS_SQL, scope, *args, True, 1, 0, alert_id))
    return rows[0] if rows else None


async def notifications(
    conn: asyncpg.Connection,
    scope: list[int] | None,
    *,
    status: str | None,
    kind: str | None,
    alert_id: int | None,
    receiver_id: int | None,
    since: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    filters = (status, kind, alert_id, receiver_id, since)
    rows = await conn.fetch(LIST_NOTIFICATIONS_SQL, scope, *filters, limit, offset)
    return _strip_total(rows)


async def notification(
    conn: asyncpg.Connection, scope: list[int] | None, notification_id: int
) -> dict[str, Any] | None:
    row = await conn.fetchrow(NOTIFICATION_SQL, scope, notification_id)
    return None if row is None else dict(row)


async def matchers_in_scope(
    conn: asyncpg.Connection, scope: list[int] | None, matchers: dict[str, Any]
) -> bool:
    return bool(await conn.fetchval(MATCHERS_IN_SCOPE_SQL, scope, matchers))


async def silences(
    conn: asyncpg.Connection, scope: list[int] | None, active_only: bool
) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(LIST_SILENCES_SQL, scope, active_only)]


async def silence_matchers(conn: asyncpg.Connection, silence_id: int) -> dict[str, Any] | None:
    value = await conn.fetchval(SILENCE_MATCHERS_SQL, silence_id)
    return None if value is None else dict(value)


async def windows(conn: asyncpg.Connection, scope: list[int] | None) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(LIST_WINDOWS_SQL, scope)]


async def window_matchers(conn: asyncpg.Connection, window_id: int) -> dict[str, Any] | None:
    value = await conn.fetchval(WINDOW_MATCHERS_SQL, window_id)
    return None if value is None else dict(value)


async def receivers(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(LIST_RECEIVERS_SQL)]


async def set_receiver_user(
    conn: asyncpg.Connection, receiver_id: int, user_id: int | None
) -> bool:
    return await conn.fetchval(SET_RECEIVER_USER_SQL, receiver_id, user_id) is not None


async def user_exists(conn: asyncpg.Connection, user_id: int) -> bool:
    return bool(await conn.fetchval(USER_EXISTS_SQL, user_id))


async def assignees(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(ASSIGNEES_SQL)]
