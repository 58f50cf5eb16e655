"""SMS receivers (Aliyun, Tencent Cloud) against a local fake cloud that verifies the
signatures; provider errors with their codes; the per-receiver hourly cap and roll-up."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts import api
from alerts.config import Receiver
from alerts.loader import load_config
from alerts.metrics import AlertMetrics
from alerts.notifiers import Channels, NotifyError
from alerts.notifiers.sms import mask_number, phone_numbers
from alerts.outbox import Sender, idempotency_key, queue_message
from alerts.templates import Message
from store.db import connect, create_pool
from store.validation import ConfigError

from .conftest import alert_settings
from .sms_fake import ALIYUN_SECRET, TENCENT_SECRET, SmsCloud, sms_cloud, sms_settings

__all__ = ["sms_cloud"]

DSN = "postgresql://x@127.0.0.1/x"
MESSAGE = Message(
    "【环境监测告警】超标 · 西湖区：1 条新告警",
    "正文\n",
    "<p>正文</p>",
    "### 超标",
    {"kind": "alert"},
    {"kind": "alert", "params": {"summary": "超标 · 西湖区：1 条新告警", "count": "1"}},
)


def receiver(kind: str, address: str = "13800138000", **settings: Any) -> Receiver:
    return Receiver(7, f"{kind}-值班", kind, address, None, settings, True)


@pytest.mark.parametrize(
    ("kind", "numbers", "template", "params"),
    [
        ("aliyun_sms", ["13800138000", "13900139000"], "SMS_100", {"summary": MESSAGE.subject[8:]}),
        ("tencent_sms", ["+8613800138000", "+8613900139000"], "1001", [MESSAGE.subject[8:]]),
    ],
)  # fmt: skip
async def test_signed_send_is_accepted(
    sms_cloud: SmsCloud, tmp_path: Path, kind: str, numbers: list[str], template: str, params: Any
) -> None:
    settings = alert_settings(DSN, tmp_path, **sms_settings(sms_cloud))
    async with Channels(settings.alerts) as channels:
        await channels.send(receiver(kind, "13800138000, +86 139-0013-9000"), MESSAGE, "envgrid-1")
        await channels.send(receiver(kind), MESSAGE, "envgrid-2")  # a fresh nonce / timestamp
    assert sms_cloud.refused == []
    provider = kind.removesuffix("_sms")
    ((_, got, sign, code, values), _second) = [s for s in sms_cloud.sent if s[0] == provider]
    assert (got, sign, code, values) == (numbers, "环境监测", template, params)


@pytest.mark.parametrize(
    ("kind", "code"),
    [("aliyun_sms", "SignatureDoesNotMatch"), ("tencent_sms", "AuthFailure.SignatureFailure")],
)
async def test_wrong_secret_is_refused_with_the_provider_code(
    sms_cloud: SmsCloud, tmp_path: Path, kind: str, code: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = sms_settings(sms_cloud) | {
        "sms_aliyun_access_key_secret": "not-the-secret",
        "sms_tencent_secret_key": "not-the-secret",
    }
    settings = alert_settings(DSN, tmp_path, **wrong)
    async with Channels(settings.alerts) as channels:
        with pytest.raises(NotifyError) as info:
            await channels.send(receiver(kind), MESSAGE, "x")
    assert code in str(info.value) and not info.value.retry
    assert sms_cloud.refused == [(kind.removesuffix("_sms"), code)] and sms_cloud.sent == []
    for secret in ("not-the-secret", ALIYUN_SECRET, TENCENT_SECRET):
        assert secret not in str(info.value) and secret not in caplog.text


@pytest.mark.parametrize(
    ("kind", "code", "retry"),
    [
        ("aliyun_sms", "isv.BUSINESS_LIMIT_CONTROL", True),
        ("aliyun_sms", "isv.TEMPLATE_MISSING_PARAMETERS", False),
        ("tencent_sms", "LimitExceeded.PhoneNumberOneHourLimit", True),
        ("tencent_sms", "FailedOperation.InsufficientBalanceInSmsPackage", False),
    ],
)
async def test_business_errors_carry_their_code(
    sms_cloud: SmsCloud, tmp_path: Path, kind: str, code: str, retry: bool
) -> None:
    settings = alert_settings(DSN, tmp_path, **sms_settings(sms_cloud))
    sms_cloud.script[kind.removesuffix("_sms")] = [code]
    async with Channels(settings.alerts) as channels:
        with pytest.raises(NotifyError) as info:
            await channels.send(receiver(kind), MESSAGE, "x")
    assert code in str(info.value) and info.value.retry is retry
    assert "138****8000" in str(info.value) or kind == "aliyun_sms"
    assert "13800138000" not in str(info.value)


async def test_missing_template_and_credentials_are_permanent(
    sms_cloud: SmsCloud, tmp_path: Path
) -> None:
    settings = alert_settings(
        DSN, tmp_path, **(sms_settings(sms_cloud) | {"sms_tencent_templates": {}})
    )
    async with Channels(settings.alerts) as channels:
        with pytest.raises(NotifyError, match=r"sms_tencent_templates\.alert") as info:
            await channels.send(receiver("tencent_sms"), MESSAGE, "x")
        assert not info.value.retry
        own = receiver("tencent_sms", templates={"alert": "2002"}, params={"alert": "count"})
        await channels.send(own, MESSAGE, "x")
    assert sms_cloud.sent[-1][3:] == ("2002", ["1"])
    bare = alert_settings(DSN, tmp_path)
    async with Channels(bare.alerts) as channels:
        with pytest.raises(NotifyError, match="sms_aliyun_access_key_id is not set"):
            await channels.send(receiver("aliyun_sms"), MESSAGE, "x")


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"alerts.sms_aliyun_access_key_id": "LTAI"}, "together"),
        ({"alerts.sms_tencent_templates": {"daily": "1"}}, "unknown message kind 'daily'"),
        ({"alerts.sms_tencent_params": {"ranking": "date,nope"}}, "unknown variables nope"),
        ({"alerts.sms_aliyun_endpoint": "ftp://x"}, "http(s) address"),
        ({"alerts.sms_max_per_hour": -1}, "sms_max_per_hour"),
    ],
)
def test_bad_sms_settings_are_refused(overrides: dict[str, Any], needle: str) -> None:
    from envgrid.settings import load_settings

    with pytest.raises(ConfigError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_settings(None, {}, overrides, discover=False)


@pytest.mark.parametrize(
    ("address", "numbers"),
    [
        ("13800138000", ["+8613800138000"]),
        ("+86 138 0013 8000; 8613900139000", ["+8613800138000", "+8613900139000"]),
        ("+85291234567", ["+85291234567"]),
    ],
)
def test_phone_numbers(address: str, numbers: list[str]) -> None:
    assert phone_numbers(address) == numbers


@pytest.mark.parametrize("address", ["", "12345", "1380013800x", "010-12345678"])
def test_bad_phone_numbers(address: str) -> None:
    with pytest.raises(ValueError):
        phone_numbers(address)


def test_numbers_are_masked() -> None:
    assert mask_number("+8613800138000") == "138****8000"
    assert mask_number("+85291234567") == "852****4567"


async def test_receiver_api_checks_numbers(db_dsn: str) -> None:
    conn = await connect(db_dsn)
    try:
        with pytest.raises(api.AlertApiError, match="mobile numbers"):
            await api.create_receiver(conn, name="短信", kind="aliyun_sms", address="12345")
        with pytest.raises(api.AlertApiError, match="daily_push"):
            await api.create_receiver(
                conn, name="短信", kind="aliyun_sms", address="13800138000",
                settings={"daily_push": "yes"},
            )  # fmt: skip
        rid = await api.create_receiver(
            conn, name="短信", kind="tencent_sms", address="13800138000, 13900139000"
        )
        assert (await api.get_receiver(conn, rid) or {})["kind"] == "tencent_sms"
    finally:
        await conn.close()


async def test_hourly_cap_drops_and_rolls_into_the_next_sms(
    db_dsn: str, sms_cloud: SmsCloud, pg_reachable_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = alert_settings(db_dsn, pg_reachable_tmp, **sms_settings(sms_cloud))
    conn = await connect(db_dsn)
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        rid = await api.create_receiver(
            conn, name="值班短信", kind="tencent_sms", address="13800138000",
            settings={"max_per_hour": 2},
        )  # fmt: skip
        config = await load_config(conn, settings)
        rx = config.receivers[rid]
        for i in range(4):
            await queue_message(
                conn, key=idempotency_key("t", i), receiver=rx, kind="alert", message=MESSAGE
            )
        async with Channels(settings.alerts) as channels:
            registry = CollectorRegistry()
            sender = Sender(pool, channels, lambda: config, metrics=AlertMetrics(registry))
            with caplog.at_level(logging.WARNING):
                await sender.send_due()
            statuses = await conn.fetch("SELECT status FROM alert_notifications ORDER BY id")
            assert [r[0] for r in statuses] == ["sent", "sent", "dropped", "dropped"]
            assert sender.dropped == 2 and "SMS cap of 2 an hour" in caplog.text
            for outcome, n in (("sent", 2), ("dropped", 2), ("failed", 0)):
                name = f"envgrid_alerts_notifications_{outcome}_total"
                assert registry.get_sample_value(name, {"channel": "tencent_sms"}) == n
            reason = await conn.fetchval(
                "SELECT last_error FROM alert_notifications WHERE status = 'dropped' LIMIT 1"
            )
            assert "每小时最多 2 条" in reason
            # an hour later the cap has room again; the next SMS says what was dropped
            await conn.execute(
                "UPDATE alert_notifications SET sent_at = sent_at - interval '61 minutes'"
                " WHERE status = 'sent'"
            )
            await queue_message(
                conn, key=idempotency_key("t", 9), receiver=rx, kind="alert", message=MESSAGE
            )
            await sender.send_due()
        *_, last = sms_cloud.params("tencent")
        assert last == ["另有 2 条短信因限额未发送；超标 · 西湖区：1 条新告警"]
        assert len(sms_cloud.sent) == 3
    finally:
        await pool.close()
        await conn.close()


def test_sms_credentials_are_masked_in_the_settings_listing() -> None:
    """``envgrid config show`` (store.config.settings_as_dict) never prints the SMS keys."""
    from envgrid.settings import load_settings
    from store.config import settings_as_dict

    env = {
        "ENVGRID_ALERTS__SMS_ALIYUN_ACCESS_KEY_ID": "LTAIvisible",
        "ENVGRID_ALERTS__SMS_ALIYUN_ACCESS_KEY_SECRET": "aliyun-hidden-1",
        "ENVGRID_ALERTS__SMS_TENCENT_SECRET_ID": "AKIDhidden",
        "ENVGRID_ALERTS__SMS_TENCENT_SECRET_KEY": "tencent-hidden-2",
    }
    shown = repr(settings_as_dict(load_settings(None, env, {}, discover=False)))
    assert "aliyun-hidden-1" not in shown and "tencent-hidden-2" not in shown
    assert "LTAIvisible" in shown  # the key id names the account, it is not a secret


async def test_a_case_notice_goes_as_a_notice_template(sms_cloud: SmsCloud, tmp_path: Path) -> None:
    """Messages without an SMS form (web.casework notices) use the ``notice`` template."""
    settings = alert_settings(
        DSN,
        tmp_path,
        **(sms_settings(sms_cloud) | {"sms_aliyun_templates": {"notice": "SMS_400"}}),
    )
    notice = Message("【督办】案件 AJ1 处置超期", "t", "", "", {"kind": "case_supervise"})
    async with Channels(settings.alerts) as channels:
        await channels.send(receiver("aliyun_sms"), notice, "x")
    assert sms_cloud.sent[-1][3:] == ("SMS_400", {"summary": "【督办】案件 AJ1 处置超期"})


async def test_cli_adds_an_sms_receiver_and_test_notify_sends_the_test_template(
    db_dsn: str,
    sms_cloud: SmsCloud,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from envgrid.cli import main

    for key, value in sms_settings(sms_cloud).items():
        text = json.dumps(value) if isinstance(value, dict) else str(value)
        monkeypatch.setenv(f"ENVGRID_ALERTS__{key.upper()}", text)
    monkeypatch.setenv("ENVGRID_ALERTS__WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")

    async def run(*argv: str) -> tuple[int, str, str]:
        # its own thread and event loop: the fake cloud serves on this test's loop
        code = await asyncio.to_thread(main, ["alerts", "--dsn", db_dsn, *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = await run("receiver", "add", "坏", "--kind", "aliyun_sms", "--address", "123")
    assert code == 2 and "mobile numbers" in err
    code, out, _ = await run(
        "receiver", "add", "值班短信", "--kind", "aliyun_sms", "--address", "13800138000"
    )
    assert code == 0 and "值班短信" in out
    code, out, err = await run("test-notify", "值班短信")
    assert code == 0 and "sent to 值班短信" in out, err
    ((_, numbers, _, template, params),) = sms_cloud.sent
    assert (numbers, template) == (["13800138000"], "SMS_300")
    assert params == {"summary": "测试消息（值班短信）"}
    code, out, _ = await run("receiver", "list")
    assert ALIYUN_SECRET not in out and "aliyun_sms" in out
