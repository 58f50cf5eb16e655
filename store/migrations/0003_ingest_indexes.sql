-- 0003: indexes and views shared by both engines (created on the partitioned parents /
-- hypertables, so every partition or chunk gets them).

-- A retransmitted frame is stored once: same station, DataTime, CN, part and CP body.
CREATE UNIQUE INDEX packet_ledger_dedup_idx
    ON packet_ledger (station_id, data_time, cn, pno, digest);
CREATE INDEX measurements_rtd_idx ON measurements_rtd (station_id, factor_id, ts);
CREATE INDEX measurements_minute_idx ON measurements_minute (station_id, factor_id, ts);
CREATE UNIQUE INDEX measurements_hour_idx ON measurements_hour (station_id, factor_id, ts);
CREATE UNIQUE INDEX measurements_day_idx ON measurements_day (station_id, factor_id, ts);
CREATE INDEX equipment_status_idx ON equipment_status (station_id, ts);

-- One relation for readers: every kind of measurement with its kind.
CREATE VIEW measurements AS
    SELECT station_id, factor_id, 'rtd'::text AS kind, ts, value, vmin, vmax, cou, zs, flag
      FROM measurements_rtd
    UNION ALL
    SELECT station_id, factor_id, 'minute', ts, value, vmin, vmax, cou, zs, flag
      FROM measurements_minute
    UNION ALL
    SELECT station_id, factor_id, 'hour', ts, value, vmin, vmax, cou, zs, flag
      FROM measurements_hour
    UNION ALL
    SELECT station_id, factor_id, 'day', ts, value, vmin, vmax, cou, zs, flag
      FROM measurements_day;
COMMENT ON VIEW measurements IS
    'all measurement kinds (rtd 2011, minute 2051, hour 2061, day 2031), one row per value';
