-- 0049 The audit logs (web_login_log, web_operation_log; 等保 2.0 安全审计) become
-- append-only to the application and are kept at least 180 days.
--
-- Two layers:
--
-- 1. Privileges.  The tables move to the schema envgrid_audit, and they, the schema and
--    the functions below belong to the NOLOGIN role envgrid_audit.  The role that runs
--    the migrations (the application's role) keeps SELECT and INSERT; UPDATE, DELETE and
--    TRUNCATE are revoked from everyone.  Being the owner of neither the tables nor their
--    schema, it can neither drop them nor disable their triggers (in public, the schema
--    of a database owner, it could drop them).  Rows leave only through
--    envgrid_audit.purge_older_than(keep_days), a SECURITY DEFINER function that refuses
--    keep_days < 180: the retention job (web.auth.jobs) is the one deletion path.  This
--    holds against any SQL of an application role that is neither superuser nor
--    CREATEROLE (CREATEROLE can grant itself envgrid_audit); such a role can still drop
--    the whole database if it owns it.
-- 2. A trigger refuses UPDATE, DELETE and TRUNCATE from anyone but envgrid_audit itself:
--    the purge (a DELETE of rows older than 180 days only) and the ON DELETE SET NULL of
--    web_users (an UPDATE that only clears user_id).  This also stops a superuser's plain
--    statements (the embedded cluster's DSN is its superuser); a superuser can still drop
--    the trigger or become envgrid_audit, which no rule inside PostgreSQL can prevent.
--
-- The migration needs a role that may create roles (superuser, or CREATEROLE once: it
-- may be taken away afterwards).  A runtime role other than the one that migrates needs
-- GRANT USAGE ON SCHEMA envgrid_audit, SELECT, INSERT ON its two tables and EXECUTE ON
-- FUNCTION envgrid_audit.purge_older_than(integer).  The 180 here and the minimum of
-- web.audit_retention_days (web/settings.py) are the same number.

DO $$
DECLARE
    me text := current_user;
    superuser boolean;
    may_create_roles boolean;
BEGIN
    SELECT rolsuper, rolsuper OR rolcreaterole INTO superuser, may_create_roles
    FROM pg_roles WHERE rolname = me;
    IF NOT may_create_roles THEN
        RAISE EXCEPTION 'migration 0049 (append-only audit logs) must create the role envgrid_audit, and % may not create roles', me
            USING HINT = format('run `envgrid db migrate` once as a superuser, or after ALTER ROLE %I CREATEROLE (it may be taken away afterwards)', me);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envgrid_audit') THEN
        BEGIN
            CREATE ROLE envgrid_audit NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- another database of the cluster migrating at the same moment
        END;
    END IF;
    IF NOT superuser THEN
        -- to hand objects over; taken back at the end of this migration
        EXECUTE format('GRANT envgrid_audit TO %I', me);
    END IF;
END $$;

CREATE SCHEMA envgrid_audit AUTHORIZATION envgrid_audit;
ALTER TABLE web_login_log SET SCHEMA envgrid_audit;
ALTER TABLE web_operation_log SET SCHEMA envgrid_audit;

CREATE FUNCTION envgrid_audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF current_user = 'envgrid_audit' THEN
        IF TG_OP = 'DELETE' AND OLD.ts < now() - interval '180 days' THEN
            RETURN OLD;
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.user_id IS NULL
           AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit records are kept at least 180 days and removed only by'
                     ' envgrid_audit.purge_older_than (web.audit_retention_days)';
END $$;

CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON envgrid_audit.web_login_log
    FOR EACH ROW EXECUTE FUNCTION envgrid_audit.refuse_change();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON envgrid_audit.web_login_log
    FOR EACH STATEMENT EXECUTE FUNCTION envgrid_audit.refuse_change();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON envgrid_audit.web_operation_log
    FOR EACH ROW EXECUTE FUNCTION envgrid_audit.refuse_change();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON envgrid_audit.web_operation_log
    FOR EACH STATEMENT EXECUTE FUNCTION envgrid_audit.refuse_change();

CREATE FUNCTION envgrid_audit.purge_older_than(keep_days integer)
RETURNS TABLE (login_rows bigint, operation_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, envgrid_audit, pg_temp AS $$
DECLARE
    cutoff timestamptz;
BEGIN
    IF keep_days IS NULL OR keep_days < 180 THEN
        RAISE EXCEPTION 'audit records are kept at least 180 days (asked to keep %)', keep_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    cutoff := now() - make_interval(days => keep_days);
    DELETE FROM envgrid_audit.web_login_log WHERE ts < cutoff;
    GET DIAGNOSTICS login_rows = ROW_COUNT;
    DELETE FROM envgrid_audit.web_operation_log WHERE ts < cutoff;
    GET DIAGNOSTICS operation_rows = ROW_COUNT;
    RETURN NEXT;
END $$;

ALTER TABLE envgrid_audit.web_login_log OWNER TO envgrid_audit;
ALTER TABLE envgrid_audit.web_operation_log OWNER TO envgrid_audit;
ALTER FUNCTION envgrid_audit.refuse_change() OWNER TO envgrid_audit;
ALTER FUNCTION envgrid_audit.purge_older_than(integer) OWNER TO envgrid_audit;
REVOKE ALL ON FUNCTION envgrid_audit.purge_older_than(integer) FROM PUBLIC;

DO $$
DECLARE
    me text := current_user;
    grant_ record;
BEGIN
    -- whatever was granted on the tables before: no UPDATE, DELETE, TRUNCATE for anyone
    FOR grant_ IN
        SELECT DISTINCT c.relname, a.grantee
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid IN ('envgrid_audit.web_login_log'::regclass,
                        'envgrid_audit.web_operation_log'::regclass)
          AND a.grantee <> c.relowner
          AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
    LOOP
        EXECUTE format(
            'REVOKE UPDATE, DELETE, TRUNCATE ON envgrid_audit.%I FROM %s', grant_.relname,
            CASE WHEN grant_.grantee = 0 THEN 'PUBLIC'
                 ELSE quote_ident(pg_get_userbyid(grant_.grantee)) END);
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA envgrid_audit TO %I', me);
    EXECUTE format(
        'GRANT SELECT, INSERT ON envgrid_audit.web_login_log, envgrid_audit.web_operation_log'
        ' TO %I', me);
    EXECUTE format(
        'GRANT EXECUTE ON FUNCTION envgrid_audit.purge_older_than(integer) TO %I', me);
    IF pg_has_role(me, 'envgrid_audit', 'MEMBER')
       AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = me) THEN
        EXECUTE format('REVOKE envgrid_audit FROM %I', me);
    END IF;
END $$;
