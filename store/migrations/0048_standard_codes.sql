-- 0048 Standards codes as the texts write them: "HJ 633—2012", "HJ 633—2026" (em dash).
-- daily_rankings.standard (0010) holds the code of the HJ 633 table of the ranked day's AQI;
-- rows written before the codes changed say "HJ 633-2012" / "HJ 633-2026" (hyphen).  Only
-- that column stores a code, and daily_rankings is a plain table on both engines (not a
-- hypertable or continuous aggregate), so one UPDATE rewrites them in place.  Codes that do
-- not have the old shape (NULL, already converted, operator tables) are left alone.
UPDATE daily_rankings
SET standard = regexp_replace(standard, '^(HJ|GB|GB/T) ([0-9.]+)-([0-9]{4})', '\1 \2—\3')
WHERE standard ~ '^(HJ|GB|GB/T) [0-9.]+-[0-9]{4}';
