-- 0043 grid / patrol / case web layer: permissions of the built-in roles for the three
-- modules, the 专业部门 (unit) role, dashboard logins ↔ grid people ↔ alert receivers,
-- the case-notice sender's bookkeeping and staged photo uploads.

-- Roles.  grid:read/write, patrol:read/write, cases:read/write are the route
-- permissions (web/{grid,patrol,cases}/routes.py); what a person may do to a case is then
-- decided by the workflow table (web/cases/workflow.py) from their grid role.
INSERT INTO web_roles (name, title_zh, permissions, builtin) VALUES
    ('unit', '专业部门',
     '{map:read,stations:read,grid:read,cases:read,cases:write,patrol:read,patrol:write}', true)
ON CONFLICT (name) DO NOTHING;

UPDATE web_roles
SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions || '{grid:read,grid:write,cases:read,cases:write,patrol:read,patrol:write}'::text[]) AS p
                        ORDER BY p)
WHERE name = 'officer' AND NOT ('*' = ANY (permissions));
UPDATE web_roles
SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions || '{grid:read,cases:read,cases:write,patrol:read,patrol:write}'::text[]) AS p
                        ORDER BY p)
WHERE name = 'grid_member' AND NOT ('*' = ANY (permissions));
UPDATE web_roles
SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions || '{grid:read,patrol:read}'::text[]) AS p
                        ORDER BY p)
WHERE name = 'maintainer' AND NOT ('*' = ANY (permissions));
UPDATE web_roles
SET permissions = ARRAY(SELECT DISTINCT p FROM unnest(permissions || '{grid:read,cases:read,patrol:read}'::text[]) AS p
                        ORDER BY p)
WHERE name = 'viewer' AND NOT ('*' = ANY (permissions));

-- A grid person acts in the dashboard through the login of the same name
-- (grid_people.user_name = web_users.username; renaming the login follows).
ALTER TABLE grid_people
    ADD CONSTRAINT grid_people_user_fk FOREIGN KEY (user_name)
        REFERENCES web_users (username) ON UPDATE CASCADE ON DELETE SET NULL;

-- … and is notified through an alert receiver (email / webhook / WeCom / DingTalk).
ALTER TABLE grid_people
    ADD COLUMN receiver_id integer REFERENCES alert_receivers (id) ON DELETE SET NULL;

-- The notice sender (web/cases/notify.py): each notice is claimed (status 'sending' with
-- a lease in next_attempt_at), sent through the recipient's receiver, then 'sent'; a
-- failure is retried with back-off until alerts.send_attempts, then 'failed'; a notice
-- nobody can receive (no recipient, no receiver, receiver disabled) is 'skipped'.
ALTER TABLE case_notices
    ADD COLUMN status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN receiver_id integer,
    ADD COLUMN channel text;
UPDATE case_notices SET status = 'sent' WHERE sent_at IS NOT NULL;
CREATE INDEX case_notices_pending_idx ON case_notices (next_attempt_at, due_at)
    WHERE status IN ('queued', 'sending');

-- Photos uploaded ahead of the action that uses them (POST /api/v1/uploads): the action
-- names the tokens; an unused upload is forgotten after a day (the file stays, shared by
-- content hash).
CREATE TABLE upload_staging (
    token         text PRIMARY KEY,
    user_id       integer NOT NULL REFERENCES web_users (id) ON DELETE CASCADE,
    path          text NOT NULL,
    mime          text NOT NULL,
    size          integer NOT NULL CHECK (size > 0),
    sha256        text NOT NULL,
    original_name text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX upload_staging_created_idx ON upload_staging (created_at);

-- "My cases" of a handler.
CREATE INDEX cases_handler_idx ON cases (handler_person_id) WHERE is_open;
-- Hazards by grid and state (the hazard list).
CREATE INDEX patrol_hazards_state_idx ON patrol_hazards (state, grid_id);
