"""SQL of the casework kernel: the area tree and its data scope, units and people,
the work calendar, the notice outbox, staged uploads and attachments.

The data scope is written once, in the database: ``envgrid_scope_areas(int[])``
(migration 0030) gives the areas of the subtrees under the scope's roots, and every
query of the grid, patrol and case modules filters through it — the condition reads
``($n::int[] IS NULL OR <area id> IN (SELECT id FROM envgrid_scope_areas($n::int[])))``
(NULL = everything); :data:`DESCENDANT_IDS_SQL` is the same set for Python.  No SQL is
built from strings (tests/web/test_units); ``$n`` parameters only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypeAlias

import asyncpg

#: Where a query runs: a connection (in the caller's transaction) or the pool.
Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


class Query:
    """One SQL statement and how its result is read; called as ``await query(db, *args)``."""

    __slots__ = ("sql",)

    def __init__(self, sql: str) -> None:
        self.sql = sql


class Rows(Query):
    """A statement whose rows are read (``fetch``)."""

    async def __call__(self, db: Db, *args: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await db.fetch(self.sql, *args)
        return rows


class Row(Query):
    """A statement read as its first row, or None (``fetchrow``)."""

    async def __call__(self, db: Db, *args: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await db.fetchrow(self.sql, *args)
        return row


class Value(Query):
    """A statement read as the first column of its first row (``fetchval``)."""

    async def __call__(self, db: Db, *args: Any) -> Any:
        return await db.fetchval(self.sql, *args)


class Command(Query):
    """A statement run for its effect; returns the command status (``execute``)."""

    async def __call__(self, db: Db, *args: Any) -> str:
        status: str = await db.execute(self.sql, *args)
        return status


#: Forget staged uploads older than $1; the paths of their files that nothing refers to any
#: more (no attachment, no younger staged upload of the same content) come back.
PURGE_UPLOADS_SQL: Final = """
WITH gone AS (DELETE FROM upload_staging WHERE created_at < $1 RETURNING path)
SELECT count(*) AS purged,
       coalesce(array_agg(DISTINCT g.path) FILTER (
           WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.path = g.path)
             AND NOT EXISTS (SELECT 1 FROM upload_staging s
                             WHERE s.path = g.path AND s.created_at >= $1)), '{}') AS orphans
FROM gone g
"""


async def purge_staged_uploads(pool: asyncpg.Pool, before: datetime) -> tuple[int, list[str]]:
    """Forget staged uploads older than ``before``: (how many, the files now orphaned)."""
    row = await pool.fetchrow(PURGE_UPLOADS_SQL, before)
    assert row is not None
    return int(row["purged"]), list(row["orphans"])


#: The roots ($1 int[]) and all their descendants.
DESCENDANT_IDS_SQL: Final = "SELECT id FROM envgrid_scope_areas($1::int[])"
descendant_ids: Final = Rows(DESCENDANT_IDS_SQL)

ANCESTORS_SQL: Final = """
WITH RECURSIVE up AS (
    SELECT id, parent_id, level, code, name, 0 AS depth FROM areas WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, a.level, a.code, a.name, up.depth + 1
    FROM areas a JOIN up ON a.id = up.parent_id
    WHERE up.depth < 10
)
SELECT id, parent_id, level, code, name FROM up ORDER BY depth
"""
ancestors: Final = Rows(ANCESTORS_SQL)

INSERT_UNIT_SQL: Final = """
INSERT INTO grid_units (code, name, kind, phone) VALUES ($1, $2, $3, $4) RETURNING id
"""
insert_unit: Final = Value(INSERT_UNIT_SQL)

INSERT_PERSON_SQL: Final = """
INSERT INTO grid_people (name, phone, role, unit_id, user_name)
VALUES ($1, $2, $3, $4, $5) RETURNING id
"""
insert_person: Final = Value(INSERT_PERSON_SQL)

GET_PERSON_SQL: Final = """
SELECT id, name, phone, role, unit_id, user_name, active FROM grid_people WHERE id = $1
"""
get_person: Final = Row(GET_PERSON_SQL)

PERSON_BY_USER_SQL: Final = """
SELECT id, name, phone, role, unit_id, user_name, active FROM grid_people WHERE user_name = $1
"""
person_by_user: Final = Row(PERSON_BY_USER_SQL)

SET_DUTY_SQL: Final = """
INSERT INTO area_people (area_id, person_id, duty) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING
"""
set_duty: Final = Command(SET_DUTY_SQL)

REMOVE_DUTY_SQL: Final = """
DELETE FROM area_people WHERE area_id = $1 AND person_id = $2 AND duty = $3
"""
remove_duty: Final = Command(REMOVE_DUTY_SQL)

AREA_PEOPLE_SQL: Final = """
SELECT p.id, p.name, p.phone, p.role, ap.duty
FROM area_people ap JOIN grid_people p ON p.id = ap.person_id
WHERE ap.area_id = $1 AND ($2::text IS NULL OR ap.duty = $2) AND p.active
ORDER BY ap.duty, p.id
"""
area_people: Final = Rows(AREA_PEOPLE_SQL)

#: People with ``duty`` in the area or, if none there, in the nearest ancestor that has some.
NEAREST_DUTY_PEOPLE_SQL: Final = """
WITH found AS (
    SELECT p.id, up.depth
    FROM envgrid_area_ancestors($1) up
    JOIN area_people ap ON ap.area_id = up.id AND ap.duty = $2
    JOIN grid_people p ON p.id = ap.person_id AND p.active
)
SELECT id FROM found WHERE depth = (SELECT min(depth) FROM found) ORDER BY id
"""
nearest_duty_people: Final = Rows(NEAREST_DUTY_PEOPLE_SQL)

SET_AREA_UNIT_SQL: Final = """
INSERT INTO area_units (area_id, category, unit_id) VALUES ($1, $2, $3)
ON CONFLICT (area_id, category) DO UPDATE SET unit_id = EXCLUDED.unit_id
"""
set_area_unit: Final = Command(SET_AREA_UNIT_SQL)

#: An exact category match anywhere up the hierarchy beats '*'; nearer areas win ties.
RESPONSIBLE_UNIT_SQL: Final = """
SELECT au.unit_id
FROM envgrid_area_ancestors($1) up
JOIN area_units au ON au.area_id = up.id AND au.category IN ($2, '*')
JOIN grid_units u ON u.id = au.unit_id AND u.active
ORDER BY (au.category = '*'), up.depth
LIMIT 1
"""
responsible_unit: Final = Value(RESPONSIBLE_UNIT_SQL)

UNIT_PEOPLE_SQL: Final = """
SELECT id FROM grid_people WHERE unit_id = $1 AND active ORDER BY id
"""
unit_people: Final = Rows(UNIT_PEOPLE_SQL)

ROLE_PEOPLE_SQL: Final = """
SELECT id FROM grid_people WHERE role = $1 AND active ORDER BY id
"""
role_people: Final = Rows(ROLE_PEOPLE_SQL)

CALENDAR_DAYS_SQL: Final = """
SELECT day, kind FROM work_calendar_days WHERE day BETWEEN $1 AND $2
"""
calendar_days: Final = Rows(CALENDAR_DAYS_SQL)

#: The library's days ($1 dates, $2 kinds, $3 names; $4 the years it knows, $5 now):
#: library rows are written or corrected, overrides (set by hand) are left alone, and a
#: library row of a known year that the library no longer lists goes.
UPDATE_CALENDAR_SQL: Final = """
WITH lib AS (
    SELECT * FROM unnest($1::date[], $2::text[], $3::text[]) AS l (day, kind, name)
), gone AS (
    DELETE FROM work_calendar_days w
    WHERE w.source = 'library' AND extract(year FROM w.day)::int = ANY ($4::int[])
      AND NOT EXISTS (SELECT 1 FROM lib WHERE lib.day = w.day)
    RETURNING 1
), put AS (
    INSERT INTO work_calendar_days AS w (day, kind, name, source, updated_at, updated_by)
    SELECT day, kind, name, 'library', $5, 'chinesecalendar' FROM lib
    ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
                                    updated_at = EXCLUDED.updated_at,
                                    updated_by = EXCLUDED.updated_by
        WHERE w.source = 'library' AND (w.kind, w.name) <> (EXCLUDED.kind, EXCLUDED.name)
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FROM put WHERE inserted) AS inserted,
       (SELECT count(*) FROM put WHERE NOT inserted) AS updated,
       (SELECT count(*) FROM gone) AS removed,
       (SELECT count(*) FROM work_calendar_days w JOIN lib USING (day)
        WHERE w.source = 'override') AS overridden
"""
update_calendar: Final = Row(UPDATE_CALENDAR_SQL)

SET_CALENDAR_DAY_SQL: Final = """
INSERT INTO work_calendar_days AS w (day, kind, name, source, updated_at, updated_by)
VALUES ($1, $2, $3, 'override', $4, $5)
ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
    source = 'override', updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
"""
set_calendar_day: Final = Command(SET_CALENDAR_DAY_SQL)

CLEAR_CALENDAR_OVERRIDE_SQL: Final = """
DELETE FROM work_calendar_days WHERE day = $1 AND source = 'override' RETURNING kind
"""
clear_calendar_override: Final = Value(CLEAR_CALENDAR_OVERRIDE_SQL)

CALENDAR_YEAR_SQL: Final = """
SELECT day, kind, name, source, updated_at, updated_by FROM work_calendar_days
WHERE day >= make_date($1, 1, 1) AND day < make_date($1 + 1, 1, 1) ORDER BY day
"""
calendar_year: Final = Rows(CALENDAR_YEAR_SQL)

#: Years with at least one holiday (a year without one is not covered), and the count of
#: rows: the calendar page's year list and the "fill when empty" check.
CALENDAR_YEARS_SQL: Final = """
SELECT extract(year FROM day)::int AS year,
       count(*) FILTER (WHERE kind = 'holiday') AS holidays,
       count(*) FILTER (WHERE kind = 'workday') AS workdays,
       count(*) FILTER (WHERE source = 'override') AS overrides
FROM work_calendar_days GROUP BY 1 ORDER BY 1
"""
calendar_years: Final = Rows(CALENDAR_YEARS_SQL)

#: Lock the calendar against a concurrent filler, then: has the library filled it yet?
LOCK_CALENDAR_SQL: Final = "LOCK TABLE work_calendar_days IN SHARE ROW EXCLUSIVE MODE"
lock_calendar: Final = Command(LOCK_CALENDAR_SQL)
CALENDAR_FILLED_SQL: Final = (
    "SELECT EXISTS (SELECT 1 FROM work_calendar_days WHERE source = 'library')"
)
calendar_filled: Final = Value(CALENDAR_FILLED_SQL)

INSERT_ATTACHMENTS_SQL: Final = """
INSERT INTO attachments (owner, owner_id, path, mime, size, sha256, original_name, uploaded_by)
SELECT $1, $2, p.path, p.mime, p.size, p.sha256, p.original_name, $3
FROM unnest($4::text[], $5::text[], $6::int[], $7::text[], $8::text[])
     AS p (path, mime, size, sha256, original_name)
RETURNING id
"""
insert_attachments: Final = Rows(INSERT_ATTACHMENTS_SQL)

#: One notice per recipient ($9; a NULL element = nobody configured); dedup per key.
INSERT_NOTICES_SQL: Final = """
INSERT INTO case_notices (kind, recipient_person_id, case_id, task_id, hazard_id, due_at,
                          title, body, dedup_key)
SELECT $1, r, $2, $3, $4, $5, $6, $7, $8 || ':' || coalesce(r::text, '-')
FROM unnest($9::int[]) AS r
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
"""
insert_notices: Final = Rows(INSERT_NOTICES_SQL)

PERSON_DUTY_AREAS_SQL: Final = "SELECT DISTINCT area_id FROM area_people WHERE person_id = $1"
person_duty_areas: Final = Rows(PERSON_DUTY_AREAS_SQL)

STAGE_UPLOAD_SQL: Final = """
INSERT INTO upload_staging (token, user_id, path, mime, size, sha256, original_name)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""
stage_upload: Final = Command(STAGE_UPLOAD_SQL)

TAKE_UPLOADS_SQL: Final = """
DELETE FROM upload_staging WHERE token = ANY($1::text[]) AND user_id = $2
RETURNING token, path, mime, size, sha256, original_name
"""
take_uploads: Final = Rows(TAKE_UPLOADS_SQL)

#: The photos a case carries (attachments of all its events): count and total size.
CASE_PHOTO_USAGE_SQL: Final = """
SELECT count(*)::int AS files, COALESCE(sum(a.size), 0)::bigint AS bytes
FROM attachments a JOIN case_events e ON a.owner = 'case_event' AND a.owner_id = e.id
WHERE e.case_id = $1
"""
case_photo_usage: Final = Row(CASE_PHOTO_USAGE_SQL)

#: What user $1 uploaded on day $2 (no row: nothing).
UPLOAD_USAGE_SQL: Final = "SELECT files, bytes FROM upload_usage WHERE user_id = $1 AND day = $2"
upload_usage: Final = Row(UPLOAD_USAGE_SQL)

#: Count $3 photos of $4 bytes for user $1 on day $2 unless that passes $5 photos or $6
#: bytes (no row returned: refused, nothing counted).  The row lock serialises one user's
#: concurrent uploads, so two of them cannot both fit in the last room.
COUNT_UPLOAD_SQL: Final = """
INSERT INTO upload_usage AS u (user_id, day, files, bytes)
SELECT $1::int, $2::date, $3::int, $4::bigint WHERE $3::int <= $5::int AND $4::bigint <= $6::bigint
ON CONFLICT (user_id, day) DO UPDATE
    SET files = u.files + EXCLUDED.files, bytes = u.bytes + EXCLUDED.bytes
    WHERE u.files + EXCLUDED.files <= $5::int AND u.bytes + EXCLUDED.bytes <= $6::bigint
RETURNING files, bytes
"""
count_upload: Final = Row(COUNT_UPLOAD_SQL)

#: Forget user $1's days before $2 (one row per user and day; only today's is read).
FORGET_UPLOAD_USAGE_SQL: Final = "DELETE FROM upload_usage WHERE user_id = $1 AND day < $2"
forget_upload_usage: Final = Command(FORGET_UPLOAD_USAGE_SQL)

#: Whether the patrol task $1 or the hazard $2 (the other NULL) exists and lies in the
#: data scope $3 (NULL = everything).
PATROL_IN_SCOPE_SQL: Final = """
SELECT EXISTS (
    SELECT 1 FROM (SELECT grid_id FROM patrol_tasks WHERE id = $1
                   UNION ALL
                   SELECT grid_id FROM patrol_hazards WHERE id = $2) x
    WHERE $3::int[] IS NULL OR x.grid_id IN (SELECT id FROM envgrid_scope_areas($3::int[]))
)
"""
patrol_in_scope: Final = Value(PATROL_IN_SCOPE_SQL)

ATTACHMENT_SQL: Final = """
SELECT a.id, a.owner, a.owner_id, a.path, a.mime, a.original_name,
       CASE a.owner
           WHEN 'case_event' THEN (SELECT e.case_id FROM case_events e WHERE e.id = a.owner_id)
       END AS case_id,
       CASE a.owner
           WHEN 'task' THEN a.owner_id
           WHEN 'checkin' THEN (SELECT c.task_id FROM patrol_checkins c WHERE c.id = a.owner_id)
       END AS task_id,
       CASE a.owner
           WHEN 'hazard_round' THEN (SELECT r.hazard_id FROM hazard_rounds r
                                     WHERE r.id = a.owner_id)
       END AS hazard_id
FROM attachments a WHERE a.id = $1
"""
attachment: Final = Row(ATTACHMENT_SQL)

#: Claim due notices ($1 now, $2 lease seconds, $3 batch): queued ones whose attempt is
#: due, and 'sending' ones whose lease ran out (a sender died mid-send).  SKIP LOCKED: two
#: web processes never claim the same notice.  The channel: the person's receiver
#: (grid_people.receiver_id), else the first enabled receiver of the person's dashboard
#: login (alert_receivers.user_id, migration 0031).
CLAIM_NOTICES_SQL: Final = """
WITH due AS (
    SELECT id FROM case_notices
    WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1 AND due_at <= $1
    ORDER BY due_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE case_notices n
    SET status = 'sending', next_attempt_at = $1 + make_interval(secs => $2)
    FROM due WHERE n.id = due.id
    RETURNING n.id, n.kind, n.recipient_person_id, n.case_id, n.task_id, n.hazard_id,
              n.due_at, n.title, n.body, n.attempts
)
SELECT c.id, c.kind, c.recipient_person_id, p.name AS recipient_name, c.case_id, c.task_id,
       c.hazard_id, c.due_at, c.title, c.body, c.attempts,
       r.id AS receiver_id, r.name AS receiver_name, r.kind AS receiver_kind,
       r.address AS receiver_address, r.secret AS receiver_secret,
       r.settings AS receiver_settings, r.enabled AS receiver_enabled
FROM claimed c
LEFT JOIN grid_people p ON p.id = c.recipient_person_id
LEFT JOIN alert_receivers r ON r.id = coalesce(
    p.receiver_id,
    (SELECT ur.id FROM alert_receivers ur JOIN web_users u ON u.id = ur.user_id
     WHERE u.username = p.user_name AND ur.enabled ORDER BY ur.id LIMIT 1))
ORDER BY c.due_at, c.id
"""
claim_notices: Final = Rows(CLAIM_NOTICES_SQL)

NOTICE_SENT_SQL: Final = """
UPDATE case_notices
SET status = 'sent', sent_at = $2, attempts = attempts + 1, last_error = NULL,
    receiver_id = $3, channel = $4
WHERE id = $1
"""
notice_sent: Final = Command(NOTICE_SENT_SQL)

#: $3 the status after the attempt ('queued' = retry at $4, 'failed', 'skipped').
NOTICE_RETRY_SQL: Final = """
UPDATE case_notices
SET status = $3, next_attempt_at = $4, attempts = attempts + ($3 <> 'skipped')::int,
    last_error = $2, receiver_id = $5, channel = $6
WHERE id = $1
"""
notice_retry: Final = Command(NOTICE_RETRY_SQL)

LIST_NOTICES_SQL: Final = """
SELECT n.id, n.kind, n.recipient_person_id, p.name AS recipient_name, n.case_id, n.task_id,
       n.hazard_id, n.due_at, n.title, n.body, n.status, n.attempts, n.last_error, n.sent_at,
       n.channel
FROM case_notices n LEFT JOIN grid_people p ON p.id = n.recipient_person_id
WHERE ($1::bigint IS NULL OR n.case_id = $1)
  AND ($2::int IS NULL OR n.recipient_person_id = $2)
ORDER BY n.id DESC
LIMIT $3
"""


list_notices: Final = Rows(LIST_NOTICES_SQL)
