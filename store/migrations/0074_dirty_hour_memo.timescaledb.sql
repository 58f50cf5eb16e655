-- 0074 (issue 23.2), TimescaleDB: late rows mark their (station, hour) once per run of rows.
-- The row triggers of 0045 call envgrid_mark_dirty_hour for every row older than an hour,
-- and every call ran an INSERT … ON CONFLICT DO NOTHING: in `envgrid bench throughput`
-- (history from 300 days back, every row late) that was 43 % of PostgreSQL's CPU (perf;
-- 3.9 million INSERTs in one 40-s run).  A frame's values (one station, one time) arrive as
-- consecutive rows, so the function now remembers the last (station, hour) it marked in a
-- transaction-local setting and skips the INSERT when the row's pair is the same.  The
-- setting is undone with the transaction or savepoint that rolls the mark back, so a pair is
-- never skipped unless its mark is in the same transaction.  On-time rows still never call
-- the function (the triggers' WHEN clause, unchanged).  A statement trigger with a transition
-- table (as on plain PostgreSQL) would cost less for late rows but copies every on-time row
-- into the transition table, which made live COPYs dearer.
CREATE OR REPLACE FUNCTION envgrid_mark_dirty_hour() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    hour timestamptz := date_trunc('hour', NEW.ts);
    pair text := NEW.station_id || ':' || date_part('epoch', hour)::bigint;
BEGIN
    IF current_setting('envgrid.last_dirty_hour', true) IS DISTINCT FROM pair THEN
        INSERT INTO agg_dirty_hours (station_id, hour) VALUES (NEW.station_id, hour)
        ON CONFLICT DO NOTHING;
        PERFORM set_config('envgrid.last_dirty_hour', pair, true);
    END IF;
    RETURN NULL;
END $$;
