"""Patrol statistics: completion and on-time rates per person / grid and period;
hazards found and rectified.

For tasks whose period starts in ``[start, end)``: 完成率 = done / tasks; 按时完成率 =
done on time / tasks; 超期 = overdue, done late, or still open past the deadline at ``now``.
Hazards are those found by these tasks; 已整改 = passed review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from web.casework.patrol import queries as q

__all__ = ["PatrolStats", "patrol_stats"]


@dataclass(frozen=True, slots=True)
class PatrolStats:
    key: int | None
    name: str
    tasks: int
    done: int
    on_time: int
    overdue: int
    hazards: int
    rectified: int

    @property
    def completion_rate(self) -> float | None:
        return self.done / self.tasks if self.tasks else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.tasks if self.tasks else None


async def patrol_stats(
    conn: asyncpg.Connection,
    group: Literal["person", "grid"],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    scope: Sequence[int] | None = None,
) -> list[PatrolStats]:
    if group not in ("person", "grid"):
        raise ValueError("分组须为 person 或 grid")
    rows = await q.patrol_stats(conn, group, start, end, now, scope)
    return [
        PatrolStats(
            r["key"],
            r["name"] or "未指派",
            r["tasks"],
            r["done"],
            r["on_time"],
            r["overdue"],
            r["hazards"],
            r["rectified"],
        )
        for r in rows
    ]
