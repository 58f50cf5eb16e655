"""SQL of the alert → case bridge: the alerts it reads (by column name, as JSON), the
per-rule configuration and the (alert, state) links ($n parameters only)."""

from __future__ import annotations

from typing import Any, Final

import asyncpg

#: The alert row as JSON: the bridge reads the columns it needs by name, so it keeps
#: working while the alerts schema grows (0020_alerts: id, rule, station_id, factor_id,
#: grid_id, severity, state, value, threshold, first_seen, last_seen).
ALERTS_TABLE_MISSING_SQL: Final = "SELECT to_regclass('alerts') IS NULL"


async def alerts_table_missing(conn: asyncpg.Connection) -> Any:
    return await conn.fetchval(ALERTS_TABLE_MISSING_SQL)


ALERT_ROW_SQL: Final = "SELECT to_jsonb(a) FROM alerts a WHERE a.id = $1"


async def alert_row(conn: asyncpg.Connection, alert_id: Any) -> Any:
    return await conn.fetchval(ALERT_ROW_SQL, alert_id)


FIRING_ALERTS_SQL: Final = """
SELECT to_jsonb(a) FROM alerts a
WHERE a.state = 'firing'
  AND NOT EXISTS (SELECT 1 FROM case_alert_links l WHERE l.alert_id = a.id AND l.state = 'firing')
"""


async def firing_alerts(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    result: list[asyncpg.Record] = await conn.fetch(FIRING_ALERTS_SQL)
    return result


ALERT_RULE_CONFIG_SQL: Final = """
SELECT kind, rule, open_case, category, urgent, offline_hours
FROM case_alert_rules WHERE kind = $1 AND rule IN ($2, $3, '*')
ORDER BY (rule = '*'), (rule = $3)
LIMIT 1
"""


async def alert_rule_config(
    conn: asyncpg.Connection, kind: Any, rule: Any, bare_rule: Any
) -> asyncpg.Record | None:
    result: asyncpg.Record | None = await conn.fetchrow(
        ALERT_RULE_CONFIG_SQL, kind, rule, bare_rule
    )
    return result


UPSERT_ALERT_RULE_SQL: Final = """
INSERT INTO case_alert_rules (kind, rule, open_case, category, urgent, offline_hours)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (kind, rule) DO UPDATE SET open_case = EXCLUDED.open_case,
    category = EXCLUDED.category, urgent = EXCLUDED.urgent,
    offline_hours = EXCLUDED.offline_hours
"""


async def upsert_alert_rule(
    conn: asyncpg.Connection,
    kind: Any,
    rule: Any,
    open_case: Any,
    category: Any,
    urgent: Any,
    offline_hours: Any,
) -> str:
    result: str = await conn.execute(
        UPSERT_ALERT_RULE_SQL, kind, rule, open_case, category, urgent, offline_hours
    )
    return result


LINK_DONE_SQL: Final = """
SELECT case_id, outcome FROM case_alert_links WHERE alert_id = $1 AND state = $2
"""


async def link_done(conn: asyncpg.Connection, alert_id: Any, state: Any) -> asyncpg.Record | None:
    result: asyncpg.Record | None = await conn.fetchrow(LINK_DONE_SQL, alert_id, state)
    return result


INSERT_LINK_SQL: Final = """
INSERT INTO case_alert_links (alert_id, state, case_id, outcome, at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (alert_id, state) DO NOTHING
RETURNING alert_id
"""


async def insert_link(
    conn: asyncpg.Connection, alert_id: Any, state: Any, case_id: Any, outcome: Any, now: Any
) -> str:
    result: str = await conn.execute(INSERT_LINK_SQL, alert_id, state, case_id, outcome, now)
    return result


ALERT_CASE_SQL: Final = """
SELECT case_id FROM case_alert_links
WHERE alert_id = $1 AND case_id IS NOT NULL
ORDER BY at DESC LIMIT 1
"""


async def alert_case(conn: asyncpg.Connection, alert_id: Any) -> Any:
    return await conn.fetchval(ALERT_CASE_SQL, alert_id)


OPEN_ALERT_CASE_SQL: Final = """
SELECT id FROM cases WHERE source = 'alert' AND is_open AND station_id = $1 AND alert_rule = $2
"""


async def open_alert_case(conn: asyncpg.Connection, id_: Any, rule: Any) -> Any:
    return await conn.fetchval(OPEN_ALERT_CASE_SQL, id_, rule)


STATION_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.grid_id, s.address
FROM stations s WHERE s.id = $1
"""


async def station(conn: asyncpg.Connection, station_id: Any) -> asyncpg.Record | None:
    result: asyncpg.Record | None = await conn.fetchrow(STATION_SQL, station_id)
    return result


FACTOR_SQL: Final = "SELECT code, name_zh, unit FROM factors WHERE id = $1"


async def factor(conn: asyncpg.Connection, factor_id: Any) -> asyncpg.Record | None:
    result: asyncpg.Record | None = await conn.fetchrow(FACTOR_SQL, factor_id)
    return result
