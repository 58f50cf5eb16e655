"""Every refusal of the alert API in both languages: English for the CLI (``str(exc)``),
Chinese for the dashboard (``exc.zh``), and the class that decides the HTTP status
(NotFound 404, Conflict 409, else 400).  One table over receivers, responsibilities,
routes, silences, maintenance windows, limits, rule parameters and alerts."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from alerts import api
from store.stations import NewStation

from .conftest import register
from .test_api import seed_alerts

T1 = datetime(2030, 1, 1, 8, tzinfo=UTC)
T0 = datetime(2030, 1, 1, 6, tzinfo=UTC)
Call = Callable[[asyncpg.Connection, dict[str, int]], Awaitable[Any]]
HOOK = "https://x.cn/hook"


def _route(name: str = "路由", **kw: Any) -> Call:
    return lambda c, _: api.create_route(c, name=name, **kw)


def _window(name: str = "维护", **kw: Any) -> Call:
    return lambda c, _: api.create_window(c, name=name, **kw)


def _silence(**kw: Any) -> Call:
    args = {"matchers": {"region": ["西湖区"]}, "ends_at": T1, "created_by": "张三", **kw}
    return lambda c, _: api.create_silence(c, **args)


def _receiver(kind: str, address: str, name: str = "接收", **kw: Any) -> Call:
    return lambda c, _: api.create_receiver(c, name=name, kind=kind, address=address, **kw)


def _limit(**kw: Any) -> Call:
    return lambda c, _: api.set_limit(c, **{"factor_code": "a34004", **kw})


#: (case, call, class, English fragment, Chinese message or fragment)
CASES: list[tuple[str, Call, type[api.AlertApiError], str, str]] = [
    # receivers
    ("receiver kind", _receiver("sms", HOOK), api.AlertApiError, "unknown receiver kind",
     "未知的接收方式 'sms'；可选："),
    ("receiver email", _receiver("email", "a@b.cn, nobody"), api.AlertApiError,
     "email addresses", "邮件接收人须填写以逗号分隔的邮箱地址（有误：nobody）"),
    ("receiver sms number", _receiver("aliyun_sms", "12345"), api.AlertApiError,
     "mobile numbers", "短信接收人须填写以逗号分隔的手机号（13800138000 或 +8613800138000）：不是手机号"),
    ("receiver sms empty", _receiver("tencent_sms", " , "), api.AlertApiError,
     "mobile numbers", "：未填写手机号"),
    ("receiver url", _receiver("webhook", "ftp://x"), api.AlertApiError, "http(s) URL",
     "webhook 接收人须填写 http(s) 网址（收到 'ftp://x'）"),
    ("receiver settings", _receiver("webhook", HOOK, settings=[1]), api.AlertApiError,
     "must be an object", "接收人设置须为对象"),
    ("receiver daily push", _receiver("webhook", HOOK, settings={"daily_push": "yes"}),
     api.AlertApiError, "daily_push", "“每日推送”须为是或否"),
    ("receiver name", _receiver("webhook", HOOK, name=" "), api.AlertApiError,
     "must not be empty", "接收人名称不能为空"),
    ("receiver taken", _receiver("webhook", HOOK, name="值班群"), api.Conflict,
     "exists already", "已有名为“值班群”的接收人"),
    ("receiver NUL", _receiver("webhook", HOOK, name="a\x00b"), api.AlertApiError,
     "cannot be stored", "有数值无法保存（文本含不允许的字符，或数值超出范围）"),
    ("receiver missing", lambda c, _: api.update_receiver(
        c, 999, name="x", kind="webhook", address=HOOK), api.NotFound,
     "receiver 999 does not exist", "接收人 999 不存在"),
    ("receiver delete", lambda c, _: api.delete_receiver(c, 999), api.NotFound,
     "does not exist", "接收人 999 不存在"),
    # responsibilities
    ("role", lambda c, ids: api.add_responsibility(
        c, receiver_id=ids["receiver"], role="boss", scope="all"), api.AlertApiError,
     "unknown role", "未知的角色 'boss'；可选：maintainer、officer"),
    ("scope key", lambda c, ids: api.add_responsibility(
        c, receiver_id=ids["receiver"], role="officer", scope="region"), api.AlertApiError,
     "needs a scope_key", "范围 region 须指定对象"),
    ("scope numeric", lambda c, ids: api.add_responsibility(
        c, receiver_id=ids["receiver"], role="officer", scope="station", scope_key="x"),
     api.AlertApiError, "numeric id", "范围 station 须为数字编号（收到 'x'）"),
    ("responsibility receiver", lambda c, _: api.add_responsibility(
        c, receiver_id=999, role="officer", scope="all"), api.NotFound,
     "receiver 999", "接收人 999 不存在"),
    ("responsibility delete", lambda c, _: api.remove_responsibility(c, 999), api.NotFound,
     "responsibility 999", "负责关系 999 不存在"),
    # routes
    ("route name", _route(" ", to_roles=["officer"]), api.AlertApiError, "must not be empty",
     "通知路由名称不能为空"),
    ("route matcher", _route(matchers={"colour": ["red"]}, to_roles=["officer"]),
     api.AlertApiError, "unknown matcher label", "通知路由设置无效："),
    ("route targets", _route(), api.AlertApiError, "needs receivers or roles",
     "通知路由须指定接收人或角色（运维人员/监管人员）"),
    ("route taken", _route("夜间", to_roles=["officer"]), api.Conflict, "exists already",
     "已有名为“夜间”的通知路由"),
    ("route missing", lambda c, _: api.update_route(c, 999, name="x", to_roles=["officer"]),
     api.NotFound, "route 999", "通知路由 999 不存在"),
    # silences
    ("silence matcher", _silence(matchers={}), api.AlertApiError, "at least one matcher",
     "静默须至少有一个匹配条件（站点、区域、规则等）"),
    ("silence bad matcher", _silence(matchers={"colour": ["red"]}), api.AlertApiError,
     "unknown matcher label", "匹配条件无效："),
    ("silence creator", _silence(created_by=""), api.AlertApiError, "created_by",
     "须注明静默的创建人"),
    ("silence zone", _silence(ends_at=datetime(2030, 1, 1)), api.AlertApiError,
     "time zone", "结束时间须带时区（如 +08:00）"),
    ("silence order", _silence(starts_at=T1, ends_at=T0), api.AlertApiError,
     "after starts_at", "结束时间须晚于开始时间"),
    ("silence expire", lambda c, _: api.expire_silence(c, 999), api.NotFound,
     "has ended", "静默 999 不存在或已结束"),
    ("silence delete", lambda c, _: api.delete_silence(c, 999), api.NotFound,
     "silence 999", "静默 999 不存在"),
    # maintenance windows
    ("window name", _window(" "), api.AlertApiError, "must not be empty",
     "维护时段名称不能为空"),
    ("window one-off", _window(), api.AlertApiError, "needs starts_at and ends_at",
     "一次性维护时段须填写开始和结束时间"),
    ("window order", _window(starts_at=T1, ends_at=T0), api.AlertApiError, "after starts_at",
     "结束时间须晚于开始时间"),
    ("window weekdays", _window(recurring=True, weekdays=[0, 8]), api.AlertApiError,
     "ISO numbers", "星期须为 1（周一）到 7（周日）（收到 [0, 8]）"),
    ("window ranges", _window(recurring=True, time_ranges=[["25:00", "26:00"]]),
     api.AlertApiError, "HH:MM", "时间段无效："),
    ("window zone", _window(recurring=True, timezone="Mars/Base"), api.AlertApiError,
     "unknown time zone", "未知的时区 'Mars/Base'（如 Asia/Shanghai）"),
    ("window taken", _window("夜间静默", recurring=True), api.Conflict, "exists already",
     "已有名为“夜间静默”的维护时段"),
    ("window delete", lambda c, _: api.delete_window(c, 999), api.NotFound,
     "maintenance window 999", "维护时段 999 不存在"),
    # limits and rule parameters
    ("limit level", _limit(level="planet"), api.AlertApiError, "unknown level",
     "未知的层级 'planet'"),
    ("limit scope", _limit(level="station"), api.AlertApiError, "needs a scope_key",
     "层级 station 须指定对象"),
    ("limit factor", _limit(factor_code=""), api.AlertApiError, "factor_code",
     "须指定监测因子（如 PM2.5 的编码 a34004）"),
    ("limit severity", _limit(severity="huge", upper=1.0), api.AlertApiError,
     "unknown severity", "未知的级别 'huge'"),
    ("limit aqi", _limit(rule="aqi_level", aqi_level=9), api.AlertApiError, "2..6",
     "空气质量级别限值须为 2–6 级（HJ 633）"),
    ("limit bounds", _limit(), api.AlertApiError, "upper and/or lower",
     "限值须填写上限或下限"),
    ("limit order", _limit(upper=10.0, lower=20.0), api.AlertApiError, "lower must be below",
     "下限须小于上限"),
    ("limit delete", lambda c, _: api.delete_limit(c, 999), api.NotFound, "limit 999",
     "限值 999 不存在"),
    ("rule params", lambda c, _: api.set_rule_config(c, rule="jump", params={"x": 1}),
     api.AlertApiError, "unknown parameter", "规则参数无效："),
    ("rule config delete", lambda c, _: api.delete_rule_config(c, 999), api.NotFound,
     "rule config 999", "规则配置 999 不存在"),
    # alerts
    ("page", lambda c, _: api.list_alerts(c, limit=0), api.AlertApiError, "limit must be",
     "每页条数须为 1–1000（收到 0）"),
    ("offset", lambda c, _: api.list_alerts(c, offset=-1), api.AlertApiError, "offset",
     "偏移量不能为负（收到 -1）"),
    ("state filter", lambda c, _: api.list_alerts(c, states=["burning"]), api.AlertApiError,
     "unknown state", "未知的状态 'burning'"),
    ("delivery status", lambda c, _: api.list_notifications(c, status="lost"),
     api.AlertApiError, "unknown status", "未知的发送状态 'lost'"),
    ("delivery kind", lambda c, _: api.list_notifications(c, kind="spam"), api.AlertApiError,
     "unknown kind", "未知的类型 'spam'"),
    ("alert missing", lambda c, _: api.acknowledge_alert(c, 999999, user="张三"),
     api.NotFound, "alert 999999", "告警 999999 不存在"),
    ("alert user", lambda c, ids: api.acknowledge_alert(c, ids["firing"], user=""),
     api.AlertApiError, "user must name", "须注明操作人（记入告警记录）"),
    ("ack pending", lambda c, ids: api.acknowledge_alert(c, ids["pending"], user="张三"),
     api.Conflict, "only firing alerts", "只有“告警中”的告警可以确认（告警 {pending} 当前：待确认）"),
    ("resolve twice", lambda c, ids: api.resolve_alert(c, ids["resolved"], user="张三"),
     api.Conflict, "already resolved", "告警 {resolved} 已恢复"),
    ("comment", lambda c, ids: api.comment_alert(c, ids["firing"], user="张三", comment=" "),
     api.AlertApiError, "must not be empty", "备注不能为空"),
    ("effective station", lambda c, _: api.effective_rules(c, None, "NOPE"),  # type: ignore[arg-type]
     api.NotFound, "station 'NOPE'", "站点 'NOPE' 不存在"),
]  # fmt: skip


async def _objects(conn: asyncpg.Connection, db_dsn: str) -> dict[str, int]:
    """What the refusals run into: a receiver, route and window with known names, and
    alerts firing, pending and resolved."""
    ids = await register(db_dsn, NewStation("AQ1", region="西湖区"), NewStation("AQ2"))
    open_ids = await seed_alerts(conn, ids)
    states = {
        r["state"]: r["id"] for r in await conn.fetch("SELECT id, state FROM alerts ORDER BY id")
    }
    assert set(open_ids) == {states["firing"], states["pending"]}
    receiver = await api.create_receiver(conn, name="值班群", kind="webhook", address=HOOK)
    await api.create_route(conn, name="夜间", to_roles=["officer"])
    await api.create_window(conn, name="夜间静默", recurring=True)
    return {**states, "receiver": receiver}


async def test_every_refusal_in_english_and_chinese(
    db_conn: asyncpg.Connection, db_dsn: str
) -> None:
    ids = await _objects(db_conn, db_dsn)
    for name, call, cls, english, chinese in CASES:
        with pytest.raises(api.AlertApiError) as caught:
            await call(db_conn, ids)
        exc = caught.value
        assert type(exc) is cls, name
        assert english in str(exc), (name, str(exc))
        assert chinese.format(**ids) in exc.zh, (name, exc.zh)
        assert re.search(r"[\u4e00-\u9fff]", exc.zh), name
