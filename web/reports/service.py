"""Report jobs: ``aggregates.reports.build_report`` in a background task with progress,
the finished report kept for the preview and the exports.

Theory of operation
-------------------
``POST /api/v1/reports`` checks the request (scope, period, factors, the data scope) and
starts a :class:`ReportJob` — an asyncio task in the web process — answering 202 with its
id at once.  The page polls ``GET /api/v1/reports/{job}`` (status, progress 0..1 and a
message in Chinese from the builder's progress callback) and shows the preview when it is
done.  Exports (``…/export?format=``) render the one finished :class:`Report` with
``aggregates.exports`` in a worker thread (matplotlib, reportlab and openpyxl are
blocking), so every format shows the same numbers; each rendered file is kept with the
job.  Jobs belong to the user who started them (others get 404), at most
:data:`MAX_RUNNING_PER_USER` run at once per user, and finished jobs are forgotten after
``web.report_ttl_s``.  Jobs live in memory: a restart forgets them (the page starts a new
one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Final

import asyncpg

from aggregates.report_model import Report, ReportSpec
from aggregates.reports import build_report
from aggregates.selection import QueryError
from web.settings import WebConfig

__all__ = ["MAX_RUNNING_PER_USER", "ReportJob", "ReportJobs", "preview"]

log = logging.getLogger("envgrid.web.reports")

MAX_RUNNING_PER_USER: Final = 3
_STEPS_ZH: Final = {
    "stations": "读取站点",
    "data": "读取数据",
    "hourly AQI": "计算小时 AQI",
    "daily AQI": "计算日 AQI",
    "table": "生成表格",
    "charts": "生成图表",
    "done": "完成",
}


def _step(message: str) -> str:
    if message.startswith("month "):
        return f"统计第 {message.split()[1]} 月"
    return _STEPS_ZH.get(message, message)


@dataclass(eq=False, slots=True)
class ReportJob:
    id: str
    user_id: int
    spec: ReportSpec
    request: dict[str, Any]
    status: str = "running"  # running | done | failed
    progress: float = 0.0
    message: str = "排队"
    error: str = ""
    report: Report | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "progress": round(self.progress, 3),
            "message": self.message,
            "request": self.request,
            "elapsed_s": round((self.finished or time.monotonic()) - self.started, 2),
        }
        if self.error:
            out["error"] = self.error
        if self.report is not None:
            out["preview"] = preview(self.report)
        return out


@dataclass(slots=True)
class ReportJobs:
    """The report jobs of this web process."""

    ttl_s: float = 1800.0
    jobs: dict[str, ReportJob] = field(default_factory=dict)

    def _purge(self) -> None:
        now = time.monotonic()
        for job_id, job in list(self.jobs.items()):
            if job.finished is not None and now - job.finished > self.ttl_s:
                del self.jobs[job_id]

    def running(self, user_id: int) -> int:
        return sum(1 for j in self.jobs.values() if j.user_id == user_id and j.finished is None)

    def get(self, job_id: str, user_id: int) -> ReportJob | None:
        self._purge()
        job = self.jobs.get(job_id)
        return job if job is not None and job.user_id == user_id else None

    def start(
        self,
        pool: asyncpg.Pool,
        settings: WebConfig,
        spec: ReportSpec,
        user_id: int,
        request: dict[str, Any],
    ) -> ReportJob:
        self._purge()
        job = ReportJob(secrets.token_hex(16), user_id, spec, request)
        self.jobs[job.id] = job
        job.task = asyncio.create_task(self._run(job, pool, settings), name=f"report-{job.id}")
        return job

    async def _run(self, job: ReportJob, pool: asyncpg.Pool, settings: WebConfig) -> None:
        def progress(fraction: float, message: str) -> None:
            job.progress, job.message = max(job.progress, min(fraction, 1.0)), _step(message)

        try:
            report = await build_report(pool, settings, job.spec, progress=progress)
            job.report, job.status, job.progress, job.message = report, "done", 1.0, "完成"
        except asyncio.CancelledError:
            job.status, job.error = "failed", "已取消"
            raise
        except QueryError as exc:
            job.status, job.error, job.message = "failed", str(exc), "失败"
        except Exception as exc:
            log.exception("report %s failed", job.id)
            job.status, job.error, job.message = "failed", f"报表生成失败：{exc}", "失败"
        finally:
            job.finished = time.monotonic()

    async def close(self) -> None:
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job.task


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _shown(value: object, decimals: int | None) -> str:
    """A cell as the exports write it (``aggregates.exports``: "—" for no value, numbers
    at the column's reporting precision, integers and text as they are)."""
    if value is None:
        return "—"
    if isinstance(value, float | Decimal) and decimals is not None:
        return f"{value:.{decimals}f}"
    return str(value)


def _texts(rows: list[list[Any]], decimals: list[int | None]) -> list[list[str]]:
    return [
        [_shown(v, decimals[i] if i < len(decimals) else None) for i, v in enumerate(row)]
        for row in rows
    ]


def preview(report: Report) -> dict[str, Any]:
    """The report as JSON for the page (the same tables and charts the exports use);
    ``text``/``summary_text`` hold the cells as the exports print them."""
    return {
        "title": report.title,
        "subtitle": report.subtitle,
        "generated_at": report.generated_at.isoformat(),
        "tables": [
            {
                "name": t.name,
                "wide": t.wide,
                "columns": [
                    {"key": c.key, "title": c.title, "unit": c.unit, "decimals": c.decimals}
                    for c in t.columns
                ],
                "rows": [[_cell(v) for v in row] for row in t.rows],
                "summary": [[_cell(v) for v in row] for row in t.summary],
                "text": _texts(t.rows, [c.decimals for c in t.columns]),
                "summary_text": _texts(t.summary, [c.decimals for c in t.columns]),
            }
            for t in report.tables
        ],
        "charts": {
            kind: {
                "kind": c.kind,
                "title": c.title,
                "categories": c.categories,
                "series": c.series,
                "colors": c.colors,
            }
            for kind, c in report.charts.items()
        },
        "notes": report.notes,
        "unverified": report.meta.get("unverified", []),
    }
