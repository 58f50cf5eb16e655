"""Every SQL statement of the ingest workers (parameters only, never string-built)."""

from __future__ import annotations

from typing import Final

# -- registry --------------------------------------------------------------------
#: The registry as the workers hold it: every station (``$1`` NULL) or the one MN ``$1``.
LOAD_STATIONS_SQL: Final = """
SELECT id, mn, password, enabled, modbus_crc, registered_edition, strict_edition, sm4_key,
       sm4_key_created_at, CASE WHEN sm4_prev_until > now() THEN sm4_prev_key END AS sm4_prev_key
FROM stations WHERE $1::text IS NULL OR mn = $1
"""
#: What the registry was loaded from, in one row: the number of stations and the sum of a
#: hash of each one's registry columns (those of LOAD_STATIONS_SQL).  The periodic refresh
#: reloads only when it changed: a full load of 100,000 stations stalls a worker's loop
#: for seconds, every worker at once, every minute.
REGISTRY_FINGERPRINT_SQL: Final = """
SELECT count(*) AS n, coalesce(sum(hashtextextended(s::text, 0)), 0) AS h
FROM (SELECT id, mn, password, enabled, modbus_crc, registered_edition, strict_edition, sm4_key,
             sm4_key_created_at,
             CASE WHEN sm4_prev_until > now() THEN sm4_prev_key END AS sm4_prev_key
      FROM stations) AS s
"""
LOAD_FACTORS_SQL: Final = "SELECT code, id FROM factors"
REGISTER_FACTOR_SQL: Final = """
INSERT INTO factors (code, name_zh, name_en, unit, grp) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code
RETURNING id
"""
#: A pending MN keeps the first password it presented (later ones count as conflicts); new
#: MNs are added only while fewer than ``$10`` rows wait (one client sending random MNs
#: does not fill the table).
UPSERT_PENDING_SQL: Final = """
WITH u AS (
    SELECT *, EXISTS (SELECT 1 FROM pending_stations p WHERE p.mn = u.mn) AS known
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                $6::timestamptz[], $6::timestamptz[], $7::bigint[], $8::text[], $9::bigint[],
                $11::boolean[])
         AS u(mn, st, password, edition, peer, first_seen, last_seen, frames, last_raw, conflicts,
              encrypted)
)
INSERT INTO pending_stations (mn, st, password, edition, peer, first_seen, last_seen, frames,
                              last_raw, pw_conflicts, encrypted)
SELECT mn, st, password, edition, peer, first_seen, last_seen, frames, last_raw, conflicts,
       encrypted
FROM (
    SELECT * FROM u WHERE known
    UNION ALL
    (SELECT * FROM u WHERE NOT known
     LIMIT greatest(0, $10 - (SELECT count(*) FROM pending_stations)))
) AS rows
ON CONFLICT (mn) DO UPDATE SET
    st = EXCLUDED.st, edition = EXCLUDED.edition,
    peer = EXCLUDED.peer, last_seen = EXCLUDED.last_seen,
    frames = pending_stations.frames + EXCLUDED.frames, last_raw = EXCLUDED.last_raw,
    pw_conflicts = pending_stations.pw_conflicts + EXCLUDED.pw_conflicts,
    encrypted = pending_stations.encrypted OR EXCLUDED.encrypted
"""

#: HJ 212-2025 loggers without an MN (CN 1001): the first identity and password are kept
#: (another CPU ID / MAC under the same logger id counts as a conflict); new logger ids
#: are added only while fewer than ``$12`` rows wait.
UPSERT_LOGGERS_SQL: Final = """
WITH u AS (
    SELECT *, EXISTS (SELECT 1 FROM pending_loggers p WHERE p.logger_id = u.logger_id) AS known
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::timestamptz[], $8::timestamptz[], $9::bigint[], $10::text[],
                $11::bigint[])
         AS u(logger_id, cpu_id, mac1, mac2, st, password, peer, first_seen, last_seen, frames,
              last_raw, conflicts)
)
INSERT INTO pending_loggers AS p (logger_id, cpu_id, mac1, mac2, st, password, peer,
                                  first_seen, last_seen, frames, last_raw, identity_conflicts)
SELECT logger_id, cpu_id, mac1, mac2, st, password, peer, first_seen, last_seen, frames,
       last_raw, conflicts
FROM (
    SELECT * FROM u WHERE known
    UNION ALL
    (SELECT * FROM u WHERE NOT known
     LIMIT greatest(0, $12 - (SELECT count(*) FROM pending_loggers WHERE decision = 'pending')))
) AS rows
ON CONFLICT (logger_id) DO UPDATE SET
    st = EXCLUDED.st, peer = EXCLUDED.peer, last_seen = EXCLUDED.last_seen,
    frames = p.frames + EXCLUDED.frames, last_raw = EXCLUDED.last_raw,
    identity_conflicts = p.identity_conflicts + EXCLUDED.identity_conflicts
        + (p.cpu_id IS DISTINCT FROM EXCLUDED.cpu_id OR p.mac1 IS DISTINCT FROM EXCLUDED.mac1
           OR p.mac2 IS DISTINCT FROM EXCLUDED.mac2)::int
"""

# -- the batch transaction ----------------------------------------------------------
#: ``ledger_input``'s fields (migration 0076), in order: the records of INSERT_LEDGER_SQL's
#: ``$1``; ``ledger_row``'s columns (migration 0002) with both times in µs since 2000
LEDGER_COLUMNS: Final = (
    "station_id", "data_us", "cn", "pno", "digest", "qn", "flag", "received_us",
    "worker", "raw", "backfill",
)  # fmt: skip
DURABLE_COMMIT_SQL: Final = "SET synchronous_commit = on"
#: New frames only: a retransmission hits the unique index and is skipped; the
#: returned ordinals (1-based positions in ``$1``) tell the writer which frames' rows to
#: store — a bigint array is decoded far cheaper than a record a frame with its
#: ``timestamptz`` (issue 23).  The new frames also enter the backlog of every forwarding
#: target that selects them (forward/: its stations and CNs), in the order they were
#: received.  ``$1`` is one array of ``ledger_input`` records (:data:`LEDGER_COLUMNS`, no
#: two with the same key): asyncpg encodes a tuple a frame far cheaper than eleven
#: parallel arrays, whose every element it checks against three ABCs, and a bigint far
#: cheaper than a ``timestamptz`` (issue 23).  ``2000-01-01 + n µs`` is exact: the
#: interval holds ``n`` as it is (below 2^53 µs, 285 years either side).
#: ``$3``: the readings feed's payloads of the batch's real-time and minute rows, sent on
#: channel ``$2`` by this statement when all ``$4`` frames of ``$1`` are new (nearly
#: always: a round trip less a batch); else the writer sends those of the new frames
#: after the COPY (:data:`NOTIFY_READINGS_SQL`).
INSERT_LEDGER_SQL: Final = """
WITH input AS MATERIALIZED (
    SELECT station_id,
           timestamptz '2000-01-01 00:00:00+00' + data_us * interval '1 microsecond'
               AS data_time,
           cn, pno, digest, qn, flag,
           timestamptz '2000-01-01 00:00:00+00' + received_us * interval '1 microsecond'
               AS received_at,
           worker, raw, backfill, i
    FROM unnest($1::ledger_input[]) WITH ORDINALITY
        AS u(station_id, data_us, cn, pno, digest, qn, flag, received_us, worker, raw,
             backfill, i)
), new AS (
    INSERT INTO packet_ledger (station_id, data_time, cn, pno, digest, qn, flag, received_at,
                               worker, raw, backfill)
    SELECT station_id, data_time, cn, pno, digest, qn, flag, received_at, worker, raw, backfill
    FROM input
    ON CONFLICT DO NOTHING
    RETURNING station_id, data_time, cn, pno, digest, received_at
), forwarded AS (
    INSERT INTO forward_outbox (target_id, station_id, data_time, cn, pno, digest)
    SELECT t.id, n.station_id, n.data_time, n.cn, n.pno, n.digest
    FROM new n
    JOIN forward_targets t ON t.enabled AND n.cn = ANY (t.cns)
                           AND (t.station_ids = '{}' OR n.station_id = ANY (t.station_ids))
    ORDER BY n.received_at, n.data_time, t.id
), told AS (  -- the readings feed ($3 on channel $2), when all $4 frames are new
    SELECT count(pg_notify($2, payload)) AS n
    FROM unnest($3::text[]) AS payload
    WHERE (SELECT count(*) FROM new) = $4
)
SELECT coalesce(array_agg(input.i ORDER BY input.i), '{}'), (SELECT n FROM told)
FROM new JOIN input USING (station_id, data_time, cn, pno, digest)
"""
#: Station-reported hourly/daily values: a corrected upload replaces the earlier one.
UPSERT_HOUR_SQL: Final = """
INSERT INTO measurements_hour (station_id, factor_id, ts, value, vmin, vmax, cou, zs, flag)
SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::float8[],
                     $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::text[])
ON CONFLICT (station_id, factor_id, ts) DO UPDATE SET
    value = EXCLUDED.value, vmin = EXCLUDED.vmin, vmax = EXCLUDED.vmax, cou = EXCLUDED.cou,
    zs = EXCLUDED.zs, flag = EXCLUDED.flag
"""
UPSERT_DAY_SQL: Final = """
INSERT INTO measurements_day (station_id, factor_id, ts, value, vmin, vmax, cou, zs, flag)
SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::float8[],
                     $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::text[])
ON CONFLICT (station_id, factor_id, ts) DO UPDATE SET
    value = EXCLUDED.value, vmin = EXCLUDED.vmin, vmax = EXCLUDED.vmax, cou = EXCLUDED.cou,
    zs = EXCLUDED.zs, flag = EXCLUDED.flag
"""


#: The batch's readings feed (store.feed), sent before its COMMIT.  Not as NOTIFY literals
#: riding on the COMMIT: PostgreSQL's lexer spent more on 8 KB literals than the round trip
#: saves (issue 23: 100 vs 33 µs of backend CPU a batch).
NOTIFY_READINGS_SQL: Final = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"
#: HJ 212-2025 2013/2052/2062/2111 rows (migration 0054); the latest upload wins.
UPSERT_RECORDS_SQL: Final = """
INSERT INTO records_2025 (station_id, cn, code, ts, value, fields, received_at, backfill)
SELECT * FROM unnest($1::integer[], $2::smallint[], $3::text[], $4::timestamptz[],
                     $5::float8[], $6::jsonb[], $7::timestamptz[], $8::boolean[])
ON CONFLICT (station_id, cn, code, ts) DO UPDATE SET
    value = EXCLUDED.value, fields = EXCLUDED.fields, received_at = EXCLUDED.received_at,
    backfill = EXCLUDED.backfill
"""
INSERT_INFO_SQL: Final = """
INSERT INTO info_uploads (station_id, cn, data_time, received_at, fields, items)
SELECT * FROM unnest($1::integer[], $2::smallint[], $3::timestamptz[], $4::timestamptz[],
                     $5::jsonb[], $6::jsonb[])
"""

# -- station state (a separate, coalescing flusher) ------------------------------------
UPSERT_DATA_STATE_SQL: Final = """
INSERT INTO station_state AS s (station_id, last_frame_at, last_data_at, last_data_time,
                                latest, edition)
SELECT * FROM unnest($1::integer[], $2::timestamptz[], $3::timestamptz[],
                     $4::timestamptz[], $5::jsonb[], $6::text[])
ON CONFLICT (station_id) DO UPDATE SET
    last_frame_at = GREATEST(s.last_frame_at, EXCLUDED.last_frame_at),
    last_data_at = COALESCE(GREATEST(s.last_data_at, EXCLUDED.last_data_at), s.last_data_at),
    last_data_time = CASE
        WHEN EXCLUDED.last_data_time IS NOT NULL
         AND (s.last_data_time IS NULL OR EXCLUDED.last_data_time >= s.last_data_time)
        THEN EXCLUDED.last_data_time ELSE s.last_data_time END,
    latest = CASE
        WHEN EXCLUDED.last_data_time IS NOT NULL
         AND (s.last_data_time IS NULL OR EXCLUDED.last_data_time >= s.last_data_time)
        THEN s.latest || EXCLUDED.latest ELSE s.latest END,
    edition = COALESCE(EXCLUDED.edition, s.edition)
"""
UPSERT_CONNECTION_STATE_SQL: Final = """
INSERT INTO station_state AS s (station_id, connected, worker, peer, connected_at,
                                disconnected_at)
SELECT * FROM unnest($1::integer[], $2::boolean[], $3::integer[], $4::text[],
                     $5::timestamptz[], $6::timestamptz[])
ON CONFLICT (station_id) DO UPDATE SET
    connected = EXCLUDED.connected,
    worker = CASE WHEN EXCLUDED.connected THEN EXCLUDED.worker ELSE s.worker END,
    peer = COALESCE(EXCLUDED.peer, s.peer),
    connected_at = COALESCE(EXCLUDED.connected_at, s.connected_at),
    disconnected_at = COALESCE(EXCLUDED.disconnected_at, s.disconnected_at)
"""
#: A worker starting (or restarting after a crash) holds no connections yet.
RESET_WORKER_STATE_SQL: Final = """
UPDATE station_state SET connected = false, disconnected_at = now()
WHERE connected AND worker = $1
"""
UPDATE_EDITIONS_SQL: Final = """
UPDATE stations s SET edition = v.edition
FROM unnest($1::integer[], $2::text[]) AS v(id, edition)
WHERE s.id = v.id AND s.edition IS DISTINCT FROM v.edition
"""

# -- downlink commands ------------------------------------------------------------------
CLAIM_COMMAND_SQL: Final = """
UPDATE station_commands c SET status = 'sent', worker = $2, sent_at = now()
FROM stations s
WHERE c.id = $1 AND c.status = 'queued' AND c.expires_at > now() AND s.id = c.station_id
RETURNING c.id, c.station_id, c.cn, c.params, c.qn, s.mn, s.password, c.request_id
"""
#: CN 1002 commands waiting for a logger without an MN (by its logger id)
QUEUED_ASSIGNMENTS_SQL: Final = """
SELECT id FROM station_commands
WHERE cn = 1002 AND status = 'queued' AND expires_at > now() AND params->>'i23005-Info' = $1
ORDER BY id
"""
#: The identity an operator saw when assigning the logger's MN (CN 1002 goes only to a
#: connection that announced the same)
LOGGER_IDENTITY_SQL: Final = """
SELECT cpu_id, mac1, mac2 FROM pending_loggers WHERE logger_id = $1
"""
QUEUED_COMMAND_SQL: Final = """
SELECT cn, params FROM station_commands WHERE id = $1 AND status = 'queued'
"""
UNCLAIM_COMMAND_SQL: Final = """
UPDATE station_commands SET status = 'queued', worker = NULL, sent_at = NULL, error = $2
WHERE id = $1 AND status = 'sent'
"""
#: An SM4 key exchange (1014) of the station still under way: no second one is queued.
OPEN_KEY_EXCHANGE_SQL: Final = """
SELECT EXISTS (SELECT 1 FROM station_commands
               WHERE station_id = $1 AND cn = 1014 AND expires_at > now()
                 AND status IN ('queued', 'sent', 'accepted'))
"""
WAITING_STATIONS_SQL: Final = """
SELECT DISTINCT s.mn FROM station_commands c JOIN stations s ON s.id = c.station_id
WHERE c.status = 'queued' AND c.expires_at > now()
"""
QUEUED_COMMANDS_SQL: Final = """
SELECT id FROM station_commands
WHERE station_id = $1 AND status = 'queued' AND expires_at > now()
ORDER BY id
"""
COMMAND_NEW_PASSWORD_SQL: Final = "SELECT params->>'NewPW' FROM station_commands WHERE id = $1"
COMMAND_NEW_KEY_SQL: Final = "SELECT params->>'NewSK' FROM station_commands WHERE id = $1"
SET_STATION_PASSWORD_SQL: Final = (
    "UPDATE stations SET password = $2, updated_at = now() WHERE id = $1"
)
ANSWER_COMMAND_SQL: Final = """
UPDATE station_commands SET
    status = CASE WHEN $2 = 1 THEN 'accepted' ELSE 'rejected' END,
    qn_rtn = $2, answered_at = now(),
    finished_at = CASE WHEN $2 = 1 THEN NULL ELSE now() END
WHERE id = $1 AND status IN ('sent', 'queued')
"""
FINISH_COMMAND_SQL: Final = """
UPDATE station_commands SET
    status = CASE WHEN $2 = 1 THEN 'succeeded' ELSE 'failed' END,
    exe_rtn = $2, finished_at = now(), answered_at = COALESCE(answered_at, now())
WHERE id = $1 AND status IN ('sent', 'accepted', 'queued')
"""
COMPLETE_NOTIFY_COMMAND_SQL: Final = """
UPDATE station_commands SET status = 'succeeded', answered_at = now(), finished_at = now()
WHERE id = $1 AND status IN ('sent', 'accepted', 'queued')
"""
EXPIRE_COMMANDS_SQL: Final = """
UPDATE station_commands SET status = 'expired', finished_at = now(),
    error = COALESCE(error, 'no answer before expires_at')
WHERE status IN ('queued', 'sent', 'accepted') AND expires_at <= now()
RETURNING id
"""
INSERT_REPLY_SQL: Final = """
INSERT INTO command_replies (command_id, received_at, cn, fields, raw)
VALUES ($1, $2, $3, $4, $5)
"""
