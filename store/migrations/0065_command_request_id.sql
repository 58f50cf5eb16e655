-- The request id (store.logcontext) of the work that queued a downlink command — a
-- dashboard request's X-Request-Id — so the ingest worker that sends it, in another
-- process, logs the same request_id.
ALTER TABLE station_commands ADD COLUMN IF NOT EXISTS request_id text;
