"""Pages of the case module: server-rendered shells; the JS modules call the API."""

from __future__ import annotations

from aiohttp import web

from web.casework.cases.complaints import PUBLIC_CATEGORIES
from web.casework.kernel.access import case_config, render_page, request_caller
from web.params import path_int


async def _actor(request: web.Request) -> dict[str, object]:
    caller = await request_caller(request)
    p = caller.principal
    return {
        **caller.to_json(),
        "canWrite": p.can("cases:write"),
        "canExport": p.can("reports:export"),
        "canGrid": p.can("grid:read"),
    }


async def board_page(request: web.Request) -> web.Response:
    return render_page(request, "cases/board.html", "案件看板", actor=await _actor(request))


async def mine_page(request: web.Request) -> web.Response:
    return render_page(request, "cases/mine.html", "我的案件", actor=await _actor(request))


async def new_page(request: web.Request) -> web.Response:
    return render_page(request, "cases/new.html", "上报案件", actor=await _actor(request))


async def detail_page(request: web.Request) -> web.Response:
    return render_page(
        request,
        "cases/detail.html",
        "案件详情",
        caseId=path_int(request),
        actor=await _actor(request),
    )


async def assessment_page(request: web.Request) -> web.Response:
    config = case_config(request).cases
    return render_page(
        request,
        "cases/assessment.html",
        "案件考核",
        actor=await _actor(request),
        levelNames=list(config.level_names),
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


__all__ = [
    "assessment_page",
    "board_page",
    "complaint_page",
    "detail_page",
    "mine_page",
    "new_page",
]
