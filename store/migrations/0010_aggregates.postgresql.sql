-- 0010 aggregates, plain PostgreSQL: the same relations as the TimescaleDB continuous
-- aggregates (0010_aggregates.timescaledb.sql), same columns and results.
--
-- agg_hourly_rtd / agg_hourly_minute are tables kept current by statement-level triggers on
-- the partitioned measurement parents, inside the ingest transaction: one set-based
-- INSERT … SELECT … GROUP BY … ON CONFLICT DO UPDATE per COPY/INSERT statement folds the
-- new rows (transition table new_rows) into the hourly rollup — sums, counts, min/max, flag
-- counters and the minute bitmap all merge, so late data (history uploaded after a
-- reconnect) lands the same whatever the arrival order.  Rows older than a day also mark
-- their (station, local day) dirty for aggregates.jobs.run_refresh (newer days are in its
-- trailing window anyway).  The tables have fillfactor 70 so that most updates are HOT.
-- agg_daily_rtd / agg_daily_minute are views grouping the hourly rollups by local day
-- (agg_config.timezone): the ingest pays nothing for them.
-- measurements_hour / measurements_day (station-reported, upserted): INSERT and UPDATE
-- (corrections through ON CONFLICT DO UPDATE) mark their days dirty; the official values
-- are recomputed from the rows by the job.

CREATE TABLE agg_hourly_rtd (
    station_id    integer NOT NULL,
    factor_id     smallint NOT NULL,
    bucket        timestamptz NOT NULL,          -- hour start (UTC-aligned hours)
    n_total       bigint NOT NULL,               -- values received
    n_valid       bigint NOT NULL,               -- values with a valid flag (in the mean)
    sum_valid     double precision,              -- NULL: no valid value
    min_valid     double precision,
    max_valid     double precision,
    n_flag_m      bigint NOT NULL,               -- excluded values by flag
    n_flag_c      bigint NOT NULL,
    n_flag_d      bigint NOT NULL,
    n_flag_f      bigint NOT NULL,
    n_flag_t      bigint NOT NULL,
    n_flag_b      bigint NOT NULL,
    n_flag_other  bigint NOT NULL,               -- P, 2005 air "0"/"2"
    valid_minutes bigint,                        -- bit i: a valid value in minute i
    PRIMARY KEY (station_id, factor_id, bucket)
);
ALTER TABLE agg_hourly_rtd SET (fillfactor = 70);   -- room for HOT updates
CREATE TABLE agg_hourly_minute (LIKE agg_hourly_rtd INCLUDING ALL) WITH (fillfactor = 70);

-- Daily rollups of the hourly ones (local days of agg_config.timezone): computed on read,
-- which costs the ingest nothing (the TimescaleDB engine materialises them).
CREATE VIEW agg_daily_rtd AS
SELECT a.station_id,
       a.factor_id,
       date_trunc('day', a.bucket AT TIME ZONE c.timezone) AT TIME ZONE c.timezone AS day,
       count(*) AS n_hours,
       sum(a.n_total)::bigint AS n_total,
       sum(a.n_valid)::bigint AS n_valid,
       sum(a.sum_valid) AS sum_valid,
       min(a.min_valid) AS min_valid,
       max(a.max_valid) AS max_valid,
       sum(a.n_flag_m)::bigint AS n_flag_m,
       sum(a.n_flag_c)::bigint AS n_flag_c,
       sum(a.n_flag_d)::bigint AS n_flag_d,
       sum(a.n_flag_f)::bigint AS n_flag_f,
       sum(a.n_flag_t)::bigint AS n_flag_t,
       sum(a.n_flag_b)::bigint AS n_flag_b,
       sum(a.n_flag_other)::bigint AS n_flag_other
  FROM agg_hourly_rtd a CROSS JOIN agg_config c
 GROUP BY 1, 2, 3;
CREATE VIEW agg_daily_minute AS
SELECT a.station_id,
       a.factor_id,
       date_trunc('day', a.bucket AT TIME ZONE c.timezone) AT TIME ZONE c.timezone AS day,
       count(*) AS n_hours,
       sum(a.n_total)::bigint AS n_total,
       sum(a.n_valid)::bigint AS n_valid,
       sum(a.sum_valid) AS sum_valid,
       min(a.min_valid) AS min_valid,
       max(a.max_valid) AS max_valid,
       sum(a.n_flag_m)::bigint AS n_flag_m,
       sum(a.n_flag_c)::bigint AS n_flag_c,
       sum(a.n_flag_d)::bigint AS n_flag_d,
       sum(a.n_flag_f)::bigint AS n_flag_f,
       sum(a.n_flag_t)::bigint AS n_flag_t,
       sum(a.n_flag_b)::bigint AS n_flag_b,
       sum(a.n_flag_other)::bigint AS n_flag_other
  FROM agg_hourly_minute a CROSS JOIN agg_config c
 GROUP BY 1, 2, 3;


CREATE FUNCTION envgrid_rollup_rtd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT timezone FROM agg_config);
BEGIN
    INSERT INTO agg_hourly_rtd AS a (
            station_id, factor_id, bucket, n_total, n_valid, sum_valid, min_valid, max_valid,
            n_flag_m, n_flag_c, n_flag_d, n_flag_f, n_flag_t, n_flag_b, n_flag_other,
            valid_minutes)
    SELECT station_id, factor_id,
           date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'),
           count(value),
           count(value) FILTER (WHERE ok),
           sum(value) FILTER (WHERE ok),
           min(value) FILTER (WHERE ok),
           max(value) FILTER (WHERE ok),
           count(value) FILTER (WHERE fc = 'M'),
           count(value) FILTER (WHERE fc = 'C'),
           count(value) FILTER (WHERE fc = 'D'),
           count(value) FILTER (WHERE fc = 'F'),
           count(value) FILTER (WHERE fc = 'T'),
           count(value) FILTER (WHERE fc = 'B'),
           count(value) FILTER (WHERE fc = 'other'),
           bit_or(envgrid_minute_bit(ts)) FILTER (WHERE ok)
    FROM (SELECT station_id, factor_id, ts, value, envgrid_flag_class(flag) AS fc,
                 value IS NOT NULL AND envgrid_flag_class(flag) IS NULL AS ok
            FROM new_rows) AS n
    GROUP BY 1, 2, 3
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
        valid_minutes = envgrid_or(a.valid_minutes, EXCLUDED.valid_minutes);
    -- late data (older than a day: outside the job's trailing window) marks its days dirty
    INSERT INTO agg_dirty_days (station_id, day)
    SELECT DISTINCT station_id, (ts AT TIME ZONE tz)::date
      FROM new_rows WHERE ts < now() - interval '1 day'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION envgrid_rollup_minute() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT timezone FROM agg_config);
BEGIN
    INSERT INTO agg_hourly_minute AS a (
            station_id, factor_id, bucket, n_total, n_valid, sum_valid, min_valid, max_valid,
            n_flag_m, n_flag_c, n_flag_d, n_flag_f, n_flag_t, n_flag_b, n_flag_other,
            valid_minutes)
    SELECT station_id, factor_id,
           date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'),
           count(value),
           count(value) FILTER (WHERE ok),
           sum(value) FILTER (WHERE ok),
           min(value) FILTER (WHERE ok),
           max(value) FILTER (WHERE ok),
           count(value) FILTER (WHERE fc = 'M'),
           count(value) FILTER (WHERE fc = 'C'),
           count(value) FILTER (WHERE fc = 'D'),
           count(value) FILTER (WHERE fc = 'F'),
           count(value) FILTER (WHERE fc = 'T'),
           count(value) FILTER (WHERE fc = 'B'),
           count(value) FILTER (WHERE fc = 'other'),
           bit_or(envgrid_minute_bit(ts)) FILTER (WHERE ok)
    FROM (SELECT station_id, factor_id, ts, value, envgrid_flag_class(flag) AS fc,
                 value IS NOT NULL AND envgrid_flag_class(flag) IS NULL AS ok
            FROM new_rows) AS n
    GROUP BY 1, 2, 3
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
        valid_minutes = envgrid_or(a.valid_minutes, EXCLUDED.valid_minutes);
    -- late data (older than a day: outside the job's trailing window) marks its days dirty
    INSERT INTO agg_dirty_days (station_id, day)
    SELECT DISTINCT station_id, (ts AT TIME ZONE tz)::date
      FROM new_rows WHERE ts < now() - interval '1 day'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION envgrid_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT timezone FROM agg_config);
BEGIN
    INSERT INTO agg_dirty_days (station_id, day)
    SELECT DISTINCT station_id, (ts AT TIME ZONE tz)::date FROM new_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER agg_rollup AFTER INSERT ON measurements_rtd
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION envgrid_rollup_rtd();
CREATE TRIGGER agg_rollup AFTER INSERT ON measurements_minute
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION envgrid_rollup_minute();
CREATE TRIGGER agg_dirty_insert AFTER INSERT ON measurements_hour
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION envgrid_mark_dirty();
CREATE TRIGGER agg_dirty_update AFTER UPDATE ON measurements_hour
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION envgrid_mark_dirty();
CREATE TRIGGER agg_dirty_insert AFTER INSERT ON measurements_day
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION envgrid_mark_dirty();
CREATE TRIGGER agg_dirty_update AFTER UPDATE ON measurements_day
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION envgrid_mark_dirty();
