"""Middlewares: errors (the one place an exception becomes an HTTP answer, see
``web.errors``), authentication + permission + CSRF + operation log, and the security
headers (a response-prepare signal, so static files and streams get them too).

Order (outermost first): ``web.request_id`` → ``web.metrics`` → :func:`error_middleware` →
:func:`auth_middleware` → handler.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from aiohttp import web

from store.logcontext import bind_log_fields, log_operation_line
from web.auth import queries as auth_queries
from web.auth.service import session_principal, token_principal
from web.keys import API_KEY, AUDIT, POOL_KEY, PRINCIPAL, SETTINGS_KEY
from web.map import basemap
from web.openapi import Endpoint, Page
from web.permissions import PERMISSIONS, Principal
from web.ratelimit import request_address
from web.responses import ApiError, error_body, json_response

__all__ = ["auth_middleware", "error_middleware", "security_headers"]

log = logging.getLogger("envgrid.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Paths a user who must change the password may still use.
_PASSWORD_CHANGE_ALLOWED = frozenset(
    {
        "/account/password",
        "/logout",
        "/api/v1/auth/me",
        "/api/v1/auth/password",
        "/api/v1/auth/logout",
    }
)
#: Paths a session that must enrol a second factor first (web.require_2fa_for) may use.
_ENROLMENT_ALLOWED = frozenset(
    {
        "/account/2fa",
        "/logout",
        "/api/v1/auth/me",
        "/api/v1/auth/logout",
        "/api/v1/auth/2fa",
        "/api/v1/auth/2fa/enrol",
        "/api/v1/auth/2fa/confirm",
    }
)
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _api_error(request: web.Request, exc: Exception) -> ApiError | None:
    """The answer ``exc`` stands for on this request's route (``web.errors``)."""
    registry = request.app.get(API_KEY)
    if registry is None:
        return exc if isinstance(exc, ApiError) else None
    return registry.api_error(request.match_info.route, exc)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The one place an exception becomes an HTTP answer (see ``web.errors``)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not _is_api(request):
            raise
        code = _STATUS_CODES.get(exc.status, "error")
        message = exc.reason if exc.status != 404 else "接口不存在"
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return json_response(error_body(code, message), status=exc.status, headers=headers)
    except Exception as exc:
        error = _api_error(request, exc)
        if error is None:
            log.exception("unhandled error on %s %s", request.method, request.path)
            error = ApiError(500, "internal", "服务器内部错误")
        if _is_api(request):
            return error.response()
        if error.status == 401:
            raise web.HTTPFound(f"/login?next={quote(request.path_qs)}") from None
        return _error_page(request, error.status, error.message)


def _error_page(request: web.Request, status: int, message: str) -> web.Response:
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{status}</title><link rel="stylesheet" href="/static/css/app.css"></head>'
        f'<body><main class="error-page"><h1>{status}</h1><p>{_escape(message)}</p>'
        '<p><a href="/">返回首页</a></p></main></body></html>'
    )
    return web.Response(text=body, status=status, content_type="text/html")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _principal(request: web.Request) -> Principal | None:
    settings = request.app[SETTINGS_KEY].web
    pool = request.app[POOL_KEY]
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "bad_token", "Authorization 头应为 Bearer <令牌>")
        async with pool.acquire() as conn:
            principal = await token_principal(conn, settings, token.strip())
        if principal is None:
            raise ApiError(401, "bad_token", "API 令牌无效、已过期或已吊销")
        return principal
    cookie = request.cookies.get(settings.cookie_name)
    if not cookie or len(cookie) > 100:
        return None
    async with pool.acquire() as conn:
        return await session_principal(conn, settings, cookie)


def _check_csrf(request: web.Request, principal: Principal) -> None:
    if principal.via != "session" or request.method not in _UNSAFE:
        return
    sent = request.headers.get("X-CSRF-Token", "").encode("utf-8", "replace")
    if not sent or not hmac.compare_digest(sent, principal.csrf_token.encode()):
        raise ApiError(403, "csrf", "CSRF 校验失败，请刷新页面后重试")
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        raise ApiError(403, "csrf", "跨站请求被拒绝")


def _authorize(meta: Endpoint | Page, principal: Principal | None, request: web.Request) -> None:
    if meta.auth == "public":
        return
    if principal is None:
        raise ApiError(401, "unauthorized", "请先登录")
    if principal.must_change_password and request.path not in _PASSWORD_CHANGE_ALLOWED:
        if not _is_api(request):
            raise web.HTTPFound("/account/password")
        raise ApiError(403, "password_change_required", "密码已过期或需要修改，请先修改密码")
    enrol_first = principal.must_enrol_2fa and not principal.must_change_password
    if enrol_first and request.path not in _ENROLMENT_ALLOWED:  # the password comes first
        if not _is_api(request):
            raise web.HTTPFound("/account/2fa")
        raise ApiError(403, "totp_enrolment_required", "您的角色要求双因素认证，请先绑定动态验证码")
    if meta.auth != "user" and not principal.can(meta.auth):
        label = PERMISSIONS.get(meta.auth, meta.auth)
        raise ApiError(403, "forbidden", f"没有权限：{label}", permission=meta.auth)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    meta = request.app[API_KEY].meta_of(route)
    if meta is None or meta.auth == "none":  # static files, 404s, 405s, health probes
        return await handler(request)
    principal = await _principal(request)
    request[PRINCIPAL] = principal
    if principal is not None:
        bind_log_fields(user=principal.username)
    _authorize(meta, principal, request)
    if principal is not None and meta.auth != "public":
        _check_csrf(request, principal)
    if not isinstance(meta, Endpoint) or principal is None:
        return await handler(request)
    if request.method not in _UNSAFE and not meta.audit:
        return await handler(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception as exc:
        error = _api_error(request, exc)
        status = 500 if error is None else error.status
        raise
    finally:
        await _log_operation(request, meta, principal, status)


async def _log_operation(
    request: web.Request, meta: Endpoint, principal: Principal, status: int
) -> None:
    target = ",".join(f"{k}={v}" for k, v in request.match_info.items())
    detail = request.get(AUDIT, {})
    log_operation_line(meta.action or meta.summary, request.method, request.path, status, detail)
    try:
        async with request.app[POOL_KEY].acquire() as conn:
            await auth_queries.log_operation(
                conn,
                user_id=principal.user_id,
                username=principal.username,
                ip=request_address(request),
                method=request.method,
                path=request.path,
                action=meta.action or meta.summary,
                target=target,
                status=status,
                detail=detail,
            )
    except Exception:  # the log must not turn a done change into an error
        log.exception("could not write the operation log for %s %s", request.method, request.path)


def csp_for(tile_sources: tuple[str, ...], extra: tuple[str, ...]) -> str:
    img = ["'self'", "data:", "blob:", *tile_sources]
    connect = ["'self'"]
    img += extra
    connect += extra
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(img)}",
            f"connect-src {' '.join(connect)}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[SETTINGS_KEY].web
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        csp_for(basemap.csp_sources(settings), settings.csp_extra_sources),
    )
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers["Server"] = "envgrid"  # not aiohttp's "Python/3.x aiohttp/3.x"
    if settings.secure_cookie(request.secure):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if _is_api(request) or request.path.startswith(("/login", "/account/2fa")):
        headers.setdefault("Cache-Control", "no-store")
