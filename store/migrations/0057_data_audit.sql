-- 0057 data audit (数据审核, issue 20 B): officers invalidate or restore official hourly
-- values; the raw data (measurements_*, the rollups) is never changed — the audit is a
-- layer on top, read by the official series.  See aggregates/audit/__init__.py.
--
-- * audit_marks: the present state, one row per invalidated (station, factor, hour).
--   Written and deleted only by aggregates.audit.actions, in the same transaction as the
--   log row that explains it and the agg_dirty_days rows of the local days it touches
--   (run_refresh recomputes those days' official values at its next run, on both engines).
-- * envgrid_audit.data_audit_log: every invalidation and restoration, append-only like the
--   web logs of 0049 (owned by envgrid_audit, UPDATE/DELETE/TRUNCATE refused by a trigger
--   and revoked); its ids are the feed other modules read (forwarding corrections
--   upstream: aggregates.audit.log.changes_since).
-- * audit_proposals: the automatic pre-audit findings (negative value, beyond the
--   instrument range, calibration/maintenance samples in a valid hour, PM2.5 > PM10),
--   proposed only; an officer confirms them (→ invalidation) or dismisses them.
-- * hourly_values (0011) is renamed hourly_values_raw; the new hourly_values reads it and applies
--   the marks: valid = raw_valid AND NOT audited; the value is kept, so the station page
--   can show raw and audited side by side.  Everything downstream (daily_values,
--   monthly/yearly values, AQI, rankings, reports, API, exports) reads hourly_values.

CREATE TABLE audit_marks (
    station_id integer NOT NULL,
    factor_id  smallint NOT NULL,
    hour       timestamptz NOT NULL,          -- start of the official hour (hourly_values.ts)
    log_id     bigint NOT NULL,               -- envgrid_audit.data_audit_log.id that set it
    reason     text NOT NULL,
    marked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, factor_id, hour)
);

CREATE TABLE audit_proposals (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    station_id  integer NOT NULL,
    factor_id   smallint NOT NULL,
    hour        timestamptz NOT NULL,
    rule        text NOT NULL
                CHECK (rule IN ('negative', 'range', 'calibration', 'pm25_gt_pm10')),
    value       double precision,
    detail      text NOT NULL DEFAULT '',
    found_at    timestamptz NOT NULL DEFAULT now(),
    status      text NOT NULL DEFAULT 'open'
                CHECK (status IN ('open', 'confirmed', 'dismissed')),
    decided_by  text,
    decided_at  timestamptz,
    log_id      bigint,                       -- the invalidation a confirmation made
    UNIQUE (station_id, factor_id, hour, rule)
);
CREATE INDEX audit_proposals_open_idx ON audit_proposals (station_id, hour)
    WHERE status = 'open';

-- the official hourly series before the audit: 0011's view, kept as it is under a new name
ALTER VIEW hourly_values RENAME TO hourly_values_raw;
COMMENT ON VIEW hourly_values_raw IS
    'official hourly values before the data audit (hourly_values applies audit_marks)';

-- same columns as before, in the same order, plus audited / raw_valid / audit_reason
CREATE VIEW hourly_values AS
    SELECT h.station_id, h.factor_id, h.ts, h.value, h.vmin, h.vmax,
           h.valid AND am.station_id IS NULL AS valid,
           h.source, h.basis, h.flag, h.n_samples, h.coverage_min,
           h.n_flag_m, h.n_flag_c, h.n_flag_d, h.n_flag_f, h.n_flag_t, h.n_flag_b,
           h.n_flag_other,
           am.station_id IS NOT NULL AS audited,
           h.valid AS raw_valid,
           am.reason AS audit_reason
      FROM hourly_values_raw h
      LEFT JOIN audit_marks am
             ON am.station_id = h.station_id AND am.factor_id = h.factor_id
            AND am.hour = h.ts;
COMMENT ON VIEW hourly_values IS
    'official hourly values: station-reported (2061) preferred, computed hours fill the gaps;'
    ' hours invalidated by the data audit (audit_marks) are not valid (audited = true)';

-- officers audit data: the built-in officer role gets the new permission (admin has *)
UPDATE web_roles SET permissions = permissions || '{data:audit}'::text[]
 WHERE name = 'officer' AND NOT permissions @> '{data:audit}'::text[];

-- the append-only log, placed like 0049's logs (schema and table owned by envgrid_audit)
DO $$
DECLARE
    me text := current_user;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envgrid_audit') THEN
        RAISE EXCEPTION 'migration 0057 needs the role envgrid_audit of migration 0049';
    END IF;
    IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = me)
       AND NOT pg_has_role(me, 'envgrid_audit', 'MEMBER') THEN
        RAISE EXCEPTION 'migration 0057 (append-only data audit log) must hand a table to the role envgrid_audit, and % may not grant roles', me
            USING HINT = format('run `envgrid db migrate` once as a superuser, or after ALTER ROLE %I CREATEROLE (it may be taken away afterwards)', me);
    END IF;
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = me)
       AND NOT pg_has_role(me, 'envgrid_audit', 'MEMBER') THEN
        -- to hand the table over; taken back at the end of this migration
        EXECUTE format('GRANT envgrid_audit TO %I', me);
    END IF;
END $$;

CREATE TABLE envgrid_audit.data_audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,               -- dashboard user name, or the OS user (CLI)
    actor_kind   text NOT NULL CHECK (actor_kind IN ('web', 'cli')),
    user_id      integer,                     -- web_users.id of a dashboard action
    action       text NOT NULL CHECK (action IN ('invalidate', 'restore')),
    station_id   integer NOT NULL,
    mn           text NOT NULL,
    factor_codes text[] NOT NULL,             -- the factors asked for (all: every factor)
    ts_from      timestamptz NOT NULL,        -- first hour covered
    ts_to        timestamptz NOT NULL,        -- end of the last hour covered (exclusive)
    reason       text NOT NULL,
    note         text NOT NULL DEFAULT '',
    source       text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'proposal')),
    n_changed    integer NOT NULL,            -- hours whose audit state changed
    changes      jsonb NOT NULL DEFAULT '[]'  -- [{factor, hour, value, before, after}]: valid
                                              -- before / after of each changed hour
);
CREATE INDEX data_audit_log_station_idx ON envgrid_audit.data_audit_log (station_id, ts_from);

CREATE FUNCTION envgrid_audit.refuse_data_audit_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'a data audit is undone by a new record (envgrid audit restore), never'
                     ' by changing the log';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON envgrid_audit.data_audit_log
    FOR EACH ROW EXECUTE FUNCTION envgrid_audit.refuse_data_audit_change();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON envgrid_audit.data_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION envgrid_audit.refuse_data_audit_change();

ALTER TABLE envgrid_audit.data_audit_log OWNER TO envgrid_audit;
ALTER FUNCTION envgrid_audit.refuse_data_audit_change() OWNER TO envgrid_audit;

DO $$
DECLARE
    me text := current_user;
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON envgrid_audit.data_audit_log FROM %I', me);
    EXECUTE format('GRANT SELECT, INSERT ON envgrid_audit.data_audit_log TO %I', me);
    IF pg_has_role(me, 'envgrid_audit', 'MEMBER')
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = me) THEN
        EXECUTE format('REVOKE envgrid_audit FROM %I', me);
    END IF;
END $$;
