"""SQL of the patrol module ($n parameters only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

import asyncpg

from web.casework.kernel.queries import Command, Row, Rows, Value

INSERT_PLAN_SQL: Final = """
INSERT INTO patrol_plans (name, area_id, station_ids, point_ids, check_items, cycle, every_days,
                          start_date, end_date, due_hours, assignee_person_id, assignee_duty,
                          created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id
"""
insert_plan: Final = Value(INSERT_PLAN_SQL)

SET_PLAN_ACTIVE_SQL: Final = "UPDATE patrol_plans SET active = $2, updated_at = now() WHERE id = $1"
set_plan_active: Final = Command(SET_PLAN_ACTIVE_SQL)

ACTIVE_PLANS_SQL: Final = """
SELECT id, name, area_id, station_ids, point_ids, check_items, cycle, every_days, start_date,
       end_date, due_hours, assignee_person_id, assignee_duty
FROM patrol_plans
WHERE active AND start_date <= $1 AND (end_date IS NULL OR end_date >= $1)
ORDER BY id
"""
active_plans: Final = Rows(ACTIVE_PLANS_SQL)

PLAN_STATIONS_SQL: Final = """
SELECT id, coalesce(st, '*') AS st, grid_id FROM stations
WHERE id = ANY($1::int[]) AND enabled ORDER BY id
"""
plan_stations: Final = Rows(PLAN_STATIONS_SQL)

PLAN_POINTS_SQL: Final = """
SELECT id, grid_id FROM patrol_points WHERE id = ANY($1::int[]) AND active ORDER BY id
"""
plan_points: Final = Rows(PLAN_POINTS_SQL)

CHECK_ITEMS_SQL: Final = """
SELECT DISTINCT ON (code) code, label, position
FROM patrol_check_items
WHERE active AND st IN ($1, '*')
ORDER BY code, (st = '*'), position
"""
check_items: Final = Rows(CHECK_ITEMS_SQL)

INSERT_TASK_SQL: Final = """
INSERT INTO patrol_tasks (plan_id, target, target_id, grid_id, period_start, period_end, due_at,
                          assignee_person_id, assignee_duty, check_items, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (plan_id, target, target_id, period_start) DO NOTHING
RETURNING id
"""
insert_task: Final = Value(INSERT_TASK_SQL)

MARK_TASKS_OVERDUE_SQL: Final = """
UPDATE patrol_tasks t SET state = 'overdue', overdue_at = $1
FROM patrol_plans p
WHERE p.id = t.plan_id AND t.state IN ('pending', 'in_progress') AND t.due_at <= $1
RETURNING t.id, t.assignee_person_id, t.grid_id, t.due_at, t.target, t.target_id, p.name AS plan
"""
mark_tasks_overdue: Final = Rows(MARK_TASKS_OVERDUE_SQL)

LOCK_TASK_SQL: Final = """
SELECT t.id, t.plan_id, t.target, t.target_id, t.grid_id, t.period_start, t.period_end,
       t.due_at, t.assignee_person_id, t.assignee_duty, t.check_items, t.state, t.started_at,
       t.done_at
FROM patrol_tasks t WHERE t.id = $1 FOR UPDATE
"""
lock_task: Final = Row(LOCK_TASK_SQL)

STATION_POSITION_SQL: Final = "SELECT lat, lon FROM stations WHERE id = $1"
POINT_POSITION_SQL: Final = "SELECT lat, lon FROM patrol_points WHERE id = $1"
AREA_BOUNDARY_SQL: Final = "SELECT boundary, centroid_lat, centroid_lon FROM areas WHERE id = $1"
area_boundary: Final = Row(AREA_BOUNDARY_SQL)

#: Whether person $2 has a duty in area $1 or in one of its ancestors (= $1 lies in the
#: subtree of one of the person's duty areas).
HAS_DUTY_SQL: Final = """
SELECT $1 IN (SELECT id FROM envgrid_scope_areas(
    ARRAY(SELECT area_id FROM area_people WHERE person_id = $2)))
"""
has_duty: Final = Value(HAS_DUTY_SQL)

INSERT_CHECKIN_SQL: Final = """
INSERT INTO patrol_checkins (task_id, person_id, at, lat, lon, accuracy_m, distance_m,
                             out_of_range, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id
"""
insert_checkin: Final = Value(INSERT_CHECKIN_SQL)

START_TASK_SQL: Final = """
UPDATE patrol_tasks
SET state = CASE WHEN state = 'pending' THEN 'in_progress' ELSE state END,
    started_at = coalesce(started_at, $2)
WHERE id = $1
"""
start_task: Final = Command(START_TASK_SQL)

HAS_CHECKIN_SQL: Final = "SELECT EXISTS (SELECT 1 FROM patrol_checkins WHERE task_id = $1)"
has_checkin: Final = Value(HAS_CHECKIN_SQL)

UPSERT_RESULT_SQL: Final = """
INSERT INTO patrol_results (task_id, item_code, label, ok, value, note, checked_by, checked_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (task_id, item_code) DO UPDATE
SET ok = EXCLUDED.ok, value = EXCLUDED.value, note = EXCLUDED.note,
    checked_by = EXCLUDED.checked_by, checked_at = EXCLUDED.checked_at
"""
upsert_result: Final = Command(UPSERT_RESULT_SQL)

FINISH_TASK_SQL: Final = """
UPDATE patrol_tasks SET state = 'done', done_at = $2, on_time = ($2 <= due_at) WHERE id = $1
"""
finish_task: Final = Command(FINISH_TASK_SQL)

TASKS_FOR_PERSON_SQL: Final = """
SELECT t.id, t.plan_id, p.name AS plan, t.target, t.target_id, t.grid_id, t.period_start,
       t.due_at, t.state, t.started_at, t.done_at
FROM patrol_tasks t JOIN patrol_plans p ON p.id = t.plan_id
WHERE (t.assignee_person_id = $1
       OR (t.assignee_person_id IS NULL AND EXISTS (
           SELECT 1 FROM area_people ap WHERE ap.person_id = $1 AND ap.area_id = t.grid_id)))
  AND ($2::text[] IS NULL OR t.state = ANY($2::text[]))
ORDER BY t.due_at, t.id
LIMIT $3
"""
tasks_for_person: Final = Rows(TASKS_FOR_PERSON_SQL)


#: Patrol statistics per person or grid: $1 start, $2 end, $3 now, $4 scope roots or NULL,
#: $5 group ('person' = the assignee, else the grid).
STATS_SQL: Final = """
WITH tasks AS (
    SELECT t.*,
           CASE $5::text WHEN 'person' THEN t.assignee_person_id ELSE t.grid_id END AS key
    FROM patrol_tasks t
    WHERE t.period_start >= $1 AND t.period_start < $2
      AND ($4::int[] IS NULL OR t.grid_id IN (SELECT id FROM envgrid_scope_areas($4::int[])))
)
SELECT t.key, CASE $5::text WHEN 'person' THEN p.name ELSE g.name END AS name,
       count(*) AS tasks,
       count(*) FILTER (WHERE t.state = 'done') AS done,
       count(*) FILTER (WHERE t.state = 'done' AND t.on_time) AS on_time,
       count(*) FILTER (WHERE t.state = 'overdue'
                           OR (t.state = 'done' AND NOT t.on_time)
                           OR (t.state IN ('pending', 'in_progress') AND t.due_at <= $3))
           AS overdue,
       (SELECT count(*) FROM patrol_hazards h JOIN tasks t2 ON t2.id = h.task_id
        WHERE t2.key IS NOT DISTINCT FROM t.key) AS hazards,
       (SELECT count(*) FROM patrol_hazards h JOIN tasks t2 ON t2.id = h.task_id
        WHERE t2.key IS NOT DISTINCT FROM t.key AND h.state = 'passed') AS rectified
FROM tasks t
LEFT JOIN grid_people p ON $5::text = 'person' AND p.id = t.key
LEFT JOIN areas g ON $5::text <> 'person' AND g.id = t.key
GROUP BY t.key, 2
ORDER BY t.key
"""

# -- web layer (round 2): lists and details in the caller's data scope ----------------------
# $n::int[] scope = the area ids whose subtrees the caller sees (NULL = everything).

PLANS_SQL: Final = """
SELECT p.id, p.name, p.area_id, a.name AS area_name, p.station_ids, p.point_ids,
       p.check_items, p.cycle, p.every_days, p.start_date, p.end_date, p.due_hours,
       p.assignee_person_id, gp.name AS assignee_name, p.assignee_duty, p.active,
       p.created_by, p.created_at,
       (SELECT count(*) FROM patrol_tasks t WHERE t.plan_id = p.id) AS tasks,
       (SELECT count(*) FROM patrol_tasks t WHERE t.plan_id = p.id AND t.state = 'done')
           AS done
FROM patrol_plans p
LEFT JOIN areas a ON a.id = p.area_id
LEFT JOIN grid_people gp ON gp.id = p.assignee_person_id
WHERE ($1::int[] IS NULL
       OR p.area_id IN (SELECT id FROM envgrid_scope_areas($1::int[]))
       OR EXISTS (SELECT 1 FROM stations s WHERE s.id = ANY(p.station_ids)
                  AND s.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
       OR EXISTS (SELECT 1 FROM patrol_points pp WHERE pp.id = ANY(p.point_ids)
                  AND pp.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[]))))
  AND ($2::boolean IS NULL OR p.active = $2)
ORDER BY p.active DESC, p.id DESC
LIMIT $3 OFFSET $4
"""
plans: Final = Rows(PLANS_SQL)

PLAN_IN_SCOPE_SQL: Final = """
SELECT EXISTS (
    SELECT 1 FROM patrol_plans p WHERE p.id = $1 AND (
        $2::int[] IS NULL
        OR p.area_id IN (SELECT id FROM envgrid_scope_areas($2::int[]))
        OR EXISTS (SELECT 1 FROM stations s WHERE s.id = ANY(p.station_ids)
                   AND s.grid_id IN (SELECT id FROM envgrid_scope_areas($2::int[]))))
)
"""
plan_in_scope: Final = Value(PLAN_IN_SCOPE_SQL)

#: The tasks list.  $1 scope, $2 states, $3 grid (subtree), $4 a person's tasks (assigned
#: to them, or unassigned in a grid where they have a duty), $5 from, $6 to (period
#: start), $7 limit, $8 offset; ``total`` before LIMIT.
TASKS_SQL: Final = """
SELECT t.id, t.plan_id, p.name AS plan, t.target, t.target_id,
       CASE t.target WHEN 'station' THEN s.name WHEN 'point' THEN pp.name ELSE ta.name END
           AS target_name,
       t.grid_id, g.name AS grid_name, t.period_start, t.period_end, t.due_at, t.state,
       t.assignee_person_id, gp.name AS assignee_name, t.started_at, t.done_at, t.on_time,
       count(*) OVER () AS total
FROM patrol_tasks t
JOIN patrol_plans p ON p.id = t.plan_id
LEFT JOIN areas g ON g.id = t.grid_id
LEFT JOIN grid_people gp ON gp.id = t.assignee_person_id
LEFT JOIN stations s ON t.target = 'station' AND s.id = t.target_id
LEFT JOIN patrol_points pp ON t.target = 'point' AND pp.id = t.target_id
LEFT JOIN areas ta ON t.target = 'area' AND ta.id = t.target_id
WHERE ($1::int[] IS NULL OR t.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($2::text[] IS NULL OR t.state = ANY($2::text[]))
  AND ($3::int IS NULL OR t.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$3]::int[])))
  AND ($4::int IS NULL OR t.assignee_person_id = $4
       OR (t.assignee_person_id IS NULL AND EXISTS (
           SELECT 1 FROM area_people ap WHERE ap.person_id = $4 AND ap.area_id = t.grid_id)))
  AND ($5::timestamptz IS NULL OR t.period_start >= $5)
  AND ($6::timestamptz IS NULL OR t.period_start < $6)
ORDER BY (t.state IN ('done')), t.due_at, t.id
LIMIT $7 OFFSET $8
"""
tasks: Final = Rows(TASKS_SQL)

#: One task with what its page shows; $2 scope.
TASK_SQL: Final = """
SELECT t.id, t.plan_id, p.name AS plan, t.target, t.target_id, tg.name AS target_name,
       tg.code AS target_code, tg.lat AS target_lat, tg.lon AS target_lon,
       t.grid_id, g.name AS grid_name, t.period_start, t.period_end, t.due_at, t.state,
       t.assignee_person_id, gp.name AS assignee_name, t.assignee_duty, t.check_items,
       t.started_at, t.done_at, t.on_time, t.overdue_at
FROM patrol_tasks t
JOIN patrol_plans p ON p.id = t.plan_id
LEFT JOIN areas g ON g.id = t.grid_id
LEFT JOIN grid_people gp ON gp.id = t.assignee_person_id
LEFT JOIN LATERAL envgrid_patrol_target(t.target, t.target_id) tg ON true
WHERE t.id = $1
  AND ($2::int[] IS NULL OR t.grid_id IN (SELECT id FROM envgrid_scope_areas($2::int[])))
"""
task: Final = Row(TASK_SQL)

TASK_CHECKINS_SQL: Final = """
SELECT c.id, c.person_id, gp.name AS person_name, c.at, c.lat, c.lon, c.accuracy_m,
       c.distance_m, c.out_of_range, c.note,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'mime', a.mime,
                                                     'name', a.original_name) ORDER BY a.id)
                 FROM attachments a WHERE a.owner = 'checkin' AND a.owner_id = c.id), '[]')
           AS attachments
FROM patrol_checkins c LEFT JOIN grid_people gp ON gp.id = c.person_id
WHERE c.task_id = $1 ORDER BY c.at, c.id
"""
task_checkins: Final = Rows(TASK_CHECKINS_SQL)

TASK_RESULTS_SQL: Final = """
SELECT item_code, label, ok, value, note, checked_at FROM patrol_results
WHERE task_id = $1 ORDER BY item_code
"""
task_results: Final = Rows(TASK_RESULTS_SQL)

TASK_ATTACHMENTS_SQL: Final = """
SELECT id, mime, original_name AS name FROM attachments
WHERE owner = 'task' AND owner_id = $1 ORDER BY id
"""
task_attachments: Final = Rows(TASK_ATTACHMENTS_SQL)

TASK_HAZARDS_SQL: Final = """
SELECT id, item_code, title, state, round, rectify_deadline, case_id
FROM patrol_hazards WHERE task_id = $1 ORDER BY id
"""
task_hazards: Final = Rows(TASK_HAZARDS_SQL)

CHECK_ITEM_LIST_SQL: Final = """
SELECT st, code, label, position FROM patrol_check_items
WHERE active AND ($1::text IS NULL OR st IN ($1, '*'))
ORDER BY st, position, code
"""
check_item_list: Final = Rows(CHECK_ITEM_LIST_SQL)

#: Add or change a check item by (st, code): $3 label, $4 position, $5 active.
UPSERT_CHECK_ITEM_SQL: Final = """
INSERT INTO patrol_check_items (st, code, label, position, active) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (st, code) DO UPDATE
SET label = EXCLUDED.label, position = EXCLUDED.position, active = EXCLUDED.active
"""
upsert_check_item: Final = Command(UPSERT_CHECK_ITEM_SQL)


async def target_position(
    conn: asyncpg.Connection, target: str, target_id: int
) -> asyncpg.Record | None:
    """(lat, lon) of a station or patrol point target."""
    sql = STATION_POSITION_SQL if target == "station" else POINT_POSITION_SQL
    result: asyncpg.Record | None = await conn.fetchrow(sql, target_id)
    return result


async def patrol_stats(
    conn: asyncpg.Connection,
    group: str,
    start: datetime,
    end: datetime,
    now: datetime,
    scope: Sequence[int] | None,
) -> list[asyncpg.Record]:
    """Statistics rows per ``group`` (person / grid) in the scope (None = everything)."""
    roots = list(scope) if scope is not None else None
    result: list[asyncpg.Record] = await conn.fetch(STATS_SQL, start, end, now, roots, group)
    return result


# -- hazards and their rectification rounds ----------------------------------------------

OVERDUE_HAZARDS_SQL: Final = """
SELECT h.id, h.round, h.title, h.grid_id, h.rectifier_person_id, h.rectify_deadline
FROM patrol_hazards h
WHERE h.state = 'rectifying' AND h.rectify_deadline <= $1
ORDER BY h.id
"""
overdue_hazards: Final = Rows(OVERDUE_HAZARDS_SQL)

INSERT_HAZARD_SQL: Final = """
INSERT INTO patrol_hazards (task_id, item_code, target, target_id, grid_id, title, description,
                            reporter_person_id, rectifier_person_id, rectify_deadline, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (task_id, item_code) DO NOTHING
RETURNING id
"""
insert_hazard: Final = Value(INSERT_HAZARD_SQL)

INSERT_ROUND_SQL: Final = """
INSERT INTO hazard_rounds (hazard_id, round) VALUES ($1, $2) RETURNING id
"""
insert_round: Final = Command(INSERT_ROUND_SQL)

LOCK_HAZARD_SQL: Final = """
SELECT id, task_id, item_code, target, target_id, grid_id, title, description, state, round,
       reporter_person_id, rectifier_person_id, rectify_deadline, case_id, created_at, passed_at
FROM patrol_hazards WHERE id = $1 FOR UPDATE
"""
lock_hazard: Final = Row(LOCK_HAZARD_SQL)

RECTIFY_ROUND_SQL: Final = """
UPDATE hazard_rounds SET rectified_by = $3, rectified_at = $4, rectify_note = $5
WHERE hazard_id = $1 AND round = $2
RETURNING id
"""
rectify_round: Final = Value(RECTIFY_ROUND_SQL)

REVIEW_ROUND_SQL: Final = """
UPDATE hazard_rounds SET reviewed_by = $3, reviewed_at = $4, result = $5, review_note = $6
WHERE hazard_id = $1 AND round = $2
RETURNING rectified_by
"""
review_round: Final = Value(REVIEW_ROUND_SQL)

SET_HAZARD_STATE_SQL: Final = """
UPDATE patrol_hazards SET state = $2, round = $3, rectify_deadline = $4, passed_at = $5
WHERE id = $1
"""
set_hazard_state: Final = Command(SET_HAZARD_STATE_SQL)

SET_HAZARD_CASE_SQL: Final = "UPDATE patrol_hazards SET case_id = $2 WHERE id = $1"
set_hazard_case: Final = Command(SET_HAZARD_CASE_SQL)

HAZARD_ROUNDS_SQL: Final = """
SELECT r.id, r.round, r.rectified_by, r.rectified_at, r.rectify_note, r.reviewed_by,
       r.reviewed_at, r.result, r.review_note
FROM hazard_rounds r WHERE r.hazard_id = $1 ORDER BY r.round
"""
hazard_rounds: Final = Rows(HAZARD_ROUNDS_SQL)

#: The hazard list.  $1 scope, $2 states, $3 grid (subtree), $4 limit, $5 offset.
HAZARDS_SQL: Final = """
SELECT h.id, h.task_id, h.item_code, h.target, h.target_id,
       CASE h.target WHEN 'station' THEN s.name WHEN 'point' THEN pp.name ELSE ta.name END
           AS target_name,
       h.grid_id, g.name AS grid_name, h.title, h.description, h.state, h.round,
       h.rectify_deadline, h.case_id, h.created_at, h.passed_at,
       h.rectifier_person_id, r.name AS rectifier_name, count(*) OVER () AS total
FROM patrol_hazards h
LEFT JOIN stations s ON h.target = 'station' AND s.id = h.target_id
LEFT JOIN patrol_points pp ON h.target = 'point' AND pp.id = h.target_id
LEFT JOIN areas ta ON h.target = 'area' AND ta.id = h.target_id
LEFT JOIN areas g ON g.id = h.grid_id
LEFT JOIN grid_people r ON r.id = h.rectifier_person_id
WHERE ($1::int[] IS NULL OR h.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($2::text[] IS NULL OR h.state = ANY($2::text[]))
  AND ($3::int IS NULL OR h.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$3]::int[])))
ORDER BY (h.state = 'passed'), h.rectify_deadline NULLS LAST, h.id DESC
LIMIT $4 OFFSET $5
"""
hazards: Final = Rows(HAZARDS_SQL)

HAZARD_SQL: Final = """
SELECT h.id, h.task_id, h.item_code, h.target, h.target_id, tg.name AS target_name,
       h.grid_id, g.name AS grid_name, h.title, h.description, h.state, h.round,
       h.rectify_deadline, h.case_id, c.code AS case_code, h.created_at, h.passed_at,
       h.reporter_person_id, rp.name AS reporter_name,
       h.rectifier_person_id, r.name AS rectifier_name
FROM patrol_hazards h
LEFT JOIN LATERAL envgrid_patrol_target(h.target, h.target_id) tg ON true
LEFT JOIN areas g ON g.id = h.grid_id
LEFT JOIN grid_people r ON r.id = h.rectifier_person_id
LEFT JOIN grid_people rp ON rp.id = h.reporter_person_id
LEFT JOIN cases c ON c.id = h.case_id
WHERE h.id = $1
  AND ($2::int[] IS NULL OR h.grid_id IN (SELECT id FROM envgrid_scope_areas($2::int[])))
"""
hazard: Final = Row(HAZARD_SQL)

HAZARD_ROUNDS_DETAIL_SQL: Final = """
SELECT r.id, r.round, r.rectified_by, rb.name AS rectified_by_name, r.rectified_at,
       r.rectify_note, r.reviewed_by, vb.name AS reviewed_by_name, r.reviewed_at, r.result,
       r.review_note,
       coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'mime', a.mime,
                                                     'name', a.original_name) ORDER BY a.id)
                 FROM attachments a WHERE a.owner = 'hazard_round' AND a.owner_id = r.id), '[]')
           AS attachments
FROM hazard_rounds r
LEFT JOIN grid_people rb ON rb.id = r.rectified_by
LEFT JOIN grid_people vb ON vb.id = r.reviewed_by
WHERE r.hazard_id = $1 ORDER BY r.round
"""


hazard_rounds_detail: Final = Rows(HAZARD_ROUNDS_DETAIL_SQL)
