-- 0001 meta: small key/value facts about this installation (schema notes, first start …).
CREATE TABLE app_meta (
    key        text PRIMARY KEY,
    value      text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE app_meta IS 'envgrid: key/value facts about this installation';
