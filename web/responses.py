"""JSON responses (orjson) and the one error shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

import orjson
from aiohttp import web

__all__ = ["CONTENT_TYPES", "ApiError", "dumps", "error_body", "file_response", "json_response"]

_OPTIONS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(data), status=status, content_type="application/json", headers=headers
    )


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


class ApiError(Exception):
    """An API failure with a stable ``code`` and a message for people (Chinese); extra
    keyword arguments become fields of the error body, ``headers`` headers of the answer.

    Raised by handlers and helpers; the error middleware answers it (see ``web.errors``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The JSON answer: ``{"error": {"code", "message", …extra}}``."""
        body = error_body(self.code, self.message, **self.extra)
        return json_response(body, status=self.status, headers=self.headers or None)


#: Content types of the export formats.
CONTENT_TYPES: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "png": "image/png",
    "jpg": "image/jpeg",
}


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    stem, dot, ext = filename.rpartition(".")
    ascii_stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in stem)
    ascii_stem = "_".join(part for part in ascii_stem.split("_") if part)
    fallback = f"{ascii_stem.strip('_') or 'export'}{dot}{ext}" if dot else "export"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(body: bytes, filename: str, fmt: str) -> web.Response:
    """A download: the format's content type and a Content-Disposition with the
    (Chinese) file name."""
    content_type = CONTENT_TYPES[fmt]
    media, _, params = content_type.partition(";")
    response = web.Response(body=body, content_type=media.strip())
    if "charset" in params:
        response.charset = params.split("=", 1)[1].strip()
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "no-store"
    return response
