"""Notifiers against a real SMTP server (aiosmtpd) and a local webhook receiver; the
sender's retries, back-off, rate limit and delivery log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from prometheus_client import CollectorRegistry

from alerts import api
from alerts.config import Receiver
from alerts.loader import load_config
from alerts.metrics import AlertMetrics
from alerts.notifiers import Channels, NotifyError
from alerts.notifiers.webhook import dingtalk_sign, truncate_utf8
from alerts.outbox import Sender, idempotency_key, queue_message, send_now
from alerts.templates import Message, render_test
from store.db import connect

from .conftest import Hooks, SmtpServer, alert_settings, wait_for

SH = ZoneInfo("Asia/Shanghai")
QUEUED = "envgrid_alerts_notifications_queued"
MESSAGE = Message(
    "【环境监测告警】断线 · 西湖区：1 条新告警",
    "断线 正文\n",
    "<p>断线 正文</p>",
    "### 断线\n\n> 西湖站 断线",
    {"version": "1", "kind": "alert", "title": "断线", "text": "断线 正文"},
)


def receiver(kind: str, address: str, secret: str | None = None, **settings: object) -> Receiver:
    return Receiver(1, f"{kind}-test", kind, address, secret, settings, True)


async def test_email_html_and_text_in_chinese(smtp_server: SmtpServer, tmp_path: Path) -> None:
    settings = alert_settings(
        "postgresql://x@127.0.0.1/x",
        tmp_path,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_from="alerts@envgrid.test",
    )
    async with Channels(settings.alerts) as channels:
        await channels.send(receiver("email", "a@x.cn, b@y.cn"), MESSAGE, "envgrid-7")
    (msg,) = smtp_server.mailbox.messages
    assert msg["Subject"] == MESSAGE.subject
    assert msg["X-Envgrid-Notification"] == "envgrid-7"
    assert smtp_server.mailbox.envelopes == [("alerts@envgrid.test", ["a@x.cn", "b@y.cn"])]
    assert "断线 正文" in smtp_server.mailbox.text(msg)
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and "<p>断线 正文</p>" in html.get_content()


async def test_email_unreachable_is_retryable(tmp_path: Path) -> None:
    from tests.conftest import free_port

    settings = alert_settings(
        "postgresql://x@127.0.0.1/x", tmp_path, smtp_host="127.0.0.1", smtp_port=free_port()
    )
    async with Channels(settings.alerts) as channels:
        with pytest.raises(NotifyError) as info:
            await channels.send(receiver("email", "a@x.cn"), MESSAGE, "x")
    assert info.value.retry


async def test_email_without_smtp_host_is_permanent(tmp_path: Path) -> None:
    settings = alert_settings("postgresql://x@127.0.0.1/x", tmp_path)
    async with Channels(settings.alerts) as channels:
        with pytest.raises(NotifyError, match="smtp_host") as info:
            await channels.send(receiver("email", "a@x.cn"), MESSAGE, "x")
    assert not info.value.retry


async def test_generic_webhook_is_signed(webhooks: Hooks, tmp_path: Path) -> None:
    settings = alert_settings("postgresql://x@127.0.0.1/x", tmp_path)
    rx = receiver("webhook", webhooks.url + "/hook", "s3cret", headers={"X-Token": "abc"})
    async with Channels(settings.alerts) as channels:
        await channels.send(rx, MESSAGE, "envgrid-9")
    ((path, headers, body),) = webhooks.requests
    assert path == "/hook" and body == dict(MESSAGE.payload)
    assert headers["X-Token"] == "abc" and headers["X-Envgrid-Notification"] == "envgrid-9"
    raw = orjson.dumps(dict(MESSAGE.payload))
    mac = hmac.new(b"s3cret", headers["X-Envgrid-Timestamp"].encode() + b"." + raw, hashlib.sha256)
    assert headers["X-Envgrid-Signature"] == "sha256=" + mac.hexdigest()


async def test_sms_gateway_body_template(webhooks: Hooks, tmp_path: Path) -> None:
    settings = alert_settings("postgresql://x@127.0.0.1/x", tmp_path)
    rx = receiver(
        "webhook",
        webhooks.url + "/sms",
        body_template={"mobile": "13800000000", "content": "{subject}"},
    )
    async with Channels(settings.alerts) as channels:
        await channels.send(rx, MESSAGE, "x")
    assert webhooks.bodies("/sms") == [{"mobile": "13800000000", "content": MESSAGE.subject}]


async def test_wecom_markdown_payload(webhooks: Hooks, tmp_path: Path) -> None:
    settings = alert_settings("postgresql://x@127.0.0.1/x", tmp_path)
    async with Channels(settings.alerts) as channels:
        await channels.send(
            receiver("wecom", webhooks.url + "/cgi-bin/webhook/send?key=k"), MESSAGE, "x"
        )
    ((path, _, body),) = webhooks.requests
    assert path == "/cgi-bin/webhook/send?key=k"
    assert body == {"msgtype": "markdown", "markdown": {"content": MESSAGE.markdown}}


async def test_dingtalk_markdown_signed(webhooks: Hooks, tmp_path: Path) -> None:
    settings = alert_settings("postgresql://x@127.0.0.1/x", tmp_path)
    rx = receiver(
        "dingtalk",
        webhooks.url + "/robot/send?access_token=t",
        "SECabc",
        at_mobiles=["13900000000"],
    )
    async with Channels(settings.alerts) as channels:
        await channels.send(rx, MESSAGE, "x")
    ((path, _, body),) = webhooks.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    ts = int(query["timestamp"][0])
    digest = hmac.new(b"SECabc", f"{ts}\nSECabc".encode(), hashlib.sha256).digest()
    assert query["sign"][0] == base64.b64encode(digest).decode()  # parse_qs decodes it
    assert query["access_token"] == ["t"]
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == MESSAGE.subject
    assert body["markdown"]["text"].endswith("@13900000000")
    assert body["at"] == {"atMobiles": ["13900000000"], "isAtAll": False}


def test_dingtalk_sign_matches_the_documented_algorithm() -> None:
    # timestamp + "\n" + secret, HMAC-SHA256 keyed with the secret, base64, URL-encoded
    expected = base64.b64encode(
        hmac.new(b"SEC1", b"1700000000000\nSEC1", hashlib.sha256).digest()
    ).decode()
    assert dingtalk_sign("SEC1", 1700000000000) == urllib.parse.quote_plus(expected)


@pytest.mark.parametrize(
    ("status", "answer", "retry"),
    [
        (200, {"errcode": 45009, "errmsg": "api freq out of limit"}, True),
        (200, {"errcode": 93000, "errmsg": "invalid webhook url"}, False),
        (500, {"error": "boom"}, True),
        (429, {}, True),
        (404, {}, False),
    ],
)
async def test_robot_errors_are_classified(
    webhooks: Hooks, tmp_path: Path, status: int, answer: object, retry: bool
) -> None:
    settings = alert_settings("postgresql://x@127.0.0.1/x", tmp_path)
    webhooks.script["/wecom"] = [(status, answer)]
    async with Channels(settings.alerts) as channels:
        with pytest.raises(NotifyError) as info:
            await channels.send(receiver("wecom", webhooks.url + "/wecom"), MESSAGE, "x")
    assert info.value.retry is retry


def test_truncate_utf8_never_splits_a_character() -> None:
    text = "断线" * 3000
    out = truncate_utf8(text, 4096)
    assert len(out.encode()) <= 4096 and out.endswith("已截断）")


# ------------------------------------------------------------------------------------------
# the sender: delivery log, retries, back-off, rate limit


async def test_sender_retries_then_delivers_and_logs(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path
) -> None:
    settings = alert_settings(db_dsn, pg_reachable_tmp, retry_backoff_s=0.05, send_attempts=3)
    conn = await connect(db_dsn)
    try:
        rid = await api.create_receiver(
            conn, name="hook", kind="webhook", address=webhooks.url + "/h"
        )
        await api.create_receiver(conn, name="dead", kind="webhook", address=webhooks.url + "/dead")
        config = await load_config(conn, settings)
        webhooks.script["/h"] = [(503, {}), (503, {})]
        webhooks.script["/dead"] = [(500, {})] * 5
        for name in ("hook", "dead"):
            rx = next(r for r in config.receivers.values() if r.name == name)
            assert await queue_message(
                conn, key=f"k-{name}", receiver=rx, kind="test", message=MESSAGE
            )
            # the same key again is a no-op (a restart never queues a message twice)
            assert (
                await queue_message(
                    conn, key=f"k-{name}", receiver=rx, kind="test", message=MESSAGE
                )
                is None
            )
        from store.db import create_pool

        pool = await create_pool(db_dsn, min_size=1, max_size=2)
        registry = CollectorRegistry()
        metrics = AlertMetrics(registry)
        await metrics.sample_db(pool)
        assert registry.get_sample_value(QUEUED, {"channel": "webhook"}) == 2
        async with Channels(settings.alerts) as channels:
            sender = Sender(pool, channels, lambda: config, metrics=metrics)

            async def settled() -> bool:
                await sender.send_due()
                n = await conn.fetchval(
                    "SELECT count(*) FROM alert_notifications WHERE status IN ('sent', 'failed')"
                )
                return n == 2

            await wait_for(settled, timeout=10)
        await metrics.sample_db(pool)
        await pool.close()
        assert registry.get_sample_value(QUEUED, {"channel": "webhook"}) == 0
        for outcome in ("sent", "failed"):  # the retries are not counted, the outcome is
            name = f"envgrid_alerts_notifications_{outcome}_total"
            assert registry.get_sample_value(name, {"channel": "webhook"}) == 1
        log = (await api.list_notifications(conn)).items
        by_name = {r["receiver_name"]: r for r in log}
        assert (by_name["hook"]["status"], by_name["hook"]["attempts"]) == ("sent", 3)
        assert (by_name["dead"]["status"], by_name["dead"]["attempts"]) == ("failed", 3)
        assert "HTTP 500" in by_name["dead"]["last_error"]
        assert len(webhooks.bodies("/h")) == 3 and len(webhooks.bodies("/dead")) == 3
        assert rid == by_name["hook"]["receiver_id"]
    finally:
        await conn.close()


async def test_sender_rate_limit_defers(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path
) -> None:
    settings = alert_settings(
        db_dsn, pg_reachable_tmp, max_messages_per_receiver=2, rate_window_s=60
    )
    conn = await connect(db_dsn)
    try:
        await api.create_receiver(conn, name="robot", kind="wecom", address=webhooks.url + "/w")
        config = await load_config(conn, settings)
        rx = next(iter(config.receivers.values()))
        for i in range(3):
            await queue_message(conn, key=f"k{i}", receiver=rx, kind="test", message=MESSAGE)
        from store.db import create_pool

        pool = await create_pool(db_dsn, min_size=1, max_size=2)
        async with Channels(settings.alerts) as channels:
            sender = Sender(pool, channels, lambda: config)
            assert await sender.send_due() == 2
            assert await sender.send_due() == 0  # the third waits for the window
        await pool.close()
        rows = await conn.fetch(
            "SELECT status, next_attempt_at > now() + interval '30 s' AS later FROM alert_notifications ORDER BY id"
        )
        assert [r["status"] for r in rows] == ["sent", "sent", "queued"]
        assert rows[2]["later"]
        assert len(webhooks.bodies("/w")) == 2
    finally:
        await conn.close()


async def test_two_senders_never_send_one_row_twice(
    db_dsn: str, webhooks: Hooks, pg_reachable_tmp: Path
) -> None:
    """Two leaders overlapping in a failover (store.cluster) read the same due rows; the
    conditional claim gives each row to one of them."""
    settings = alert_settings(db_dsn, pg_reachable_tmp)
    conn = await connect(db_dsn)
    try:
        await api.create_receiver(conn, name="hook", kind="webhook", address=webhooks.url + "/h")
        config = await load_config(conn, settings)
        rx = next(iter(config.receivers.values()))
        for i in range(6):
            await queue_message(conn, key=f"k{i}", receiver=rx, kind="test", message=MESSAGE)
        from store.db import create_pool

        pools = [await create_pool(db_dsn, min_size=1, max_size=2) for _ in range(2)]
        async with Channels(settings.alerts) as channels:
            senders = [Sender(pool, channels, lambda: config) for pool in pools]
            counts = await asyncio.gather(*(s.send_due() for s in senders))
        for pool in pools:
            await pool.close()
        idents = [headers["X-Envgrid-Notification"] for _, headers, _ in webhooks.requests]
        assert sum(counts) == 6 and len(idents) == 6 and len(set(idents)) == 6
        sent_once = await conn.fetchval(
            "SELECT count(*) FROM alert_notifications WHERE status = 'sent' AND attempts = 1"
        )
        assert sent_once == 6
    finally:
        await conn.close()


async def test_send_now_for_test_notify(
    db_dsn: str, smtp_server: SmtpServer, pg_reachable_tmp: Path
) -> None:
    settings = alert_settings(
        db_dsn, pg_reachable_tmp, smtp_host=smtp_server.host, smtp_port=smtp_server.port
    )
    conn = await connect(db_dsn)
    try:
        await api.create_receiver(conn, name="值班邮箱", kind="email", address="duty@x.cn")
        config = await load_config(conn, settings)
        rx = next(iter(config.receivers.values()))
        message = render_test(rx.name, datetime(2026, 11, 21, 8, 0, tzinfo=UTC), SH)
        async with Channels(settings.alerts) as channels:
            nid, error = await send_now(conn, channels, rx, message, key=idempotency_key("test", 1))
        assert error is None
        assert smtp_server.mailbox.subjects() == ["【环境监测告警】测试消息"]
        row = await api.get_notification(conn, nid)
        assert row is not None and row["status"] == "sent" and row["kind"] == "test"
        assert "值班邮箱" in row["message"]["text"]
    finally:
        await conn.close()
