-- 0072 (issue 23): envgrid_flag_class without upper().
-- The plain-PostgreSQL rollup triggers (0010) classify every stored value's flag twice;
-- upper() under the database's collation converts through wide characters on each call,
-- 7 % of PostgreSQL's CPU at 12,000 frames/s.  The same classes by plain comparison: the
-- flags whose upper case is one of M C D F T B P 0 2 are those letters in either case and
-- the two digits (no other character upper-cases to them), so the result is unchanged for
-- every input (tests/aggregates/test_rollups.py checks it against the old expression).
-- Same signature and volatility: the continuous aggregates of TimescaleDB that use it stay.
CREATE OR REPLACE FUNCTION envgrid_flag_class(flag text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE flag
        WHEN 'N' THEN NULL  -- the normal flag, nearly every value: one comparison
        WHEN 'M' THEN 'M' WHEN 'm' THEN 'M'
        WHEN 'C' THEN 'C' WHEN 'c' THEN 'C'
        WHEN 'D' THEN 'D' WHEN 'd' THEN 'D'
        WHEN 'F' THEN 'F' WHEN 'f' THEN 'F'
        WHEN 'T' THEN 'T' WHEN 't' THEN 'T'
        WHEN 'B' THEN 'B' WHEN 'b' THEN 'B'
        WHEN 'P' THEN 'other' WHEN 'p' THEN 'other'
        WHEN '0' THEN 'other' WHEN '2' THEN 'other'
    END
$$;
