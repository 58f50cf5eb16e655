"""SQL of the alert → case bridge: the alerts it reads (by column name, as JSON), the
per-rule configuration and the (alert, state) links ($n parameters only)."""

from __future__ import annotations

from typing import Final

from web.casework.kernel.queries import Command, Row, Rows, Value

ALERTS_TABLE_MISSING_SQL: Final = "SELECT to_regclass('alerts') IS NULL"
alerts_table_missing: Final = Value(ALERTS_TABLE_MISSING_SQL)

#: The alert row as JSON: the bridge reads the columns it needs by name, so it keeps
#: working while the alerts schema grows (0020_alerts: id, rule, station_id, factor_id,
#: grid_id, severity, state, value, threshold, first_seen, last_seen).
ALERT_ROW_SQL: Final = "SELECT to_jsonb(a) FROM alerts a WHERE a.id = $1"
alert_row: Final = Value(ALERT_ROW_SQL)

FIRING_ALERTS_SQL: Final = """
SELECT to_jsonb(a) FROM alerts a
WHERE a.state = 'firing'
  AND NOT EXISTS (SELECT 1 FROM case_alert_links l WHERE l.alert_id = a.id AND l.state = 'firing')
"""
firing_alerts: Final = Rows(FIRING_ALERTS_SQL)

ALERT_RULE_CONFIG_SQL: Final = """
SELECT kind, rule, open_case, category, urgent, offline_hours
FROM case_alert_rules WHERE kind = $1 AND rule IN ($2, $3, '*')
ORDER BY (rule = '*'), (rule = $3)
LIMIT 1
"""
alert_rule_config: Final = Row(ALERT_RULE_CONFIG_SQL)

UPSERT_ALERT_RULE_SQL: Final = """
INSERT INTO case_alert_rules (kind, rule, open_case, category, urgent, offline_hours)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (kind, rule) DO UPDATE SET open_case = EXCLUDED.open_case,
    category = EXCLUDED.category, urgent = EXCLUDED.urgent,
    offline_hours = EXCLUDED.offline_hours
"""
upsert_alert_rule: Final = Command(UPSERT_ALERT_RULE_SQL)

LINK_DONE_SQL: Final = """
SELECT case_id, outcome FROM case_alert_links WHERE alert_id = $1 AND state = $2
"""
link_done: Final = Row(LINK_DONE_SQL)

INSERT_LINK_SQL: Final = """
INSERT INTO case_alert_links (alert_id, state, case_id, outcome, at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (alert_id, state) DO NOTHING
RETURNING alert_id
"""
insert_link: Final = Command(INSERT_LINK_SQL)

ALERT_CASE_SQL: Final = """
SELECT case_id FROM case_alert_links
WHERE alert_id = $1 AND case_id IS NOT NULL
ORDER BY at DESC LIMIT 1
"""
alert_case: Final = Value(ALERT_CASE_SQL)

OPEN_ALERT_CASE_SQL: Final = """
SELECT id FROM cases WHERE source = 'alert' AND is_open AND station_id = $1 AND alert_rule = $2
"""
open_alert_case: Final = Value(OPEN_ALERT_CASE_SQL)

STATION_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.grid_id, s.address
FROM stations s WHERE s.id = $1
"""
station: Final = Row(STATION_SQL)

FACTOR_SQL: Final = "SELECT code, name_zh, unit FROM factors WHERE id = $1"


factor: Final = Row(FACTOR_SQL)
