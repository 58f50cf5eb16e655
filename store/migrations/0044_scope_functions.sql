-- 0044 scope functions: filters the web queries share, written once.
-- Plain SQL functions (PostgreSQL and TimescaleDB alike).  The set-returning ones are
-- STABLE, not STRICT, single SELECTs: the planner inlines them into the calling query
-- (as if their body were written there), so plans stay those of the written-out filter.

-- The alerts visible in a data scope (NULL = all): a station alert when its station is in
-- the scope; an alert without a station when its region is the code or name of an area
-- of the scope, or its grid is one of those areas.
CREATE FUNCTION envgrid_scope_alerts(scope integer[])
RETURNS SETOF alerts LANGUAGE sql STABLE AS $$
    SELECT a.* FROM alerts a
    WHERE scope IS NULL
       OR a.station_id IN (SELECT envgrid_scope_stations(scope))
       OR (a.station_id IS NULL
           AND (a.region IN (SELECT code FROM envgrid_scope_areas(scope))
                OR a.region IN (SELECT name FROM envgrid_scope_areas(scope))
                OR a.grid_id IN (SELECT id FROM envgrid_scope_areas(scope))))
$$;

-- The values of the station / region / grid labels of silence or maintenance-window
-- matchers ({label: [values]}) that lie outside the data scope.
CREATE FUNCTION envgrid_matchers_outside_scope(scope integer[], matchers jsonb)
RETURNS TABLE (label text, value text) LANGUAGE sql STABLE AS $$
    SELECT k, v
    FROM unnest('{station,region,grid}'::text[]) k,
         jsonb_array_elements_text(COALESCE(matchers -> k, '[]')) v
    WHERE (k, v) NOT IN (SELECT 'station', s::text FROM envgrid_scope_stations(scope) s
                         UNION ALL SELECT 'region', code FROM envgrid_scope_areas(scope)
                         UNION ALL SELECT 'region', name FROM envgrid_scope_areas(scope)
                         UNION ALL SELECT 'grid', id::text FROM envgrid_scope_areas(scope))
$$;

-- An area and its ancestors (depth 0 = the area itself), at most 10 levels up.
CREATE FUNCTION envgrid_area_ancestors(area integer)
RETURNS TABLE (id integer, depth integer) LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up AS (
        SELECT a.id, a.parent_id, 0 AS depth FROM areas a WHERE a.id = area
        UNION ALL
        SELECT a.id, a.parent_id, up.depth + 1 FROM areas a JOIN up ON a.id = up.parent_id
        WHERE up.depth < 10
    )
    SELECT up.id, up.depth FROM up
$$;

-- The cases of the case board under its filters (each NULL / false = no filter): data
-- scope (grid ids, already expanded to the subtrees), states, open or not, unit, category,
-- source, supervised only, overdue only (deadline before as_of), search text (the code,
-- or a part of the title), grid.
CREATE FUNCTION envgrid_case_board(
    in_scope integer[], in_states text[], in_open boolean, in_unit integer, in_category text,
    in_source text, supervised_only boolean, overdue_only boolean, as_of timestamptz,
    search text, in_grid integer)
RETURNS SETOF cases LANGUAGE sql STABLE AS $$
    SELECT c.* FROM cases c
    WHERE (in_scope IS NULL OR c.grid_id = ANY(in_scope))
      AND (in_states IS NULL OR c.state = ANY(in_states))
      AND (in_open IS NULL OR c.is_open = in_open)
      AND (in_unit IS NULL OR c.unit_id = in_unit)
      AND (in_category IS NULL OR c.category = in_category)
      AND (in_source IS NULL OR c.source = in_source)
      AND (NOT supervised_only OR c.supervised)
      AND (NOT overdue_only OR c.deadline < as_of)
      AND (search IS NULL OR c.code = search OR strpos(c.title, search) > 0)
      AND (in_grid IS NULL OR c.grid_id = in_grid)
$$;

-- What a patrol task or hazard targets (a station, a patrol point or an area): its name,
-- code and position; no row for another target kind.  (For one task or hazard: a list
-- joins the three tables, which plans better over many rows.)
CREATE FUNCTION envgrid_patrol_target(target text, target_id integer)
RETURNS TABLE (name text, code text, lat double precision, lon double precision)
LANGUAGE sql STABLE AS $$
    SELECT s.name, s.mn, s.lat, s.lon FROM stations s
    WHERE target = 'station' AND s.id = target_id
    UNION ALL
    SELECT p.name, p.code, p.lat, p.lon FROM patrol_points p
    WHERE target = 'point' AND p.id = target_id
    UNION ALL
    SELECT a.name, a.code, a.centroid_lat, a.centroid_lon FROM areas a
    WHERE target = 'area' AND a.id = target_id
$$;
