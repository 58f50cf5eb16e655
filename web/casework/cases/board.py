"""The case board (案件看板) by stage, the counts above it, and "my cases".

Columns group the open states by the phase of the lifecycle (:mod:`.workflow`): 受理,
立案派遣, 处置, 核查, 结案审核, 挂账; each column is one :func:`.service.case_board`
page (sorted by the running deadline) with its total, all in the caller's data scope.

"My cases" (待我处理) are derived from the transition table: the open states in which the
caller's workflow role has a real action (anything but 备注/督办/作废), for a unit only its
own cases — so the list always matches the buttons on the case page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

import asyncpg

from web.casework.cases import queries as q
from web.casework.cases.workflow import OPEN_STATES, Action, State, Switches, allowed_actions
from web.casework.kernel import tree
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Role

__all__ = ["COLUMNS", "Column", "actionable_states", "board_columns", "board_counts"]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    states: tuple[State, ...]


COLUMNS: Final = (
    Column("accept", "受理", (State.REPORTED, State.VERIFYING, State.ACCEPTED)),
    Column("dispatch", "立案派遣", (State.FILED, State.DISPATCHED, State.RETURNED)),
    Column("handle", "处置", (State.HANDLING, State.EXTENSION_REQUESTED, State.HANG_REQUESTED)),
    Column("check", "核查", (State.FEEDBACK, State.CHECKING, State.RETURN_VISIT)),
    Column("close", "结案审核", (State.CLOSING,)),
    Column("hung", "挂账", (State.HUNG,)),
)
_GENERIC: Final = frozenset({Action.NOTE, Action.SUPERVISE, Action.CANCEL})


def actionable_states(role: Role, switches: Switches) -> tuple[str, ...]:
    """Open states where ``role`` has a real action (sorted)."""
    return tuple(
        sorted(s.value for s in OPEN_STATES if set(allowed_actions(s, role, switches)) - _GENERIC)
    )


async def board_columns(
    conn: asyncpg.Connection,
    base: BoardFilter,
    *,
    now: datetime,
    per_column: int,
    counts: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """One page per column; ``base`` carries the filters and the scope.  ``counts``
    (:func:`board_counts` under the same filter) gives the column totals without a
    count query per column."""
    wanted = set(base.states) if base.states is not None else None
    by_state: dict[str, int] = counts["states"] if counts is not None else {}
    grids = await tree.scope_area_ids(conn, base.scope) if base.scope is not None else None
    out = []
    for col in COLUMNS:
        states = tuple(s.value for s in col.states if wanted is None or s.value in wanted)
        page = BoardPage()
        if states:
            page = await case_board(
                conn,
                replace(base, states=states, open=True, limit=per_column, offset=0),
                now=now,
                with_total=counts is None,
                scope_grids=grids,
            )
        total = sum(by_state.get(s, 0) for s in states) if counts is not None else page.total
        out.append(
            {
                "key": col.key,
                "label": col.label,
                "states": [{"state": s.value, "label": s.label} for s in col.states],
                "total": total,
                "items": page.rows,
            }
        )
    return out


async def board_counts(
    conn: asyncpg.Connection, f: BoardFilter, *, now: datetime
) -> dict[str, Any]:
    """Open cases per state, overdue and supervised, in scope and under the filters."""
    grids = await tree.scope_area_ids(conn, f.scope) if f.scope is not None else None
    rows = await q.board_counts(
        conn,
        sorted(grids) if grids is not None else None,
        f.unit_id,
        f.category,
        f.source,
        f.grid_id,
        now,
        f.supervised_only,
        f.overdue_only,
        (f.search or "").strip() or None,
    )
    by_state = {r["state"]: int(r["total"]) for r in rows}
    return {
        "states": by_state,
        "open": sum(by_state.values()),
        "overdue": sum(int(r["overdue"]) for r in rows),
        "supervised": sum(int(r["supervised"]) for r in rows),
    }


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """Filters of the case board (案件看板).  ``scope``: root area ids, None = all."""

    scope: tuple[int, ...] | None = None
    states: tuple[str, ...] | None = None
    #: True = open cases only, False = closed/terminal only, None = both.
    open: bool | None = True
    unit_id: int | None = None
    category: str | None = None
    source: str | None = None
    grid_id: int | None = None
    supervised_only: bool = False
    overdue_only: bool = False
    search: str | None = None
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 500:
            raise WorkflowError("每页条数须为 1–500", "input")
        if self.offset < 0:
            raise WorkflowError("偏移量不能为负", "input")
        if self.states is not None:
            for s in self.states:
                try:
                    State(s)
                except ValueError:
                    raise WorkflowError(f"未知的案件状态 {s!r}", "input") from None


@dataclass(frozen=True, slots=True)
class BoardPage:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0


def _board_args(f: BoardFilter, now: datetime, grids: frozenset[int] | None) -> list[Any]:
    return [
        sorted(grids) if grids is not None else None,
        list(f.states) if f.states is not None else None,
        f.open,
        f.unit_id,
        f.category,
        f.source,
        f.supervised_only,
        f.overdue_only,
        now,
        (f.search or "").strip() or None,
        f.grid_id,
    ]


async def case_board(
    conn: asyncpg.Connection,
    f: BoardFilter,
    *,
    now: datetime,
    with_total: bool = True,
    scope_grids: frozenset[int] | None = None,
) -> BoardPage:
    """One page of the board sorted by the running deadline (soonest first, none last).

    ``scope_grids``: ``f.scope`` already expanded to the subtrees (several pages of one
    board share one expansion)."""
    if f.scope is None:
        grids = None
    elif scope_grids is not None:
        grids = scope_grids
    else:
        grids = await tree.scope_area_ids(conn, f.scope)
    args = _board_args(f, now, grids)
    searching = args[9] is not None
    rows = await q.case_board(conn, searching, *args, f.limit, f.offset)
    out = []
    total: int | None = None
    for r in rows:
        row = dict(r)
        total = row.pop("total", None)
        row["state_label"] = State(r["state"]).label
        row["overdue"] = bool(r["deadline"] is not None and r["deadline"] < now)
        out.append(row)
    if total is None:
        if with_total and (not searching or f.offset > 0):
            total = int(await q.case_board_count(conn, *args))
        else:
            total = len(out)
    return BoardPage(out, int(total))
