"""SQL of the case module ($n parameters only)."""

from __future__ import annotations

from typing import Any, Final

import asyncpg

from web.casework.kernel.queries import Command, Row, Rows, Value

# -- configuration tables ------------------------------------------------------------

CATEGORY_SQL: Final = "SELECT code, name, kind, urgent, active FROM case_categories WHERE code = $1"
category: Final = Row(CATEGORY_SQL)

TIME_LIMITS_SQL: Final = "SELECT stage, minutes FROM case_time_limits WHERE category = $1"
time_limits: Final = Rows(TIME_LIMITS_SQL)

AREA_NAME_SQL: Final = "SELECT name FROM areas WHERE id = $1"
area_name: Final = Value(AREA_NAME_SQL)

UNIT_SQL: Final = "SELECT id, name, active FROM grid_units WHERE id = $1"
unit: Final = Row(UNIT_SQL)

# -- cases --------------------------------------------------------------------------

NEXT_CASE_ID_SQL: Final = "SELECT nextval(pg_get_serial_sequence('cases', 'id'))"
next_case_id: Final = Value(NEXT_CASE_ID_SQL)

INSERT_CASE_SQL: Final = """
INSERT INTO cases (id, code, title, description, category, urgent, source, state, grid_id,
                   lat, lon, address, station_id, alert_rule, hazard_id, reporter_person_id,
                   reporter_name, reporter_phone, reporter_ip, stage, stage_seq,
                   stage_started_at, deadline, reported_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'reported', $8, $9, $10, $11, $12, $13, $14, $15, $16,
        $17, $18, $19, 1, $20, $21, $20, $20, $20)
"""
insert_case: Final = Command(INSERT_CASE_SQL)

#: The columns of :class:`web.casework.cases.service.CaseRow`, locked for a transition.
LOCK_CASE_SQL: Final = """
SELECT id, code, title, category, urgent, source, state, grid_id, station_id, alert_rule,
       unit_id, handler_person_id, stage, stage_seq, stage_started_at, deadline,
       paused_remaining, handle_deadline, handle_overdue, supervised, supervised_at,
       reminded_seq, escalated_seq, overdue_seq, rework_count, return_count,
       extension_minutes, reported_at, accepted_at, filed_at, dispatched_at, feedback_at,
       hung_at, closed_at, archived_at, ended_at, assess_at, version, priority,
       recovered_at, close_kind
FROM cases WHERE id = $1 FOR UPDATE
"""
lock_case: Final = Row(LOCK_CASE_SQL)

UPDATE_CASE_SQL: Final = """
UPDATE cases SET
    state = $2, unit_id = $3, handler_person_id = $4, stage = $5, stage_seq = $6,
    stage_started_at = $7, deadline = $8, paused_remaining = $9, handle_deadline = $10,
    handle_overdue = $11, supervised = $12, supervised_at = $13, reminded_seq = $14,
    escalated_seq = $15, overdue_seq = $16, rework_count = $17, return_count = $18,
    extension_minutes = $19, accepted_at = $20, filed_at = $21, dispatched_at = $22,
    feedback_at = $23, hung_at = $24, closed_at = $25, archived_at = $26, ended_at = $27,
    assess_at = $28, version = version + 1, updated_at = $29, close_kind = $30
WHERE id = $1
RETURNING version
"""
update_case: Final = Value(UPDATE_CASE_SQL)

INSERT_EVENT_SQL: Final = """
INSERT INTO case_events (case_id, seq, at, action, from_state, to_state, role,
                         actor_person_id, actor_name, comment, unit_id, data)
SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
FROM case_events WHERE case_id = $1
RETURNING id, seq
"""


async def insert_event(conn: asyncpg.Connection, *args: Any) -> asyncpg.Record:
    result: asyncpg.Record = await conn.fetchrow(INSERT_EVENT_SQL, *args)
    return result


LAST_EVENT_DATA_SQL: Final = """
SELECT data FROM case_events WHERE case_id = $1 AND action = $2 ORDER BY seq DESC LIMIT 1
"""
last_event_data: Final = Value(LAST_EVENT_DATA_SQL)

GET_CASE_SQL: Final = """
SELECT c.id, c.code, c.title, c.description, c.category, cc.name AS category_name, c.urgent,
       c.source, c.state, c.grid_id, g.code AS grid_code, g.name AS grid_name, c.lat, c.lon,
       c.address, c.station_id, s.name AS station_name, c.alert_rule, c.hazard_id,
       c.unit_id, u.name AS unit_name, c.handler_person_id, hp.name AS handler_name,
       c.reporter_person_id, c.reporter_name, c.reporter_phone, c.stage, c.deadline,
       c.handle_deadline, c.handle_overdue, c.supervised, c.supervised_at, c.rework_count,
       c.return_count, c.extension_minutes, c.reported_at, c.accepted_at, c.filed_at,
       c.dispatched_at, c.feedback_at, c.hung_at, c.closed_at, c.archived_at, c.ended_at,
       c.version, c.updated_at, c.priority, c.recovered_at, c.close_kind
FROM cases c
LEFT JOIN case_categories cc ON cc.code = c.category
LEFT JOIN areas g ON g.id = c.grid_id
LEFT JOIN grid_units u ON u.id = c.unit_id
LEFT JOIN grid_people hp ON hp.id = c.handler_person_id
LEFT JOIN stations s ON s.id = c.station_id
WHERE c.id = $1
"""
get_case: Final = Row(GET_CASE_SQL)

CASE_TRAIL_SQL: Final = """
SELECT e.id, e.seq, e.at, e.action, e.from_state, e.to_state, e.role, e.actor_person_id,
       e.actor_name, e.comment, e.unit_id, u.name AS unit_name, e.data,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'path', a.path,
                                                     'mime', a.mime, 'size', a.size,
                                                     'name', a.original_name) ORDER BY a.id)
                 FROM attachments a
                 WHERE a.owner = 'case_event' AND a.owner_id = e.id), '[]') AS attachments
FROM case_events e LEFT JOIN grid_units u ON u.id = e.unit_id
WHERE e.case_id = $1
ORDER BY e.seq
"""
case_trail: Final = Rows(CASE_TRAIL_SQL)

#: The case board: filters, data scope, sorted by the running deadline.
#: $1 grid ids of the scope, already expanded to the subtrees (NULL = everything), $2 states,
#: $3 open only, $4 unit, $5 category, $6 source, $7 supervised only, $8 overdue only,
#: $9 now, $10 search text, $11 grid (the arguments of ``envgrid_case_board``),
#: $12 limit, $13 offset.
CASE_BOARD_SQL: Final = """
SELECT c.id, c.code, c.title, c.category, cc.name AS category_name, c.source, c.state,
       c.urgent, c.grid_id, g.name AS grid_name, c.unit_id, u.name AS unit_name, c.stage,
       c.deadline, c.handle_deadline, c.supervised, c.handle_overdue, c.rework_count,
       c.reported_at, c.updated_at, c.priority, c.recovered_at
FROM (
    SELECT * FROM envgrid_case_board($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) c
    ORDER BY c.deadline ASC NULLS LAST, c.id
    LIMIT $12 OFFSET $13
) c
LEFT JOIN areas g ON g.id = c.grid_id
LEFT JOIN grid_units u ON u.id = c.unit_id
LEFT JOIN case_categories cc ON cc.code = c.category
ORDER BY c.deadline ASC NULLS LAST, c.id
"""

#: The board with a search text ($10 not NULL): one scan finds the matches (no ORDER BY
#: there), which are then sorted — never a walk of the deadline index looking for rare
#: matches.  Same parameters as CASE_BOARD_SQL; ``total`` is the number of rows before LIMIT.
CASE_BOARD_SEARCH_SQL: Final = """
WITH hits AS MATERIALIZED (
    SELECT * FROM envgrid_case_board($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
)
SELECT c.id, c.code, c.title, c.category, cc.name AS category_name, c.source, c.state,
       c.urgent, c.grid_id, g.name AS grid_name, c.unit_id, u.name AS unit_name, c.stage,
       c.deadline, c.handle_deadline, c.supervised, c.handle_overdue, c.rework_count,
       c.reported_at, c.updated_at, c.priority, c.recovered_at, count(*) OVER () AS total
FROM hits c
LEFT JOIN areas g ON g.id = c.grid_id
LEFT JOIN grid_units u ON u.id = c.unit_id
LEFT JOIN case_categories cc ON cc.code = c.category
ORDER BY c.deadline ASC NULLS LAST, c.id
LIMIT $12 OFFSET $13
"""

CASE_BOARD_COUNT_SQL: Final = """
SELECT count(*) FROM envgrid_case_board($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""
case_board_count: Final = Value(CASE_BOARD_COUNT_SQL)

IN_SCOPE_SQL: Final = """

SELECT EXISTS (SELECT 1 FROM envgrid_scope_areas($1::int[]) WHERE id = $2)
"""
in_scope: Final = Value(IN_SCOPE_SQL)

# -- deadline sweep ------------------------------------------------------------------------

#: Open cases needing a reminder ($2 < deadline ≤ $1), a due notice (deadline ≤ $2) or an
#: escalation (deadline ≤ $3) that they have not had for the running stage.
SWEEP_CANDIDATES_SQL: Final = """
SELECT id FROM cases
WHERE is_open AND deadline IS NOT NULL AND deadline <= $1
  AND (   (deadline > $2 AND reminded_seq IS DISTINCT FROM stage_seq)
       OR (deadline <= $2 AND overdue_seq IS DISTINCT FROM stage_seq)
       OR (deadline <= $3 AND escalated_seq IS DISTINCT FROM stage_seq))
ORDER BY deadline
LIMIT $4
"""
sweep_candidates: Final = Rows(SWEEP_CANDIDATES_SQL)

MARK_REMINDED_SQL: Final = "UPDATE cases SET reminded_seq = $2 WHERE id = $1"
mark_reminded: Final = Command(MARK_REMINDED_SQL)

MARK_OVERDUE_SQL: Final = """
UPDATE cases SET overdue_seq = $2, reminded_seq = $2, handle_overdue = handle_overdue OR $3
WHERE id = $1
"""
mark_overdue: Final = Command(MARK_OVERDUE_SQL)

MARK_ESCALATED_SQL: Final = "UPDATE cases SET escalated_seq = $2 WHERE id = $1"
mark_escalated: Final = Command(MARK_ESCALATED_SQL)

# -- rate limit ---------------------------------------------------------------------------

RATE_HIT_SQL: Final = """
INSERT INTO rate_limit_hits (key, window_start, hits) VALUES ($1, $2, 1)
ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1
RETURNING hits
"""
rate_hit: Final = Value(RATE_HIT_SQL)

RATE_PURGE_SQL: Final = "DELETE FROM rate_limit_hits WHERE window_start < $1"
rate_purge: Final = Command(RATE_PURGE_SQL)

# -- assessment (definitions in web.casework.cases.assessment) ------------------------------------

#: The assessment (definitions in web.casework.cases.assessment): $1 start, $2 end, $3 as_of,
#: $4 scope roots (NULL = all), $5 group: 'unit', 'grid', 'person', 'area' (rolled up to
#: the ancestor areas at level $6, e.g. 2 = per district) or 'all' (one row, when there
#: are cases).  ``up`` (each area with its ancestors) is walked only for 'area'.
ASSESSMENT_SQL: Final = """
WITH RECURSIVE up AS (
    SELECT id AS area_id, id AS anc_id, level AS anc_level, parent_id FROM areas
    WHERE $5::text = 'area'
    UNION ALL
    SELECT up.area_id, a.id, a.level, a.parent_id FROM up JOIN areas a ON a.id = up.parent_id
)
SELECT CASE $5::text WHEN 'unit' THEN c.unit_id WHEN 'grid' THEN c.grid_id
                     WHEN 'person' THEN c.handler_person_id WHEN 'area' THEN up.anc_id END AS key,
       CASE $5::text WHEN 'unit' THEN u.name WHEN 'grid' THEN g.name WHEN 'area' THEN g.name
                     WHEN 'person' THEN p.name ELSE '合计' END AS name,
       count(*) FILTER (WHERE c.counted) AS due,
       count(*) FILTER (WHERE c.counted AND c.state = 'hung') AS hung,
       count(*) FILTER (WHERE c.counted AND c.state IN ('closed', 'archived')) AS closed,
       count(*) FILTER (WHERE c.counted AND c.state IN ('closed', 'archived')
                          AND NOT c.handle_overdue) AS on_time,
       count(*) FILTER (WHERE c.counted
                          AND (c.handle_overdue
                               OR (c.state NOT IN ('closed', 'archived', 'hung')
                                   AND c.handle_deadline < $3))) AS overdue,
       count(*) FILTER (WHERE c.counted AND c.state IN ('closed', 'archived')
                          AND c.rework_count > 0) AS rework,
       count(*) FILTER (WHERE NOT c.counted) AS auto_recovered
FROM (SELECT cases.*, close_kind IS DISTINCT FROM 'auto_recovered' AS counted FROM cases) c
LEFT JOIN up ON up.area_id = c.grid_id AND up.anc_level = $6::int
LEFT JOIN grid_units u ON $5::text = 'unit' AND u.id = c.unit_id
LEFT JOIN areas g ON g.id = CASE $5::text WHEN 'grid' THEN c.grid_id WHEN 'area' THEN up.anc_id END
LEFT JOIN grid_people p ON $5::text = 'person' AND p.id = c.handler_person_id
WHERE c.assess_at >= $1 AND c.assess_at < $2 AND c.assess_at <= $3
  AND ($4::int[] IS NULL OR c.grid_id IN (SELECT id FROM envgrid_scope_areas($4::int[])))
  AND ($5::text <> 'area' OR up.anc_id IS NOT NULL)
GROUP BY 1, 2
ORDER BY 1
"""
assessment_rows: Final = Rows(ASSESSMENT_SQL)

# -- web layer (round 2) ----------------------------------------------------------------

CATEGORY_LIST_SQL: Final = """
SELECT code, name, kind, urgent FROM case_categories WHERE active ORDER BY code
"""
category_list: Final = Rows(CATEGORY_LIST_SQL)

#: Open cases per state in the scope ($1 grid ids, NULL = all) under the board filters
#: ($2 unit, $3 category, $4 source, $5 grid, $6 now, $7 supervised only, $8 overdue
#: only, $9 search text): the board's counters and column totals, in one scan.
BOARD_COUNTS_SQL: Final = """
SELECT c.state, count(*) AS total,
       count(*) FILTER (WHERE c.deadline < $6) AS overdue,
       count(*) FILTER (WHERE c.supervised) AS supervised
FROM envgrid_case_board($1, NULL, true, $2, $3, $4, $7, $8, $6, $9, $5) c
GROUP BY c.state
"""
board_counts: Final = Rows(BOARD_COUNTS_SQL)


async def case_board(conn: asyncpg.Connection, searching: bool, *args: Any) -> list[asyncpg.Record]:
    """One page of the board (parameters: see :data:`CASE_BOARD_SQL`)."""
    sql = CASE_BOARD_SEARCH_SQL if searching else CASE_BOARD_SQL
    result: list[asyncpg.Record] = await conn.fetch(sql, *args)
    return result


# -- the alert → case bridge (alerts read by column name, as JSON) -----------------------

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
ORDER BY recovered_at IS NULL DESC, id DESC LIMIT 1
"""
open_alert_case: Final = Value(OPEN_ALERT_CASE_SQL)

#: The open alert case of (station $1, kind $2) — the unrecovered one first, else the
#: latest recovered one — locked, with what the incident rule needs.
INCIDENT_CASE_SQL: Final = """
SELECT id, title, priority, urgent, recovered_at, reported_at FROM cases
WHERE source = 'alert' AND is_open AND station_id = $1 AND alert_rule = $2
ORDER BY recovered_at IS NULL DESC, recovered_at DESC, id DESC LIMIT 1
FOR UPDATE
"""
incident_case: Final = Row(INCIDENT_CASE_SQL)

#: An alert joined the case: the priority rises to the alert's, urgent when asked ($3),
#: the incident is active again and the title names the factors ($4).
JOIN_INCIDENT_SQL: Final = """
UPDATE cases SET priority = greatest(priority, $2), urgent = urgent OR $3,
                 recovered_at = NULL, title = coalesce($4, title)
WHERE id = $1
"""
join_incident: Final = Command(JOIN_INCIDENT_SQL)

SET_PRIORITY_SQL: Final = "UPDATE cases SET priority = $2 WHERE id = $1"

#: An alert of open case $1 escalated: the priority rises to $2 (never falls), urgent when
#: asked ($3); no row when the case is closed or already that high.
ESCALATE_CASE_SQL: Final = """
UPDATE cases SET priority = $2, urgent = urgent OR $3
WHERE id = $1 AND is_open AND priority < $2
RETURNING urgent
"""
escalate_case: Final = Row(ESCALATE_CASE_SQL)

#: Active alerts linked to open cases, with the case's priority: the sweep compares the
#: alert's severity (escalated meanwhile?) with it.
LINKED_ACTIVE_ALERTS_SQL: Final = """
SELECT a.id, a.severity, c.priority FROM case_alert_links l
JOIN alerts a ON a.id = l.alert_id
JOIN cases c ON c.id = l.case_id
WHERE l.state = 'firing' AND l.outcome IN ('opened', 'attached')
  AND a.state IN ('firing', 'acknowledged') AND c.is_open
"""
linked_active_alerts: Final = Rows(LINKED_ACTIVE_ALERTS_SQL)
set_priority: Final = Command(SET_PRIORITY_SQL)

#: The factor names of the alerts linked to case $1, in the order they joined.
CASE_ALERT_FACTORS_SQL: Final = """
SELECT f.name_zh, f.code FROM case_alert_links l
JOIN alerts a ON a.id = l.alert_id
JOIN factors f ON f.id = a.factor_id
WHERE l.case_id = $1 AND l.state = 'firing' AND l.outcome IN ('opened', 'attached')
ORDER BY l.at, l.alert_id
"""
case_alert_factors: Final = Rows(CASE_ALERT_FACTORS_SQL)

#: Alerts of case $1 other than $2 that are still active (not resolved).
ACTIVE_CASE_ALERTS_SQL: Final = """
SELECT count(*) FROM case_alert_links l JOIN alerts a ON a.id = l.alert_id
WHERE l.case_id = $1 AND l.state = 'firing' AND l.outcome IN ('opened', 'attached')
  AND a.id <> $2 AND a.state <> 'resolved'
"""
active_case_alerts: Final = Value(ACTIVE_CASE_ALERTS_SQL)

#: 已恢复: the time every alert of open case $1 had cleared (first time only).
SET_RECOVERED_SQL: Final = """
UPDATE cases SET recovered_at = $2 WHERE id = $1 AND is_open AND recovered_at IS NULL
RETURNING reported_at, state
"""
set_recovered: Final = Row(SET_RECOVERED_SQL)

#: Did a person (not the system) act on case $1?
CASE_TOUCHED_SQL: Final = """
SELECT EXISTS (SELECT 1 FROM case_events WHERE case_id = $1 AND role <> 'system')
"""
case_touched: Final = Value(CASE_TOUCHED_SQL)

#: Resolved alerts whose case never heard of it (notification missed).
UNHANDLED_RESOLVED_SQL: Final = """
SELECT l.alert_id FROM case_alert_links l JOIN alerts a ON a.id = l.alert_id
WHERE l.state = 'firing' AND l.case_id IS NOT NULL AND a.state = 'resolved'
  AND NOT EXISTS (SELECT 1 FROM case_alert_links r
                  WHERE r.alert_id = l.alert_id AND r.state = 'resolved')
"""
unhandled_resolved: Final = Rows(UNHANDLED_RESOLVED_SQL)

#: The alerts of case $1 for its page: the alert row (JSON, by column name), its factor
#: and its own timeline (alert_events).
CASE_ALERTS_SQL: Final = """
SELECT to_jsonb(a) AS alert, f.code AS factor_code, f.name_zh AS factor_name, l.outcome,
       coalesce((SELECT jsonb_agg(jsonb_build_object('at', e.at, 'kind', e.kind,
                                                     'from_state', e.from_state,
                                                     'to_state', e.to_state,
                                                     'actor', e.actor, 'comment', e.comment)
                                  ORDER BY e.at, e.id)
                 FROM alert_events e WHERE e.alert_id = a.id), '[]') AS events
FROM case_alert_links l
JOIN alerts a ON a.id = l.alert_id
LEFT JOIN factors f ON f.id = a.factor_id
WHERE l.case_id = $1 AND l.state = 'firing' AND l.outcome IN ('opened', 'attached')
ORDER BY l.at, l.alert_id
"""
case_alerts: Final = Rows(CASE_ALERTS_SQL)

STATION_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.grid_id, s.address
FROM stations s WHERE s.id = $1
"""
station: Final = Row(STATION_SQL)

FACTOR_SQL: Final = "SELECT code, name_zh, unit FROM factors WHERE id = $1"


factor: Final = Row(FACTOR_SQL)
