-- 0059 The work calendar is filled from the chinesecalendar library (envgrid calendar
-- update, and at db migrate / start when empty); a day set by hand (envgrid calendar set,
-- the calendar page) is an override that every later update keeps.
-- Rows that exist before this migration were entered by hand: they become overrides.
ALTER TABLE work_calendar_days
    ADD COLUMN source     text NOT NULL DEFAULT 'override'
                          CHECK (source IN ('library', 'override')),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_by text NOT NULL DEFAULT '';
ALTER TABLE work_calendar_days ALTER COLUMN source SET DEFAULT 'library';

-- An override may restore the ordinary rule of a day (a weekday the library calls a
-- holiday, kept as a working day, or the reverse): kind 'workday' / 'holiday' says
-- what the day is, whatever the weekday.
