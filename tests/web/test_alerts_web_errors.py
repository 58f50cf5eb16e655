"""The alert API's refusals reach the dashboard in Chinese (``AlertApiError.zh``), with
the status their class asks for: 400 for bad input (the SMS number check), 409 for a
name taken, 404 for a missing object."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from .conftest import Seed

SMS = {"name": "值班短信", "kind": "aliyun_sms", "address": "13800138000"}


async def test_refusals_reach_the_client_in_chinese(
    client: TestClient[Any, Any], seeded: Seed
) -> None:
    cases = [
        ("POST", "/api/v1/alert-receivers", {**SMS, "address": "12345"}, 400, "bad_parameter",
         "短信接收人须填写以逗号分隔的手机号（13800138000 或 +8613800138000）：不是手机号："),
        ("POST", "/api/v1/alert-receivers", SMS, 201, "", ""),
        ("POST", "/api/v1/alert-receivers", SMS, 409, "conflict", "已有名为“值班短信”的接收人"),
        ("DELETE", "/api/v1/alert-receivers/999999", None, 404, "not_found",
         "接收人 999999 不存在"),
    ]  # fmt: skip
    for method, path, body, status, code, message in cases:
        resp = await client.request(method, path, json=body, headers=seeded.auth("admin"))
        assert resp.status == status, await resp.text()
        if code:
            error = (await resp.json())["error"]
            assert error["code"] == code
            assert error["message"].startswith(message), error["message"]
            assert "receiver" not in error["message"]  # not the CLI's English
