"""The API description: every ``/api/v1`` endpoint is declared once, as an :class:`Endpoint`
in the route table (``routes.py``), and both the router and the OpenAPI 3.1 document
(``GET /api/v1/openapi.json``) are built from those declarations — so the document cannot
drift from the routes; ``tests/web/test_openapi.py`` checks that every API route of the
running app is documented with its parameters and its permission, and schemathesis
(``tests/web/test_fuzz.py``) fuzzes the document against the real server.

``auth`` of an endpoint: ``"public"`` (no log-in), ``"user"`` (any logged-in user) or a
permission (``"stations:write"``, see ``web.permissions.PERMISSIONS``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

from web.errors import CORE_ERRORS, ErrorTable, translate
from web.responses import ApiError

__all__ = [
    "AREA",
    "ERROR_SCHEMA",
    "FROM",
    "INT",
    "LIMIT",
    "NTIME",
    "OBJ",
    "OFFSET",
    "OK",
    "PAGING",
    "REGION",
    "ST",
    "STATUS",
    "STR",
    "TIME",
    "TO",
    "WINDOW",
    "ApiRegistry",
    "Endpoint",
    "Page",
    "Param",
    "Q",
    "build_document",
    "obj",
    "page_of",
    "text",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_PATH_PARAM: Final = re.compile(r"\{(\w+)(?::[^}]*)?\}")

ERROR_SCHEMA: Final[Mapping[str, Any]] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    where: str = "query"
    required: bool = False
    description: str = ""


def page_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """Schema of a paginated list of ``item``."""
    return {
        "type": "object",
        "required": ["items", "total", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": dict(item)},
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    }


# -- schema pieces the modules' route tables share ----------------------------------------
INT: Final = {"type": "integer"}
STR: Final = {"type": "string"}
TIME: Final = {"type": "string", "format": "date-time"}
NTIME: Final = {"type": ["string", "null"], "format": "date-time"}
OBJ: Final = {"type": "object"}
OK: Final = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
LIMIT: Final = Param(
    "limit", {"type": "integer", "minimum": 1, "maximum": 1000}, description="每页条数"
)
OFFSET: Final = Param("offset", {"type": "integer", "minimum": 0, "maximum": 10_000_000})
FROM: Final = Param("from", TIME, description="开始时间（ISO 8601，带时区）")
TO: Final = Param("to", TIME, description="结束时间（ISO 8601，带时区）")
ST: Final = Param("st", {"type": "string", "maxLength": 4}, description="系统编码（类型），如 22")
REGION: Final = Param("region", {"type": "string", "maxLength": 100}, description="区县")
AREA: Final = Param(
    "area", {"type": "integer", "minimum": 1, "maximum": 2147483647}, description="区域/网格 id"
)
Q: Final = Param("q", {"type": "string", "maxLength": 100}, description="MN 或名称关键字")
STATUS: Final = Param("status", {"type": "string", "enum": ["online", "offline", "disabled"]})
#: The time window of a list (``web.params.time_window``) and its page (``paging``).
WINDOW: Final = (FROM, TO)
PAGING: Final = (LIMIT, OFFSET)


def text(max_len: int, min_len: int = 0) -> dict[str, Any]:
    """A string schema of at most ``max_len`` (and at least ``min_len``) characters."""
    least = {"minLength": min_len} if min_len else {}
    return {"type": "string", **least, "maxLength": max_len}


def obj(properties: Mapping[str, Any], *required: str) -> dict[str, Any]:
    """An object schema with ``properties``, of which ``required`` must be given."""
    needed = {"required": list(required)} if required else {}
    return {"type": "object", **needed, "properties": dict(properties)}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One API operation (method + path under /api/v1)."""

    method: str
    path: str
    handler: Handler
    auth: str
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    body: Mapping[str, Any] | None = None
    response: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    status: int = 200
    content_type: str = "application/json"
    #: Written to the operation log (state-changing calls are logged regardless).
    audit: bool = False
    #: Operation-log action name (default: the summary).
    action: str = ""
    #: Longer text of the operation in the document (Markdown: what it is for, an example
    #: call) — shown by ``/api/docs``.
    description: str = ""

    @property
    def operation_id(self) -> str:
        words = re.sub(r"[{}]", "", self.path.removeprefix("/api/v1/")).replace("-", "_")
        return f"{self.method.lower()}_{words.replace('/', '_')}"

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    @property
    def openapi_path(self) -> str:
        return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)


@dataclass(frozen=True, slots=True)
class Page:
    """One HTML page (server-rendered shell + a JS module)."""

    method: str
    path: str
    handler: Handler
    #: "public", "user" or a permission; "none": a health probe (no credentials read)
    auth: str
    name: str = ""


@dataclass(slots=True)
class ApiRegistry:
    """What the middleware needs to know about the matched route."""

    endpoints: list[Endpoint] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    by_route: dict[int, Endpoint | Page] = field(default_factory=dict)
    #: the error table of each route's module (``web.errors``); others: ``default_errors``
    errors_by_route: dict[int, ErrorTable] = field(default_factory=dict)
    default_errors: ErrorTable = field(default_factory=lambda: CORE_ERRORS)

    def register(
        self, route: web.AbstractRoute, meta: Endpoint | Page, errors: ErrorTable | None = None
    ) -> None:
        self.by_route[id(route)] = meta
        if errors is not None:
            self.errors_by_route[id(route)] = errors
        if isinstance(meta, Endpoint):
            self.endpoints.append(meta)
        else:
            self.pages.append(meta)

    def meta_of(self, route: web.AbstractRoute) -> Endpoint | Page | None:
        return self.by_route.get(id(route))

    def api_error(self, route: web.AbstractRoute, exc: BaseException) -> ApiError | None:
        """``exc`` as the answer of ``route`` (``web.errors.translate``); None: a bug."""
        return translate(exc, self.errors_by_route.get(id(route), self.default_errors))


def _operation(ep: Endpoint) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    declared = {p.name for p in ep.params}
    for name in ep.path_params:
        if name not in declared:
            schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2147483647}
            params.append({"name": name, "in": "path", "required": True, "schema": schema})
    for p in ep.params:
        entry: dict[str, Any] = {"name": p.name, "in": p.where, "schema": dict(p.schema)}
        if p.required or p.where == "path":
            entry["required"] = True
        if p.description:
            entry["description"] = p.description
        params.append(entry)
    error = {"application/json": {"schema": dict(ERROR_SCHEMA)}}
    responses: dict[str, Any] = {
        str(ep.status): {
            "description": "成功",
            "content": {ep.content_type: {"schema": dict(ep.response)}},
        },
        "400": {"description": "参数错误", "content": error},
    }
    if ep.auth != "public":
        responses["401"] = {"description": "未登录或令牌无效", "content": error}
        responses["403"] = {"description": "无权限（功能或数据范围）", "content": error}
    if ep.path_params:
        responses["404"] = {"description": "不存在或不在数据范围内", "content": error}
    op: dict[str, Any] = {
        "operationId": ep.operation_id,
        "summary": ep.summary,
        "tags": [ep.tag],
        "parameters": params,
        "responses": responses,
        "x-permission": ep.auth,
    }
    if ep.description:
        op["description"] = ep.description
    if ep.auth == "public":
        op["security"] = []
    if ep.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": dict(ep.body)}},
        }
        responses.setdefault("409", {"description": "冲突", "content": error})
    return op


#: The document's introduction (Markdown): how to authenticate, get a token, call the API.
INFO_DESCRIPTION: Final = """HJ 212 环境监测平台 JSON API。

认证：浏览器用会话 Cookie（修改类请求需带 `X-CSRF-Token` 头），程序用 API 令牌
（`Authorization: Bearer eg_…`）。每个接口的所需权限见 `x-permission`；数据只限调用者
的数据范围。错误统一为 `{"error": {"code": "…", "message": "…"}}`；列表分页参数
`limit`/`offset`，时间为带时区的 ISO 8601。

## 获取 API 令牌

1. 用户由管理员创建（`envgrid user add NAME --role viewer`，或“用户”页面）。
2. 登录拿到会话与 CSRF 令牌：

   ```
   curl -c jar.txt -H 'Content-Type: application/json' \\
        -d '{"username": "NAME", "password": "PASSWORD"}' \\
        https://HOST/api/v1/auth/login
   # → {"ok": true, "csrf_token": "…"}
   ```

   （开启了双因素认证的账号在 JSON 中再加 `"totp": "123456"`。）
3. 用会话创建令牌（`POST /api/v1/auth/tokens`，`expires_days` 默认 90）：

   ```
   curl -b jar.txt -H 'X-CSRF-Token: …' -H 'Content-Type: application/json' \\
        -d '{"name": "grafana", "expires_days": 365}' \\
        https://HOST/api/v1/auth/tokens
   # → {"id": 7, "prefix": "eg_AbCdEf", "token": "eg_…", …}
   ```

   令牌只显示这一次，请妥善保存；`GET /api/v1/auth/tokens` 列出、
   `DELETE /api/v1/auth/tokens/{id}` 吊销。修改或重置密码会吊销该用户的全部令牌。
4. 调用：`curl -H 'Authorization: Bearer eg_…' https://HOST/api/v1/stations`

常用接口：站点与数据（`/api/v1/stations`、`/api/v1/stations/{id}/series`）、
AQI 地图（`/api/v1/map/stations`）、告警（`/api/v1/alerts`）、案件（`/api/v1/cases`）、
实时推送（SSE，`/api/v1/live`）。
"""


def build_document(endpoints: Iterable[Endpoint], *, version: str = "1") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.openapi_path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "envgrid API",
            "version": version,
            "description": INFO_DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "envgrid_session"},
                "token": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {"Error": dict(ERROR_SCHEMA)},
        },
        "security": [{"session": []}, {"token": []}],
        "paths": paths,
    }
