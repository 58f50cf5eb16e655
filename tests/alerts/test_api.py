"""The Python API for the web process: filters, user actions with history and NOTIFY,
configuration CRUD with validation and change notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from alerts import api
from alerts.rules import Change
from alerts.writer import AlertWriter, Transition
from store.stations import NewStation

from .conftest import register

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


async def seed_alerts(conn: asyncpg.Connection, ids: dict[str, int]) -> list[int]:
    """Three alerts through the engine's own writer: firing, pending, resolved."""
    writer = AlertWriter()
    s1, s2 = ids["AQ1"], ids["AQ2"]
    ts = T0.timestamp()
    firing = Change(
        "firing", "exceedance", ts, 90.0, "major", 75.0, "above", ((ts, 90.0, "N"),), "r"
    )
    pending = Change(
        "pending", "exceedance", ts, 80.0, "major", 75.0, "above", ((ts, 80.0, "N"),), "r"
    )
    offline = Change("firing", "offline", ts - 3600, None, "major", 900.0, "no_data")
    labels = {"station_name": "一号站", "factor_code": "a34004"}
    await writer.apply(
        conn,
        [
            Transition(("exceedance", f"station:{s1}", 1), firing, s1, "西湖区", None, labels),
            Transition(("exceedance", f"station:{s2}", 1), pending, s2, "滨江区", None, labels),
            Transition(("offline", f"station:{s2}", 0), offline, s2, "滨江区", None, {}),
        ],
    )
    resolved = Change("resolved", "offline", ts, None, "major", None, "recovered")
    await writer.apply(conn, [Transition(("offline", f"station:{s2}", 0), resolved, s2)])
    return [a.id for a in writer.open.values()]


async def test_alert_queries_and_user_actions(db_conn: asyncpg.Connection, db_dsn: str) -> None:
    ids = await register(
        db_dsn, NewStation("AQ1", region="西湖区"), NewStation("AQ2", region="滨江区")
    )
    await seed_alerts(db_conn, ids)
    notices: list[str] = []
    await db_conn.add_listener("envgrid_alerts", lambda *a: notices.append(a[3]))

    everything = await api.list_alerts(db_conn)
    assert everything.total == 2  # the pending one never fired
    assert [a.rule for a in everything.items] == ["exceedance", "offline"]  # newest first
    assert (await api.list_alerts(db_conn, include_unfired=True)).total == 3
    assert (await api.list_alerts(db_conn, states=["pending"])).total == 1
    assert (await api.list_alerts(db_conn, region="滨江区")).total == 1
    assert (await api.list_alerts(db_conn, station_id=ids["AQ1"], rules=["exceedance"])).total == 1
    assert (await api.list_alerts(db_conn, since=T0 + timedelta(minutes=1))).total == 0
    page = await api.list_alerts(db_conn, limit=1, offset=1)
    assert page.total == 2 and len(page.items) == 1
    past_end = await api.list_alerts(db_conn, limit=1, offset=5)
    assert past_end.total == 2 and past_end.items == []
    with pytest.raises(api.AlertApiError, match="unknown state"):
        await api.list_alerts(db_conn, states=["open"])

    firing = next(a for a in everything.items if a.state == "firing")
    await api.assign_alert(db_conn, firing.id, assignee="李四", user="王五", comment="请处理")
    await api.comment_alert(db_conn, firing.id, user="李四", comment="已到现场")
    acked = await api.acknowledge_alert(db_conn, firing.id, user="李四")
    assert (acked.state, acked.assignee) == ("acknowledged", "李四")
    with pytest.raises(api.AlertApiError, match="only firing alerts"):
        await api.acknowledge_alert(db_conn, firing.id, user="李四")
    done = await api.resolve_alert(db_conn, firing.id, user="李四", comment="已处理")
    assert done.state == "resolved" and done.resolved_by == "李四"
    with pytest.raises(api.AlertApiError, match="already resolved"):
        await api.resolve_alert(db_conn, firing.id, user="李四")
    with pytest.raises(api.NotFound):
        await api.resolve_alert(db_conn, 424242, user="x")
    with pytest.raises(api.AlertApiError, match="user"):
        await api.resolve_alert(db_conn, firing.id, user="")
    detail = await api.get_alert(db_conn, firing.id)
    assert detail is not None
    assert [(e["kind"], e["actor"]) for e in detail.events] == [
        ("firing", "system"),
        ("assigned", "王五"),
        ("comment", "李四"),
        ("acknowledged", "李四"),
        ("resolved", "李四"),
    ]
    assert detail.events[1]["data"] == {"assignee": "李四"}
    assert detail.to_json()["alert"]["id"] == firing.id
    await db_conn.execute("SELECT 1")  # let the notices arrive
    assert notices == [
        f"{firing.id}:firing",
        f"{firing.id}:firing",
        f"{firing.id}:acknowledged",
        f"{firing.id}:resolved",
    ]
    assert await api.get_alert(db_conn, 999999) is None


async def test_configuration_crud_validates_and_announces(db_conn: asyncpg.Connection) -> None:
    changes: list[str] = []
    await db_conn.add_listener("envgrid_alert_config", lambda *a: changes.append(a[3]))

    rid = await api.create_receiver(
        db_conn,
        name="群",
        kind="dingtalk",
        address="https://oapi.dingtalk.com/robot/send?access_token=x",
        secret="SEC1",
    )
    with pytest.raises(api.AlertApiError, match="exists already"):
        await api.create_receiver(db_conn, name="群", kind="wecom", address="https://x.cn/hook")
    with pytest.raises(api.AlertApiError, match="http"):
        await api.create_receiver(db_conn, name="坏", kind="webhook", address="ftp://x")
    with pytest.raises(api.AlertApiError, match="unknown receiver kind"):
        await api.create_receiver(db_conn, name="坏", kind="sms", address="https://x")
    await api.update_receiver(
        db_conn,
        rid,
        name="监管群",
        kind="dingtalk",
        address="https://oapi.dingtalk.com/robot/send?access_token=y",
    )
    (row,) = await api.list_receivers(db_conn)
    assert row["name"] == "监管群" and row["has_secret"] and "secret" not in row
    full = await api.get_receiver(db_conn, "监管群")
    assert full is not None and full["secret"] == "SEC1"  # kept

    resp = await api.add_responsibility(
        db_conn, receiver_id=rid, role="officer", scope="region", scope_key="西湖区"
    )
    with pytest.raises(api.AlertApiError, match="numeric id"):
        await api.add_responsibility(
            db_conn, receiver_id=rid, role="officer", scope="station", scope_key="abc"
        )
    with pytest.raises(api.NotFound):
        await api.add_responsibility(db_conn, receiver_id=999, role="officer", scope="all")
    assert [r["scope_key"] for r in await api.list_responsibilities(db_conn)] == ["西湖区"]
    await api.remove_responsibility(db_conn, resp)

    route = await api.create_route(
        db_conn,
        name="夜间",
        matchers={"severity": ["critical"]},
        receiver_ids=[rid],
        group_by=["region"],
        repeat_interval_s=600,
    )
    with pytest.raises(api.AlertApiError, match="unknown matcher label"):
        await api.create_route(
            db_conn, name="x", matchers={"colour": ["red"]}, to_roles=["officer"]
        )
    with pytest.raises(api.AlertApiError, match="needs receivers or roles"):
        await api.create_route(db_conn, name="x")
    window = await api.create_window(
        db_conn,
        name="夜间静默",
        recurring=True,
        weekdays=[1, 2, 3, 4, 5],
        time_ranges=[["22:00", "06:00"]],
    )
    await api.update_route(
        db_conn,
        route,
        name="夜间",
        matchers={"severity": ["critical"]},
        receiver_ids=[rid],
        mute_window_ids=[window],
    )
    routes = {r["name"]: r for r in await api.list_routes(db_conn)}
    assert (
        routes["夜间"]["mute_window_ids"] == [window]
        and routes["夜间"]["repeat_interval_s"] is None
    )
    with pytest.raises(api.AlertApiError, match="weekdays"):
        await api.create_window(db_conn, name="x", recurring=True, weekdays=[8])
    with pytest.raises(api.AlertApiError, match="one-off window needs"):
        await api.create_window(db_conn, name="x")
    with pytest.raises(api.AlertApiError, match="time zone"):
        await api.create_window(db_conn, name="x", recurring=True, timezone="Mars/Base")
    windows = await api.list_windows(db_conn)
    assert windows[0]["time_ranges"] == [["22:00", "06:00"]]
    await api.update_window(
        db_conn,
        window,
        name="夜间静默",
        recurring=True,
        time_ranges=[["23:00", "05:00"]],
        enabled=False,
    )
    await api.delete_window(db_conn, window)

    with pytest.raises(api.AlertApiError, match="at least one matcher"):
        await api.create_silence(
            db_conn, matchers={}, ends_at=datetime.now(UTC) + timedelta(hours=1), created_by="x"
        )
    with pytest.raises(api.AlertApiError, match="time zone"):
        await api.create_silence(
            db_conn, matchers={"rule": ["offline"]}, ends_at=datetime(2030, 1, 1), created_by="x"
        )
    silence = await api.create_silence(
        db_conn,
        matchers={"rule": ["offline"]},
        ends_at=datetime.now(UTC) + timedelta(hours=1),
        created_by="x",
    )
    assert [s["id"] for s in await api.list_silences(db_conn, active_only=True)] == [silence]
    await api.delete_silence(db_conn, silence)

    lid = await api.set_limit(
        db_conn, factor_code="a34004", level="st", scope_key="22", upper=70.0, user="t"
    )
    again = await api.set_limit(
        db_conn, factor_code="a34004", level="st", scope_key="22", upper=65.0, user="t"
    )
    assert lid == again and (await api.list_limits(db_conn))[0]["upper"] == 65.0
    with pytest.raises(api.AlertApiError, match="lower must be below"):
        await api.set_limit(db_conn, factor_code="w01001", upper=6.0, lower=9.0)
    with pytest.raises(api.AlertApiError, match=r"aqi_level 2\.\.6"):
        await api.set_limit(db_conn, factor_code="a34004", rule="aqi_level", aqi_level=9)
    with pytest.raises(api.AlertApiError, match="needs a scope_key"):
        await api.set_limit(db_conn, factor_code="a34004", level="station", upper=1.0)
    await api.delete_limit(db_conn, lid)
    cid = await api.set_rule_config(
        db_conn, rule="flatline", level="region", scope_key="西湖区", params={"count": "40"}
    )
    (cfg,) = await api.list_rule_configs(db_conn)
    assert cfg["params"] == {"count": 40}
    with pytest.raises(api.AlertApiError, match="unknown parameter"):
        await api.set_rule_config(db_conn, rule="flatline", params={"window": 1})
    await api.delete_rule_config(db_conn, cid)
    with pytest.raises(api.NotFound):
        await api.delete_rule_config(db_conn, cid)
    await api.delete_route(db_conn, route)
    await api.delete_receiver(db_conn, rid)

    await db_conn.execute("SELECT 1")
    expected: dict[str, Any] = {
        "alert_receivers", "alert_responsibilities", "alert_routes", "alert_maintenance_windows",
        "alert_silences", "alert_limits", "alert_rule_config",
    }  # fmt: skip
    assert set(changes) == expected


async def test_notification_log_queries(db_conn: asyncpg.Connection) -> None:
    page = await api.list_notifications(db_conn, status="failed")
    assert page.items == []
    with pytest.raises(api.AlertApiError, match="unknown status"):
        await api.list_notifications(db_conn, status="lost")
    assert await api.get_notification(db_conn, 1) is None
