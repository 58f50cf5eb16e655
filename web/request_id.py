"""Request ids: every request gets one, every log line of its work carries it.

An ``X-Request-Id`` header from the client or a reverse proxy (nginx ``$request_id``) is
kept when it is sane (:func:`store.logcontext.sane_request_id`: up to 128 safe
characters), otherwise a new one is made.  It is bound as ``request_id`` to the log
context for the request's handling — tasks the handler starts (report jobs, notices)
inherit it — and sent back in the response's ``X-Request-Id``, errors and streams
included.  :func:`web.middleware.auth_middleware` adds ``user`` once it knows it.
"""

from __future__ import annotations

from aiohttp import web

from store.logcontext import REQUEST_ID_HEADER, log_fields, new_request_id, sane_request_id
from web.middleware import Handler

__all__ = ["REQUEST_ID", "request_id_middleware", "send_request_id"]

REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: choose the id, bind it while the handler runs."""
    rid = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
    request[REQUEST_ID] = rid
    with log_fields(request_id=rid):
        return await handler(request)


async def send_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the id goes back with every response (errors raised as
    ``HTTPException`` past the middleware too)."""
    rid = request.get(REQUEST_ID)
    if rid is not None:
        response.headers[REQUEST_ID_HEADER] = rid
