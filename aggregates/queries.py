"""Every SQL statement of aggregates/ (``$n`` parameters only, never string-built).

The relations are created by migrations 0010/0011 (store/migrations): the rollups
``agg_hourly_rtd``/``agg_hourly_minute`` (+ ``agg_daily_*``, views ``agg_hourly``,
``agg_daily``), the official series ``hourly_values`` (view), ``daily_values`` and
``monthly_values`` (tables refreshed by :mod:`aggregates.jobs`), and ``daily_rankings``.
"""

from __future__ import annotations

from typing import Final

# -- reference data ------------------------------------------------------------------------
FACTOR_IDS_SQL: Final = "SELECT code, id FROM factors WHERE code = ANY($1::text[])"
FACTORS_BY_ID_SQL: Final = """
SELECT id, code, name_zh, name_en, unit FROM factors WHERE id = ANY($1::smallint[])
"""
#: Stations with ids ``$1`` or MNs ``$2``; both empty: every station.
STATIONS_SQL: Final = """
SELECT s.id, s.mn, s.name, s.st, s.lat, s.lon, s.region, s.grid_id, s.enabled,
       a.code AS grid_code, a.name AS grid_name, s.area_class, s.expected_factors
FROM stations s LEFT JOIN areas a ON a.id = s.grid_id
WHERE (cardinality($1::integer[]) = 0 AND cardinality($2::text[]) = 0)
   OR s.id = ANY($1::integer[]) OR s.mn = ANY($2::text[])
ORDER BY s.id
"""
#: Stations whose grid cell is the area ``$1`` (a code) or lies below it.
AREA_STATIONS_SQL: Final = """
WITH RECURSIVE sub AS (
    SELECT id FROM areas WHERE code = $1
    UNION ALL
    SELECT a.id FROM areas a JOIN sub ON a.parent_id = sub.id
)
SELECT s.id FROM stations s JOIN sub ON s.grid_id = sub.id ORDER BY s.id
"""
AREA_SQL: Final = "SELECT id, code, name, level FROM areas WHERE code = $1"

# -- configuration ---------------------------------------------------------------------------
GET_TIMEZONE_SQL: Final = "SELECT timezone FROM agg_config"
SET_TIMEZONE_SQL: Final = "UPDATE agg_config SET timezone = $1, updated_at = now()"
MARK_ALL_DAYS_DIRTY_SQL: Final = """
INSERT INTO agg_dirty_days (station_id, day)
SELECT DISTINCT station_id, day FROM daily_values
ON CONFLICT DO NOTHING
"""

# -- refresh of the official values ---------------------------------------------------------
TAKE_DIRTY_SQL: Final = "DELETE FROM agg_dirty_days RETURNING station_id, day"
#: The marks waiting for the refresh (aggregates.metrics): (station, day), (station, hour),
#: each counted up to $1 (a change of core.timezone marks every day: millions of rows).
COUNT_DIRTY_SQL: Final = """
SELECT (SELECT count(*) FROM (SELECT 1 FROM agg_dirty_days LIMIT $1) d) AS days,
       (SELECT count(*) FROM (SELECT 1 FROM agg_dirty_hours LIMIT $1) h) AS hours
"""
RESTORE_DIRTY_SQL: Final = """
INSERT INTO agg_dirty_days (station_id, day)
SELECT * FROM unnest($1::integer[], $2::date[])
ON CONFLICT DO NOTHING
"""
ALL_STATION_IDS_SQL: Final = "SELECT id FROM stations ORDER BY id"

# -- TimescaleDB: envgrid's own refresh of the continuous aggregates (aggregates.continuous)
TAKE_DIRTY_HOURS_SQL: Final = "DELETE FROM agg_dirty_hours RETURNING station_id, hour"
RESTORE_DIRTY_HOURS_SQL: Final = """
INSERT INTO agg_dirty_hours (station_id, hour)
SELECT * FROM unnest($1::integer[], $2::timestamptz[])
ON CONFLICT DO NOTHING
"""
REFRESH_CONTINUOUS_SQL: Final = (
    "CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)"
)
#: From when the raw table ``$1`` is complete (the last retention cutoff), or NULL.
RAW_KEPT_FROM_SQL: Final = (
    "SELECT value::timestamptz FROM app_meta WHERE key = 'raw_kept_from.' || $1"
)

#: Official daily values of the stations ``$1`` for the local days in [``$2``, ``$3``)
#: (UTC instants of local midnights), time zone ``$4``.  ``$5``: factor ids that get an
#: MDA8 (O3); ``$6`` valid hours for a daily mean (20); ``$7`` valid hours in an 8h window
#: (6); ``$8`` valid windows for MDA8 (14); ``$9`` local start hour of the first MDA8
#: window's last hour (7: the window ending 08:00).  The station-reported 2031 value wins
#: when its flag is valid or the computed day is not valid, unless the data audit
#: invalidated an hour of that day and factor (then the audited hours make the day).
REFRESH_DAILY_SQL: Final = """
WITH h AS (
    SELECT hv.station_id, hv.factor_id, hv.ts, hv.value, hv.valid, hv.source,
           hv.ts AT TIME ZONE $4::text AS local_ts,
           hv.n_flag_m, hv.n_flag_c, hv.n_flag_d, hv.n_flag_f, hv.n_flag_t, hv.n_flag_b,
           hv.n_flag_other
    FROM hourly_values hv
    WHERE hv.station_id = ANY($1::integer[]) AND hv.ts >= $2 AND hv.ts < $3
), w AS (
    SELECT h.*,
           CASE WHEN h.factor_id = ANY($5::smallint[])
                THEN avg(h.value) FILTER (WHERE h.valid) OVER win END AS avg8,
           CASE WHEN h.factor_id = ANY($5::smallint[])
                THEN count(*) FILTER (WHERE h.valid) OVER win END AS n8
    FROM h
    WINDOW win AS (PARTITION BY h.station_id, h.factor_id, h.local_ts::date ORDER BY h.ts
                   RANGE BETWEEN INTERVAL '7 hours' PRECEDING AND CURRENT ROW)
), d AS (
    SELECT station_id, factor_id, local_ts::date AS day,
           count(*) AS n_hours,
           count(*) FILTER (WHERE valid) AS n_valid_hours,
           count(*) FILTER (WHERE valid AND source = 'computed') AS n_computed_hours,
           avg(value) FILTER (WHERE valid) AS mean,
           min(value) FILTER (WHERE valid) AS min_1h,
           max(value) FILTER (WHERE valid) AS max_1h,
           max(avg8) FILTER (WHERE n8 >= $7::integer
                                   AND extract(hour FROM local_ts) >= $9::integer) AS mda8,
           count(*) FILTER (WHERE n8 >= $7::integer
                                  AND extract(hour FROM local_ts) >= $9::integer) AS mda8_windows,
           bool_or(factor_id = ANY($5::smallint[])) AS has_mda8,
           sum(n_flag_m) AS n_flag_m, sum(n_flag_c) AS n_flag_c, sum(n_flag_d) AS n_flag_d,
           sum(n_flag_f) AS n_flag_f, sum(n_flag_t) AS n_flag_t, sum(n_flag_b) AS n_flag_b,
           sum(n_flag_other) AS n_flag_other
    FROM w
    GROUP BY 1, 2, 3
), r AS (
    SELECT station_id, factor_id, (ts AT TIME ZONE $4)::date AS day, value,
           value IS NOT NULL AND envgrid_flag_valid(flag) AS valid
    FROM measurements_day md
    WHERE station_id = ANY($1::integer[]) AND ts >= $2 AND ts < $3
      -- a day with audited hours is computed from the audited hours (aggregates.audit)
      AND NOT EXISTS (SELECT 1 FROM audit_marks am
                       WHERE am.station_id = md.station_id AND am.factor_id = md.factor_id
                         AND am.hour >= $2 AND am.hour < $3
                         AND (am.hour AT TIME ZONE $4)::date = (md.ts AT TIME ZONE $4)::date)
), j AS (
    SELECT coalesce(d.station_id, r.station_id) AS station_id,
           coalesce(d.factor_id, r.factor_id) AS factor_id,
           coalesce(d.day, r.day) AS day,
           r.day IS NOT NULL
               AND (r.valid OR coalesce(d.n_valid_hours, 0) < $6::integer) AS use_reported,
           coalesce(d.n_valid_hours, 0) >= $6::integer AS computed_valid,
           r.value AS r_value, r.valid AS r_valid, d.n_hours, d.n_valid_hours,
           d.n_computed_hours, d.mean, d.min_1h, d.max_1h, d.mda8, d.mda8_windows, d.has_mda8,
           d.n_flag_m, d.n_flag_c, d.n_flag_d, d.n_flag_f, d.n_flag_t, d.n_flag_b,
           d.n_flag_other
    FROM d FULL JOIN r ON r.station_id = d.station_id AND r.factor_id = d.factor_id
                      AND r.day = d.day
)
INSERT INTO daily_values AS t (
    station_id, factor_id, day, value, valid, source, n_hours, n_valid_hours,
    n_computed_hours, min_1h, max_1h, mda8, mda8_windows, mda8_valid, n_flag_m, n_flag_c,
    n_flag_d, n_flag_f, n_flag_t, n_flag_b, n_flag_other, computed_at)
SELECT j.station_id, j.factor_id, j.day,
       CASE WHEN j.use_reported THEN j.r_value ELSE j.mean END,
       CASE WHEN j.use_reported THEN j.r_valid ELSE j.computed_valid END,
       CASE WHEN j.use_reported THEN 'reported' ELSE 'computed' END,
       coalesce(j.n_hours, 0), coalesce(j.n_valid_hours, 0), coalesce(j.n_computed_hours, 0),
       j.min_1h, j.max_1h,
       CASE WHEN j.has_mda8 THEN j.mda8 END,
       CASE WHEN j.has_mda8 THEN j.mda8_windows END,
       CASE WHEN j.has_mda8 THEN j.mda8 IS NOT NULL AND j.mda8_windows >= $8::integer END,
       coalesce(j.n_flag_m, 0), coalesce(j.n_flag_c, 0), coalesce(j.n_flag_d, 0),
       coalesce(j.n_flag_f, 0), coalesce(j.n_flag_t, 0), coalesce(j.n_flag_b, 0),
       coalesce(j.n_flag_other, 0), now()
FROM j
ON CONFLICT (station_id, factor_id, day) DO UPDATE SET
    value = EXCLUDED.value, valid = EXCLUDED.valid, source = EXCLUDED.source,
    n_hours = EXCLUDED.n_hours, n_valid_hours = EXCLUDED.n_valid_hours,
    n_computed_hours = EXCLUDED.n_computed_hours, min_1h = EXCLUDED.min_1h,
    max_1h = EXCLUDED.max_1h, mda8 = EXCLUDED.mda8, mda8_windows = EXCLUDED.mda8_windows,
    mda8_valid = EXCLUDED.mda8_valid, n_flag_m = EXCLUDED.n_flag_m,
    n_flag_c = EXCLUDED.n_flag_c, n_flag_d = EXCLUDED.n_flag_d, n_flag_f = EXCLUDED.n_flag_f,
    n_flag_t = EXCLUDED.n_flag_t, n_flag_b = EXCLUDED.n_flag_b,
    n_flag_other = EXCLUDED.n_flag_other, computed_at = EXCLUDED.computed_at
"""

#: Monthly values of the stations ``$1`` for the months in [``$2``, ``$3``) (first days),
#: from daily_values; ``$4`` / ``$5``: valid days needed (27 / February 25).
REFRESH_MONTHLY_SQL: Final = """
INSERT INTO monthly_values AS t (
    station_id, factor_id, month, n_days, n_valid_days, mean, min_day, max_day, days,
    daily, mda8_days, mda8, valid, computed_at)
SELECT m.station_id, m.factor_id, m.month, m.n_days, m.n_valid_days, m.mean, m.min_day,
       m.max_day, m.days, m.daily,
       CASE WHEN m.has_mda8 THEN m.mda8_days END,
       CASE WHEN m.has_mda8 THEN m.mda8 END,
       m.n_valid_days >= CASE WHEN extract(month FROM m.month) = 2
                              THEN $5::integer ELSE $4::integer END,
       now()
FROM (
    SELECT station_id, factor_id, date_trunc('month', day)::date AS month,
           count(*) AS n_days,
           count(*) FILTER (WHERE valid) AS n_valid_days,
           avg(value) FILTER (WHERE valid) AS mean,
           min(value) FILTER (WHERE valid) AS min_day,
           max(value) FILTER (WHERE valid) AS max_day,
           coalesce(array_agg(extract(day FROM day)::smallint ORDER BY day)
                    FILTER (WHERE valid), '{}') AS days,
           coalesce(array_agg(value ORDER BY day) FILTER (WHERE valid), '{}') AS daily,
           bool_or(mda8_valid IS NOT NULL) AS has_mda8,
           coalesce(array_agg(extract(day FROM day)::smallint ORDER BY day)
                    FILTER (WHERE mda8_valid), '{}') AS mda8_days,
           coalesce(array_agg(mda8 ORDER BY day) FILTER (WHERE mda8_valid), '{}') AS mda8
    FROM daily_values
    WHERE station_id = ANY($1::integer[]) AND day >= $2 AND day < $3
    GROUP BY 1, 2, 3
) AS m
ON CONFLICT (station_id, factor_id, month) DO UPDATE SET
    n_days = EXCLUDED.n_days, n_valid_days = EXCLUDED.n_valid_days, mean = EXCLUDED.mean,
    min_day = EXCLUDED.min_day, max_day = EXCLUDED.max_day, days = EXCLUDED.days,
    daily = EXCLUDED.daily, mda8_days = EXCLUDED.mda8_days, mda8 = EXCLUDED.mda8,
    valid = EXCLUDED.valid, computed_at = EXCLUDED.computed_at
"""

#: Rebuild ``yearly_values`` of the stations ``$1`` for year ``$2`` (days [``$3``, ``$4``))
#: from daily_values (bulk path: many days of a year refreshed at once).
REBUILD_YEARLY_SQL: Final = """
INSERT INTO yearly_values AS y (station_id, factor_id, year, daily, mda8, computed_at)
SELECT k.station_id, k.factor_id, $2::smallint,
       string_agg(float8send(CASE WHEN d.valid AND d.value IS NOT NULL THEN d.value
                                  ELSE 'NaN' END), ''::bytea ORDER BY g.day),
       CASE WHEN bool_or(d.mda8_valid IS NOT NULL)
            THEN string_agg(float8send(CASE WHEN d.mda8_valid THEN d.mda8 ELSE 'NaN' END),
                            ''::bytea ORDER BY g.day)
       END,
       now()
FROM (SELECT DISTINCT station_id, factor_id FROM daily_values
      WHERE station_id = ANY($1::integer[]) AND day >= $3::date AND day < $4::date) AS k
CROSS JOIN generate_series($3::date, $4::date - 1, INTERVAL '1 day') AS g(day)
LEFT JOIN daily_values d
       ON d.station_id = k.station_id AND d.factor_id = k.factor_id AND d.day = g.day::date
GROUP BY k.station_id, k.factor_id
ON CONFLICT (station_id, factor_id, year) DO UPDATE SET
    daily = EXCLUDED.daily, mda8 = EXCLUDED.mda8, computed_at = EXCLUDED.computed_at
"""
#: Incremental path, one local day ``$2`` of year ``$3`` (``$4`` days long): create missing
#: yearly rows (all NaN: float8 7ff8000000000000) for the stations ``$1`` …
ENSURE_YEARLY_SQL: Final = """
INSERT INTO yearly_values (station_id, factor_id, year, daily, mda8)
SELECT d.station_id, d.factor_id, $3::smallint,
       decode(repeat('7ff8000000000000', $4::integer), 'hex'),
       CASE WHEN d.mda8_valid IS NOT NULL
            THEN decode(repeat('7ff8000000000000', $4::integer), 'hex') END
FROM daily_values d
WHERE d.station_id = ANY($1::integer[]) AND d.day = $2::date
ON CONFLICT (station_id, factor_id, year) DO NOTHING
"""
#: … then write that day (``$3`` = day of year, ``$4`` = year) into the daily and (O3)
#: MDA8 series.
SET_YEARLY_DAY_SQL: Final = """
UPDATE yearly_values y SET
    daily = overlay(y.daily PLACING float8send(CASE WHEN d.valid AND d.value IS NOT NULL
                                                    THEN d.value ELSE 'NaN' END)
                    FROM ($3::integer - 1) * 8 + 1 FOR 8),
    mda8 = CASE WHEN y.mda8 IS NULL OR d.mda8_valid IS NULL THEN y.mda8
                ELSE overlay(y.mda8 PLACING float8send(CASE WHEN d.mda8_valid THEN d.mda8
                                                            ELSE 'NaN' END)
                             FROM ($3::integer - 1) * 8 + 1 FOR 8) END,
    computed_at = now()
FROM daily_values d
WHERE d.station_id = ANY($1::integer[]) AND d.day = $2::date
  AND y.station_id = d.station_id AND y.factor_id = d.factor_id AND y.year = $4::smallint
"""

# -- reading -------------------------------------------------------------------------------
HOURLY_VALUES_SQL: Final = """
SELECT hv.station_id, hv.factor_id, hv.ts, hv.value, hv.vmin, hv.vmax, hv.valid, hv.source,
       hv.basis, hv.flag, hv.n_samples, hv.coverage_min
FROM hourly_values hv
WHERE hv.station_id = ANY($1::integer[]) AND hv.factor_id = ANY($2::smallint[])
  AND hv.ts >= $3 AND hv.ts < $4
ORDER BY hv.station_id, hv.factor_id, hv.ts
"""
DAILY_VALUES_SQL: Final = """
SELECT d.station_id, d.factor_id, d.day, d.value, d.valid, d.source, d.n_hours,
       d.n_valid_hours, d.n_computed_hours, d.min_1h, d.max_1h, d.mda8, d.mda8_windows,
       d.mda8_valid, d.n_flag_m, d.n_flag_c, d.n_flag_d, d.n_flag_f, d.n_flag_t, d.n_flag_b,
       d.n_flag_other
FROM daily_values d JOIN unnest($1::integer[]) AS s(id) ON s.id = d.station_id
WHERE d.factor_id = ANY($2::smallint[]) AND d.day >= $3 AND d.day < $4
"""
#: Per station and factor, the valid daily values (and O3 MDA8) of the local days
#: [``$3``, ``$4``), concatenated in month order: each month's index (year × 12 + month − 1),
#: its count of values in the range, the days of month and the values.  Whole months are
#: taken as stored; the first/last month is cut to the range.  The arrays travel in
#: PostgreSQL's binary array format (``array_send``) and are read with numpy.
MONTHLY_SERIES_SQL: Final = """
WITH m AS (
    SELECT m.station_id, m.factor_id, m.month, m.n_days,
           m.month >= $3::date AND (m.month + INTERVAL '1 month')::date <= $4::date AS whole,
           m.days, m.daily, coalesce(m.mda8_days, '{}') AS mda8_days,
           coalesce(m.mda8, '{}') AS mda8
    FROM monthly_values m JOIN unnest($1::integer[]) AS s(id) ON s.id = m.station_id
    WHERE m.factor_id = ANY($2::smallint[])
      AND m.month >= date_trunc('month', $3::date)::date AND m.month < $4::date
), cut AS (
    SELECT station_id, factor_id, month, n_days, whole, days, daily, mda8_days, mda8
    FROM m WHERE whole
    UNION ALL
    SELECT m.station_id, m.factor_id, m.month, m.n_days, false,
           ARRAY(SELECT u.d FROM unnest(m.days) AS u(d)
                 WHERE m.month + u.d - 1 >= $3::date AND m.month + u.d - 1 < $4::date
                 ORDER BY u.d),
           ARRAY(SELECT u.v FROM unnest(m.days, m.daily) AS u(d, v)
                 WHERE m.month + u.d - 1 >= $3::date AND m.month + u.d - 1 < $4::date
                 ORDER BY u.d),
           ARRAY(SELECT u.d FROM unnest(m.mda8_days) AS u(d)
                 WHERE m.month + u.d - 1 >= $3::date AND m.month + u.d - 1 < $4::date
                 ORDER BY u.d),
           ARRAY(SELECT u.v FROM unnest(m.mda8_days, m.mda8) AS u(d, v)
                 WHERE m.month + u.d - 1 >= $3::date AND m.month + u.d - 1 < $4::date
                 ORDER BY u.d)
    FROM m WHERE NOT m.whole
)
SELECT station_id, factor_id,
       sum(CASE WHEN whole THEN n_days ELSE cardinality(days) END)::integer AS n_days,
       array_agg((extract(year FROM month) * 12 + extract(month FROM month) - 1)::integer
                 ORDER BY month) AS months,
       array_agg(cardinality(days) ORDER BY month) AS counts,
       array_agg(cardinality(mda8_days) ORDER BY month) AS mda8_counts,
       array_send(envgrid_array_cat(days ORDER BY month)) AS days,
       array_send(envgrid_array_cat(daily ORDER BY month)) AS daily,
       array_send(envgrid_array_cat(mda8_days ORDER BY month)) AS mda8_days,
       array_send(envgrid_array_cat(mda8 ORDER BY month)) AS mda8
FROM cut
GROUP BY station_id, factor_id
"""
#: Days ``$4`` .. ``$5`` (days of year, inclusive) of year ``$3`` of the yearly series of
#: the stations ``$1`` and factors ``$2`` (big-endian float8 bytes, NaN = no valid value).
YEARLY_SERIES_SQL: Final = """
SELECT y.station_id, y.factor_id,
       substring(y.daily FROM ($4::integer - 1) * 8 + 1
                 FOR ($5::integer - $4::integer + 1) * 8) AS daily,
       substring(y.mda8 FROM ($4::integer - 1) * 8 + 1
                 FOR ($5::integer - $4::integer + 1) * 8) AS mda8
FROM yearly_values y JOIN unnest($1::integer[]) AS s(id) ON s.id = y.station_id
WHERE y.factor_id = ANY($2::smallint[]) AND y.year = $3::smallint
"""
#: The daily values the AQI needs, one row per station and day (factors as arrays).
DAILY_AQI_INPUTS_SQL: Final = """
SELECT d.station_id, d.day, array_agg(d.factor_id) AS factors, array_agg(d.value) AS values,
       array_agg(d.valid) AS valid, array_agg(d.max_1h) AS max_1h, array_agg(d.mda8) AS mda8,
       array_agg(d.mda8_valid) AS mda8_valid
FROM daily_values d JOIN unnest($1::integer[]) AS s(id) ON s.id = d.station_id
WHERE d.factor_id = ANY($2::smallint[]) AND d.day >= $3 AND d.day < $4
GROUP BY d.station_id, d.day
"""

# -- the daily ranking -------------------------------------------------------------------------
DELETE_RANKINGS_SQL: Final = "DELETE FROM daily_rankings WHERE day = $1"
INSERT_RANKINGS_SQL: Final = """
INSERT INTO daily_rankings (day, scope, scope_key, scope_name, rank, aqi, level,
                            primary_pollutants, aqci, valid, computed_at, category, color,
                            n_stations, standard)
SELECT $1, r.scope, r.scope_key, r.scope_name, r.rank, r.aqi, r.level,
       coalesce(string_to_array(nullif(r.primary_pollutants, ''), ','), '{}'), r.aqci,
       r.valid, now(), r.category, r.color, r.n_stations, r.standard
FROM unnest($2::text[], $3::text[], $4::text[], $5::integer[], $6::integer[], $7::integer[],
            $8::text[], $9::numeric[], $10::boolean[], $11::text[], $12::text[],
            $13::integer[], $14::text[])
     AS r(scope, scope_key, scope_name, rank, aqi, level, primary_pollutants, aqci, valid,
          category, color, n_stations, standard)
"""
