-- 0073 (issue 23.2): envgrid_minute_bit that the planner can inline.
-- The 0010 body takes extract(epoch FROM timestamptz), which is only STABLE: a function
-- declared IMMUTABLE whose body is less so is never inlined, so every stored value paid a
-- full SQL-function call (and numeric arithmetic) in the plain-PostgreSQL rollup triggers,
-- and every row a refresh of the TimescaleDB continuous aggregates reads.  The same bit from
-- immutable operators only: the minute of the offset from the UTC-aligned hour's start.
-- Equal to the 0010 result for every instant from 1970 on
-- (tests/aggregates/test_rollups.py compares them); same signature and volatility, so the
-- continuous aggregates that call it stay.
CREATE OR REPLACE FUNCTION envgrid_minute_bit(ts timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 1::bigint << date_part('minute',
        ts - date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'))::integer
$$;
