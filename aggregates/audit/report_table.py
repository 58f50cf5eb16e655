"""The audit log as a report table (``envgrid report --audit-log``, the dashboard's
report option 附审核记录): every audit action on the report's stations whose range
overlaps the period, oldest first, in every export format."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aggregates.report_model import Cell, Column, Table
from aggregates.selection import Db

from .actions import log_entries

__all__ = ["AUDIT_TABLE_NAME", "audit_table"]

AUDIT_TABLE_NAME = "数据审核记录"
ACTION_NAMES = {"invalidate": "标记无效", "restore": "恢复"}
COLUMNS = [
    Column("id", "编号", "", None, 6),
    Column("ts", "操作时间", "", None, 17),
    Column("actor", "操作人", "", None, 12),
    Column("action", "操作", "", None, 8),
    Column("mn", "站点", "", None, 16),
    Column("factors", "因子", "", None, 16),
    Column("from", "开始", "", None, 17),
    Column("to", "结束", "", None, 17),
    Column("hours", "小时数", "", None, 7),
    Column("reason", "原因", "", None, 16),
    Column("note", "备注", "", None, 20),
]


def _t(ts: datetime, tz: ZoneInfo) -> str:
    return ts.astimezone(tz).strftime("%Y-%m-%d %H:%M")


async def audit_table(
    db: Db, station_ids: Sequence[int], start: datetime, end: datetime, tz: ZoneInfo
) -> Table:
    """The audit actions on ``station_ids`` overlapping [``start``, ``end``)."""
    entries = await log_entries(db, station_ids=station_ids, start=start, end=end, limit=100_000)
    rows: list[list[Cell]] = []
    for e in reversed(entries):
        kind = "命令行" if e.actor_kind == "cli" else "平台"
        rows.append(
            [
                e.id,
                _t(e.ts, tz),
                f"{e.actor}（{kind}）",
                ACTION_NAMES.get(e.action, e.action),
                e.mn,
                ",".join(e.factor_codes),
                _t(e.start, tz),
                _t(e.end, tz),
                e.n_changed,
                e.reason,
                e.note,
            ]
        )
    return Table(AUDIT_TABLE_NAME, list(COLUMNS), rows)
