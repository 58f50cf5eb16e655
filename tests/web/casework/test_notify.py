"""Case notices go out through the alert notifiers: the recipient's receiver and channel,
sent once (restarts included), retried with back-off, skipped with a reason when nobody
can receive them; a sender that died mid-send is taken over after its lease."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg

from alerts import api
from alerts.notifiers import Channels
from envgrid.settings import load_settings
from tests.alerts.conftest import (  # noqa: F401 - fixtures
    LOOPBACK_ALLOWED,
    Hooks,
    SmtpServer,
    smtp_server,
    webhooks,
)
from tests.web.casework.conftest import NOW, World
from web.casework.cases import intake
from web.casework.cases import service as cs
from web.casework.cases.notify import send_case_notices
from web.casework.kernel import notices
from web.casework.kernel.config import CaseConfig


def alert_settings(tmp: Path, smtp: SmtpServer | None = None, **extra: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"core.data_dir": str(tmp), "alerts.send_attempts": 2,
                                 "alerts.retry_backoff_s": 10.0, **LOOPBACK_ALLOWED}  # fmt: skip
    if smtp is not None:
        values.update({"alerts.smtp_host": smtp.host, "alerts.smtp_port": smtp.port})
    values.update(extra)
    return load_settings(None, {}, values, discover=False).alerts


async def dispatched_case(conn: asyncpg.Connection, world: World, config: CaseConfig) -> int:
    ref = await intake.create_case(
        conn,
        intake.NewCase("一号站 PM2.5 超标", "env.exceedance", "manual", grid_id=world.areas["G1"]),
        world.officer,
        config,
        now=NOW,
    )
    await cs.transition(conn, ref.id, "accept", world.officer, config, now=NOW)
    result = await cs.transition(conn, ref.id, "file", world.officer, config, now=NOW)
    assert result.state.value == "dispatched"
    return ref.id


async def test_sent_once_through_the_receivers_channel(
    db_pool: asyncpg.Pool,
    db_conn: asyncpg.Connection,
    world: World,
    config: CaseConfig,
    webhooks: Hooks,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    pg_reachable_tmp: Path,
) -> None:
    hook = await api.create_receiver(
        db_conn, name="处置员企业微信", kind="webhook", address=webhooks.url + "/h"
    )
    mail = await api.create_receiver(db_conn, name="网格长邮箱", kind="email", address="gh@x.cn")
    await db_conn.execute(
        "UPDATE grid_people SET receiver_id = $2 WHERE id = $1", world.people["H"], hook
    )
    await db_conn.execute(
        "UPDATE grid_people SET receiver_id = $2 WHERE id = $1", world.people["GH"], mail
    )
    case_id = await dispatched_case(db_conn, world, config)
    # a notice for the head (email), one for a member with no receiver, one for nobody
    for person in (world.people["GH"], world.people["GM"]):
        await notices.queue_notices(
            db_conn, "escalation", [person], due_at=NOW, title="督办：案件超期", body="请尽快处置",
            dedup=f"t:{person}", case_id=case_id,
        )  # fmt: skip
    await notices.queue_notices(
        db_conn, "task_overdue", [], due_at=NOW, title="巡查任务超期", body="无人", dedup="t:none"
    )
    settings = alert_settings(pg_reachable_tmp, smtp_server)
    async with Channels(settings) as channels:
        report = await send_case_notices(
            db_pool, channels, settings, now=NOW, base_url="https://env.example.cn/"
        )
        assert (report.sent, report.skipped, report.failed) == (2, 2, 0)
        again = await send_case_notices(db_pool, channels, settings, now=NOW + timedelta(hours=1))
        assert again.sent == again.skipped == again.retried == 0
    bodies = webhooks.bodies("/h")
    assert len(bodies) == 1 and bodies[0]["kind"] == "case_dispatch"
    assert bodies[0]["case_id"] == case_id and bodies[0]["title"].startswith("新派遣案件")
    [msg] = smtp_server.mailbox.messages
    assert msg["Subject"] == "【督办】督办：案件超期"
    assert f"https://env.example.cn/cases/{case_id}" in smtp_server.mailbox.text(msg)
    rows = {
        (r["kind"], r["status"]): r
        for r in await db_conn.fetch("SELECT kind, status, channel, last_error FROM case_notices")
    }
    assert rows[("dispatch", "sent")]["channel"] == "webhook"
    assert rows[("escalation", "sent")]["channel"] == "email"
    assert "未关联通知渠道" in rows[("escalation", "skipped")]["last_error"]
    assert "未配置接收人" in rows[("task_overdue", "skipped")]["last_error"]


async def test_retries_with_backoff_then_fails(
    db_pool: asyncpg.Pool,
    db_conn: asyncpg.Connection,
    world: World,
    config: CaseConfig,
    webhooks: Hooks,  # noqa: F811
    pg_reachable_tmp: Path,
) -> None:
    hook = await api.create_receiver(
        db_conn, name="处置员", kind="webhook", address=webhooks.url + "/down"
    )
    await db_conn.execute(
        "UPDATE grid_people SET receiver_id = $2 WHERE id = $1", world.people["H"], hook
    )
    webhooks.script["/down"] = [(503, {"error": "busy"}), (503, {"error": "busy"})]
    await dispatched_case(db_conn, world, config)
    settings = alert_settings(pg_reachable_tmp)
    async with Channels(settings) as channels:
        first = await send_case_notices(db_pool, channels, settings, now=NOW)
        assert first.retried == 1
        row = await db_conn.fetchrow("SELECT status, attempts, next_attempt_at FROM case_notices")
        assert (row["status"], row["attempts"]) == ("queued", 1)
        assert row["next_attempt_at"] == NOW + timedelta(seconds=10)
        early = await send_case_notices(db_pool, channels, settings, now=NOW + timedelta(seconds=5))
        assert early == type(early)()  # not due yet
        last = await send_case_notices(db_pool, channels, settings, now=NOW + timedelta(seconds=11))
        assert last.failed == 1
    row = await db_conn.fetchrow("SELECT status, attempts, last_error FROM case_notices")
    assert (row["status"], row["attempts"]) == ("failed", 2) and "503" in row["last_error"]
    assert len(webhooks.bodies("/down")) == 2


async def test_a_dead_senders_claim_is_taken_over_after_the_lease(
    db_pool: asyncpg.Pool,
    db_conn: asyncpg.Connection,
    world: World,
    config: CaseConfig,
    webhooks: Hooks,  # noqa: F811
    pg_reachable_tmp: Path,
) -> None:
    hook = await api.create_receiver(
        db_conn, name="处置员", kind="webhook", address=webhooks.url + "/h"
    )
    await db_conn.execute(
        "UPDATE grid_people SET receiver_id = $2 WHERE id = $1", world.people["H"], hook
    )
    await dispatched_case(db_conn, world, config)
    # another process claimed it and died before marking it sent
    await db_conn.execute(
        "UPDATE case_notices SET status = 'sending', next_attempt_at = $1",
        NOW + timedelta(minutes=2),
    )
    settings = alert_settings(pg_reachable_tmp)
    async with Channels(settings) as channels:
        assert (await send_case_notices(db_pool, channels, settings, now=NOW)).sent == 0
        later = NOW + timedelta(minutes=3)
        assert (await send_case_notices(db_pool, channels, settings, now=later)).sent == 1
        assert (await send_case_notices(db_pool, channels, settings, now=later)).sent == 0
    assert len(webhooks.bodies("/h")) == 1


async def test_falls_back_to_the_receiver_of_the_persons_login(
    db_pool: asyncpg.Pool,
    db_conn: asyncpg.Connection,
    world: World,
    webhooks: Hooks,  # noqa: F811
    pg_reachable_tmp: Path,
) -> None:
    user = await db_conn.fetchval(
        "INSERT INTO web_users (username, password_hash, role) VALUES ('gm', 'x', 'grid_member')"
        " RETURNING id"
    )
    await db_conn.execute(
        "UPDATE grid_people SET user_name = 'gm' WHERE id = $1", world.people["GM"]
    )
    hook = await api.create_receiver(
        db_conn, name="网格员甲钉钉", kind="webhook", address=webhooks.url + "/gm"
    )
    await db_conn.execute("UPDATE alert_receivers SET user_id = $2 WHERE id = $1", hook, user)
    await notices.queue_notices(
        db_conn, "task_overdue", [world.people["GM"]], due_at=NOW, title="巡查任务超期：一号站",
        body="任务 #1", dedup="task:1:overdue",
    )  # fmt: skip
    settings = alert_settings(pg_reachable_tmp)
    async with Channels(settings) as channels:
        assert (await send_case_notices(db_pool, channels, settings, now=NOW)).sent == 1
    [body] = webhooks.bodies("/gm")
    assert body["kind"] == "case_task_overdue" and body["title"] == "巡查任务超期：一号站"
