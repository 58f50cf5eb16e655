-- 0069 The sample city of `envgrid demo load` (envgrid/demo): every row it creates is
-- listed here by kind and id, so that `envgrid demo clear` removes exactly those rows and
-- nothing else.  Rows that hang off them (measurements, rollups, station state, alerts,
-- case trail, patrol tasks …) are found through these ids.
CREATE TABLE demo_objects (
    kind       text NOT NULL CHECK (kind IN (
                   'area', 'unit', 'person', 'user', 'station', 'point', 'plan', 'case',
                   'hazard', 'alert')),
    id         bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, id)
);

-- The case trail stays append-only, with one exception: the trail of a demo case while
-- `envgrid demo clear` removes it (it sets envgrid.demo_clear for its transaction).
CREATE OR REPLACE FUNCTION envgrid_case_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('envgrid.demo_clear', true) = 'on'
       AND EXISTS (SELECT FROM demo_objects d WHERE d.kind = 'case' AND d.id = OLD.case_id)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'case_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
