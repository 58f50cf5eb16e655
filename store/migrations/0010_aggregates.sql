-- 0010 aggregates: shared tables and functions of the analytics (aggregates/).
--
-- Layers (see aggregates/__init__.py, "Theory of operation"):
--   raw measurements ─▶ agg_hourly_rtd / agg_hourly_minute   computed hourly rollups
--                      ─▶ agg_daily_rtd / agg_daily_minute    daily rollups of those (local days)
--   (engine companions: continuous aggregates on TimescaleDB, trigger-maintained tables on
--    plain PostgreSQL; same names and columns)
--   hourly_values (view, 0011): official hourly series, station-reported 2061 preferred,
--                               computed hours filling the gaps
--   daily_values, monthly_values (tables below): official daily/monthly values with the
--                               HJ 663 / GB 3095 validity rules, refreshed by the job
--                               aggregates.jobs.run_refresh from the days marked dirty
--   daily_rankings: the scheduled daily ranking read by the notifiers.

-- HJ 212 data flags (protocol/flags.py): values flagged M C D F T B (2017), P (2005 source)
-- and the 2005 air-station "0"/"2" are excluded from means and counted separately; a
-- missing/empty flag means N.  Lower-case letters count as their upper-case flags.
CREATE FUNCTION envgrid_flag_valid(flag text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT flag IS NULL OR upper(flag) NOT IN ('M', 'C', 'D', 'F', 'T', 'B', 'P', '0', '2')
$$;

-- The counter a flag goes to: NULL for valid values, 'M' 'C' 'D' 'F' 'T' 'B', or 'other'
-- for the remaining excluded flags (P, 0, 2).
CREATE FUNCTION envgrid_flag_class(flag text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN flag IS NULL OR upper(flag) NOT IN ('M', 'C', 'D', 'F', 'T', 'B', 'P', '0', '2')
            THEN NULL
        WHEN upper(flag) IN ('M', 'C', 'D', 'F', 'T', 'B') THEN upper(flag)
        ELSE 'other'
    END
$$;

-- Bit (minute of the hour) of a sample instant: the rollups OR these into valid_minutes,
-- from which the hourly coverage (GB 3095-2012 Table 4: ≥ 45 min of sampling) is derived.
-- Epoch arithmetic keeps it immutable (no session time zone).
CREATE FUNCTION envgrid_minute_bit(ts timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 1::bigint << ((floor(extract(epoch FROM ts))::bigint % 3600) / 60)::integer
$$;

-- Minutes of the hour covered by samples: popcount(valid_minutes) × the sampling span of one
-- value (minutes), at most 60.
CREATE FUNCTION envgrid_coverage(valid_minutes bigint, span_minutes integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN valid_minutes IS NULL THEN 0
                ELSE least(60, bit_count(valid_minutes::bit(64))::integer
                               * greatest(1, coalesce(span_minutes, 1)))
           END
$$;

-- NULL-tolerant sum and bit-or used when merging partial rollups (NULL = "no valid value").
CREATE FUNCTION envgrid_add(a double precision, b double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE a + b END
$$;
CREATE FUNCTION envgrid_or(a bigint, b bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a IS NULL THEN b WHEN b IS NULL THEN a ELSE a | b END
$$;

-- One row: the time zone of the day boundaries used by the plain-PostgreSQL rollup
-- triggers (core.timezone; kept in step by aggregates.jobs.sync_timezone at start-up).
CREATE TABLE agg_config (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    timezone   text NOT NULL DEFAULT 'Asia/Shanghai',
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO agg_config DEFAULT VALUES;

-- (station, local day) pairs whose official daily values must be recomputed: marked by the
-- plain-PostgreSQL triggers in the ingest transaction (late data, corrections included),
-- consumed by aggregates.jobs.run_refresh.  Unused on TimescaleDB (the job refreshes a
-- trailing window there, aggregates.refresh_window_days).
CREATE TABLE agg_dirty_days (
    station_id integer NOT NULL,
    day        date NOT NULL,
    PRIMARY KEY (station_id, day)
);

-- Official daily values per station and factor (HJ 663-2013 §6, GB 3095-2012 Table 4).
CREATE TABLE daily_values (
    station_id       integer NOT NULL,
    factor_id        smallint NOT NULL,
    day              date NOT NULL,            -- local day (core.timezone)
    value            double precision,         -- 24h mean: reported 2031, else mean of valid hours
    valid            boolean NOT NULL,         -- reported with a valid flag, or ≥ 20 valid hours
    source           text NOT NULL CHECK (source IN ('reported', 'computed')),
    n_hours          smallint NOT NULL,        -- hourly values present
    n_valid_hours    smallint NOT NULL,        -- of which valid (used in the mean)
    n_computed_hours smallint NOT NULL,        -- of the valid ones, computed from rtd/minute data
    min_1h           double precision,         -- smallest valid hourly value
    max_1h           double precision,         -- largest valid hourly value (O3 1h max)
    mda8             double precision,         -- max 8h moving average ending 08–24 h (O3)
    mda8_windows     smallint,                 -- valid 8h windows (≥ 6 valid hours each)
    mda8_valid       boolean,                  -- ≥ 14 valid windows (HJ 663)
    n_flag_m         integer NOT NULL DEFAULT 0,   -- excluded values by flag: reported hours
    n_flag_c         integer NOT NULL DEFAULT 0,   -- count 1 each, computed hours add the
    n_flag_d         integer NOT NULL DEFAULT 0,   -- flagged samples of the hour
    n_flag_f         integer NOT NULL DEFAULT 0,
    n_flag_t         integer NOT NULL DEFAULT 0,
    n_flag_b         integer NOT NULL DEFAULT 0,
    n_flag_other     integer NOT NULL DEFAULT 0,
    computed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, factor_id, day)
);
CREATE INDEX daily_values_day_idx ON daily_values (day);

-- Official monthly values, built from daily_values (GB 3095 Table 4: ≥ 27 valid days,
-- February 25).  The valid daily values are kept as arrays so that period statistics
-- (means, HJ 663 percentiles) of any range of months or days need no daily scan.
CREATE TABLE monthly_values (
    station_id   integer NOT NULL,
    factor_id    smallint NOT NULL,
    month        date NOT NULL,                 -- first day of the month
    n_days       smallint NOT NULL,             -- days with a daily value
    n_valid_days smallint NOT NULL,
    mean         double precision,              -- mean of the valid daily values
    min_day      double precision,
    max_day      double precision,
    days         smallint[] NOT NULL,           -- day of month of each valid daily value
    daily        double precision[] NOT NULL,   -- the valid daily values, in day order
    mda8_days    smallint[],                    -- O3: days with a valid MDA8
    mda8         double precision[],            -- O3: those MDA8 values
    valid        boolean NOT NULL,              -- monthly validity rule
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, factor_id, month)
);
CREATE INDEX monthly_values_month_idx ON monthly_values (month);

-- The scheduled daily ranking (aggregates.jobs.run_daily_ranking), read by the notifiers.
CREATE TABLE daily_rankings (
    day                date NOT NULL,
    scope              text NOT NULL CHECK (scope IN ('station', 'region', 'grid')),
    scope_key          text NOT NULL,            -- station MN, region name, grid area code
    scope_name         text NOT NULL DEFAULT '',
    rank               integer,                  -- 1 = best (lowest AQI); ties share a rank
    aqi                integer,
    level              integer,
    primary_pollutants text[] NOT NULL DEFAULT '{}',
    aqci               numeric,                  -- the day's composite index
    valid              boolean NOT NULL,         -- all six pollutants had valid daily values
    computed_at        timestamptz NOT NULL DEFAULT now(),
    category           text,                     -- 优 / 良 / 轻度污染 …
    color              text,                     -- HJ 633 Appendix A colour (#00E400 …)
    n_stations         integer,                  -- stations averaged (region/grid)
    standard           text,                     -- e.g. HJ 633-2012
    PRIMARY KEY (day, scope, scope_key)
);
COMMENT ON TABLE daily_rankings IS
    'daily AQI ranking of stations, regions and grids (aggregates.jobs.run_daily_ranking)';
