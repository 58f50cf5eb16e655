-- 0073 (issue 23.2), plain PostgreSQL: cheaper rollup triggers (0010), same rollups.
-- In `envgrid bench throughput --rate 10000` the rollup statement and the late-data marking
-- took 15.5 s of the 24 s that the ingest's statements ran (pg_stat_statements; bench/README.md,
-- "PostgreSQL's side").  Changes, none in what the rollups hold:
-- * every per-row expression is computed once: the flag class, "valid", the hour bucket and
--   the minute bit (OFFSET 0 keeps the planner from pulling the subqueries up, which copied
--   the inlined flag class into all twelve aggregate filters);
-- * the minute bit is taken from the bucket already computed, by immutable operators;
-- * late data marks its local days dirty from the grouped rows (one per station, factor and
--   hour) instead of from every new row: the days of the hour's first and last instant.  For
--   time zones with whole-hour offsets that is the one day of every row in the hour; for
--   others (UTC+5:30 …) an hour crossing local midnight marks both days, and the refresh
--   recomputes one day more, which changes no value.  "Late" is now judged by the hour's
--   start (bucket < now() - 1 day), so the hour that straddles the limit is marked too.

CREATE OR REPLACE FUNCTION envgrid_rollup_rtd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT timezone FROM agg_config);
BEGIN
    WITH g AS (
        SELECT station_id, factor_id, bucket,
               count(value) AS n_total,
               count(value) FILTER (WHERE ok) AS n_valid,
               sum(value) FILTER (WHERE ok) AS sum_valid,
               min(value) FILTER (WHERE ok) AS min_valid,
               max(value) FILTER (WHERE ok) AS max_valid,
               count(value) FILTER (WHERE fc = 'M') AS n_flag_m,
               count(value) FILTER (WHERE fc = 'C') AS n_flag_c,
               count(value) FILTER (WHERE fc = 'D') AS n_flag_d,
               count(value) FILTER (WHERE fc = 'F') AS n_flag_f,
               count(value) FILTER (WHERE fc = 'T') AS n_flag_t,
               count(value) FILTER (WHERE fc = 'B') AS n_flag_b,
               count(value) FILTER (WHERE fc = 'other') AS n_flag_other,
               bit_or(1::bigint << date_part('minute', ts - bucket)::integer) FILTER (WHERE ok)
                   AS valid_minutes
        FROM (SELECT station_id, factor_id, ts, value, fc,
                     value IS NOT NULL AND fc IS NULL AS ok,
                     date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00') AS bucket
                FROM (SELECT station_id, factor_id, ts, value, envgrid_flag_class(flag) AS fc
                        FROM new_rows OFFSET 0) AS r
              OFFSET 0) AS n
        GROUP BY 1, 2, 3
    ), upserted AS (
        INSERT INTO agg_hourly_rtd AS a (
                station_id, factor_id, bucket, n_total, n_valid, sum_valid, min_valid,
                max_valid, n_flag_m, n_flag_c, n_flag_d, n_flag_f, n_flag_t, n_flag_b,
                n_flag_other, valid_minutes)
        SELECT * FROM g
        ON CONFLICT (station_id, factor_id, bucket) DO UPDATE SET
            n_total = a.n_total + EXCLUDED.n_total,
            n_valid = a.n_valid + EXCLUDED.n_valid,
            sum_valid = envgrid_add(a.sum_valid, EXCLUDED.sum_valid),
            min_valid = least(a.min_valid, EXCLUDED.min_valid),
            max_valid = greatest(a.max_valid, EXCLUDED.max_valid),
            n_flag_m = a.n_flag_m + EXCLUDED.n_flag_m,
            n_flag_c = a.n_flag_c + EXCLUDED.n_flag_c,
            n_flag_d = a.n_flag_d + EXCLUDED.n_flag_d,
            n_flag_f = a.n_flag_f + EXCLUDED.n_flag_f,
            n_flag_t = a.n_flag_t + EXCLUDED.n_flag_t,
            n_flag_b = a.n_flag_b + EXCLUDED.n_flag_b,
            n_flag_other = a.n_flag_other + EXCLUDED.n_flag_other,
            valid_minutes = envgrid_or(a.valid_minutes, EXCLUDED.valid_minutes)
    )
    INSERT INTO agg_dirty_days (station_id, day)
    SELECT DISTINCT g.station_id, d.day
      FROM g, LATERAL (VALUES ((g.bucket AT TIME ZONE tz)::date),
                              (((g.bucket + interval '59 minutes 59.999999 seconds')
                                AT TIME ZONE tz)::date)) AS d(day)
     WHERE g.bucket < now() - interval '1 day'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- The same for minute data (2051) into agg_hourly_minute.
CREATE OR REPLACE FUNCTION envgrid_rollup_minute() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT timezone FROM agg_config);
BEGIN
    WITH g AS (
        SELECT station_id, factor_id, bucket,
               count(value) AS n_total,
               count(value) FILTER (WHERE ok) AS n_valid,
               sum(value) FILTER (WHERE ok) AS sum_valid,
               min(value) FILTER (WHERE ok) AS min_valid,
               max(value) FILTER (WHERE ok) AS max_valid,
               count(value) FILTER (WHERE fc = 'M') AS n_flag_m,
               count(value) FILTER (WHERE fc = 'C') AS n_flag_c,
               count(value) FILTER (WHERE fc = 'D') AS n_flag_d,
               count(value) FILTER (WHERE fc = 'F') AS n_flag_f,
               count(value) FILTER (WHERE fc = 'T') AS n_flag_t,
               count(value) FILTER (WHERE fc = 'B') AS n_flag_b,
               count(value) FILTER (WHERE fc = 'other') AS n_flag_other,
               bit_or(1::bigint << date_part('minute', ts - bucket)::integer) FILTER (WHERE ok)
                   AS valid_minutes
        FROM (SELECT station_id, factor_id, ts, value, fc,
                     value IS NOT NULL AND fc IS NULL AS ok,
                     date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00') AS bucket
                FROM (SELECT station_id, factor_id, ts, value, envgrid_flag_class(flag) AS fc
                        FROM new_rows OFFSET 0) AS r
              OFFSET 0) AS n
        GROUP BY 1, 2, 3
    ), upserted AS (
        INSERT INTO agg_hourly_minute AS a (
                station_id, factor_id, bucket, n_total, n_valid, sum_valid, min_valid,
                max_valid, n_flag_m, n_flag_c, n_flag_d, n_flag_f, n_flag_t, n_flag_b,
                n_flag_other, valid_minutes)
        SELECT * FROM g
        ON CONFLICT (station_id, factor_id, bucket) DO UPDATE SET
            n_total = a.n_total + EXCLUDED.n_total,
            n_valid = a.n_valid + EXCLUDED.n_valid,
            sum_valid = envgrid_add(a.sum_valid, EXCLUDED.sum_valid),
            min_valid = least(a.min_valid, EXCLUDED.min_valid),
            max_valid = greatest(a.max_valid, EXCLUDED.max_valid),
            n_flag_m = a.n_flag_m + EXCLUDED.n_flag_m,
            n_flag_c = a.n_flag_c + EXCLUDED.n_flag_c,
            n_flag_d = a.n_flag_d + EXCLUDED.n_flag_d,
            n_flag_f = a.n_flag_f + EXCLUDED.n_flag_f,
            n_flag_t = a.n_flag_t + EXCLUDED.n_flag_t,
            n_flag_b = a.n_flag_b + EXCLUDED.n_flag_b,
            n_flag_other = a.n_flag_other + EXCLUDED.n_flag_other,
            valid_minutes = envgrid_or(a.valid_minutes, EXCLUDED.valid_minutes)
    )
    INSERT INTO agg_dirty_days (station_id, day)
    SELECT DISTINCT g.station_id, d.day
      FROM g, LATERAL (VALUES ((g.bucket AT TIME ZONE tz)::date),
                              (((g.bucket + interval '59 minutes 59.999999 seconds')
                                AT TIME ZONE tz)::date)) AS d(day)
     WHERE g.bucket < now() - interval '1 day'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
