-- 0010 aggregates, TimescaleDB: the rollups are continuous aggregates with the same names
-- and columns as the plain-PostgreSQL tables (0010_aggregates.postgresql.sql).
--
-- * hourly on the raw hypertables (agg_hourly_rtd, agg_hourly_minute), daily on the hourly
--   ones (hierarchical continuous aggregates, TimescaleDB ≥ 2.9); both levels bucket in
--   Asia/Shanghai with time_bucket(…, timezone) (whole-hour offset: the hours are the UTC
--   hours of the plain-PostgreSQL rollups; one zone for parent and child keeps the
--   hierarchy valid) — aggregates.jobs.sync_timezone refuses to start when core.timezone
--   differs (the definitions would have to be rebuilt);
-- * real-time aggregation switched on explicitly (timescaledb.materialized_only = false;
--   the default is off since 2.13), so queries see rows newer than the last refresh;
-- * refresh policies re-materialise the last 35 days: late data and corrections inside
--   that window are picked up through the invalidation log; older late data needs a
--   manual refresh_continuous_aggregate() (aggregates.jobs.run_refresh does it for the
--   days it refreshes when they are older than the window);
-- * created WITH NO DATA (each migration runs in a transaction); the policies fill them.
-- Statement triggers with transition tables are not supported on hypertables, so the
-- days to re-derive official values for are the trailing aggregates.refresh_window_days.

CREATE MATERIALIZED VIEW agg_hourly_rtd
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT station_id,
       factor_id,
       time_bucket(INTERVAL '1 hour', ts, 'Asia/Shanghai') AS bucket,
       count(value) AS n_total,
       count(value) FILTER (WHERE envgrid_flag_valid(flag)) AS n_valid,
       sum(value) FILTER (WHERE envgrid_flag_valid(flag)) AS sum_valid,
       min(value) FILTER (WHERE envgrid_flag_valid(flag)) AS min_valid,
       max(value) FILTER (WHERE envgrid_flag_valid(flag)) AS max_valid,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'M') AS n_flag_m,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'C') AS n_flag_c,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'D') AS n_flag_d,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'F') AS n_flag_f,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'T') AS n_flag_t,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'B') AS n_flag_b,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'other') AS n_flag_other,
       bit_or(envgrid_minute_bit(ts))
           FILTER (WHERE value IS NOT NULL AND envgrid_flag_valid(flag)) AS valid_minutes
FROM measurements_rtd
GROUP BY station_id, factor_id, time_bucket(INTERVAL '1 hour', ts, 'Asia/Shanghai')
WITH NO DATA;

CREATE MATERIALIZED VIEW agg_hourly_minute
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT station_id,
       factor_id,
       time_bucket(INTERVAL '1 hour', ts, 'Asia/Shanghai') AS bucket,
       count(value) AS n_total,
       count(value) FILTER (WHERE envgrid_flag_valid(flag)) AS n_valid,
       sum(value) FILTER (WHERE envgrid_flag_valid(flag)) AS sum_valid,
       min(value) FILTER (WHERE envgrid_flag_valid(flag)) AS min_valid,
       max(value) FILTER (WHERE envgrid_flag_valid(flag)) AS max_valid,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'M') AS n_flag_m,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'C') AS n_flag_c,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'D') AS n_flag_d,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'F') AS n_flag_f,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'T') AS n_flag_t,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'B') AS n_flag_b,
       count(value) FILTER (WHERE envgrid_flag_class(flag) = 'other') AS n_flag_other,
       bit_or(envgrid_minute_bit(ts))
           FILTER (WHERE value IS NOT NULL AND envgrid_flag_valid(flag)) AS valid_minutes
FROM measurements_minute
GROUP BY station_id, factor_id, time_bucket(INTERVAL '1 hour', ts, 'Asia/Shanghai')
WITH NO DATA;

CREATE MATERIALIZED VIEW agg_daily_rtd
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT station_id,
       factor_id,
       time_bucket(INTERVAL '1 day', bucket, 'Asia/Shanghai') AS day,
       count(*) AS n_hours,
       sum(n_total)::bigint AS n_total,
       sum(n_valid)::bigint AS n_valid,
       sum(sum_valid) AS sum_valid,
       min(min_valid) AS min_valid,
       max(max_valid) AS max_valid,
       sum(n_flag_m)::bigint AS n_flag_m,
       sum(n_flag_c)::bigint AS n_flag_c,
       sum(n_flag_d)::bigint AS n_flag_d,
       sum(n_flag_f)::bigint AS n_flag_f,
       sum(n_flag_t)::bigint AS n_flag_t,
       sum(n_flag_b)::bigint AS n_flag_b,
       sum(n_flag_other)::bigint AS n_flag_other
FROM agg_hourly_rtd
GROUP BY station_id, factor_id, time_bucket(INTERVAL '1 day', bucket, 'Asia/Shanghai')
WITH NO DATA;

CREATE MATERIALIZED VIEW agg_daily_minute
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT station_id,
       factor_id,
       time_bucket(INTERVAL '1 day', bucket, 'Asia/Shanghai') AS day,
       count(*) AS n_hours,
       sum(n_total)::bigint AS n_total,
       sum(n_valid)::bigint AS n_valid,
       sum(sum_valid) AS sum_valid,
       min(min_valid) AS min_valid,
       max(max_valid) AS max_valid,
       sum(n_flag_m)::bigint AS n_flag_m,
       sum(n_flag_c)::bigint AS n_flag_c,
       sum(n_flag_d)::bigint AS n_flag_d,
       sum(n_flag_f)::bigint AS n_flag_f,
       sum(n_flag_t)::bigint AS n_flag_t,
       sum(n_flag_b)::bigint AS n_flag_b,
       sum(n_flag_other)::bigint AS n_flag_other
FROM agg_hourly_minute
GROUP BY station_id, factor_id, time_bucket(INTERVAL '1 day', bucket, 'Asia/Shanghai')
WITH NO DATA;

SELECT add_continuous_aggregate_policy('agg_hourly_rtd',
    start_offset => INTERVAL '35 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('agg_daily_rtd',
    start_offset => INTERVAL '35 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '30 minutes');
CREATE INDEX agg_hourly_rtd_key_idx ON agg_hourly_rtd (station_id, factor_id, bucket);
CREATE INDEX agg_daily_rtd_key_idx ON agg_daily_rtd (station_id, factor_id, day);

SELECT add_continuous_aggregate_policy('agg_hourly_minute',
    start_offset => INTERVAL '35 days', end_offset => INTERVAL '1 hour',
    schedule_interval => INTERVAL '5 minutes');
SELECT add_continuous_aggregate_policy('agg_daily_minute',
    start_offset => INTERVAL '35 days', end_offset => INTERVAL '1 day',
    schedule_interval => INTERVAL '30 minutes');
CREATE INDEX agg_hourly_minute_key_idx ON agg_hourly_minute (station_id, factor_id, bucket);
CREATE INDEX agg_daily_minute_key_idx ON agg_daily_minute (station_id, factor_id, day);
