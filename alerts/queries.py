"""Every SQL statement of the alert engine and its API ($n parameters only, never
string-built: optional filters are ``($n::type IS NULL OR column = $n)``)."""

from __future__ import annotations

from typing import Final

# -- channels ------------------------------------------------------------------------------
NOTIFY_SQL: Final = "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload"
NOTIFY_ONE_SQL: Final = "SELECT pg_notify($1, $2)"

# -- configuration ---------------------------------------------------------------------------
LOAD_STATIONS_SQL: Final = """
SELECT id, mn, name, COALESCE(st, '') AS st, region, grid_id, enabled,
       COALESCE(rtd_interval::float8, min_interval * 60.0, 0.0) AS expected_interval,
       area_class
FROM stations
"""
LOAD_AREAS_SQL: Final = "SELECT id, parent_id, code FROM areas"
LOAD_FACTORS_SQL: Final = "SELECT id, code, name_zh, unit FROM factors"
LOAD_LIMITS_SQL: Final = """
SELECT rule, level, scope_key, factor_code, upper, lower, aqi_level, severity, enabled, source
FROM alert_limits
"""
LOAD_RULE_CONFIG_SQL: Final = """
SELECT rule, level, scope_key, factor_code, enabled, severity, params FROM alert_rule_config
"""
LOAD_ROUTES_SQL: Final = """
SELECT id, name, position, matchers, receiver_ids, to_roles, group_by, group_wait_s,
       group_interval_s, repeat_interval_s, send_resolved, mute_window_ids, continue_matching,
       enabled
FROM alert_routes ORDER BY position, id
"""
LOAD_RECEIVERS_SQL: Final = """
SELECT id, name, kind, address, secret, settings, enabled, user_id FROM alert_receivers
"""
LOAD_RESPONSIBILITIES_SQL: Final = """
SELECT receiver_id, role, scope, scope_key FROM alert_responsibilities
"""
LOAD_SILENCES_SQL: Final = """
SELECT id, matchers, extract(epoch FROM starts_at) AS starts_at,
       extract(epoch FROM ends_at) AS ends_at
FROM alert_silences WHERE ends_at > now()
"""
LOAD_WINDOWS_SQL: Final = """
SELECT id, name, matchers, recurring, extract(epoch FROM starts_at) AS starts_at,
       extract(epoch FROM ends_at) AS ends_at, weekdays, time_ranges, timezone, enabled
FROM alert_maintenance_windows WHERE ends_at IS NULL OR ends_at > now()
"""

# -- the engine: open alerts, transitions, rule state ----------------------------------------
LOAD_OPEN_ALERTS_SQL: Final = """
SELECT id, rule, scope_key, station_id, factor_id, state, inhibited_by, severity,
       extract(epoch FROM first_seen) AS first_seen, labels
FROM alerts WHERE state <> 'resolved'
"""
RESERVE_ALERT_IDS_SQL: Final = """
SELECT nextval(pg_get_serial_sequence('alerts', 'id')) FROM generate_series(1, $1)
"""
#: New alerts, one JSON array of rows (orjson on the way out: at 20,000 rows — a mass
#: outage — asyncpg's encoding of 22 array parameters cost 0.4 s, the JSON 10 ms); times
#: as POSIX seconds.
INSERT_ALERTS_SQL: Final = """
INSERT INTO alerts (id, rule, scope_key, station_id, factor_id, region, grid_id, state,
                    severity, first_seen, last_seen, fired_at, resolved_at, resolved_by, count,
                    value, threshold, reason, data_kind, trigger_values, labels, inhibited_by)
SELECT i, r, sk, st, f, rg, g, s, sv, to_timestamp(fs), to_timestamp(ls), to_timestamp(fa),
       to_timestamp(ra), rb, c, v, th, re, dk, COALESCE(tv, '[]'), COALESCE(lb, '{}'), ib
FROM jsonb_to_recordset($1::jsonb)
     AS t(i bigint, r text, sk text, st integer, f smallint, rg text, g integer, s text,
          sv text, fs float8, ls float8, fa float8, ra float8, rb text,
          c integer, v float8, th float8, re text, dk text, tv jsonb, lb jsonb, ib bigint)
ON CONFLICT (rule, scope_key, factor_id) WHERE state <> 'resolved' DO NOTHING
RETURNING id
"""
#: Engine updates of open alerts.  state '' = unchanged; a user's acknowledgement survives
#: the engine's firing; alerts a user resolved meanwhile are left alone.
UPDATE_ALERTS_SQL: Final = """
UPDATE alerts a SET
    state = CASE WHEN u.state = '' OR (u.state = 'firing' AND a.state = 'acknowledged')
                 THEN a.state ELSE u.state END,
    severity = COALESCE(u.severity, a.severity),
    last_seen = GREATEST(a.last_seen, u.last_seen),
    fired_at = COALESCE(a.fired_at, u.fired_at),
    resolved_at = COALESCE(u.resolved_at, a.resolved_at),
    resolved_by = CASE WHEN u.resolved_at IS NULL THEN a.resolved_by ELSE 'system' END,
    count = a.count + u.count,
    value = COALESCE(u.value, a.value),
    threshold = COALESCE(u.threshold, a.threshold),
    reason = CASE WHEN u.reason = '' THEN a.reason ELSE u.reason END,
    trigger_values = COALESCE(u.trigger_values::jsonb, a.trigger_values),
    labels = a.labels || COALESCE(u.labels::jsonb, '{}'::jsonb),
    updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
            $6::timestamptz[], $7::integer[], $8::float8[], $9::float8[], $10::text[],
            $11::text[], $12::text[])
     AS u(id, state, severity, last_seen, fired_at, resolved_at, count, value, threshold,
          reason, trigger_values, labels)
WHERE a.id = u.id AND a.state <> 'resolved'
RETURNING a.id, a.state
"""
UPDATE_INHIBITION_SQL: Final = """
UPDATE alerts a SET inhibited_by = u.by, updated_at = now()
FROM unnest($1::bigint[], $2::bigint[]) AS u(id, by)
WHERE a.id = u.id AND a.state <> 'resolved' AND a.inhibited_by IS DISTINCT FROM u.by
RETURNING a.id, a.state
"""
INSERT_EVENTS_SQL: Final = """
INSERT INTO alert_events (alert_id, kind, from_state, to_state, actor, comment, data)
SELECT a, k, f, t, 'system', '', COALESCE(d, '{}')
FROM jsonb_to_recordset($1::jsonb) AS u(a bigint, k text, f text, t text, d jsonb)
"""
LOAD_RULE_STATE_SQL: Final = "SELECT station_id, factor_id, rule, state FROM alert_rule_state"
SAVE_RULE_STATE_SQL: Final = """
INSERT INTO alert_rule_state (station_id, factor_id, rule, state, saved_at)
SELECT s, f, r, st::jsonb, now()
FROM unnest($1::integer[], $2::smallint[], $3::text[], $4::text[]) AS t(s, f, r, st)
ON CONFLICT (station_id, factor_id, rule) DO UPDATE SET state = EXCLUDED.state,
    saved_at = EXCLUDED.saved_at
"""
DELETE_RULE_STATE_SQL: Final = """
DELETE FROM alert_rule_state t
USING unnest($1::integer[], $2::smallint[], $3::text[]) AS d(s, f, r)
WHERE t.station_id = d.s AND t.factor_id = d.f AND t.rule = d.r
"""
GET_META_SQL: Final = "SELECT value FROM alert_engine_meta WHERE key = $1"
SET_META_SQL: Final = """
INSERT INTO alert_engine_meta (key, value, updated_at) VALUES ($1, $2, now())
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()
"""
#: Exceedance on means (alerts.means_job): the valid official hourly values of [$1, $2)
#: (station 2061 preferred, else computed with ≥ 45 minutes sampled) …
HOURLY_MEANS_SQL: Final = """
SELECT station_id, factor_id, extract(epoch FROM ts)::float8, value
FROM hourly_values WHERE ts >= $1 AND ts < $2 AND valid
"""
#: … and the stations' own valid daily values (2031) of the days starting in [$1, $2).
DAILY_REPORTED_SQL: Final = """
SELECT station_id, factor_id, extract(epoch FROM ts)::float8, value
FROM measurements_day
WHERE ts >= $1 AND ts < $2 AND value IS NOT NULL AND envgrid_flag_valid(flag)
"""
DB_NOW_SQL: Final = "SELECT extract(epoch FROM now())::float8"
DB_NOW_TS_SQL: Final = "SELECT now()"
#: Re-evaluation after a restart or a lost LISTEN connection: the data since $1.
CATCHUP_RTD_SQL: Final = """
SELECT station_id, factor_id, extract(epoch FROM ts)::float8, value, flag
FROM measurements_rtd WHERE ts >= $1 AND ts <= $2 AND value IS NOT NULL ORDER BY ts
"""
CATCHUP_MINUTE_SQL: Final = """
SELECT station_id, factor_id, extract(epoch FROM ts)::float8, value, flag
FROM measurements_minute WHERE ts >= $1 AND ts <= $2 AND value IS NOT NULL ORDER BY ts
"""
CATCHUP_HOUR_SQL: Final = """
SELECT station_id, factor_id, extract(epoch FROM ts)::float8, value, flag
FROM measurements_hour WHERE ts >= $1 AND ts <= $2 AND value IS NOT NULL ORDER BY ts
"""

# -- the offline sweep: one set-based query --------------------------------------------------
SWEEP_SQL: Final = """
SELECT s.id, s.region, s.enabled, COALESCE(st.connected, false),
       extract(epoch FROM st.last_data_at)::float8, extract(epoch FROM st.disconnected_at)::float8,
       st.worker
FROM stations s LEFT JOIN station_state st ON st.station_id = s.id
"""

# -- the dispatcher ----------------------------------------------------------------------------
LOAD_ACTIVE_ALERTS_SQL: Final = """
SELECT a.id, a.rule, a.scope_key, a.station_id, a.factor_id, a.region, a.grid_id, a.state,
       a.severity, a.first_seen, a.last_seen, a.fired_at, a.acknowledged_at, a.acknowledged_by,
       a.resolved_at, a.resolved_by, a.count, a.assignee, a.value, a.threshold, a.reason,
       a.data_kind, a.trigger_values, a.labels, a.inhibited_by, a.updated_at
FROM alerts a
WHERE a.state IN ('firing', 'acknowledged')
   OR (a.state = 'resolved' AND a.fired_at IS NOT NULL AND EXISTS (
        SELECT 1 FROM alert_deliveries d
        WHERE d.alert_id = a.id AND d.firing_at IS NOT NULL AND d.resolved_at IS NULL))
"""
LOAD_ALERTS_BY_ID_SQL: Final = """
SELECT a.id, a.rule, a.scope_key, a.station_id, a.factor_id, a.region, a.grid_id, a.state,
       a.severity, a.first_seen, a.last_seen, a.fired_at, a.acknowledged_at, a.acknowledged_by,
       a.resolved_at, a.resolved_by, a.count, a.assignee, a.value, a.threshold, a.reason,
       a.data_kind, a.trigger_values, a.labels, a.inhibited_by, a.updated_at
FROM alerts a WHERE a.id = ANY($1::bigint[])
"""
LOAD_DELIVERIES_SQL: Final = """
SELECT d.alert_id, d.route_id, d.receiver_id, d.group_key, d.firing_at IS NOT NULL,
       d.resolved_at IS NOT NULL
FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
WHERE a.state <> 'resolved' OR d.resolved_at IS NULL
"""
LOAD_GROUPS_SQL: Final = """
SELECT route_id, receiver_id, group_key, extract(epoch FROM created_at)::float8,
       extract(epoch FROM last_sent_at)::float8
FROM alert_groups
"""
UPSERT_GROUPS_SQL: Final = """
INSERT INTO alert_groups (route_id, receiver_id, group_key, labels, created_at, last_sent_at)
SELECT r, c, g, l::jsonb, to_timestamp(ca), to_timestamp(ls)
FROM unnest($1::integer[], $2::integer[], $3::text[], $4::text[], $5::float8[], $6::float8[])
     AS t(r, c, g, l, ca, ls)
ON CONFLICT (route_id, receiver_id, group_key) DO UPDATE SET
    created_at = EXCLUDED.created_at, last_sent_at = EXCLUDED.last_sent_at
"""
DELETE_GROUPS_SQL: Final = """
DELETE FROM alert_groups g
USING unnest($1::integer[], $2::integer[], $3::text[]) AS d(r, c, k)
WHERE g.route_id = d.r AND g.receiver_id = d.c AND g.group_key = d.k
"""
MARK_DELIVERIES_SQL: Final = """
INSERT INTO alert_deliveries (alert_id, route_id, receiver_id, group_key, firing_at,
                              resolved_at)
SELECT a, r, c, g, CASE WHEN f THEN now() END, CASE WHEN z THEN now() END
FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::text[], $5::boolean[],
            $6::boolean[]) AS t(a, r, c, g, f, z)
ON CONFLICT (alert_id, route_id, receiver_id) DO UPDATE SET
    firing_at = COALESCE(alert_deliveries.firing_at, EXCLUDED.firing_at),
    resolved_at = COALESCE(alert_deliveries.resolved_at, EXCLUDED.resolved_at),
    group_key = EXCLUDED.group_key
"""
QUEUE_NOTIFICATION_SQL: Final = """
INSERT INTO alert_notifications (idempotency_key, receiver_id, receiver_name, channel,
                                 route_id, group_key, kind, alert_ids, subject, message)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""
DUE_NOTIFICATIONS_SQL: Final = """
SELECT id, receiver_id, receiver_name, channel, kind, subject, message, attempts
FROM alert_notifications
WHERE status IN ('queued', 'sending') AND next_attempt_at <= now()
ORDER BY next_attempt_at, id
LIMIT $1
"""
#: The claim: only a row still due (queued, or sending with its lease run out) — of two
#: senders that read it (two leaders overlapping in a failover), one gets it (RETURNING).
MARK_SENDING_SQL: Final = """
UPDATE alert_notifications SET status = 'sending', attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => $2)
WHERE id = $1 AND status IN ('queued', 'sending') AND next_attempt_at <= now()
RETURNING id
"""
#: At an engine's start: rows a previous engine claimed and never marked (it died between
#: claim and mark; only one engine runs at a time — store.cluster) are due again now,
#: not when their lease runs out.  Not ``test`` rows: the CLI sends those itself.
RECLAIM_SQL: Final = """
UPDATE alert_notifications SET next_attempt_at = now()
WHERE status = 'sending' AND kind <> 'test' AND next_attempt_at > now()
RETURNING id
"""
MARK_SENT_SQL: Final = """
UPDATE alert_notifications SET status = 'sent', sent_at = now(), last_error = NULL WHERE id = $1
"""
MARK_RETRY_SQL: Final = """
UPDATE alert_notifications SET status = $4, last_error = $2,
    next_attempt_at = now() + make_interval(secs => $3)
WHERE id = $1
"""
DEFER_NOTIFICATION_SQL: Final = """
UPDATE alert_notifications SET next_attempt_at = now() + make_interval(secs => $2)
WHERE id = $1
"""

# -- housekeeping ----------------------------------------------------------------------------
PURGE_ALERTS_SQL: Final = """
DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < now() - make_interval(days => $1)
"""
PURGE_NOTIFICATIONS_SQL: Final = """
DELETE FROM alert_notifications
WHERE status IN ('sent', 'failed') AND created_at < now() - make_interval(days => $1)
"""
PURGE_SILENCES_SQL: Final = """
DELETE FROM alert_silences WHERE ends_at < now() - make_interval(days => $1)
"""
PURGE_RULE_STATE_SQL: Final = """
DELETE FROM alert_rule_state t
WHERE NOT EXISTS (SELECT 1 FROM stations s WHERE s.id = t.station_id AND s.enabled)
"""
PURGE_GROUPS_SQL: Final = """
DELETE FROM alert_groups g WHERE NOT EXISTS (
    SELECT 1 FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
    WHERE d.route_id = g.route_id AND d.receiver_id = g.receiver_id
      AND d.group_key = g.group_key AND (a.state <> 'resolved' OR d.resolved_at IS NULL))
"""

# -- the API (alerts.api): alerts ----------------------------------------------------------
#: One page of alerts (newest first) with the number of all that match: always one row at
#: least, the page's columns NULL when the page is empty.
LIST_ALERTS_SQL: Final = """
WITH m AS NOT MATERIALIZED (
    SELECT a.*
    FROM alerts a
    WHERE ($1::text[] IS NULL OR a.state = ANY($1))
      AND ($2::integer IS NULL OR a.station_id = $2)
      AND ($3::text IS NULL OR a.region = $3)
      AND ($4::integer IS NULL OR a.grid_id IN (
            WITH RECURSIVE sub AS (
                SELECT id FROM areas WHERE id = $4
                UNION ALL SELECT c.id FROM areas c JOIN sub ON c.parent_id = sub.id)
            SELECT id FROM sub))
      AND ($5::text[] IS NULL OR a.rule = ANY($5))
      AND ($6::text[] IS NULL OR a.severity = ANY($6))
      AND ($7::timestamptz IS NULL OR a.first_seen >= $7)
      AND ($8::timestamptz IS NULL OR a.first_seen < $8)
      AND ($9::boolean OR a.fired_at IS NOT NULL))
SELECT p.*, t.total
FROM (SELECT count(*) AS total FROM m) t
LEFT JOIN LATERAL (
    SELECT * FROM m ORDER BY first_seen DESC, id DESC LIMIT $10 OFFSET $11) p ON true
ORDER BY p.first_seen DESC, p.id DESC
"""
GET_ALERT_SQL: Final = "SELECT a.* FROM alerts a WHERE a.id = $1"
ALERT_EVENTS_SQL: Final = """
SELECT id, alert_id, at, kind, from_state, to_state, actor, comment, data
FROM alert_events WHERE alert_id = $1 ORDER BY id
"""
ALERT_NOTIFICATIONS_SQL: Final = """
SELECT id, receiver_id, receiver_name, channel, route_id, group_key, kind, alert_ids, subject,
       status, attempts, last_error, created_at, sent_at
FROM alert_notifications WHERE alert_ids @> ARRAY[$1::bigint] ORDER BY id
"""
ACK_ALERT_SQL: Final = """
UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(), acknowledged_by = $2,
    updated_at = now()
WHERE id = $1 AND state = 'firing'
RETURNING state
"""
RESOLVE_ALERT_SQL: Final = """
UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = $2, updated_at = now()
WHERE id = $1 AND state <> 'resolved'
RETURNING state
"""
ASSIGN_ALERT_SQL: Final = """
UPDATE alerts SET assignee = $2, updated_at = now() WHERE id = $1 RETURNING state
"""
ALERT_STATE_SQL: Final = "SELECT state FROM alerts WHERE id = $1"
INSERT_EVENT_SQL: Final = """
INSERT INTO alert_events (alert_id, kind, from_state, to_state, actor, comment, data)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""

# -- the API: notifications log --------------------------------------------------------------
LIST_NOTIFICATIONS_SQL: Final = """
SELECT id, receiver_id, receiver_name, channel, route_id, group_key, kind, alert_ids, subject,
       status, attempts, last_error, created_at, sent_at
FROM alert_notifications
WHERE ($1::integer IS NULL OR receiver_id = $1)
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR kind = $3)
  AND ($4::bigint IS NULL OR alert_ids @> ARRAY[$4::bigint])
  AND ($5::timestamptz IS NULL OR created_at >= $5)
ORDER BY id DESC
LIMIT $6 OFFSET $7
"""
GET_NOTIFICATION_SQL: Final = """
SELECT id, receiver_id, receiver_name, channel, route_id, group_key, kind, alert_ids, subject,
       status, attempts, last_error, created_at, sent_at, message
FROM alert_notifications WHERE id = $1
"""

# -- the API: receivers, responsibilities, routes --------------------------------------------
INSERT_RECEIVER_SQL: Final = """
INSERT INTO alert_receivers (name, kind, address, secret, settings, enabled)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
"""
UPDATE_RECEIVER_SQL: Final = """
UPDATE alert_receivers SET name = $2, kind = $3, address = $4,
    secret = CASE WHEN $5::boolean THEN $6 ELSE secret END,
    settings = $7, enabled = $8, updated_at = now()
WHERE id = $1 RETURNING id
"""
LIST_RECEIVERS_SQL: Final = """
SELECT id, name, kind, address, secret IS NOT NULL AS has_secret, settings, enabled, created_at,
       updated_at
FROM alert_receivers ORDER BY name
"""
GET_RECEIVER_SQL: Final = """
SELECT id, name, kind, address, secret, settings, enabled, user_id FROM alert_receivers
WHERE id = $1 OR name = $2
"""
DELETE_RECEIVER_SQL: Final = "DELETE FROM alert_receivers WHERE id = $1 RETURNING id"
INSERT_RESPONSIBILITY_SQL: Final = """
INSERT INTO alert_responsibilities (receiver_id, role, scope, scope_key) VALUES ($1, $2, $3, $4)
ON CONFLICT (receiver_id, role, scope, scope_key) DO UPDATE SET role = EXCLUDED.role
RETURNING id
"""
LIST_RESPONSIBILITIES_SQL: Final = """
SELECT p.id, p.receiver_id, r.name AS receiver_name, p.role, p.scope, p.scope_key, p.created_at
FROM alert_responsibilities p JOIN alert_receivers r ON r.id = p.receiver_id
WHERE ($1::integer IS NULL OR p.receiver_id = $1)
ORDER BY r.name, p.scope, p.scope_key
"""
DELETE_RESPONSIBILITY_SQL: Final = "DELETE FROM alert_responsibilities WHERE id = $1 RETURNING id"
INSERT_ROUTE_SQL: Final = """
INSERT INTO alert_routes (name, position, matchers, receiver_ids, to_roles, group_by,
                          group_wait_s, group_interval_s, repeat_interval_s, send_resolved,
                          mute_window_ids, continue_matching, enabled)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id
"""
UPDATE_ROUTE_SQL: Final = """
UPDATE alert_routes SET name = $2, position = $3, matchers = $4, receiver_ids = $5,
    to_roles = $6, group_by = $7, group_wait_s = $8, group_interval_s = $9,
    repeat_interval_s = $10, send_resolved = $11, mute_window_ids = $12,
    continue_matching = $13, enabled = $14, updated_at = now()
WHERE id = $1 RETURNING id
"""
LIST_ROUTES_SQL: Final = """
SELECT id, name, position, matchers, receiver_ids, to_roles, group_by, group_wait_s,
       group_interval_s, repeat_interval_s, send_resolved, mute_window_ids, continue_matching,
       enabled, created_at, updated_at
FROM alert_routes ORDER BY position, id
"""
DELETE_ROUTE_SQL: Final = "DELETE FROM alert_routes WHERE id = $1 RETURNING id"

# -- the API: silences and maintenance windows -----------------------------------------------
INSERT_SILENCE_SQL: Final = """
INSERT INTO alert_silences (matchers, starts_at, ends_at, created_by, comment)
VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
LIST_SILENCES_SQL: Final = """
SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at,
       (starts_at <= now() AND ends_at > now()) AS active
FROM alert_silences
WHERE NOT $1::boolean OR ends_at > now()
ORDER BY starts_at DESC, id DESC
"""
EXPIRE_SILENCE_SQL: Final = """
UPDATE alert_silences SET ends_at = GREATEST(starts_at + interval '1 microsecond', now()),
    comment = CASE WHEN $2 = '' THEN comment ELSE comment || ' [' || $2 || ']' END
WHERE id = $1 AND ends_at > now() RETURNING id
"""
DELETE_SILENCE_SQL: Final = "DELETE FROM alert_silences WHERE id = $1 RETURNING id"
INSERT_WINDOW_SQL: Final = """
INSERT INTO alert_maintenance_windows (name, matchers, recurring, starts_at, ends_at, weekdays,
                                       time_ranges, timezone, enabled, created_by, comment)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id
"""
UPDATE_WINDOW_SQL: Final = """
UPDATE alert_maintenance_windows SET name = $2, matchers = $3, recurring = $4, starts_at = $5,
    ends_at = $6, weekdays = $7, time_ranges = $8, timezone = $9, enabled = $10, comment = $11,
    updated_at = now()
WHERE id = $1 RETURNING id
"""
LIST_WINDOWS_SQL: Final = """
SELECT id, name, matchers, recurring, starts_at, ends_at, weekdays, time_ranges, timezone,
       enabled, created_by, comment, created_at, updated_at
FROM alert_maintenance_windows ORDER BY name
"""
DELETE_WINDOW_SQL: Final = "DELETE FROM alert_maintenance_windows WHERE id = $1 RETURNING id"

# -- the API: limits and rule configuration --------------------------------------------------
UPSERT_LIMIT_SQL: Final = """
INSERT INTO alert_limits (rule, level, scope_key, factor_code, upper, lower, aqi_level,
                          severity, enabled, source, updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())
ON CONFLICT (rule, level, scope_key, factor_code) DO UPDATE SET
    upper = EXCLUDED.upper, lower = EXCLUDED.lower, aqi_level = EXCLUDED.aqi_level,
    severity = EXCLUDED.severity, enabled = EXCLUDED.enabled, source = EXCLUDED.source,
    updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING id
"""
LIST_LIMITS_SQL: Final = """
SELECT id, rule, level, scope_key, factor_code, upper, lower, aqi_level, severity, enabled,
       source, updated_by, updated_at
FROM alert_limits
WHERE ($1::text IS NULL OR factor_code = $1)
  AND ($2::text IS NULL OR level = $2)
  AND ($3::text IS NULL OR scope_key = $3)
ORDER BY factor_code, rule, level, scope_key
"""
DELETE_LIMIT_SQL: Final = "DELETE FROM alert_limits WHERE id = $1 RETURNING id"
UPSERT_RULE_CONFIG_SQL: Final = """
INSERT INTO alert_rule_config (rule, level, scope_key, factor_code, enabled, severity, params,
                               updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
ON CONFLICT (rule, level, scope_key, factor_code) DO UPDATE SET
    enabled = EXCLUDED.enabled, severity = EXCLUDED.severity, params = EXCLUDED.params,
    updated_by = EXCLUDED.updated_by, updated_at = now()
RETURNING id
"""
LIST_RULE_CONFIG_SQL: Final = """
SELECT id, rule, level, scope_key, factor_code, enabled, severity, params, updated_by, updated_at
FROM alert_rule_config
WHERE ($1::text IS NULL OR rule = $1)
ORDER BY rule, level, scope_key, factor_code
"""
DELETE_RULE_CONFIG_SQL: Final = "DELETE FROM alert_rule_config WHERE id = $1 RETURNING id"
STATION_ID_SQL: Final = "SELECT id FROM stations WHERE id::text = $1 OR mn = $1"

# -- metrics (alerts.metrics) ---------------------------------------------------------------
#: Messages waiting in the delivery log by channel (the partial index on the due rows).
PENDING_NOTIFICATIONS_SQL: Final = """
SELECT channel, count(*) AS n FROM alert_notifications
WHERE status IN ('queued', 'sending') GROUP BY channel
"""
