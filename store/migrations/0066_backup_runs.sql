-- 0066 backup runs (store/backup/runs.py): every backup the scheduler runs — scheduled
-- ('scheduled') or asked for on the dashboard's 系统备份 page ('manual', state 'requested'
-- until the leader's scheduler picks it up) — with its progress and result.
--
-- At most one request waits and at most one backup runs (the two unique indexes); the
-- runner also holds a session advisory lock for the whole run, so a 'running' row whose
-- lock nobody holds was interrupted (its process died) and is shown and closed as such.
CREATE TABLE IF NOT EXISTS backup_runs (
    id           bigserial PRIMARY KEY,
    trigger      text NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    requested_by text,
    state        text NOT NULL CHECK (state IN ('requested', 'running', 'succeeded', 'failed')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    host         text,
    step         text NOT NULL DEFAULT '',
    step_done    bigint NOT NULL DEFAULT 0,
    step_total   bigint,
    file         text,
    size         bigint,
    seconds      double precision,
    error        text
);
CREATE UNIQUE INDEX IF NOT EXISTS backup_runs_one_requested ON backup_runs ((true))
    WHERE state = 'requested';
CREATE UNIQUE INDEX IF NOT EXISTS backup_runs_one_running ON backup_runs ((true))
    WHERE state = 'running';
CREATE INDEX IF NOT EXISTS backup_runs_requested_at_idx ON backup_runs (requested_at DESC);

-- Whether a backup holds the lock (store.backup.runs.LOCK_KEYS = (0x656E76, 20): the
-- two-key form shows in pg_locks as classid/objid with objsubid 2).
CREATE OR REPLACE FUNCTION envgrid_backup_lock_held() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND objsubid = 2
           AND classid = 6647414 AND objid = 20
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
$$;

-- The runs as the dashboard shows them: a 'running' row nobody holds the lock for is
-- 'interrupted'.
CREATE OR REPLACE VIEW backup_runs_shown AS
SELECT id, trigger, requested_by,
       CASE WHEN state = 'running' AND NOT envgrid_backup_lock_held() THEN 'interrupted'
            ELSE state END AS state,
       requested_at, started_at, finished_at, host, step, step_done, step_total, file, size,
       seconds, error
  FROM backup_runs;
