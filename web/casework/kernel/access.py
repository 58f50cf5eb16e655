"""The web side shared by the grid, patrol and case modules: the caller as a workflow
:class:`~web.casework.kernel.people.Actor`, refusals as HTTP errors, photo uploads, page
shells that name the caller (on :func:`web.pages.render_page`).

Who acts
--------
A dashboard login (``web_users``) is linked to a grid person by name
(``grid_people.user_name = web_users.username``).  Linked: the person's workflow role,
unit and id are used (the trail names the person).  Not linked: the web role maps to the
workflow role — ``admin`` → admin, ``officer`` → officer, ``grid_member`` → grid member,
``unit`` → unit (with no unit it can act on nothing), every other role → viewer.

Data scope: the login's scope (``web_user_scopes``, the area subtrees it may see) — for a
grid member without one, the areas where the linked person has a duty.  Route
permissions (``grid:*``, ``patrol:*``, ``cases:*``) are checked by the middleware before a
handler runs; the workflow table decides the rest.

Refusals: every domain error (:class:`WorkflowError` and subclasses, ``GridError``,
``UploadError``, GeoJSON import errors) and the database's integrity errors become the
API's ``{"error": {"code", "message"}}`` with a fitting status — never a 500: the
handlers raise, :data:`ERRORS` (each casework routes module's ``ERRORS``) says the
answer, and the error middleware gives it.

Photos: ``POST /api/v1/uploads`` (multipart) checks and stores photos and answers one
token each (``upload_staging``); the JSON actions name the tokens in ``photos`` and
:func:`take_uploads` turns them back into stored files — only the uploader's own tokens,
each once.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg
from aiohttp import BodyPartReader, web

from web import context
from web.casework.kernel import people
from web.casework.kernel import queries as q
from web.casework.kernel.config import CaseConfig
from web.casework.kernel.errors import GeoJSONImportError, GridError, WorkflowError
from web.casework.kernel.people import Actor, Person, Role
from web.casework.kernel.queries import Rows
from web.casework.kernel.uploads import StoredFile, UploadError
from web.errors import ErrorTable, answer
from web.pages import render_page
from web.permissions import Principal
from web.responses import ApiError, json_response

__all__ = [
    "ERRORS",
    "Caller",
    "acting",
    "body_list",
    "caller_page",
    "caller_shell",
    "case_config",
    "now",
    "read_multipart",
    "request_caller",
    "resolve_caller",
    "rows_response",
    "stage_uploads",
    "take_uploads",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_WEB_ROLES: Final = {
    "admin": Role.ADMIN,
    "officer": Role.OFFICER,
    "grid_member": Role.GRID_MEMBER,
    "unit": Role.UNIT,
}
_STATUS: Final = {
    "not_found": (404, "not_found"),
    "scope": (403, "out_of_scope"),
    "role": (403, "forbidden"),
    "state": (409, "invalid_state"),
    "switch": (409, "invalid_state"),
    "conflict": (409, "conflict"),
    "rate_limited": (429, "too_many_requests"),
    "quota": (413, "case_quota"),
}
MAX_FIELD_CHARS: Final = 5000
#: Text fields one multipart form may hold (a complaint has nine): a body of thousands of
#: tiny fields costs seconds of parsing on the event loop, so it is refused at the first
#: field over the bound.
MAX_FORM_FIELDS: Final = 20
#: Multipart framing per part (boundary, headers) allowed for in the body bound.
_PART_OVERHEAD: Final = 1024


def case_config(request: web.Request) -> CaseConfig:
    return CaseConfig.from_settings(context.settings(request))


def now() -> datetime:
    return datetime.now().astimezone()


# -- the caller ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal
    actor: Actor
    #: The linked grid person, if any.
    person: Person | None

    @property
    def scope(self) -> list[int] | None:
        """The ``$n::int[]`` data-scope argument (None = everything)."""
        return None if self.actor.scope is None else list(self.actor.scope)

    @property
    def role(self) -> Role:
        return self.actor.role

    def to_json(self) -> dict[str, Any]:
        a = self.actor
        return {
            "role": a.role.value,
            "role_label": a.role.label,
            "person_id": a.person_id,
            "name": a.name,
            "unit_id": a.unit_id,
            "scope": self.scope,
            "linked": self.person is not None,
        }


async def resolve_caller(conn: asyncpg.Connection, principal: Principal) -> Caller:
    person = await people.person_by_user(conn, principal.username)
    if person is not None and not person.active:
        person = None
    scope = principal.scope
    if person is None:
        role = _WEB_ROLES.get(principal.role, Role.VIEWER)
        name = principal.display_name or principal.username
        actor = Actor(role, None, name, None, scope)
        return Caller(principal, actor, None)
    role = Role(person.role)
    if scope is None and role is Role.GRID_MEMBER:
        duties = [r["area_id"] for r in await q.person_duty_areas(conn, person.id)]
        scope = tuple(sorted(set(duties))) if duties else None
    actor = Actor(role, person.id, person.name, person.unit_id, scope)
    return Caller(principal, actor, person)


async def caller_of(conn: asyncpg.Connection, request: web.Request) -> Caller:
    return await resolve_caller(conn, context.caller(request))


async def request_caller(request: web.Request) -> Caller:
    """The request's caller (for pages: one short use of a pool connection)."""
    async with context.pool(request).acquire() as conn:
        return await caller_of(conn, request)


async def rows_response(request: web.Request, query: Rows, *args: Any) -> web.Response:
    """The rows of one query (not scoped: reference lists) as a JSON array."""
    async with context.pool(request).acquire() as conn:
        rows = await query(conn, *args)
    return json_response([dict(r) for r in rows])


@contextlib.asynccontextmanager
async def acting(
    request: web.Request, *, transaction: bool = False
) -> AsyncIterator[tuple[asyncpg.Connection, Caller]]:
    """A pool connection (in a transaction if asked) and the request's caller on it."""
    async with context.pool(request).acquire() as conn:
        if not transaction:
            yield conn, await caller_of(conn, request)
            return
        async with conn.transaction():
            yield conn, await caller_of(conn, request)


# -- refusals ------------------------------------------------------------------------------


def _workflow(exc: WorkflowError) -> ApiError:
    status, code = _STATUS.get(exc.code, (400, "bad_request"))
    return ApiError(status, code, str(exc))


def _geojson(exc: GeoJSONImportError) -> ApiError:
    return ApiError(400, "bad_geojson", str(exc), errors=list(exc.errors))


#: The casework modules' refusals → HTTP answers (``ERRORS`` of their routes modules,
#: answered by the error middleware; the most specific class wins).
ERRORS: Final[ErrorTable] = {
    WorkflowError: _workflow,
    GeoJSONImportError: _geojson,
    GridError: answer(400, "bad_request"),
    UploadError: answer(400, "bad_request"),
    asyncpg.ForeignKeyViolationError: lambda exc: ApiError(
        400, "bad_reference", "引用的对象（区域、人员、单位、站点等）不存在"
    ),
    asyncpg.UniqueViolationError: lambda exc: ApiError(409, "conflict", "已存在相同的记录"),
    asyncpg.IntegrityConstraintViolationError: lambda exc: ApiError(
        400, "bad_request", "参数不符合要求"
    ),
    asyncpg.DataError: lambda exc: ApiError(400, "bad_request", "参数不符合要求"),
}


# -- uploads -------------------------------------------------------------------------------


async def read_multipart(
    request: web.Request, *, max_file_bytes: int, max_files: int
) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Text fields and (file name, content) of a multipart/form-data body, read as a stream
    with limits: at most :data:`MAX_FORM_FIELDS` text fields of :data:`MAX_FIELD_CHARS`,
    ``max_files`` files of ``max_file_bytes``, and a declared ``Content-Length`` no larger
    than all of that (413 before anything is read)."""
    if request.content_type != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "请求体应为 multipart/form-data")
    body_limit = max_files * (max_file_bytes + _PART_OVERHEAD) + MAX_FORM_FIELDS * (
        MAX_FIELD_CHARS * 4 + _PART_OVERHEAD
    )
    if request.content_length is not None and request.content_length > body_limit:
        raise ApiError(413, "too_large", f"请求体过大（不超过 {body_limit / 1048576:.1f} MB）")
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise ApiError(400, "bad_request", "不支持嵌套的 multipart 内容")
        if part.filename is None and len(fields) >= MAX_FORM_FIELDS:
            raise ApiError(400, "bad_request", f"表单字段过多（不超过 {MAX_FORM_FIELDS} 个）")
        if part.filename is not None:
            if len(files) >= max_files:
                raise ApiError(400, "bad_request", f"最多上传 {max_files} 张照片")
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data += chunk
                if len(data) > max_file_bytes:
                    limit = max_file_bytes / 1048576
                    raise ApiError(413, "too_large", f"照片过大，单张不超过 {limit:.1f} MB")
            if data:
                files.append((part.filename, bytes(data)))
            continue
        raw = bytearray()
        while chunk := await part.read_chunk(8192):
            raw += chunk
            if len(raw) > MAX_FIELD_CHARS * 4:
                raise ApiError(413, "too_large", f"字段 {part.name} 过长")
        try:
            text = raw.decode(part.get_charset("utf-8"))
        except (UnicodeDecodeError, LookupError):
            raise ApiError(400, "bad_request", f"字段 {part.name} 不是有效的文本") from None
        if "\x00" in text or len(text) > MAX_FIELD_CHARS:
            raise ApiError(400, "bad_request", f"字段 {part.name} 无效或过长")
        fields[part.name or ""] = text
    return fields, files


def body_list(
    body: Mapping[str, Any], name: str, limit: int, valid: Callable[[Any], bool], error: ApiError
) -> list[Any]:
    """The list ``body[name]`` without repeats ([] when absent); ``error`` unless it is a
    list of at most ``limit`` items that are all ``valid``."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > limit or not all(valid(v) for v in value):
        raise error
    return list(dict.fromkeys(value))


def _token(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii()


def photo_tokens(body: Mapping[str, Any], name: str = "photos", limit: int = 20) -> list[str]:
    message = f"参数 {name} 应为上传照片得到的令牌列表（至多 {limit} 个）"
    return body_list(body, name, limit, _token, ApiError(400, "bad_parameter", message))


async def stage_uploads(
    conn: asyncpg.Connection, user_id: int, stored: Sequence[StoredFile]
) -> list[dict[str, Any]]:
    """Remember stored photos for the uploader; returns {token, name, mime, size} each."""
    out = []
    for f in stored:
        token = secrets.token_urlsafe(24)
        await q.stage_upload(
            conn, token, user_id, f.path, f.mime, f.size, f.sha256, f.original_name
        )
        out.append({"token": token, "name": f.original_name, "mime": f.mime, "size": f.size})
    return out


async def take_uploads(
    conn: asyncpg.Connection, user_id: int, tokens: Sequence[str]
) -> list[StoredFile]:
    """The staged photos of ``tokens`` (the caller's own), consumed."""
    if not tokens:
        return []
    rows = {r["token"]: r for r in await q.take_uploads(conn, list(tokens), user_id)}
    if len(rows) != len(tokens):
        raise ApiError(400, "bad_upload", "照片已失效或不属于您，请重新上传")
    return [
        StoredFile(r["path"], r["mime"], r["size"], r["sha256"], r["original_name"])
        for r in (rows[t] for t in tokens)
    ]


# -- pages ---------------------------------------------------------------------------------


async def caller_page(
    request: web.Request,
    template: str,
    title: str,
    abilities: Callable[[Caller], Mapping[str, bool]],
    **extra: Any,
) -> web.Response:
    """A page shell whose configuration names the caller: ``actor`` is who acts and, by
    ``abilities``, what they may do."""
    caller = await request_caller(request)
    actor = {**caller.to_json(), **abilities(caller)}
    return render_page(request, template, title, actor=actor, **extra)


def caller_shell(
    template: str, title: str, abilities: Callable[[Caller], Mapping[str, bool]]
) -> Handler:
    """The handler of a :func:`caller_page` with nothing else in its configuration."""

    async def page(request: web.Request) -> web.Response:
        return await caller_page(request, template, title, abilities)

    return page
