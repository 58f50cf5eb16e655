"""Assessment (考核): 按期结案率, 结案率, 返工率, 超期数 per unit / grid / person / area.

Definitions (CASES.md §4.4; CJ/T 292 / GB/T 30428.4)
------------------------------------------------------
A case is *assessable* once it has been dispatched (派遣) and unless it was cancelled
(作废) or rejected.  Each assessable case counts in exactly one period, at its
**assessment instant** ``assess_at`` (kept on the row by the services):

* a hung case (挂账/缓办): when it was hung;
* a closed case: the earlier of its closing time and its disposal deadline (处置时限,
  including approved extensions) — so a case closed late counts in the period its
  deadline fell in, and that never moves once the deadline has passed;
* any other case: its disposal deadline.

For a period ``[start, end)`` evaluated at ``as_of`` (normally ``min(now, end)``):

* **应结案数** (due) — assessable cases with ``start ≤ assess_at < end`` and
  ``assess_at ≤ as_of`` (open cases whose deadline is still ahead are not due yet);
* **缓办数** (hung) — due cases currently 挂账;
* **结案数** (closed) — due cases that are closed or archived;
* **按期结案数** (on time) — closed cases whose disposal was fed back within the deadline
  (``handle_overdue`` false: set when feedback came late or the deadline passed in 处置);
* **超期数** (overdue) — due cases that overran the disposal deadline: ``handle_overdue``,
  or still open (not hung) with the deadline before ``as_of``;
* **返工数** (rework) — closed cases that failed a check (核查不通过) at least once.
* **自动恢复数** (auto_recovered) — alert cases closed by themselves as 自动恢复 (their
  alerts cleared within ``cases.auto_close_recovered_minutes`` and nobody acted): counted
  here only, *not* in 应结案 and the rates — nobody had to handle them.  A recovered case
  an officer closed (恢复结案) counts like any closed case.

Rates (None when the denominator is 0):
按期结案率 = 按期结案数 / (应结案数 − 缓办数); 结案率 = 结案数 / (应结案数 − 缓办数);
返工率 = 返工数 / 结案数.

Cards: a group with at least ``card_min_cases`` (应结案 − 缓办) cases gets a red card when
按期结案率 < ``card_red_below``, a yellow card when < ``card_yellow_below``.

:func:`assess` is the pure reference implementation (tests and small sets);
:func:`assessment` computes the same in SQL over the ``cases_assess_idx`` index.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import asyncpg

from web.casework.cases import queries as q

__all__ = [
    "GROUPS",
    "AssessmentRow",
    "CaseFacts",
    "Indicators",
    "assess",
    "assessment",
    "card",
]

Group = Literal["unit", "grid", "person", "area", "all"]
GROUPS: Final = ("unit", "grid", "person", "area", "all")
_CLOSED: Final = frozenset({"closed", "archived"})


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the assessment needs to know about one case."""

    state: str
    assess_at: datetime | None
    handle_deadline: datetime | None
    handle_overdue: bool = False
    rework_count: int = 0
    unit_id: int | None = None
    grid_id: int | None = None
    person_id: int | None = None
    close_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Indicators:
    due: int = 0  # 应结案数
    hung: int = 0  # 缓办数
    closed: int = 0  # 结案数
    on_time: int = 0  # 按期结案数
    overdue: int = 0  # 超期数
    rework: int = 0  # 返工数
    auto_recovered: int = 0  # 自动恢复数 (not in due)

    @property
    def base(self) -> int:
        """应结案数 − 缓办数."""
        return self.due - self.hung

    @property
    def on_time_rate(self) -> float | None:
        """按期结案率."""
        return self.on_time / self.base if self.base > 0 else None

    @property
    def closure_rate(self) -> float | None:
        """结案率."""
        return self.closed / self.base if self.base > 0 else None

    @property
    def rework_rate(self) -> float | None:
        """返工率."""
        return self.rework / self.closed if self.closed > 0 else None

    def __add__(self, other: Indicators) -> Indicators:
        return Indicators(
            self.due + other.due,
            self.hung + other.hung,
            self.closed + other.closed,
            self.on_time + other.on_time,
            self.overdue + other.overdue,
            self.rework + other.rework,
            self.auto_recovered + other.auto_recovered,
        )


def _one(c: CaseFacts, as_of: datetime) -> Indicators:
    if c.close_kind == "auto_recovered":
        return Indicators(auto_recovered=1)
    closed = c.state in _CLOSED
    hung = c.state == "hung"
    overdue = c.handle_overdue or (
        not closed and not hung and c.handle_deadline is not None and c.handle_deadline < as_of
    )
    return Indicators(
        due=1,
        hung=int(hung),
        closed=int(closed),
        on_time=int(closed and not c.handle_overdue),
        overdue=int(overdue),
        rework=int(closed and c.rework_count > 0),
    )


def assess(
    cases: Iterable[CaseFacts],
    start: datetime,
    end: datetime,
    as_of: datetime,
    key: Callable[[CaseFacts], Hashable] = lambda c: None,
) -> dict[Hashable, Indicators]:
    """Indicators per ``key(case)`` for the period ``[start, end)`` as of ``as_of``."""
    out: dict[Hashable, Indicators] = {}
    for c in cases:
        if c.assess_at is None or not (start <= c.assess_at < end) or c.assess_at > as_of:
            continue
        k = key(c)
        out[k] = out.get(k, Indicators()) + _one(c, as_of)
    return out


def card(
    ind: Indicators, *, yellow_below: float, red_below: float, min_cases: int
) -> Literal["red", "yellow"] | None:
    """红牌/黄牌 for a group, or None."""
    rate = ind.on_time_rate
    if rate is None or ind.base < max(min_cases, 1):
        return None
    if rate < red_below:
        return "red"
    if rate < yellow_below:
        return "yellow"
    return None


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    key: int | None
    name: str
    indicators: Indicators
    card: Literal["red", "yellow"] | None


async def assessment(
    conn: asyncpg.Connection,
    group: Group,
    start: datetime,
    end: datetime,
    *,
    as_of: datetime,
    scope: Sequence[int] | None = None,
    level: int = 2,
    yellow_below: float = 0.9,
    red_below: float = 0.8,
    min_cases: int = 5,
) -> list[AssessmentRow]:
    """Indicators for the period per group (``area``: per ancestor at ``level``)."""
    if group not in GROUPS:
        raise ValueError(f"分组须为 {'/'.join(GROUPS)} 之一（收到 {group!r}）")
    if end <= start:
        raise ValueError("考核期的结束时间须晚于开始时间")
    as_of = min(as_of, end)
    scope_arg = list(scope) if scope is not None else None
    rows = await q.assessment_rows(conn, start, end, as_of, scope_arg, group, level)
    out = []
    for r in rows:
        ind = Indicators(
            r["due"], r["hung"], r["closed"], r["on_time"], r["overdue"], r["rework"],
            r["auto_recovered"],
        )  # fmt: skip
        if group == "all" and ind.due == 0 and ind.auto_recovered == 0:
            continue
        name = r["name"] or ("未派遣单位" if group == "unit" else "未指定")
        flag = card(ind, yellow_below=yellow_below, red_below=red_below, min_cases=min_cases)
        out.append(AssessmentRow(r["key"], name, ind, flag))
    return out
