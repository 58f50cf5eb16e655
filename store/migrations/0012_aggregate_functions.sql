-- 0012 aggregate helpers and the yearly series (both engines).

-- Concatenates arrays in aggregate order: one array of a station's valid daily values over
-- a range of months (monthly_values.daily), read in one row by the rankings.
CREATE AGGREGATE envgrid_array_cat(anycompatiblearray) (
    SFUNC = array_cat,
    STYPE = anycompatiblearray,
    INITCOND = '{}'
);

-- Valid daily values of a station and factor for a whole year at fixed positions: 8 bytes
-- per day of year (big-endian float8, as float8send writes it; NaN = no valid daily value).
-- Rankings over any range read one row per station, factor and year and cut the days they
-- need (substring) — no per-month aggregation, no array decoding (numpy reads the bytes).
-- Kept by aggregates.jobs.refresh_days together with daily_values.
CREATE TABLE yearly_values (
    station_id  integer NOT NULL,
    factor_id   smallint NOT NULL,
    year        smallint NOT NULL,
    daily       bytea NOT NULL,                -- 365/366 × float8: valid daily values
    mda8        bytea,                         -- O3: valid MDA8 values
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, factor_id, year)
);
-- ~3 KB per row: keep it in the heap page (no TOAST round trip; float8 barely compresses)
ALTER TABLE yearly_values ALTER COLUMN daily SET STORAGE MAIN;
ALTER TABLE yearly_values ALTER COLUMN mda8 SET STORAGE MAIN;
