"""SQL of the grid module ($n parameters only)."""

from __future__ import annotations

from typing import Final

# -- hierarchy ---------------------------------------------------------------------

DESCENDANT_IDS_SQL: Final = """
WITH RECURSIVE t AS (
    SELECT id FROM areas WHERE id = ANY($1::int[])
    UNION
    SELECT a.id FROM areas a JOIN t ON a.parent_id = t.id
)
SELECT id FROM t
"""

ANCESTORS_SQL: Final = """
WITH RECURSIVE t AS (
    SELECT id, parent_id, level, code, name, 0 AS depth FROM areas WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, a.level, a.code, a.name, t.depth + 1
    FROM areas a JOIN t ON a.id = t.parent_id
    WHERE t.depth < 10
)
SELECT id, parent_id, level, code, name FROM t ORDER BY depth
"""

GET_AREA_SQL: Final = """
SELECT a.id, a.parent_id, a.level, a.code, a.name, a.boundary, a.centroid_lat, a.centroid_lon,
       a.attrs, p.code AS parent_code
FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
WHERE a.id = $1
"""

AREA_BY_CODE_SQL: Final = "SELECT id, level, code, name FROM areas WHERE code = $1"

CHILDREN_SQL: Final = """
SELECT a.id, a.level, a.code, a.name,
       (SELECT count(*) FROM areas c WHERE c.parent_id = a.id) AS children
FROM areas a
WHERE a.parent_id IS NOT DISTINCT FROM $1
ORDER BY a.code
"""

INSERT_AREA_SQL: Final = """
INSERT INTO areas (parent_id, level, code, name, boundary, centroid_lat, centroid_lon, attrs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""

EXISTING_AREAS_SQL: Final = """
SELECT id, code, level, boundary FROM areas WHERE code = ANY($1::text[])
"""

UPSERT_AREA_SQL: Final = """
INSERT INTO areas AS a (code, name, level, parent_id, boundary, centroid_lat, centroid_lon, attrs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, level = EXCLUDED.level, parent_id = EXCLUDED.parent_id,
    boundary = EXCLUDED.boundary, centroid_lat = EXCLUDED.centroid_lat,
    centroid_lon = EXCLUDED.centroid_lon, attrs = EXCLUDED.attrs, updated_at = now()
RETURNING id, (xmax = 0) AS inserted
"""

EXPORT_AREAS_SQL: Final = """
SELECT a.id, a.code, a.name, a.level, p.code AS parent_code, a.boundary,
       a.centroid_lat, a.centroid_lon, a.attrs
FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
WHERE $1::int[] IS NULL OR a.id = ANY($1::int[])
ORDER BY a.level, a.code
"""

INDEX_AREAS_SQL: Final = """
SELECT id, level, boundary FROM areas WHERE boundary IS NOT NULL
"""

INDEX_SIGNATURE_SQL: Final = """
SELECT count(*), max(updated_at) FROM areas WHERE boundary IS NOT NULL
"""

# -- units and people ----------------------------------------------------------------

INSERT_UNIT_SQL: Final = """
INSERT INTO grid_units (code, name, kind, phone) VALUES ($1, $2, $3, $4) RETURNING id
"""

INSERT_PERSON_SQL: Final = """
INSERT INTO grid_people (name, phone, role, unit_id, user_name)
VALUES ($1, $2, $3, $4, $5) RETURNING id
"""

GET_PERSON_SQL: Final = """
SELECT id, name, phone, role, unit_id, user_name, active FROM grid_people WHERE id = $1
"""

PERSON_BY_USER_SQL: Final = """
SELECT id, name, phone, role, unit_id, user_name, active FROM grid_people WHERE user_name = $1
"""

PERSON_AREAS_SQL: Final = """
SELECT area_id, duty FROM area_people WHERE person_id = $1 ORDER BY area_id, duty
"""

SET_DUTY_SQL: Final = """
INSERT INTO area_people (area_id, person_id, duty) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
"""

REMOVE_DUTY_SQL: Final = """
DELETE FROM area_people WHERE area_id = $1 AND person_id = $2 AND duty = $3
"""

AREA_PEOPLE_SQL: Final = """
SELECT p.id, p.name, p.phone, p.role, ap.duty
FROM area_people ap JOIN grid_people p ON p.id = ap.person_id
WHERE ap.area_id = $1 AND ($2::text IS NULL OR ap.duty = $2) AND p.active
ORDER BY ap.duty, p.id
"""

#: People with ``duty`` in the area or, if none there, in the nearest ancestor that has some.
NEAREST_DUTY_PEOPLE_SQL: Final = """
WITH RECURSIVE up AS (
    SELECT id, parent_id, 0 AS depth FROM areas WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, up.depth + 1 FROM areas a JOIN up ON a.id = up.parent_id
    WHERE up.depth < 10
), found AS (
    SELECT p.id, up.depth
    FROM up JOIN area_people ap ON ap.area_id = up.id AND ap.duty = $2
    JOIN grid_people p ON p.id = ap.person_id AND p.active
)
SELECT id FROM found WHERE depth = (SELECT min(depth) FROM found) ORDER BY id
"""

SET_AREA_UNIT_SQL: Final = """
INSERT INTO area_units (area_id, category, unit_id) VALUES ($1, $2, $3)
ON CONFLICT (area_id, category) DO UPDATE SET unit_id = EXCLUDED.unit_id
"""

#: An exact category match anywhere up the hierarchy beats '*'; nearer areas win ties.
RESPONSIBLE_UNIT_SQL: Final = """
WITH RECURSIVE up AS (
    SELECT id, parent_id, 0 AS depth FROM areas WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, up.depth + 1 FROM areas a JOIN up ON a.id = up.parent_id
    WHERE up.depth < 10
)
SELECT au.unit_id
FROM up
JOIN area_units au ON au.area_id = up.id AND au.category IN ($2, '*')
JOIN grid_units u ON u.id = au.unit_id AND u.active
ORDER BY (au.category = '*'), up.depth
LIMIT 1
"""

UNIT_PEOPLE_SQL: Final = """
SELECT id FROM grid_people WHERE unit_id = $1 AND active ORDER BY id
"""

ROLE_PEOPLE_SQL: Final = """
SELECT id FROM grid_people WHERE role = $1 AND active ORDER BY id
"""

# -- assignments ---------------------------------------------------------------------

CURRENT_ASSIGNMENT_SQL: Final = """
SELECT area_id FROM area_assignments WHERE entity = $1 AND entity_id = $2 AND valid_to IS NULL
"""

CLOSE_ASSIGNMENT_SQL: Final = """
UPDATE area_assignments SET valid_to = $3
WHERE entity = $1 AND entity_id = $2 AND valid_to IS NULL
"""

INSERT_ASSIGNMENT_SQL: Final = """
INSERT INTO area_assignments (entity, entity_id, area_id, method, assigned_by, reason, valid_from)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

ASSIGNMENT_HISTORY_SQL: Final = """
SELECT h.area_id, a.code AS area_code, a.name AS area_name, h.method, h.assigned_by, h.reason,
       h.valid_from, h.valid_to
FROM area_assignments h LEFT JOIN areas a ON a.id = h.area_id
WHERE h.entity = $1 AND h.entity_id = $2
ORDER BY h.valid_from, h.id
"""

STATION_GRID_SQL: Final = "SELECT grid_id FROM stations WHERE id = $1 FOR UPDATE"
POINT_GRID_SQL: Final = "SELECT grid_id FROM patrol_points WHERE id = $1 FOR UPDATE"
CASE_GRID_SQL: Final = "SELECT grid_id FROM cases WHERE id = $1 FOR UPDATE"

SET_STATION_GRID_SQL: Final = "UPDATE stations SET grid_id = $2, updated_at = now() WHERE id = $1"
SET_POINT_GRID_SQL: Final = "UPDATE patrol_points SET grid_id = $2 WHERE id = $1"
SET_CASE_GRID_SQL: Final = "UPDATE cases SET grid_id = $2, updated_at = now() WHERE id = $1"

STATION_POSITIONS_SQL: Final = """
SELECT id, lat, lon, grid_id FROM stations
WHERE lat IS NOT NULL AND lon IS NOT NULL AND ($1 OR grid_id IS NULL)
ORDER BY id
"""

POINT_POSITIONS_SQL: Final = """
SELECT id, lat, lon, grid_id FROM patrol_points
WHERE ($1 OR grid_id IS NULL)
ORDER BY id
"""

INSERT_POINT_SQL: Final = """
INSERT INTO patrol_points (code, name, kind, lat, lon, station_id) VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id
"""
