-- HJ 212-2025 (issue 18): the edition a station is registered with, its SM4 key (sealed by
-- store.secretbox like the password; the previous key stays valid until sm4_prev_until),
-- whether a frame of another edition is refused, and the RF=1 (补传) marker of stored frames.
ALTER TABLE stations
    ADD COLUMN registered_edition text
        CHECK (registered_edition IS NULL OR registered_edition IN ('2005', '2017', '2025')),
    ADD COLUMN strict_edition boolean NOT NULL DEFAULT false,
    ADD COLUMN sm4_key text,
    ADD COLUMN sm4_key_created_at timestamptz,
    ADD COLUMN sm4_prev_key text,
    ADD COLUMN sm4_prev_until timestamptz;
COMMENT ON COLUMN stations.edition IS 'last edition seen on the wire (see registered_edition)';

-- An unknown MN whose frames come encrypted (CP=&&{…}): HJ 212-2025 with a key to register.
ALTER TABLE pending_stations ADD COLUMN encrypted boolean NOT NULL DEFAULT false;

-- RF=1: the station re-sent past data (backfill); NULL = an ordinary upload.
ALTER TABLE ledger_row ADD COLUMN backfill boolean;
ALTER TABLE packet_ledger ADD COLUMN backfill boolean;
