"""SQL of patrol hazards (隐患) and their rectification rounds ($n parameters only)."""

from __future__ import annotations

from typing import Final

from web.casework.kernel.queries import Command, Row, Rows, Value

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
LEFT JOIN areas g ON g.id = h.grid_id
LEFT JOIN grid_people r ON r.id = h.rectifier_person_id
LEFT JOIN stations s ON h.target = 'station' AND s.id = h.target_id
LEFT JOIN patrol_points pp ON h.target = 'point' AND pp.id = h.target_id
LEFT JOIN areas ta ON h.target = 'area' AND ta.id = h.target_id
WHERE ($1::int[] IS NULL OR h.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($2::text[] IS NULL OR h.state = ANY($2::text[]))
  AND ($3::int IS NULL OR h.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$3]::int[])))
ORDER BY (h.state = 'passed'), h.rectify_deadline NULLS LAST, h.id DESC
LIMIT $4 OFFSET $5
"""
hazards: Final = Rows(HAZARDS_SQL)

HAZARD_SQL: Final = """
SELECT h.id, h.task_id, h.item_code, h.target, h.target_id,
       CASE h.target WHEN 'station' THEN s.name WHEN 'point' THEN pp.name ELSE ta.name END
           AS target_name,
       h.grid_id, g.name AS grid_name, h.title, h.description, h.state, h.round,
       h.rectify_deadline, h.case_id, c.code AS case_code, h.created_at, h.passed_at,
       h.reporter_person_id, rp.name AS reporter_name,
       h.rectifier_person_id, r.name AS rectifier_name
FROM patrol_hazards h
LEFT JOIN areas g ON g.id = h.grid_id
LEFT JOIN grid_people r ON r.id = h.rectifier_person_id
LEFT JOIN grid_people rp ON rp.id = h.reporter_person_id
LEFT JOIN cases c ON c.id = h.case_id
LEFT JOIN stations s ON h.target = 'station' AND s.id = h.target_id
LEFT JOIN patrol_points pp ON h.target = 'point' AND pp.id = h.target_id
LEFT JOIN areas ta ON h.target = 'area' AND ta.id = h.target_id
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
