"""Receivers (contact points) and their responsibilities (who answers for what)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from .. import queries
from ..notifiers import NOTIFIERS, SMS_KINDS
from ..notifiers.sms import phone_numbers
from ..routing import ROLES, SCOPES
from .common import AlertApiError, Db, Record, absent, choices, delete_row, record, write_row

__all__ = [
    "add_responsibility",
    "create_receiver",
    "delete_receiver",
    "get_receiver",
    "list_receivers",
    "list_responsibilities",
    "remove_responsibility",
    "update_receiver",
]


_EMAIL: Final = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


_RECEIVER: Final = ("receiver", "接收人")


def _taken(name: str) -> tuple[str, str]:
    return f"a receiver named {name!r} exists already", f"已有名为“{name}”的接收人"


def _phone_zh(exc: ValueError) -> str:
    """:func:`phone_numbers`'s refusal in Chinese (the number stays masked)."""
    text = str(exc)
    if text.startswith("not a mobile number: "):
        return f"不是手机号：{text.removeprefix('not a mobile number: ')}"
    return "未填写手机号"


def _check_receiver(kind: str, address: str, settings: Mapping[str, Any] | None) -> None:
    if kind not in NOTIFIERS:
        raise AlertApiError(
            f"unknown receiver kind {kind!r}; kinds: {', '.join(NOTIFIERS)}",
            f"未知的接收方式 {kind!r}；可选：{'、'.join(NOTIFIERS)}",
        )
    if kind == "email":
        parts = [a for a in re.split(r"[,;\s]+", address.strip()) if a]
        bad = [a for a in parts if not _EMAIL.match(a)]
        if not parts or bad:
            raise AlertApiError(
                "email receiver needs email addresses separated by commas"
                f" (bad: {bad or address!r})",
                "邮件接收人须填写以逗号分隔的邮箱地址"
                f"（有误：{'、'.join(bad) or address or '空'}）",
            )
    elif kind in SMS_KINDS:
        try:
            phone_numbers(address)
        except ValueError as exc:
            raise AlertApiError(
                f"{kind} receiver needs mobile numbers separated by commas"
                f" (13800138000 or +8613800138000): {exc}",
                "短信接收人须填写以逗号分隔的手机号（13800138000 或 +8613800138000）："
                + _phone_zh(exc),
            ) from exc
    else:
        url = urlsplit(address)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise AlertApiError(
                f"{kind} receiver needs an http(s) URL (got {address!r})",
                f"{kind} 接收人须填写 http(s) 网址（收到 {address!r}）",
            )
    if settings is not None and not isinstance(settings, Mapping):
        raise AlertApiError("receiver settings must be an object", "接收人设置须为对象")
    if settings is not None and not isinstance(settings.get("daily_push", True), bool):
        raise AlertApiError(
            "receiver setting daily_push must be true or false", "“每日推送”须为是或否"
        )


async def create_receiver(
    db: Db,
    *,
    name: str,
    kind: str,
    address: str,
    secret: str | None = None,
    settings: Mapping[str, Any] | None = None,
    enabled: bool = True,
) -> int:
    """A contact point: ``email`` (addresses), ``webhook``/``wecom``/``dingtalk`` (URL;
    secret = DingTalk signing secret or the webhook HMAC key), ``aliyun_sms`` /
    ``tencent_sms`` (mobile numbers; the cloud credentials are settings, not stored here).
    ``settings.daily_push`` (default true): whether the 08:30 push goes this way."""
    if not name.strip():
        raise AlertApiError("receiver name must not be empty", "接收人名称不能为空")
    _check_receiver(kind, address, settings)
    args = (name.strip(), kind, address.strip(), secret or None, dict(settings or {}), enabled)
    rid = await write_row(
        db, queries.INSERT_RECEIVER_SQL, args, "alert_receivers", duplicate=_taken(name)
    )
    return int(rid)


async def update_receiver(
    db: Db,
    receiver_id: int,
    *,
    name: str,
    kind: str,
    address: str,
    settings: Mapping[str, Any] | None = None,
    enabled: bool = True,
    secret: str | None = None,
    keep_secret: bool = True,
) -> None:
    """Replace a receiver's fields; the secret stays unless ``keep_secret=False``."""
    _check_receiver(kind, address, settings)
    await write_row(
        db,
        queries.UPDATE_RECEIVER_SQL,
        (
            receiver_id,
            name.strip(),
            kind,
            address.strip(),
            not keep_secret,
            secret or None,
            dict(settings or {}),
            enabled,
        ),
        "alert_receivers",
        duplicate=_taken(name),
        missing=absent(_RECEIVER, receiver_id),
    )


async def list_receivers(db: Db) -> list[Record]:
    """Receivers; secrets are not returned (``has_secret``)."""
    return [record(r) for r in await db.fetch(queries.LIST_RECEIVERS_SQL)]


async def get_receiver(db: Db, ident: int | str) -> Record | None:
    """A receiver by id or name, with its secret (for the notifiers and the CLI)."""
    text = str(ident)
    number = int(text) if text.isascii() and text.isdigit() else -1
    row = await db.fetchrow(queries.GET_RECEIVER_SQL, number, str(ident))
    return None if row is None else record(row)


async def delete_receiver(db: Db, receiver_id: int) -> None:
    await delete_row(db, queries.DELETE_RECEIVER_SQL, receiver_id, "alert_receivers", _RECEIVER)


async def add_responsibility(
    db: Db, *, receiver_id: int, role: str, scope: str, scope_key: str | int = ""
) -> int:
    """``receiver_id`` is ``role`` (maintainer/officer) for a station (id), a region
    (name), an area (id: the area and every grid below it) or ``all``."""
    choices([role], ROLES, "role")
    choices([scope], SCOPES, "scope")
    key = "" if scope == "all" else str(scope_key).strip()
    if scope != "all" and not key:
        raise AlertApiError(
            f"scope {scope!r} needs a scope_key (station id, region or area id)",
            f"范围 {scope} 须指定对象（站点编号、区域名称或网格编号）",
        )
    if scope in ("station", "area") and not (key.isascii() and key.isdigit()):
        raise AlertApiError(
            f"scope {scope!r} needs a numeric id (got {key!r})",
            f"范围 {scope} 须为数字编号（收到 {key!r}）",
        )
    rid = await write_row(
        db,
        queries.INSERT_RESPONSIBILITY_SQL,
        (receiver_id, role, scope, key),
        "alert_responsibilities",
        dangling=absent(_RECEIVER, receiver_id),
    )
    return int(rid)


async def list_responsibilities(db: Db, *, receiver_id: int | None = None) -> list[Record]:
    return [record(r) for r in await db.fetch(queries.LIST_RESPONSIBILITIES_SQL, receiver_id)]


async def remove_responsibility(db: Db, responsibility_id: int) -> None:
    await delete_row(
        db,
        queries.DELETE_RESPONSIBILITY_SQL,
        responsibility_id,
        "alert_responsibilities",
        ("responsibility", "负责关系"),
    )
