-- 已办 (cases I acted on): a person's trail entries, newest first.
CREATE INDEX case_events_actor_idx ON case_events (actor_person_id, at DESC)
    WHERE actor_person_id IS NOT NULL;
