"""Every SQL statement of the data audit (``$n`` parameters only).  Relations: migration
0057 (``audit_marks``, ``audit_proposals``, ``envgrid_audit.data_audit_log``, the views
``hourly_values_raw`` and ``hourly_values``)."""

from __future__ import annotations

from typing import Final

STATION_BY_MN_SQL: Final = "SELECT id, mn, name, expected_factors FROM stations WHERE mn = $1"
STATION_ID_SQL: Final = "SELECT id FROM stations WHERE mn = $1"
ALL_STATIONS_SQL: Final = "SELECT id FROM stations ORDER BY id"
IN_SCOPE_SQL: Final = "SELECT $1::integer IN (SELECT envgrid_scope_stations($2::integer[]))"
FACTORS_BY_CODE_SQL: Final = "SELECT code, id FROM factors WHERE code = ANY($1::text[])"
#: Serialises the audit actions on one station (marks and log stay in step).
LOCK_STATION_SQL: Final = "SELECT pg_advisory_xact_lock(2120057, $1::integer)"
#: The factors station ``$1`` has official hours of in [``$2``, ``$3``) or expects.
STATION_FACTORS_SQL: Final = """
SELECT f.id, f.code FROM factors f
WHERE f.id IN (SELECT DISTINCT h.factor_id FROM hourly_values_raw h
               WHERE h.station_id = $1 AND h.ts >= $2 AND h.ts < $3)
   OR f.code = ANY($4::text[])
ORDER BY f.code
"""
#: Official hours of station ``$1``, factors ``$2``, in [``$3``, ``$4``), with the audit.
HOURS_SQL: Final = """
SELECT h.factor_id, h.ts, h.value, h.raw_valid, h.audited
FROM hourly_values h
WHERE h.station_id = $1 AND h.factor_id = ANY($2::smallint[]) AND h.ts >= $3 AND h.ts < $4
"""
MARKED_SQL: Final = """
SELECT factor_id, hour FROM audit_marks
WHERE station_id = $1 AND factor_id = ANY($2::smallint[]) AND hour >= $3 AND hour < $4
"""
INSERT_LOG_SQL: Final = """
INSERT INTO envgrid_audit.data_audit_log (
    actor, actor_kind, user_id, action, station_id, mn, factor_codes, ts_from, ts_to, reason,
    note, source, n_changed, changes)
VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12, $13, $14::jsonb)
RETURNING *
"""
#: Marks every hour of [``$3``, ``$4``) of station ``$1`` for the factors ``$2`` not
#: marked yet, by log row ``$5`` for reason ``$6``.
INSERT_MARKS_SQL: Final = """
INSERT INTO audit_marks (station_id, factor_id, hour, log_id, reason)
SELECT $1, f.id, g.hour, $5, $6
FROM unnest($2::smallint[]) AS f(id)
CROSS JOIN generate_series($3::timestamptz, $4::timestamptz - INTERVAL '1 hour',
                           INTERVAL '1 hour') AS g(hour)
ON CONFLICT DO NOTHING
"""
DELETE_MARKS_SQL: Final = """
DELETE FROM audit_marks
WHERE station_id = $1 AND factor_id = ANY($2::smallint[]) AND hour >= $3 AND hour < $4
"""
#: The local days of [``$2``, ``$3``) of station ``$1`` become dirty: the refresh job
#: recomputes their official daily/monthly/yearly values (aggregates.jobs.run_refresh).
MARK_DAYS_DIRTY_SQL: Final = """
INSERT INTO agg_dirty_days (station_id, day)
SELECT DISTINCT $1::integer, (g.hour AT TIME ZONE c.timezone)::date
FROM agg_config c
CROSS JOIN generate_series($2::timestamptz, $3::timestamptz - INTERVAL '1 hour',
                           INTERVAL '1 hour') AS g(hour)
ON CONFLICT DO NOTHING
"""

#: Log rows, newest first: station ids ``$1`` (NULL: all), overlapping [``$2``, ``$3``)
#: (NULLs: unbounded), scope ``$4`` (NULL: everything), at most ``$5``.
LOG_SQL: Final = """
SELECT id, ts, actor, actor_kind, action, station_id, mn, factor_codes, ts_from, ts_to, reason,
       note, source, n_changed, changes
FROM envgrid_audit.data_audit_log l
WHERE ($1::integer[] IS NULL OR l.station_id = ANY($1::integer[]))
  AND ($2::timestamptz IS NULL OR l.ts_to > $2)
  AND ($3::timestamptz IS NULL OR l.ts_from < $3)
  AND ($4::integer[] IS NULL
       OR l.station_id IN (SELECT envgrid_scope_stations($4::integer[])))
ORDER BY l.id DESC
LIMIT $5
"""
#: The feed for other modules (forwarding corrections upstream): rows after id ``$1``,
#: oldest first, at most ``$2``.
CHANGES_SINCE_SQL: Final = """
SELECT id, ts, actor, actor_kind, action, station_id, mn, factor_codes, ts_from, ts_to, reason,
       note, source, n_changed, changes
FROM envgrid_audit.data_audit_log
WHERE id > $1 ORDER BY id LIMIT $2
"""

# -- pre-audit proposals ---------------------------------------------------------------------
#: Valid official hours of the stations ``$1`` (NULL: all) in [``$2``, ``$3``) not audited
#: yet, with the factor code and the station's flag counters of the hour.
SCAN_HOURS_SQL: Final = """
SELECT h.station_id, h.factor_id, f.code, h.ts, h.value, h.n_flag_c, h.n_flag_m
FROM hourly_values h JOIN factors f ON f.id = h.factor_id
WHERE ($1::integer[] IS NULL OR h.station_id = ANY($1::integer[]))
  AND h.ts >= $2 AND h.ts < $3 AND h.valid AND h.value IS NOT NULL
ORDER BY h.station_id, h.ts
"""
INSERT_PROPOSALS_SQL: Final = """
INSERT INTO audit_proposals (station_id, factor_id, hour, rule, value, detail)
SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::text[],
                     $5::float8[], $6::text[])
ON CONFLICT (station_id, factor_id, hour, rule) DO NOTHING
"""
#: Proposals with status ``$1``, stations in scope ``$2`` (NULL: all), station ``$3``
#: (NULL: all), newest hours first, at most ``$4``.
PROPOSALS_SQL: Final = """
SELECT p.id, p.station_id, s.mn, s.name AS station_name, p.factor_id, f.code, f.name_zh,
       f.unit, p.hour, p.rule, p.value, p.detail, p.found_at, p.status, p.decided_by,
       p.decided_at, p.log_id
FROM audit_proposals p
JOIN stations s ON s.id = p.station_id
JOIN factors f ON f.id = p.factor_id
WHERE p.status = $1
  AND ($2::integer[] IS NULL
       OR p.station_id IN (SELECT envgrid_scope_stations($2::integer[])))
  AND ($3::integer IS NULL OR p.station_id = $3)
ORDER BY p.hour DESC, s.mn, f.code
LIMIT $4
"""
#: Open proposals ``$1`` (within scope ``$2``), locked for the decision.
TAKE_PROPOSALS_SQL: Final = """
SELECT p.id, p.station_id, s.mn, p.factor_id, f.code, p.hour, p.rule, p.detail
FROM audit_proposals p
JOIN stations s ON s.id = p.station_id
JOIN factors f ON f.id = p.factor_id
WHERE p.id = ANY($1::bigint[]) AND p.status = 'open'
  AND ($2::integer[] IS NULL
       OR p.station_id IN (SELECT envgrid_scope_stations($2::integer[])))
ORDER BY p.station_id, f.code, p.hour
FOR UPDATE OF p
"""
DECIDE_PROPOSALS_SQL: Final = """
UPDATE audit_proposals p
SET status = $2, decided_by = $3, decided_at = now(), log_id = d.log_id
FROM unnest($1::bigint[], $4::bigint[]) AS d(id, log_id)
WHERE p.id = d.id
"""
