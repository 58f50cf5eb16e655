-- What the ingest writer sends for each frame of a batch (issue 23): ledger_row with both
-- times as microseconds since 2000-01-01 UTC, the binary timestamptz's own count.  The
-- client encodes a bigint for far less than a timestamptz (1.2 µs a frame measured); the
-- INSERT turns them back into timestamptz exactly (interval arithmetic on integers).
CREATE TYPE ledger_input AS (
    station_id  integer,
    data_us     bigint,
    cn          smallint,
    pno         smallint,
    digest      bigint,
    qn          text,
    flag        smallint,
    received_us bigint,
    worker      smallint,
    raw         text,
    backfill    boolean
);
COMMENT ON TYPE ledger_input IS 'a packet_ledger row as the ingest writer sends it (times in µs since 2000)';
