"""SQL of the grid module ($n parameters only)."""

from __future__ import annotations

from typing import Any, Final

import asyncpg

from web.casework.kernel.queries import Command, Row, Rows, Value

# -- hierarchy ---------------------------------------------------------------------

GET_AREA_SQL: Final = """
SELECT a.id, a.parent_id, a.level, a.code, a.name, a.boundary, a.centroid_lat, a.centroid_lon,
       a.attrs, p.code AS parent_code
FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
WHERE a.id = $1
"""
get_area: Final = Row(GET_AREA_SQL)

AREA_BY_CODE_SQL: Final = "SELECT id, level, code, name FROM areas WHERE code = $1"
area_by_code: Final = Row(AREA_BY_CODE_SQL)

INSERT_AREA_SQL: Final = """
INSERT INTO areas (parent_id, level, code, name, boundary, centroid_lat, centroid_lon, attrs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""
insert_area: Final = Value(INSERT_AREA_SQL)

EXISTING_AREAS_SQL: Final = """
SELECT id, code, level, boundary FROM areas WHERE code = ANY($1::text[])
"""
existing_areas: Final = Rows(EXISTING_AREAS_SQL)

UPSERT_AREA_SQL: Final = """
INSERT INTO areas AS a (code, name, level, parent_id, boundary, centroid_lat, centroid_lon, attrs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, level = EXCLUDED.level, parent_id = EXCLUDED.parent_id,
    boundary = EXCLUDED.boundary, centroid_lat = EXCLUDED.centroid_lat,
    centroid_lon = EXCLUDED.centroid_lon, attrs = EXCLUDED.attrs, updated_at = now()
RETURNING id, (xmax = 0) AS inserted
"""


async def upsert_area(conn: asyncpg.Connection, *args: Any) -> asyncpg.Record:
    result: asyncpg.Record = await conn.fetchrow(UPSERT_AREA_SQL, *args)
    return result


#: $1 parent (NULL: top level), $2 the area itself (NULL: a new one): its siblings and
#: children that have a boundary (the area editor's checks).
NEIGHBOUR_AREAS_SQL: Final = """
SELECT 'sibling' AS kind, code, name, boundary FROM areas
WHERE parent_id IS NOT DISTINCT FROM $1::int AND id IS DISTINCT FROM $2::int
  AND boundary IS NOT NULL
UNION ALL
SELECT 'child', code, name, boundary FROM areas
WHERE $2::int IS NOT NULL AND parent_id = $2::int AND boundary IS NOT NULL
ORDER BY 1, 2
"""
neighbour_areas: Final = Rows(NEIGHBOUR_AREAS_SQL)

UPDATE_AREA_SQL: Final = """
UPDATE areas SET name = $2, parent_id = $3, boundary = $4, centroid_lat = $5,
                 centroid_lon = $6, updated_at = now()
WHERE id = $1
"""
update_area: Final = Command(UPDATE_AREA_SQL)

EXPORT_AREAS_SQL: Final = """
SELECT a.id, a.code, a.name, a.level, p.code AS parent_code, a.boundary,
       a.centroid_lat, a.centroid_lon, a.attrs
FROM areas a LEFT JOIN areas p ON p.id = a.parent_id
WHERE $1::int[] IS NULL OR a.id = ANY($1::int[])
ORDER BY a.level, a.code
"""
export_areas: Final = Rows(EXPORT_AREAS_SQL)

INDEX_AREAS_SQL: Final = """
SELECT id, level, boundary FROM areas WHERE boundary IS NOT NULL
"""
index_areas: Final = Rows(INDEX_AREAS_SQL)

INDEX_SIGNATURE_SQL: Final = """
SELECT count(*), max(updated_at) FROM areas WHERE boundary IS NOT NULL
"""


async def index_signature(conn: asyncpg.Connection) -> asyncpg.Record:
    result: asyncpg.Record = await conn.fetchrow(INDEX_SIGNATURE_SQL)
    return result


# -- units and people ----------------------------------------------------------------

# -- assignments ---------------------------------------------------------------------

CURRENT_ASSIGNMENT_SQL: Final = """
SELECT area_id FROM area_assignments WHERE entity = $1 AND entity_id = $2 AND valid_to IS NULL
"""
current_assignment: Final = Row(CURRENT_ASSIGNMENT_SQL)

CLOSE_ASSIGNMENT_SQL: Final = """
UPDATE area_assignments SET valid_to = $3
WHERE entity = $1 AND entity_id = $2 AND valid_to IS NULL
"""
close_assignment: Final = Command(CLOSE_ASSIGNMENT_SQL)

INSERT_ASSIGNMENT_SQL: Final = """
INSERT INTO area_assignments (entity, entity_id, area_id, method, assigned_by, reason, valid_from)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
insert_assignment: Final = Command(INSERT_ASSIGNMENT_SQL)

ASSIGNMENT_HISTORY_SQL: Final = """
SELECT h.area_id, a.code AS area_code, a.name AS area_name, h.method, h.assigned_by, h.reason,
       h.valid_from, h.valid_to
FROM area_assignments h LEFT JOIN areas a ON a.id = h.area_id
WHERE h.entity = $1 AND h.entity_id = $2
ORDER BY h.valid_from, h.id
"""
assignment_history: Final = Rows(ASSIGNMENT_HISTORY_SQL)

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
insert_point: Final = Value(INSERT_POINT_SQL)

# -- web layer (round 2): reads in the caller's data scope ---------------------------------
# $n::int[] scope = the area ids whose subtrees the caller sees (NULL = everything).

AREA_IN_SCOPE_SQL: Final = """
SELECT $2::int[] IS NULL OR $1 IN (SELECT id FROM envgrid_scope_areas($2::int[]))
"""
area_in_scope: Final = Value(AREA_IN_SCOPE_SQL)

#: $1 scope, $2 level, $3 parent (NULL = any), $4 with boundaries.
SCOPED_AREAS_SQL: Final = """
SELECT a.id, a.parent_id, a.level, a.code, a.name, a.centroid_lat, a.centroid_lon,
       CASE WHEN $4 THEN a.boundary END AS boundary,
       (SELECT count(*) FROM areas c WHERE c.parent_id = a.id) AS children
FROM areas a
WHERE ($1::int[] IS NULL OR a.id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($2::int IS NULL OR a.level = $2)
  AND ($3::int IS NULL OR a.parent_id = $3)
ORDER BY a.level, a.code
"""
scoped_areas: Final = Rows(SCOPED_AREAS_SQL)

#: Responsible units of the area and of its ancestors ($1 area): nearest first.
AREA_UNITS_SQL: Final = """
WITH RECURSIVE up AS (
    SELECT id, parent_id, name, 0 AS depth FROM areas WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, a.name, up.depth + 1 FROM areas a JOIN up ON a.id = up.parent_id
    WHERE up.depth < 10
)
SELECT au.category, cc.name AS category_name, au.unit_id, u.name AS unit_name,
       u.phone AS unit_phone, up.id AS area_id, up.name AS area_name, up.depth
FROM up
JOIN area_units au ON au.area_id = up.id
JOIN grid_units u ON u.id = au.unit_id
LEFT JOIN case_categories cc ON cc.code = au.category
ORDER BY up.depth, au.category
"""
area_units: Final = Rows(AREA_UNITS_SQL)

#: Stations in the area's subtree ($1 area), at most $2.
AREA_STATIONS_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.grid_id, s.enabled,
       st.last_data_at
FROM stations s LEFT JOIN station_state st ON st.station_id = s.id
WHERE s.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$1]::int[]))
ORDER BY s.id
LIMIT $2
"""
area_stations: Final = Rows(AREA_STATIONS_SQL)

AREA_POINTS_SQL: Final = """
SELECT p.id, p.code, p.name, p.kind, p.lat, p.lon, p.grid_id, p.station_id
FROM patrol_points p
WHERE p.active AND p.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$1]::int[]))
ORDER BY p.code
LIMIT $2
"""
area_points: Final = Rows(AREA_POINTS_SQL)

#: Counters of the area's subtree ($1 area, $2 now).
AREA_COUNTS_SQL: Final = """
WITH sub AS (SELECT id FROM envgrid_scope_areas(ARRAY[$1]::int[]))
SELECT
    (SELECT count(*) FROM cases c WHERE c.is_open AND c.grid_id IN (SELECT id FROM sub))
        AS open_cases,
    (SELECT count(*) FROM cases c WHERE c.is_open AND c.deadline < $2
       AND c.grid_id IN (SELECT id FROM sub)) AS overdue_cases,
    (SELECT count(*) FROM patrol_tasks t WHERE t.state IN ('pending', 'in_progress', 'overdue')
       AND t.grid_id IN (SELECT id FROM sub)) AS open_tasks,
    (SELECT count(*) FROM patrol_hazards h WHERE h.state <> 'passed'
       AND h.grid_id IN (SELECT id FROM sub)) AS open_hazards
"""


async def area_counts(conn: asyncpg.Connection, area_id: Any, now: Any) -> asyncpg.Record:
    result: asyncpg.Record = await conn.fetchrow(AREA_COUNTS_SQL, area_id, now)
    return result


#: The grid map's point layers: $1 scope, $2 area (subtree, NULL = all), $3 now, $4 limit.
MAP_STATIONS_SQL: Final = """
SELECT coalesce(json_agg(json_build_array(s.id, s.name, s.lat, s.lon, s.grid_id, s.st,
                                          s.enabled) ORDER BY s.id), '[]')::text
FROM stations s
WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL
  AND ($1::int[] IS NULL OR s.id IN (SELECT envgrid_scope_stations($1::int[])))
  AND ($2::int IS NULL OR s.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$2]::int[])))
"""
map_stations: Final = Value(MAP_STATIONS_SQL)

MAP_POINTS_SQL: Final = """
SELECT coalesce(json_agg(json_build_array(p.id, p.code, p.name, p.lat, p.lon, p.grid_id, p.kind)
                         ORDER BY p.id), '[]')::text
FROM patrol_points p
WHERE p.active
  AND ($1::int[] IS NULL OR p.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($2::int IS NULL OR p.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$2]::int[])))
"""
map_points: Final = Value(MAP_POINTS_SQL)

MAP_CASES_SQL: Final = """
SELECT coalesce(json_agg(json_build_array(c.id, c.code, c.title, c.lat, c.lon, c.state,
                                          c.urgent, c.deadline < $3, c.grid_id, c.supervised)
                         ORDER BY c.deadline NULLS LAST, c.id), '[]')::text
FROM (
    SELECT c.* FROM cases c
    WHERE c.is_open AND c.lat IS NOT NULL AND c.lon IS NOT NULL
      AND ($1::int[] IS NULL OR c.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
      AND ($2::int IS NULL OR c.grid_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$2]::int[])))
    ORDER BY c.deadline NULLS LAST, c.id
    LIMIT $4
) c
"""
map_cases: Final = Value(MAP_CASES_SQL)

#: The grid map's boundaries as one GeoJSON FeatureCollection text: $1 scope, $2 area
#: (subtree), $3 minimum level.
MAP_AREAS_SQL: Final = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
           json_build_object('type', 'Feature', 'geometry', a.boundary,
                             'properties', json_build_object('id', a.id, 'code', a.code,
                                                             'name', a.name, 'level', a.level,
                                                             'parent_id', a.parent_id))
           ORDER BY a.level, a.code), '[]'))::text
FROM areas a
WHERE a.boundary IS NOT NULL AND a.level >= $3
  AND ($1::int[] IS NULL OR a.id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
  AND ($2::int IS NULL OR a.id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$2]::int[])))
"""
map_areas: Final = Value(MAP_AREAS_SQL)

#: People: $1 role, $2 unit, $3 area (duty in the subtree), $4 text, $5 scope, $6 limit,
#: $7 offset.  A scoped caller sees the people with a duty in the scope and the people of
#: the units responsible there.
PEOPLE_SQL: Final = """
SELECT p.id, p.name, p.phone, p.role, p.unit_id, u.name AS unit_name, p.user_name,
       p.receiver_id, r.name AS receiver_name, r.kind AS receiver_kind, p.active,
       coalesce((SELECT jsonb_agg(jsonb_build_object('area_id', ap.area_id, 'area_name', a.name,
                                                     'duty', ap.duty) ORDER BY ap.area_id)
                 FROM area_people ap JOIN areas a ON a.id = ap.area_id
                 WHERE ap.person_id = p.id), '[]') AS duties,
       count(*) OVER () AS total
FROM grid_people p
LEFT JOIN grid_units u ON u.id = p.unit_id
LEFT JOIN alert_receivers r ON r.id = p.receiver_id
WHERE ($1::text IS NULL OR p.role = $1)
  AND ($2::int IS NULL OR p.unit_id = $2)
  AND ($3::int IS NULL OR EXISTS (
        SELECT 1 FROM area_people ap WHERE ap.person_id = p.id
          AND ap.area_id IN (SELECT id FROM envgrid_scope_areas(ARRAY[$3]::int[]))))
  AND ($4::text IS NULL OR strpos(p.name, $4) > 0 OR p.phone = $4 OR p.user_name = $4)
  AND ($5::int[] IS NULL
       OR EXISTS (SELECT 1 FROM area_people ap WHERE ap.person_id = p.id
                    AND ap.area_id IN (SELECT id FROM envgrid_scope_areas($5::int[])))
       OR EXISTS (SELECT 1 FROM area_units au WHERE au.unit_id = p.unit_id
                    AND au.area_id IN (SELECT id FROM envgrid_scope_areas($5::int[]))))
ORDER BY p.role, p.id
LIMIT $6 OFFSET $7
"""
people: Final = Rows(PEOPLE_SQL)

UPDATE_PERSON_SQL: Final = """
UPDATE grid_people SET
    name = coalesce($2, name), phone = coalesce($3, phone),
    unit_id = CASE WHEN $4::boolean THEN $5 ELSE unit_id END,
    user_name = CASE WHEN $6::boolean THEN $7 ELSE user_name END,
    receiver_id = CASE WHEN $8::boolean THEN $9 ELSE receiver_id END,
    active = coalesce($10, active), updated_at = now()
WHERE id = $1
RETURNING id
"""
update_person: Final = Value(UPDATE_PERSON_SQL)

SET_PERSON_RECEIVER_SQL: Final = "UPDATE grid_people SET receiver_id = $2 WHERE id = $1"
set_person_receiver: Final = Command(SET_PERSON_RECEIVER_SQL)

UNITS_LIST_SQL: Final = """
SELECT u.id, u.code, u.name, u.kind, u.phone, u.active,
       (SELECT count(*) FROM grid_people p WHERE p.unit_id = u.id AND p.active) AS people
FROM grid_units u ORDER BY u.code
"""
units_list: Final = Rows(UNITS_LIST_SQL)

POINTS_SQL: Final = """
SELECT p.id, p.code, p.name, p.kind, p.lat, p.lon, p.grid_id, a.name AS grid_name,
       p.station_id, p.active
FROM patrol_points p LEFT JOIN areas a ON a.id = p.grid_id
WHERE ($1::int[] IS NULL OR p.grid_id IN (SELECT id FROM envgrid_scope_areas($1::int[])))
ORDER BY p.code
LIMIT $2 OFFSET $3
"""
points: Final = Rows(POINTS_SQL)

PERSON_DUTIES_SQL: Final = """
SELECT ap.area_id, a.code AS area_code, a.name AS area_name, a.level, ap.duty
FROM area_people ap JOIN areas a ON a.id = ap.area_id
WHERE ap.person_id = $1 ORDER BY a.level, a.code
"""
person_duties: Final = Rows(PERSON_DUTIES_SQL)

PEOPLE_EXPORT_SQL: Final = """
SELECT p.id, p.name, p.phone, p.role, u.code AS unit_code, u.name AS unit_name, p.user_name,
       r.name AS receiver, p.active,
       coalesce(string_agg(a.code || ':' || ap.duty, ',' ORDER BY a.code), '') AS duties
FROM grid_people p
LEFT JOIN grid_units u ON u.id = p.unit_id
LEFT JOIN alert_receivers r ON r.id = p.receiver_id
LEFT JOIN area_people ap ON ap.person_id = p.id
LEFT JOIN areas a ON a.id = ap.area_id
WHERE ($1::text IS NULL OR p.role = $1)
GROUP BY p.id, u.code, u.name, r.name
ORDER BY p.role, p.id
"""
people_export: Final = Rows(PEOPLE_EXPORT_SQL)

_ENTITY_GRID_SQL: Final = {
    "station": (STATION_GRID_SQL, SET_STATION_GRID_SQL),
    "patrol_point": (POINT_GRID_SQL, SET_POINT_GRID_SQL),
    "case": (CASE_GRID_SQL, SET_CASE_GRID_SQL),
}


async def lock_entity_grid(
    conn: asyncpg.Connection, entity: str, entity_id: int
) -> asyncpg.Record | None:
    """The grid of a station / patrol point / case, its row locked (None: no such)."""
    result: asyncpg.Record | None = await conn.fetchrow(_ENTITY_GRID_SQL[entity][0], entity_id)
    return result


async def set_entity_grid(
    conn: asyncpg.Connection, entity: str, entity_id: int, area_id: int | None
) -> None:
    await conn.execute(_ENTITY_GRID_SQL[entity][1], entity_id, area_id)


async def entity_positions(
    conn: asyncpg.Connection, entity: str, reassign: bool
) -> list[asyncpg.Record]:
    """Stations or patrol points with a position (all, or those without a grid)."""
    sql = STATION_POSITIONS_SQL if entity == "station" else POINT_POSITIONS_SQL
    result: list[asyncpg.Record] = await conn.fetch(sql, reassign)
    return result
