"""What the case pages and API do beyond the round-1 services: the case page's data
(detail, trail with photo links, notices), manual reports inside the caller's scope,
attachment access checks, and the assessment for a period (with its export).

Every function takes the :class:`~web.casework.kernel.access.Caller`; scope and role checks happen
here or in the services, never only in the UI.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final

import asyncpg

from aggregates.exports import export
from aggregates.periods import Period
from aggregates.report_model import Column, Report, ReportSpec, Table
from web.casework.cases.assessment import AssessmentRow, Group, assessment
from web.casework.cases.incident import PRIORITY_LABELS
from web.casework.cases.intake import CaseRef, NewCase, create_case
from web.casework.cases.record import case_alerts, case_trail, get_case
from web.casework.grid.service import load_grid_index
from web.casework.kernel import queries as kq
from web.casework.kernel import tree
from web.casework.kernel.access import Caller
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import WorkflowError
from web.casework.kernel.people import Role
from web.casework.kernel.uploads import StoredFile

__all__ = [
    "AssessmentPeriod",
    "assessment_export",
    "assessment_view",
    "attachment_for",
    "case_detail",
    "report_case",
]

_GROUP_LABELS: Final = {
    "unit": "责任单位",
    "grid": "网格",
    "person": "处置人员",
    "area": "区域",
    "all": "合计",
}


def _attachment_links(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": a["id"],
            "url": f"/api/v1/attachments/{a['id']}",
            "mime": a.get("mime"),
            "name": a.get("name") or "",
            "size": a.get("size"),
        }
        for a in items
    ]


async def case_detail(
    conn: asyncpg.Connection, case_id: int, caller: Caller, config: CaseConfig
) -> dict[str, Any]:
    """The case (visible to the caller, else WorkflowError), its trail and actions."""
    case = await get_case(conn, case_id, caller.actor, config)
    if caller.role is Role.VIEWER and case.get("reporter_phone"):
        phone = str(case["reporter_phone"])
        case["reporter_phone"] = phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"
    trail = await case_trail(conn, case_id)
    for entry in trail:
        entry["attachments"] = _attachment_links(entry.get("attachments") or [])
    case["trail"] = trail
    case["alerts"] = await case_alerts(conn, case_id) if case["source"] == "alert" else []
    case["priority_label"] = PRIORITY_LABELS.get(case["priority"], "")
    case["notices"] = [dict(r) for r in await kq.list_notices(conn, case_id, None, 50)]
    return case


async def report_case(
    conn: asyncpg.Connection,
    new: NewCase,
    caller: Caller,
    config: CaseConfig,
    *,
    now: datetime,
    photos: Sequence[StoredFile] = (),
) -> CaseRef:
    """A manually reported case (人工录入 / 巡查上报), located in a grid of the caller's scope."""
    index = None
    if new.grid_id is None and new.lat is not None:
        index = await load_grid_index(conn)
        if index.locate(new.lon or 0.0, new.lat) is None:
            raise WorkflowError("该位置不在任何网格内，请选择所属网格", "input")
    if new.grid_id is None and index is None:
        raise WorkflowError("请给出位置或所属网格", "input")
    async with conn.transaction():
        ref = await create_case(
            conn, new, caller.actor, config, now=now, photos=photos, index=index
        )
        if caller.actor.scope is not None:
            allowed = await tree.scope_area_ids(conn, caller.actor.scope)
            if ref.grid_id not in allowed:
                raise WorkflowError("案件所在网格不在您的管辖范围内", "scope")
    return ref


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    path: str
    mime: str
    name: str


async def attachment_for(
    conn: asyncpg.Connection, attachment_id: int, caller: Caller, config: CaseConfig
) -> AttachmentRef:
    """The attachment if the caller may see what it belongs to (else WorkflowError)."""
    row = await kq.attachment(conn, attachment_id)
    if row is None:
        raise WorkflowError("附件不存在", "not_found")
    p = caller.principal
    if row["case_id"] is not None:
        if not p.can("cases:read"):
            raise WorkflowError("没有查看案件的权限", "role")
        await get_case(conn, int(row["case_id"]), caller.actor, config)
    elif row["task_id"] is not None or row["hazard_id"] is not None:
        if not p.can("patrol:read"):
            raise WorkflowError("没有查看巡查的权限", "role")
        visible = await kq.patrol_in_scope(conn, row["task_id"], row["hazard_id"], caller.scope)
        if not visible:
            raise WorkflowError("附件不在您的数据范围内", "scope")
    else:
        raise WorkflowError("附件不存在", "not_found")
    return AttachmentRef(row["path"], row["mime"], row["original_name"])


# -- assessment ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssessmentPeriod:
    """Local days ``[first, end)``; ``label`` for titles (2024年03月 or a range)."""

    first: date
    end: date

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if (
            self.first.day == 1
            and (last + timedelta(days=1)).day == 1
            and (
                self.first.year,
                self.first.month,
            )
            == (last.year, last.month)
        ):
            return f"{self.first.year}年{self.first.month:02d}月"
        return f"{self.first:%Y-%m-%d} 至 {last:%Y-%m-%d}"

    def bounds(self, config: CaseConfig) -> tuple[datetime, datetime]:
        tz = config.tz
        return datetime.combine(self.first, time(0), tz), datetime.combine(self.end, time(0), tz)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _row_json(r: AssessmentRow) -> dict[str, Any]:
    i = r.indicators
    return {
        "key": r.key,
        "name": r.name,
        "due": i.due,
        "hung": i.hung,
        "closed": i.closed,
        "on_time": i.on_time,
        "overdue": i.overdue,
        "rework": i.rework,
        "auto_recovered": i.auto_recovered,
        "on_time_rate": _rate(i.on_time_rate),
        "closure_rate": _rate(i.closure_rate),
        "rework_rate": _rate(i.rework_rate),
        "card": r.card,
    }


async def assessment_view(
    conn: asyncpg.Connection,
    group: Group,
    period: AssessmentPeriod,
    caller: Caller,
    config: CaseConfig,
    *,
    now: datetime,
    level: int = 2,
) -> dict[str, Any]:
    """Rows per group and the total for the period, in the caller's scope."""
    start, end = period.bounds(config)
    c = config.cases
    assess = partial(
        assessment,
        conn,
        start=start,
        end=end,
        as_of=now,
        scope=caller.scope,
        level=level,
        yellow_below=c.card_yellow_below,
        red_below=c.card_red_below,
        min_cases=c.card_min_cases,
    )
    rows = await assess(group)
    total = await assess("all")
    return {
        "group": group,
        "group_label": _GROUP_LABELS[group],
        "period": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "label": period.label,
            "as_of": min(now, end).isoformat(),
        },
        "rows": [_row_json(r) for r in rows],
        "total": _row_json(total[0]) if total else None,
        "thresholds": {
            "yellow_below": c.card_yellow_below,
            "red_below": c.card_red_below,
            "min_cases": c.card_min_cases,
        },
    }


_COLUMNS: Final = (
    ("name", "名称", 20),
    ("due", "应结案数", 10),
    ("hung", "缓办数", 8),
    ("closed", "结案数", 8),
    ("on_time", "按期结案数", 10),
    ("overdue", "超期数", 8),
    ("rework", "返工数", 8),
    ("auto_recovered", "自动恢复数", 10),
    ("on_time_rate", "按期结案率(%)", 12),
    ("closure_rate", "结案率(%)", 10),
    ("rework_rate", "返工率(%)", 10),
    ("card", "红黄牌", 8),
)
_CARDS: Final = {"red": "红牌", "yellow": "黄牌", None: ""}


def _cells(row: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for key, _, _ in _COLUMNS:
        value = row[key]
        if key.endswith("_rate"):
            value = None if value is None else round(value * 100, 1)
        elif key == "card":
            value = _CARDS[value]
        out.append(value)
    return out


def assessment_report(view: dict[str, Any], scope_label: str, now: datetime) -> Report:
    """The assessment as a report (the exporters of aggregates write every format)."""
    period = view["period"]
    start = datetime.fromisoformat(period["start"]).date()
    end = datetime.fromisoformat(period["end"]).date()
    columns = [
        Column(key, title, decimals=1 if key.endswith("_rate") else None, width=width)
        for key, title, width in _COLUMNS
    ]
    table = Table(
        f"按{view['group_label']}",
        columns,
        rows=[_cells(r) for r in view["rows"]],
        summary=[_cells(view["total"])] if view["total"] else [],
    )
    th = view["thresholds"]
    notes = [
        "按期结案率 = 按期结案数 /（应结案数 − 缓办数）；结案率 = 结案数 /（应结案数 − 缓办数）；"
        "返工率 = 返工数 / 结案数（CJ/T 292、GB/T 30428.4）。"
        "自动恢复数：告警短时内全部恢复、无人处理而自动结案的监测告警案件，不计入应结案数。",
        f"应结案：已派遣且考核时点（结案时间与处置时限中较早者）落在考核期内的案件；"
        f"统计截至 {datetime.fromisoformat(period['as_of']):%Y-%m-%d %H:%M}。",
        f"红黄牌：应结案数 − 缓办数 ≥ {th['min_cases']} 时，按期结案率低于 "
        f"{th['red_below'] * 100:.0f}% 为红牌、低于 {th['yellow_below'] * 100:.0f}% 为黄牌。",
    ]
    return Report(
        spec=ReportSpec("region", scope_label, Period("custom", start, end), title="案件考核"),
        title=f"案件考核（按{view['group_label']}）",
        subtitle=f"{scope_label} · {period['label']}",
        generated_at=now,
        tables=[table],
        notes=notes,
        charts={},
    )


async def assessment_export(report: Report, fmt: str) -> bytes:
    """The report rendered as ``fmt`` (xlsx, csv, pdf, docx), off the event loop."""

    def render() -> bytes:
        with tempfile.TemporaryDirectory(prefix="envgrid-assess-") as tmp:
            path = Path(tmp) / f"assessment.{fmt}"
            export(report, fmt, path)
            return path.read_bytes()

    return await asyncio.to_thread(render)
