-- HJ 212-2025 (issue 18, points 5 and 6).
--
-- pending_loggers: a 2025 data logger without an MN announces its hardware identity with
-- CN 1001 (i23005-Info logger id, i23006-Info CPU ID, i23007/i23008-Info MACs, header MN
-- empty).  It waits here, keyed by its logger id, until an operator assigns it an MN
-- (the station is registered under that MN and CN 1002 is queued for the logger).
-- password is the first PW the logger sent (sealed like stations.password), the default of
-- the assignment.  identity_conflicts counts 1001 frames that named the same logger id with another CPU ID
-- or MAC than the first one seen (a cloned or spoofed logger id).
CREATE TABLE pending_loggers (
    logger_id          text PRIMARY KEY,
    cpu_id             text NOT NULL,
    mac1               text NOT NULL,
    mac2               text,
    st                 text,
    password           text,
    peer               text,
    first_seen         timestamptz NOT NULL DEFAULT now(),
    last_seen          timestamptz NOT NULL DEFAULT now(),
    frames             bigint NOT NULL DEFAULT 0,
    last_raw           text,
    identity_conflicts bigint NOT NULL DEFAULT 0,
    decision           text NOT NULL DEFAULT 'pending'
                       CHECK (decision IN ('pending', 'assigned', 'rejected')),
    assigned_mn        text,
    station_id         integer REFERENCES stations (id) ON DELETE SET NULL,
    command_id         bigint,
    decided_by         text,
    decided_at         timestamptz
);
CREATE INDEX pending_loggers_decision_idx ON pending_loggers (decision, last_seen DESC);

-- records_2025: the HJ 212-2025 uploads that are neither the 2017 measurement kinds nor
-- status, one narrow row per (station, CN, factor, time):
--   2111 furnace temperature 5-min mean  value = a01901-Avg, ts = start of the window
--   2013 raw periodic data               value = -Avg; fields SampleTime, CompleteTime,
--                                        SampleType, Flag
--   2062 standard-sample check           value = -SampleRd; fields StandardValue,
--                                        ResultType (1 pass, 0 fail)
--   2052 single noise measurement        value = -Data
-- An officer asks "the furnace temperature of this incinerator over the day", "which
-- standard checks failed": station, CN, factor and time are columns, the number a float,
-- the other fields as sent (text) in jsonb.  A corrected re-upload replaces the row.
CREATE TABLE records_2025 (
    station_id  integer NOT NULL,
    cn          smallint NOT NULL,
    code        text NOT NULL,
    ts          timestamptz NOT NULL,
    value       float8,
    fields      jsonb NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL,
    backfill    boolean,
    PRIMARY KEY (station_id, cn, code, ts)
);
CREATE INDEX records_2025_station_ts_idx ON records_2025 (station_id, ts DESC);
