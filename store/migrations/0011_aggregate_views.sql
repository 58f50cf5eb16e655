-- 0011 aggregate views (both engines): read the rollups of 0010 the same way everywhere.

-- Computed hourly rollups of both kinds (2011 real-time → 'rtd', 2051 minute → 'minute').
CREATE VIEW agg_hourly AS
    SELECT 'rtd'::text AS kind, a.*, a.sum_valid / nullif(a.n_valid, 0) AS avg_valid
      FROM agg_hourly_rtd a
    UNION ALL
    SELECT 'minute'::text, a.*, a.sum_valid / nullif(a.n_valid, 0)
      FROM agg_hourly_minute a;
COMMENT ON VIEW agg_hourly IS
    'hourly aggregates computed from real-time (rtd) and minute data, one row per kind';

-- Daily rollups of the computed hourly rollups (local days).
CREATE VIEW agg_daily AS
    SELECT 'rtd'::text AS kind, a.*, a.sum_valid / nullif(a.n_valid, 0) AS avg_valid
      FROM agg_daily_rtd a
    UNION ALL
    SELECT 'minute'::text, a.*, a.sum_valid / nullif(a.n_valid, 0)
      FROM agg_daily_minute a;
COMMENT ON VIEW agg_daily IS
    'daily aggregates (local days) of the computed hourly rollups, one row per kind';

-- The official hourly series: the station-reported 2061 value when there is one
-- (source 'reported'), else the hour computed from minute data, else from real-time data
-- (source 'computed').  valid: a reported value with a valid flag; a computed hour with
-- ≥ 45 minutes of valid sampling (GB 3095-2012 Table 4), the sampling span of one value
-- being stations.min_interval (minute data, default 1) or rtd_interval (real-time data,
-- rounded up to whole minutes, default 1).
CREATE VIEW hourly_values AS
    SELECT r.station_id, r.factor_id, r.ts,
           r.value, r.vmin, r.vmax,
           (r.value IS NOT NULL AND envgrid_flag_valid(r.flag)) AS valid,
           'reported'::text AS source, 'hour'::text AS basis, r.flag,
           NULL::bigint AS n_samples, NULL::integer AS coverage_min,
           (envgrid_flag_class(r.flag) = 'M')::integer AS n_flag_m,
           (envgrid_flag_class(r.flag) = 'C')::integer AS n_flag_c,
           (envgrid_flag_class(r.flag) = 'D')::integer AS n_flag_d,
           (envgrid_flag_class(r.flag) = 'F')::integer AS n_flag_f,
           (envgrid_flag_class(r.flag) = 'T')::integer AS n_flag_t,
           (envgrid_flag_class(r.flag) = 'B')::integer AS n_flag_b,
           (envgrid_flag_class(r.flag) = 'other')::integer AS n_flag_other
      FROM measurements_hour r
    UNION ALL
    SELECT m.station_id, m.factor_id, m.bucket,
           m.sum_valid / nullif(m.n_valid, 0), m.min_valid, m.max_valid,
           envgrid_coverage(m.valid_minutes, s.min_interval) >= 45,
           'computed', 'minute', NULL::text,
           m.n_total, envgrid_coverage(m.valid_minutes, s.min_interval),
           m.n_flag_m::integer, m.n_flag_c::integer, m.n_flag_d::integer, m.n_flag_f::integer,
           m.n_flag_t::integer, m.n_flag_b::integer, m.n_flag_other::integer
      FROM agg_hourly_minute m
      LEFT JOIN stations s ON s.id = m.station_id
     WHERE NOT EXISTS (SELECT 1 FROM measurements_hour r
                        WHERE r.station_id = m.station_id AND r.factor_id = m.factor_id
                          AND r.ts = m.bucket)
    UNION ALL
    SELECT t.station_id, t.factor_id, t.bucket,
           t.sum_valid / nullif(t.n_valid, 0), t.min_valid, t.max_valid,
           envgrid_coverage(t.valid_minutes, ceil(s.rtd_interval / 60.0)::integer) >= 45,
           'computed', 'rtd', NULL::text,
           t.n_total, envgrid_coverage(t.valid_minutes, ceil(s.rtd_interval / 60.0)::integer),
           t.n_flag_m::integer, t.n_flag_c::integer, t.n_flag_d::integer, t.n_flag_f::integer,
           t.n_flag_t::integer, t.n_flag_b::integer, t.n_flag_other::integer
      FROM agg_hourly_rtd t
      LEFT JOIN stations s ON s.id = t.station_id
     WHERE NOT EXISTS (SELECT 1 FROM measurements_hour r
                        WHERE r.station_id = t.station_id AND r.factor_id = t.factor_id
                          AND r.ts = t.bucket)
       AND NOT EXISTS (SELECT 1 FROM agg_hourly_minute m
                        WHERE m.station_id = t.station_id AND m.factor_id = t.factor_id
                          AND m.bucket = t.bucket);
COMMENT ON VIEW hourly_values IS
    'official hourly values: station-reported (2061) preferred, computed hours fill the gaps';
