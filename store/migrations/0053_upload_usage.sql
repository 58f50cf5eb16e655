-- 0053 upload quotas: what each dashboard user uploaded per local day (photos and bytes
-- as sent), counted when the upload is accepted and before its files are written
-- (web/casework/kernel/quotas.py); the per-case quota is read from attachments.
CREATE TABLE upload_usage (
    user_id integer NOT NULL REFERENCES web_users (id) ON DELETE CASCADE,
    day     date NOT NULL,
    files   integer NOT NULL DEFAULT 0 CHECK (files >= 0),
    bytes   bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    PRIMARY KEY (user_id, day)
);
