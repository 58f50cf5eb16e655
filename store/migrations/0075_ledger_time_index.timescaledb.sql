-- 0075: the ledger's own time index goes (TimescaleDB only).
--
-- create_hypertable (0002) gave packet_ledger a default index on data_time DESC.  No
-- reader needs it: a station's frames are read through packet_ledger_dedup_idx
-- (station_id, data_time, ...), a forwarding target's backlog by the chunks of its time
-- range, and retention drops whole chunks.  Plain PostgreSQL never had it.  Every frame
-- paid for it on insert (issue 23: about 3 % of the database's insert work).
DROP INDEX IF EXISTS packet_ledger_data_time_idx;
