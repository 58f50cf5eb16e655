"""SQL of the 已办 list (cases a person acted on) and the public complaint status lookup
($n parameters only; the rest of the case module's SQL is in :mod:`.queries`)."""

from __future__ import annotations

from typing import Final

from web.casework.kernel.queries import Row, Rows

#: 已办: the cases a person acted on (transitions, comments), newest action first.
#: $1 person, $2 acted from, $3 acted before, $4 action, $5 states, $6 open,
#: $7 category, $8 source, $9 search text, $10 limit, $11 offset.
DONE_CASES_SQL: Final = """
SELECT c.id, c.code, c.title, c.category, cc.name AS category_name, c.source, c.state,
       c.urgent, c.grid_id, g.name AS grid_name, c.unit_id, u.name AS unit_name, c.stage,
       c.deadline, c.handle_deadline, c.supervised, c.handle_overdue, c.rework_count,
       c.reported_at, c.priority, c.recovered_at,
       m.acted_at, m.acted_action, m.acted_count, count(*) OVER () AS total
FROM (
    SELECT e.case_id, max(e.at) AS acted_at,
           (array_agg(e.action ORDER BY e.at DESC, e.seq DESC))[1] AS acted_action,
           count(*) AS acted_count
    FROM case_events e
    WHERE e.actor_person_id = $1
      AND ($2::timestamptz IS NULL OR e.at >= $2)
      AND ($3::timestamptz IS NULL OR e.at < $3)
      AND ($4::text IS NULL OR e.action = $4)
    GROUP BY e.case_id
) m
JOIN cases c ON c.id = m.case_id
LEFT JOIN areas g ON g.id = c.grid_id
LEFT JOIN grid_units u ON u.id = c.unit_id
LEFT JOIN case_categories cc ON cc.code = c.category
WHERE ($5::text[] IS NULL OR c.state = ANY ($5))
  AND ($6::boolean IS NULL OR c.is_open = $6)
  AND ($7::text IS NULL OR c.category = $7)
  AND ($8::text IS NULL OR c.source = $8)
  AND ($9::text IS NULL OR strpos(c.code || ' ' || c.title, $9) > 0)
ORDER BY m.acted_at DESC, c.id DESC
LIMIT $10 OFFSET $11
"""
done_cases: Final = Rows(DONE_CASES_SQL)

#: A complaint by its receipt number, for the public status lookup (the phone is compared
#: by the caller, never sent out).
COMPLAINT_STATUS_SQL: Final = """
SELECT id, code, state, reporter_phone, reported_at, accepted_at, dispatched_at,
       feedback_at, closed_at, ended_at
FROM cases WHERE code = $1 AND source = 'complaint'
"""
complaint_status: Final = Row(COMPLAINT_STATUS_SQL)

#: The replies the public may read: comments of the steps addressed to the complainant.
PUBLIC_REPLIES_SQL: Final = """
SELECT e.at, e.action, e.comment
FROM case_events e
WHERE e.case_id = $1 AND e.action = ANY ($2::text[]) AND e.comment <> ''
ORDER BY e.seq
"""
public_replies: Final = Rows(PUBLIC_REPLIES_SQL)
