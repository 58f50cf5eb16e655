"""Every SQL statement of the forwarder and of its CLI and page (parameters only)."""

from __future__ import annotations

from typing import Final

# -- targets ------------------------------------------------------------------------
INSERT_TARGET_SQL: Final = """
INSERT INTO forward_targets (name, host, port, password, edition, sm4_key, cns, station_ids,
                             mn_map, backlog_alert_minutes, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id
"""
#: MNs → station ids; an MN that is not registered comes back with a NULL id.
STATION_IDS_SQL: Final = """
SELECT m.mn, s.id FROM unnest($1::text[]) AS m(mn) LEFT JOIN stations s ON s.mn = m.mn
"""
#: ``--since``: the frames already stored (DataTime ≥ ``$2``) of a new target's selection
#: into its backlog, in the order they were received.
ENQUEUE_STORED_SQL: Final = """
INSERT INTO forward_outbox (target_id, station_id, data_time, cn, pno, digest)
SELECT t.id, l.station_id, l.data_time, l.cn, l.pno, l.digest
FROM forward_targets t
JOIN packet_ledger l ON l.cn = ANY (t.cns)
                    AND (t.station_ids = '{}' OR l.station_id = ANY (t.station_ids))
WHERE t.id = $1 AND l.data_time >= $2
ORDER BY l.received_at, l.data_time
"""
DELETE_TARGET_SQL: Final = "DELETE FROM forward_targets WHERE name = $1 RETURNING id"
#: What list/status/page show: never the password or the key, only whether they are set.
LIST_TARGETS_SQL: Final = """
SELECT t.id, t.name, t.host, t.port, t.edition, t.password <> '' AS has_password,
       t.sm4_key IS NOT NULL AS encrypted, t.cns, t.backlog_alert_minutes, t.enabled,
       t.created_by, t.created_at,
       coalesce((SELECT array_agg(s.mn ORDER BY s.mn) FROM stations s
                 WHERE s.id = ANY (t.station_ids)), '{}') AS stations,
       (SELECT count(*) FROM jsonb_object_keys(t.mn_map)) AS mapped_mns
FROM forward_targets t ORDER BY t.name
"""
STATUS_SQL: Final = """
SELECT t.id, t.name, t.host, t.port, t.enabled, t.backlog_alert_minutes,
       coalesce(st.connected AND st.updated_at > now() - interval '30 seconds', false)
           AS connected,
       st.connected_at, st.last_sent_at, st.last_ack_at, st.updated_at,
       coalesce(st.sent, 0) AS sent, coalesce(st.acked, 0) AS acked,
       coalesce(st.resent, 0) AS resent, coalesce(st.errors, 0) AS errors,
       coalesce(st.expired, 0) AS expired, coalesce(st.last_error, '') AS last_error,
       b.backlog, b.oldest_unsent
FROM forward_targets t
LEFT JOIN forward_status st ON st.target_id = t.id
CROSS JOIN LATERAL (
    SELECT (SELECT count(*) FROM forward_outbox o WHERE o.target_id = t.id) AS backlog,
           (SELECT o.enqueued_at FROM forward_outbox o WHERE o.target_id = t.id
            ORDER BY o.seq LIMIT 1) AS oldest_unsent
) b
ORDER BY t.name
"""
#: The enabled targets with their sealed secrets (the forwarder opens them).
LOAD_TARGETS_SQL: Final = """
SELECT t.id, t.name, t.host, t.port, t.password, t.edition, t.sm4_key, t.mn_map,
       t.updated_at
FROM forward_targets t WHERE t.enabled ORDER BY t.id
"""

# -- the backlog --------------------------------------------------------------------
#: The last frame of the backlog lane: stored more than ``$2`` seconds ago.
BACKLOG_HEAD_SQL: Final = """
SELECT coalesce(max(seq), 0) FROM forward_outbox
WHERE target_id = $1 AND enqueued_at < now() - make_interval(secs => $2)
"""
#: Backlog rows with what re-encoding needs; a frame whose ledger row is gone (retention)
#: or whose station was deleted comes back with a NULL raw or MN.
_FRAMES_SQL: Final = """
SELECT o.seq, o.cn, o.data_time, s.mn, l.raw, coalesce(l.backfill, false) AS backfill
FROM forward_outbox o
LEFT JOIN stations s ON s.id = o.station_id
LEFT JOIN packet_ledger l ON l.station_id = o.station_id AND l.data_time = o.data_time
                         AND l.cn = o.cn AND l.pno = o.pno AND l.digest = o.digest
"""
#: The backlog rows ``$2`` of target ``$1`` read again by a statement of their own: a read
#: planned before a transaction that stored a frame committed, and run after it, sees the
#: frame's outbox row but not its ledger row when that row is the first of a new chunk
#: (TimescaleDB creates it with the row) or of a partition made for late data: planning
#: found the hypertable's or parent's children then.  A statement planned now finds them.
FRAMES_BY_SEQ_SQL: Final = (
    _FRAMES_SQL + "WHERE o.target_id = $1 AND o.seq = ANY ($2::bigint[]) ORDER BY o.seq"
)
#: The next frames of a target in ``($2, $4]`` (seq order), at most ``$3``.
NEXT_FRAMES_SQL: Final = (
    _FRAMES_SQL + "WHERE o.target_id = $1 AND o.seq > $2 AND o.seq <= $4 ORDER BY o.seq LIMIT $3"
)
#: Frames behind the cursors (live ``$2`` above head ``$6``, backlog ``$5``) that are
#: neither in flight nor acked (``$3``): stored by a transaction that committed after a
#: later one (sequence order is not commit order).
STRAGGLERS_SQL: Final = (
    _FRAMES_SQL
    + """WHERE o.target_id = $1 AND o.seq <= $2 AND NOT (o.seq = ANY ($3::bigint[]))
  AND (o.seq <= $5 OR o.seq > $6)
ORDER BY o.seq
LIMIT $4
"""
)
DELETE_ACKED_SQL: Final = """
DELETE FROM forward_outbox WHERE target_id = $1 AND seq = ANY ($2::bigint[])
"""
SAVE_STATUS_SQL: Final = """
INSERT INTO forward_status (target_id, connected, connected_at, last_sent_at, last_ack_at,
                            sent, acked, resent, errors, expired, last_error, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
ON CONFLICT (target_id) DO UPDATE SET
    connected = EXCLUDED.connected, connected_at = EXCLUDED.connected_at,
    last_sent_at = EXCLUDED.last_sent_at, last_ack_at = EXCLUDED.last_ack_at,
    sent = EXCLUDED.sent, acked = EXCLUDED.acked, resent = EXCLUDED.resent,
    errors = EXCLUDED.errors, expired = EXCLUDED.expired, last_error = EXCLUDED.last_error,
    updated_at = now()
"""
LOAD_STATUS_SQL: Final = """
SELECT sent, acked, resent, errors, expired FROM forward_status WHERE target_id = $1
"""
#: Per target: frames waiting and the age of the oldest (the backlog alert and metrics).
#: The oldest is the first by ``seq`` (the order of storing): an index lookup, not a scan.
BACKLOG_SQL: Final = """
SELECT t.id, t.name, t.backlog_alert_minutes,
       (SELECT count(*) FROM forward_outbox o WHERE o.target_id = t.id) AS backlog,
       extract(epoch FROM now() - (SELECT o.enqueued_at FROM forward_outbox o
                                   WHERE o.target_id = t.id ORDER BY o.seq LIMIT 1))::float8
           AS oldest_s
FROM forward_targets t
WHERE t.enabled
ORDER BY t.id
"""
TARGETS_CHANNEL: Final = "envgrid_forward_targets"
NOTIFY_TARGETS_SQL: Final = "SELECT pg_notify($1, $2)"
