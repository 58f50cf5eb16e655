"""Remote-command records in words (web/stations/command_words.py)."""

from __future__ import annotations

from typing import Any

import pytest

from web.stations.command_words import cn_name, command_view, reply_result


@pytest.mark.parametrize(
    ("cn", "name"),
    [
        (1011, "提取/上传现场机时间"),
        ("9011", "请求应答"),
        (9999, "未定义的命令（9999）"),
        (None, "未定义的命令（None）"),
    ],
)
def test_cn_name(cn: Any, name: str) -> None:
    assert cn_name(cn) == name


@pytest.mark.parametrize(
    ("fields", "result"),
    [
        ({"QnRtn": "1"}, "准备执行请求"),
        ({"ExeRtn": "1"}, "执行成功"),
        ({"QnRtn": "1", "ExeRtn": "1"}, "准备执行请求，执行成功"),
        ({"QnRtn": "77"}, "未定义的返回码（77）"),
        ({"QnRtn": "x"}, "未定义的返回码（x）"),
        ({"SystemTime": "20261121100000"}, ""),
    ],
)
def test_reply_result(fields: dict[str, str], result: str) -> None:
    assert reply_result(fields) == result


def test_command_view_names_the_command_and_its_replies() -> None:
    row = {"id": 1, "cn": 1011, "replies": [{"cn": 9011, "fields": {"QnRtn": "1"}}]}
    view = command_view(row)
    assert view["cn_name"] == "提取/上传现场机时间"
    assert view["replies"] == [
        {"cn": 9011, "fields": {"QnRtn": "1"}, "cn_name": "请求应答", "result": "准备执行请求"}
    ]
    assert command_view({"id": 2, "cn": 1011, "replies": None})["replies"] == []
