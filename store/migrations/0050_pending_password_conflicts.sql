-- Issue 16, finding 9: a pending MN keeps the first password it presented; frames that
-- present another one are counted here (shown on the pending list: two loggers, or a
-- guesser, claim the same MN).
ALTER TABLE pending_stations ADD COLUMN pw_conflicts bigint NOT NULL DEFAULT 0;
