-- 0060 One case per station incident (web/casework/cases/bridge.py).
-- * alert_rule of an alert case is now the alert kind (exceedance / offline / flatline /
--   jump): several factors of one station join one case;
-- * priority follows the highest severity of the case's alerts (1 一般, 2 较重, 3 严重);
-- * recovered_at: when every alert of the case had cleared (已恢复), NULL while one is
--   active; a recovered case no longer takes new alerts once the incident window passed,
--   so "one open case" is one *unrecovered* open case per (station, kind);
-- * close_kind: how the case was closed — 'recovered' (an officer closed a recovered
--   case in one step), 'auto_recovered' (自动恢复: cleared quickly, nobody touched it).
ALTER TABLE cases
    ADD COLUMN priority     smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 1 AND 3),
    ADD COLUMN recovered_at timestamptz,
    ADD COLUMN close_kind   text CHECK (close_kind IN ('recovered', 'auto_recovered'));

-- Open cases of the per-factor keys of before ('exceedance:a34004') keep their key and
-- finish as they are; new alerts open and join cases by kind.
DROP INDEX cases_open_alert_idx;
CREATE UNIQUE INDEX cases_open_alert_idx ON cases (station_id, alert_rule)
    WHERE source = 'alert' AND is_open AND recovered_at IS NULL;
CREATE INDEX cases_open_station_alert_idx ON cases (station_id, alert_rule, id)
    WHERE source = 'alert' AND is_open;
