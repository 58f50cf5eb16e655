"""Remote-command records in words: the command's and each reply's name (HJ 212 CN table)
and what the reply codes mean (QnRtn, HJ 212-2017 table 7; ExeRtn, table 6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from protocol.commands import EXE_RTN, QN_RTN, command_info

__all__ = ["cn_name", "command_view", "reply_result"]

#: Reply fields told in words by :func:`reply_result` (the rest are shown as sent).
RESULT_FIELDS = {"QnRtn": QN_RTN, "ExeRtn": EXE_RTN}


def cn_name(cn: Any) -> str:
    """The command's Chinese name; an unknown CN by its number."""
    try:
        info = command_info(int(cn))
    except (TypeError, ValueError):
        info = None
    return info.name_zh if info is not None else f"未定义的命令（{cn}）"


def _code_name(table: Mapping[int, tuple[str, str]], value: Any) -> str:
    try:
        known = table.get(int(value))
    except (TypeError, ValueError):
        known = None
    return known[0] if known else f"未定义的返回码（{value}）"


def reply_result(fields: Mapping[str, Any]) -> str:
    """``QnRtn``/``ExeRtn`` of a reply as words ("" when it holds neither)."""
    return "，".join(
        _code_name(table, fields[key]) for key, table in RESULT_FIELDS.items() if key in fields
    )


def command_view(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (a station_commands record with its replies) with ``cn_name`` on the command
    and on each reply and ``result`` on each reply."""
    replies = []
    for reply in row.get("replies") or []:
        fields = reply.get("fields") or {}
        replies.append(
            {**reply, "cn_name": cn_name(reply.get("cn")), "result": reply_result(fields)}
        )
    return {**row, "cn_name": cn_name(row.get("cn")), "replies": replies}
