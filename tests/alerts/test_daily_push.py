"""The 08:30 daily push on a real database: AQCI ranking, the day's exceedances from the
stored daily means, overdue cases and offline stations — one message per receiver, through
the channels each chose, delivered to aiosmtpd (email), a local webhook server (WeCom,
DingTalk) and the fake SMS cloud."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from alerts import api
from alerts.daily_push import push_daily
from alerts.loader import load_config
from alerts.notifiers import Channels
from alerts.outbox import Sender
from store.db import connect, create_pool
from store.stations import NewStation

from .conftest import Hooks, Mailbox, SmtpServer, alert_settings, factor_id, register
from .sms_fake import SmsCloud, sms_cloud, sms_settings

__all__ = ["sms_cloud"]

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 5)

RANKINGS = [  # scope, key, name, AQI rank (as stored), aqi, level, primary, aqci, valid
    ("station", "MN_A", "西湖站", 1, 90, 2, ["PM2.5"], Decimal("5.10"), True),
    ("station", "MN_B", "滨江站", 2, 120, 3, ["O3"], Decimal("4.20"), True),
    ("station", "MN_C", "灵隐站", None, None, None, [], None, False),
    ("region", "西湖区", "西湖区", 1, 90, 2, ["PM2.5"], Decimal("5.00"), True),
    ("region", "滨江区", "滨江区", 2, 120, 3, ["O3"], Decimal("4.20"), True),
    ("grid", "G1", "一号网格", 1, 90, 2, ["PM2.5"], Decimal("5.10"), True),
]


async def _seed(conn: asyncpg.Connection, ids: dict[str, int]) -> dict[str, int]:
    city = await conn.fetchval(
        "INSERT INTO areas (level, code, name) VALUES (1, '330100', '杭州市') RETURNING id"
    )
    grid = await conn.fetchval(
        "INSERT INTO areas (level, code, name, parent_id) VALUES (5, 'G1', '一号网格', $1)"
        " RETURNING id",
        city,
    )
    await conn.execute("UPDATE stations SET grid_id = $1 WHERE mn = 'MN_A'", grid)
    for scope, key, name, rank, aqi, level, primary, aqci, valid in RANKINGS:
        await conn.execute(
            "INSERT INTO daily_rankings (day, scope, scope_key, scope_name, rank, aqi, level,"
            " primary_pollutants, aqci, valid, standard)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'HJ 633—2026')",
            DAY, scope, key, name, rank, aqi, level, primary, aqci, valid,
        )  # fmt: skip
    means = [  # station, factor, value, valid, mda8, mda8_valid
        ("MN_A", "a34004", 84.0, True, None, None),  # PM2.5 84 > 60: 1.40×
        ("MN_A", "a21026", 10.0, True, None, None),  # SO2 within
        ("MN_B", "a05024", 120.0, True, 200.0, True),  # O3 MDA8 200 > 160: 1.25×
        ("MN_B", "a34002", 300.0, False, None, None),  # PM10 invalid day: not judged
    ]
    for mn, code, value, valid, mda8, mda8_valid in means:
        await conn.execute(
            "INSERT INTO daily_values (station_id, factor_id, day, value, valid, source,"
            " n_hours, n_valid_hours, n_computed_hours, mda8, mda8_valid)"
            " VALUES ($1, $2, $3, $4, $5, 'computed', 24, 24, 24, $6, $7)",
            ids[mn], await factor_id(conn, code), DAY, value, valid, mda8, mda8_valid,
        )  # fmt: skip
    await conn.execute(
        "INSERT INTO alerts (rule, scope_key, station_id, state, severity, first_seen,"
        " last_seen, fired_at) VALUES ('offline', $1, $2, 'firing', 'major',"
        " '2026-12-05 22:10+08', '2026-12-05 22:10+08', '2026-12-05 22:25+08')",
        str(ids["MN_C"]), ids["MN_C"],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO cases (code, title, category, source, state, grid_id, station_id, stage,"
        " deadline, reported_at) VALUES ('AJ20261201001', '西湖站细颗粒物超标核查',"
        " 'env.exceedance', 'alert', 'handling', $1, $2, 'handle', '2026-12-05 02:30+08',"
        " now() - interval '5 days')",
        grid, ids["MN_A"],
    )  # fmt: skip
    user = await conn.fetchval(
        "INSERT INTO web_users (username, display_name, password_hash, role)"
        " VALUES ('zhang', '张科长', 'x', 'officer') RETURNING id"
    )
    return {"city": city, "grid": grid, "user": user}


async def _receivers(conn: asyncpg.Connection, hooks: Hooks, refs: dict[str, int], b: int) -> None:
    async def add(name: str, kind: str, address: str, user: int | None = None, **s: Any) -> int:
        rid = await api.create_receiver(conn, name=name, kind=kind, address=address, settings=s)
        if user is not None:
            await conn.execute("UPDATE alert_receivers SET user_id = $1 WHERE id = $2", user, rid)
        return rid

    # 张科长: officer for 西湖区; three channels, the WeCom one switched off for the push
    mail = await add("张科长邮箱", "email", "zhang@env.test", refs["user"])
    await add("张科长短信", "tencent_sms", "13800138000", refs["user"])
    await add("张科长企微", "wecom", hooks.url + "/wecom-zhang", refs["user"], daily_push=False)
    await api.add_responsibility(conn, receiver_id=mail, role="officer", scope="region", scope_key="西湖区")  # fmt: skip
    duty = await add("值班钉钉群", "dingtalk", hooks.url + "/dingtalk")
    await api.add_responsibility(conn, receiver_id=duty, role="officer", scope="all")
    ops = await add("滨江运维短信", "aliyun_sms", "13900139000")
    await api.add_responsibility(conn, receiver_id=ops, role="maintainer", scope="station", scope_key=b)  # fmt: skip
    grid = await add("杭州网格群", "wecom", hooks.url + "/wecom-grid")
    await api.add_responsibility(conn, receiver_id=grid, role="officer", scope="area", scope_key=refs["city"])  # fmt: skip


async def test_daily_push_content_and_channels(
    db_dsn: str,
    smtp_server: SmtpServer,
    webhooks: Hooks,
    sms_cloud: SmsCloud,
    pg_reachable_tmp: Path,
) -> None:
    ids = await register(
        db_dsn,
        NewStation("MN_A", name="西湖站", st="22", region="西湖区"),
        NewStation("MN_B", name="滨江站", st="22", region="滨江区"),
        NewStation("MN_C", name="灵隐站", st="22", region="西湖区"),
    )
    settings = alert_settings(
        db_dsn,
        pg_reachable_tmp,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        dashboard_url="https://envgrid.test",
        **sms_settings(sms_cloud),
    )
    conn = await connect(db_dsn)
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        refs = await _seed(conn, ids)
        await _receivers(conn, webhooks, refs, ids["MN_B"])
        config = await load_config(conn, settings)
        now = datetime(2026, 12, 6, 8, 30, tzinfo=SH)
        assert await push_daily(conn, config, DAY, now=now) == 5
        assert await push_daily(conn, config, DAY, now=now) == 0  # once a day per channel
        async with Channels(settings.alerts) as channels:
            sender = Sender(pool, channels, lambda: config)
            assert await sender.send_due() == 5
        assert sms_cloud.refused == []
    finally:
        await pool.close()
        await conn.close()

    # email (张科长, 西湖区): the AQCI ranks, not the stored AQI ranks
    (mail,) = smtp_server.mailbox.messages
    text = Mailbox.text(mail)
    assert mail["Subject"] == "【环境监测日报】12月5日空气质量排名、超标、超期案件与断线站点"
    for line in (
        "区县 西湖区：第 2 名（共 2），综合指数 5.00；AQI 90（良），首要污染物 PM2.5",
        "站点 西湖站：第 2 名（共 3），综合指数 5.10",
        "站点 灵隐站：未排名，综合指数 —（数据不足）",
        "接收：张科长",
        "西湖站（西湖区） 细颗粒物 PM2.5 24小时平均 84 µg/m³，限值 60 µg/m³"
        "（GB 3095—2026 过渡阶段 二级），为限值的 1.40 倍",
        "AJ20261201001 西湖站细颗粒物超标核查，西湖站（西湖区）：",
        "时限 12-05 02:30，已超期 1 天 6 小时",
        "灵隐站（西湖区）：自 12-05 22:10 起无数据",
        "详情：https://envgrid.test",
    ):
        assert line in text, line
    assert "滨江站" not in text and "臭氧" not in text  # not 张科长's
    assert text.index("一、综合指数") < text.index("二、12月5日超标") < text.index("三、超期")
    # the same digest by SMS (Tencent: variables in template order), not by the WeCom robot
    assert sms_cloud.params("tencent") == [["12月5日", "第2/2名", "1", "1", "1"]]
    assert webhooks.bodies("/wecom-zhang") == []

    # DingTalk duty group (all): every region, every exceedance
    (ding,) = webhooks.bodies("/dingtalk")
    md = ding["markdown"]["text"]
    assert md.index("区县 滨江区：第 1 名（共 2）") < md.index("区县 西湖区：第 2 名（共 2）")
    assert "为限值的 1.40 倍" in md and "臭氧 日最大8小时平均 200 µg/m³，限值 160 µg/m³" in md
    assert "为限值的 1.25 倍" in md and "AJ20261201001" in md and "灵隐站" in md

    # Aliyun SMS (滨江站 only): its rank and its one exceedance
    assert sms_cloud.params("aliyun") == [
        {"date": "12月5日", "rank": "第1/3名", "exceed": "1", "overdue": "0", "offline": "0"}
    ]

    # the area's WeCom group: its grid, its station, the case in its grid
    (grid,) = webhooks.bodies("/wecom-grid")
    content = grid["markdown"]["content"]
    assert "网格 一号网格：第 1 名（共 1），综合指数 5.10" in content
    assert "AJ20261201001" in content and "滨江站" not in content


def test_yesterday_is_the_local_day() -> None:
    from alerts.ranking import yesterday
    from tests.alerts.test_config import config

    c = config()
    assert yesterday(c, datetime(2026, 12, 6, 0, 30, tzinfo=SH)) == DAY
    assert yesterday(c, datetime(2026, 12, 5, 17, 0, tzinfo=ZoneInfo("UTC"))) == DAY
    assert DAY - timedelta(days=1) < DAY
