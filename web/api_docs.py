"""``GET /api/docs``: the OpenAPI document (``/api/v1/openapi.json``) rendered by Swagger UI,
served from ``web/static/vendor/swagger-ui`` (``web/frontend``: npm, no CDN).  The page is
public like the document it shows; a logged-in visitor's "Try it out" calls carry the
session's CSRF token (``static/js/api_docs.js``)."""

from __future__ import annotations

from aiohttp import web

from web.pages import render

__all__ = ["page"]


async def page(request: web.Request) -> web.Response:
    return render(request, "api_docs.html", {"title": "API 文档"})
