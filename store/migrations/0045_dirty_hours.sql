-- 0045 (station, hour) pairs whose rollups late writes changed: marked by the TimescaleDB
-- triggers of 0045_dirty_hours.timescaledb.sql, consumed by aggregates.continuous.  On plain
-- PostgreSQL the rollup triggers fold late rows in at once, so the table stays empty there.
CREATE TABLE agg_dirty_hours (
    station_id integer NOT NULL,
    hour       timestamptz NOT NULL,
    PRIMARY KEY (station_id, hour)
);
