-- 0045 late data on TimescaleDB (agg_dirty_hours: 0045_dirty_hours.sql): every write that lands in the past marks what it touched,
-- so that envgrid's own refresher (aggregates.jobs.run_refresh) recomputes exactly those
-- ranges, whatever their age, without depending on TimescaleDB's background jobs.
-- (This replaces what the comment at the top of 0010_aggregates.timescaledb.sql assumed:
-- nothing marked late data there.)
--
-- * measurements_rtd / measurements_minute: a row older than an hour marks its
--   (station, hour) in agg_dirty_hours; the refresher refreshes the hourly continuous
--   aggregates over those hours (refresh_continuous_aggregate), then the daily ones, then
--   the official values of the local days.  Newer rows are inside the window the refresher
--   re-materialises at every run (database.rollup_refresh_days).  Hypertables do not
--   support statement triggers with transition tables, so these are row triggers whose
--   WHEN clause keeps on-time rows from calling the function at all.
-- * measurements_hour / measurements_day (station-reported values, corrected through
--   ON CONFLICT DO UPDATE): every insert and update marks its (station, local day) in
--   agg_dirty_days, as the plain-PostgreSQL statement triggers do.

CREATE FUNCTION envgrid_mark_dirty_hour() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agg_dirty_hours (station_id, hour)
    VALUES (NEW.station_id, date_trunc('hour', NEW.ts))
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION envgrid_mark_dirty_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agg_dirty_days (station_id, day)
    VALUES (NEW.station_id, (NEW.ts AT TIME ZONE (SELECT timezone FROM agg_config))::date)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER agg_dirty_hour AFTER INSERT OR UPDATE ON measurements_rtd
    FOR EACH ROW WHEN (NEW.ts < now() - INTERVAL '1 hour')
    EXECUTE FUNCTION envgrid_mark_dirty_hour();
CREATE TRIGGER agg_dirty_hour AFTER INSERT OR UPDATE ON measurements_minute
    FOR EACH ROW WHEN (NEW.ts < now() - INTERVAL '1 hour')
    EXECUTE FUNCTION envgrid_mark_dirty_hour();
CREATE TRIGGER agg_dirty_day AFTER INSERT OR UPDATE ON measurements_hour
    FOR EACH ROW EXECUTE FUNCTION envgrid_mark_dirty_day();
CREATE TRIGGER agg_dirty_day AFTER INSERT OR UPDATE ON measurements_day
    FOR EACH ROW EXECUTE FUNCTION envgrid_mark_dirty_day();
