-- 0031 web, round 2: permissions of the alert pages, dashboard users linked to alert
-- receivers, and the registry-change notification the map's station cache listens to.

-- New permissions (web/permissions.py documents every one):
--   alerts:silence  silences and maintenance windows (within the user's data scope)
--   alerts:limits   per-station alert limits (stations admin, within the data scope)
--   alerts:admin    routing rules, receivers and their responsibilities (admins)
-- alerts:ack (round 1) covers acknowledge, resolve, assign and comment.
UPDATE web_roles SET permissions = permissions || '{alerts:silence,alerts:limits}'::text[]
WHERE name = 'officer' AND NOT permissions @> '{alerts:silence}';
UPDATE web_roles SET permissions = permissions || '{alerts:silence}'::text[]
WHERE name = 'maintainer' AND NOT permissions @> '{alerts:silence}';

-- A receiver may belong to a dashboard user (the user's e-mail address, WeCom/DingTalk
-- robot …): the user admin page shows and sets the link, the alert pages show whose
-- receiver it is.  Deleting the user keeps the receiver (unlinked).
ALTER TABLE alert_receivers
    ADD COLUMN user_id integer REFERENCES web_users (id) ON DELETE SET NULL;
CREATE INDEX alert_receivers_user_idx ON alert_receivers (user_id) WHERE user_id IS NOT NULL;

-- The map keeps the station facts (coordinates, names, scope membership) in memory and
-- rebuilds them when stations or areas change: every change is announced on
-- envgrid_registry (payload: the table), delivered at commit.  Row-level, so statements
-- that change no row (the ingest's edition update) stay silent; NOTIFY folds duplicates
-- within a transaction.
CREATE FUNCTION envgrid_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('envgrid_registry', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER stations_registry_changed
    AFTER INSERT OR UPDATE OR DELETE ON stations
    FOR EACH ROW EXECUTE FUNCTION envgrid_registry_changed();
CREATE TRIGGER stations_registry_truncated
    AFTER TRUNCATE ON stations
    FOR EACH STATEMENT EXECUTE FUNCTION envgrid_registry_changed();
CREATE TRIGGER areas_registry_changed
    AFTER INSERT OR UPDATE OR DELETE ON areas
    FOR EACH ROW EXECUTE FUNCTION envgrid_registry_changed();
