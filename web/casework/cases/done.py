"""已办 (cases I acted on): the cases in whose trail the caller's grid person made an
entry (a transition or a comment), newest entry first, with filters and paging.

Only people act in the trail under their own id (``case_events.actor_person_id``); a
dashboard account that is not linked to a grid person has no 已办 list (the answer says
so).  Dates are local days (``[cases]`` time zone), ``to`` inclusive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg

from web.casework.cases import history_queries as hq
from web.casework.cases.lifecycle import State
from web.casework.cases.record import action_label
from web.casework.kernel.config import CaseConfig

__all__ = ["DoneFilter", "done_cases"]


@dataclass(frozen=True, slots=True)
class DoneFilter:
    person_id: int
    day_from: date | None = None
    day_to: date | None = None
    action: str | None = None
    states: tuple[str, ...] | None = None
    open: bool | None = None
    category: str | None = None
    source: str | None = None
    search: str | None = None
    limit: int = 50
    offset: int = 0


async def done_cases(
    conn: asyncpg.Connection, f: DoneFilter, config: CaseConfig, now: datetime
) -> tuple[list[dict[str, Any]], int]:
    """One page of the person's 已办 cases and their total."""
    start = datetime.combine(f.day_from, time(0), config.tz) if f.day_from else None
    end = datetime.combine(f.day_to + timedelta(days=1), time(0), config.tz) if f.day_to else None
    rows = await hq.done_cases(
        conn, f.person_id, start, end, f.action,
        list(f.states) if f.states is not None else None, f.open, f.category, f.source,
        (f.search or "").strip() or None, f.limit, f.offset,
    )  # fmt: skip
    out: list[dict[str, Any]] = []
    total = 0
    for r in rows:
        row = dict(r)
        total = int(row.pop("total"))
        row["state_label"] = State(row["state"]).label
        row["acted_label"] = action_label(row["acted_action"])
        row["overdue"] = bool(row["deadline"] is not None and row["deadline"] < now)
        out.append(row)
    return out, total
