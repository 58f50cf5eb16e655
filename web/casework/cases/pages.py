"""Pages of the case module: server-rendered shells; the JS modules call the API."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from web.casework.cases.calendar_web import calendar_warning
from web.casework.cases.complaints import PUBLIC_CATEGORIES
from web.casework.kernel.access import (
    Caller,
    caller_page,
    caller_shell,
    case_config,
)
from web.pages import render_page
from web.params import path_int


def _abilities(caller: Caller) -> dict[str, bool]:
    p = caller.principal
    return {
        "canWrite": p.can("cases:write"),
        "canExport": p.can("reports:export"),
        "canGrid": p.can("grid:read"),
    }


async def board_page(request: web.Request) -> web.Response:
    """The board, with the work calendar's warning when next year is not covered."""
    warning = await calendar_warning(request)
    return await caller_page(
        request, "cases/board.html", "案件看板", _abilities, calendarWarning=warning
    )


mine_page: Final = caller_shell("cases/mine.html", "我的案件", _abilities)
done_page: Final = caller_shell("cases/done.html", "已办案件", _abilities)
new_page: Final = caller_shell("cases/new.html", "上报案件", _abilities)


async def detail_page(request: web.Request) -> web.Response:
    case_id = path_int(request)
    return await caller_page(request, "cases/detail.html", "案件详情", _abilities, caseId=case_id)


async def assessment_page(request: web.Request) -> web.Response:
    levels = list(case_config(request).cases.level_names)
    return await caller_page(
        request, "cases/assessment.html", "案件考核", _abilities, levelNames=levels
    )


async def complaint_page(request: web.Request) -> web.Response:
    c = case_config(request).cases
    return render_page(
        request,
        "cases/complaint.html",
        "群众投诉",
        categories=list(PUBLIC_CATEGORIES),
        maxPhotos=c.complaint_max_photos,
        maxBytes=c.upload_max_bytes,
    )


async def complaint_status_page(request: web.Request) -> web.Response:
    return render_page(request, "cases/complaint_status.html", "投诉进度查询")


__all__ = [
    "assessment_page",
    "board_page",
    "complaint_page",
    "complaint_status_page",
    "detail_page",
    "done_page",
    "mine_page",
    "new_page",
]
