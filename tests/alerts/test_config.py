"""Configuration resolution (alerts.config, alerts.limits) and message rendering
(alerts.templates), without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.config import AlertConfig, ConfigRow, FactorInfo, LimitRow, StationInfo
from alerts.limits import aqi_threshold, builtin_limits
from alerts.model import AlertView
from alerts.params import coerce_params
from alerts.rules import RuleError
from alerts.templates import describe, render_alerts
from envgrid.settings import load_settings

SETTINGS = load_settings(None, {}, {}, discover=False)
ON = date(2026, 11, 21)
S1 = StationInfo(1, "MN1", "西湖站", "22", "西湖区", 5)
S2 = StationInfo(2, "MN2", "滨江站", "22", "滨江区", None)
WATER = StationInfo(3, "MN3", "污水厂", "32", "上城区", None)
OFF = StationInfo(4, "MN4", "停用站", "22", "西湖区", None, enabled=False)
PM25 = FactorInfo(1, "a34004", "细颗粒物", "ng/m³")
TEMP = FactorInfo(2, "a01001", "温度", "°C")
COD = FactorInfo(3, "w01018", "化学需氧量", "mg/L")
PH = FactorInfo(4, "w01001", "pH值", "")


def config(
    limits: list[LimitRow] = (), rows: list[ConfigRow] = (), on: date = ON, **alerts: object
) -> AlertConfig:  # type: ignore[assignment]
    settings = load_settings(
        None, {}, {f"alerts.{k}": v for k, v in alerts.items()}, discover=False
    )
    return AlertConfig(
        settings,
        stations={s.id: s for s in (S1, S2, WATER, OFF)},
        factors={f.id: f for f in (PM25, TEMP, COD, PH)},
        limits=limits,
        rule_rows=rows,
        on=on,
    )


def limit(
    level: str, key: str, code: str, upper: float | None, enabled: bool = True, **kw: object
) -> LimitRow:
    return LimitRow(
        kw.pop("rule", "exceedance"),
        level,
        key,
        code,
        upper,
        kw.pop("lower", None),
        kw.pop("aqi_level", None),
        kw.pop("severity", None),
        enabled,
        "用户设定",
    )  # type: ignore[arg-type]


def test_builtin_limits_follow_the_standard_in_force() -> None:
    old = builtin_limits(date(2025, 6, 1))["22"]["a34004"]
    new = builtin_limits(ON)["22"]["a34004"]
    assert (old.upper, new.upper) == (75.0, 60.0)  # GB 3095-2012 → 2026 transitional
    assert old.source.startswith("GB 3095—2012 二级") and old.unit == "µg/m³"
    assert builtin_limits(ON)["22"]["a21005"].unit == "mg/m³"
    assert builtin_limits(ON)["32"]["w01001"] == builtin_limits(ON)["32"]["w01001"]


@pytest.mark.parametrize(
    ("code", "level", "threshold"),
    [
        ("a34004", 5, 150.0),
        ("a34004", 3, 75.0),
        ("a21026", 5, 800.0),
        ("a21026", 6, None),
        ("a01001", 4, None),
    ],
)
def test_aqi_threshold(code: str, level: int, threshold: float | None) -> None:
    found = aqi_threshold(code, level, date(2025, 6, 1))
    assert (found[0] if found else None) == threshold


def test_limit_levels_most_specific_wins() -> None:
    c = config(
        [
            limit("default", "", "a34004", 90.0),
            limit("st", "22", "a34004", 80.0),
            limit("region", "西湖区", "a34004", 70.0),
            limit("station", "1", "a34004", 65.0),
            limit("region", "滨江区", "a34004", None, enabled=False),
        ]
    )
    r1 = c.rules_for(S1, PM25).mean
    assert r1 is not None and [(x.averaging, x.upper) for x in r1.limits] == [("1h", 65.0)]
    assert c.rules_for(S1, PM25).exceedance is None  # single values only with basis rtd
    assert c.rules_for(S2, PM25).mean is None  # exempted by its region
    water = c.rules_for(WATER, PM25).mean
    assert water is not None and water.limits[0].upper == 90.0  # default row beats nothing
    builtin = config().rules_for(S1, PM25).mean
    assert builtin is not None and [(x.averaging, x.upper) for x in builtin.limits] == [
        ("24h", 60.0)
    ]


def test_water_limits_and_lower_bounds() -> None:
    c = config()
    cod = c.rules_for(WATER, COD).mean
    ph = c.rules_for(WATER, PH).mean
    assert cod is not None
    assert [(x.averaging, x.upper, x.source) for x in cod.limits] == [
        ("24h", 50.0, "GB 18918-2002 一级A")
    ]
    assert ph is not None and (ph.limits[0].lower, ph.limits[0].upper) == (6.0, 9.0)
    assert c.unit_for(S1, PM25) == "µg/m³" and c.unit_for(S1, TEMP) == "°C"


def test_flatline_and_jump_apply_to_limited_factors_unless_widened() -> None:
    c = config()
    assert c.rules_for(S1, PM25).flatline is not None and c.rules_for(S1, PM25).jump is not None
    assert c.rules_for(S1, TEMP).flatline is None and c.rules_for(S1, TEMP).jump is None
    assert c.rules_for(S1, TEMP).maintenance is not None
    jump = c.rules_for(S1, PM25).jump
    assert jump is not None and jump.min_delta == pytest.approx(0.02 * 60)
    flat = c.rules_for(S1, PM25).flatline
    assert flat is not None and flat.min_value == pytest.approx(0.02 * 60)
    wide = config(
        rows=[ConfigRow("flatline", "st", "22", "", None, None, {"factors": "all", "count": 50})]
    )
    temp = wide.rules_for(S1, TEMP).flatline
    assert temp is not None and temp.count == 50
    one = config(rows=[ConfigRow("jump", "station", "1", "a01001", True, "major", {"abs": 5.0})])
    j = one.rules_for(S1, TEMP).jump
    assert j is not None and (j.abs, j.severity) == (5.0, "major")
    assert one.rules_for(S2, TEMP).jump is None


def test_rule_parameters_merge_and_disable() -> None:
    c = config(
        [],
        [
            ConfigRow(
                "exceedance", "default", "", "", None, None, {"pending_count": 3, "basis": "rtd"}
            ),
            ConfigRow(
                "exceedance", "region", "西湖区", "a34004", None, "critical", {"clear_count": 4}
            ),
            ConfigRow("flatline", "station", "1", "", False, None, {}),
        ],
    )
    r = c.rules_for(S1, PM25).exceedance
    assert r is not None and (r.pending_count, r.clear_count, r.severity) == (3, 4, "critical")
    r2 = c.rules_for(S2, PM25).exceedance
    assert r2 is not None and (r2.pending_count, r2.clear_count, r2.severity) == (3, 2, "warning")
    assert c.rules_for(S1, PM25).flatline is None and c.rules_for(S2, PM25).flatline is not None
    assert c.rules_for(OFF, PM25).empty and c.offline_rule(OFF) is None


def test_rules_are_shared_between_stations_with_the_same_configuration() -> None:
    c = config([limit("station", "1", "a34004", 65.0)])
    twin = StationInfo(9, "MN9", "", "22", "滨江区", None)
    assert c.rules_for(S2, PM25) is c.rules_for(twin, PM25)
    assert c.rules_for(S1, PM25) is not c.rules_for(S2, PM25)


def test_aqi_level_rule_on_hourly_data() -> None:
    c = config()
    aqi = c.rules_for(S1, PM25).aqi
    assert aqi is not None and (aqi.upper, aqi.kinds, aqi.name) == (150.0, "h", "aqi_level")
    assert config(aqi_level=0).rules_for(S1, PM25).aqi is None
    custom = config([limit("region", "西湖区", "a34004", None, rule="aqi_level", aqi_level=3)])
    level3 = aqi_threshold("a34004", 3, ON)  # HJ 633-2026 moved the PM2.5 breakpoints
    assert level3 is not None and custom.rules_for(S1, PM25).aqi.upper == level3[0]  # type: ignore[union-attr]


def test_bad_config_rows_fall_back_to_defaults() -> None:
    c = config(rows=[ConfigRow("jump", "default", "", "", None, None, {"rel": -1.0})])
    jump = c.rules_for(S1, PM25).jump
    assert jump is not None and jump.rel == 1.5


@pytest.mark.parametrize(
    ("rule", "params", "message"),
    [
        ("exceedance", {"pending": 2}, "unknown parameter 'pending'"),
        ("exceedance", {"pending_count": "two"}, "must be int"),
        ("flatline", {"factors": "some"}, "'limited' or 'all'"),
        ("nosuch", {}, "unknown rule"),
    ],
)
def test_coerce_params(rule: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        coerce_params(rule, params)
    assert coerce_params("exceedance", {"pending_count": "3"}) == {"pending_count": 3}


# ------------------------------------------------------------------------------------------
# messages

SH = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)


def view(id_: int, rule: str, **kw: object) -> AlertView:
    base: dict[str, object] = dict(
        id=id_, rule=rule, scope_key="station:1", station_id=1, factor_id=1, region="西湖区",
        grid_id=None, state="firing", severity="major", first_seen=T, last_seen=T, fired_at=T,
        acknowledged_at=None, acknowledged_by=None, resolved_at=None, resolved_by=None, count=3,
        assignee=None, value=92.0, threshold=75.0, reason="above", data_kind="r",
        labels={"station_name": "西湖站", "factor_name": "细颗粒物", "unit": "µg/m³", "source": "GB 3095—2012 二级"},
    )  # fmt: skip
    base.update(kw)
    return AlertView(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("alert", "text"),
    [
        (
            view(1, "exceedance"),
            "西湖站（西湖区） 细颗粒物超标：92 µg/m³，上限 75 µg/m³（GB 3095—2012 二级），超限数据 3 个",
        ),
        (
            view(2, "exceedance", reason="below", value=5.2, threshold=6.0),
            "细颗粒物超标：5.2 µg/m³，下限 6 µg/m³",
        ),
        (
            view(3, "flatline", value=9.0),
            "西湖站（西湖区） 细颗粒物恒值：自 11-21 10:00 起数值保持 9 µg/m³ 不变",
        ),
        (
            view(4, "jump", value=150.0, threshold=36.0, reason="rel"),
            "西湖站（西湖区） 细颗粒物突变：36 → 150 µg/m³",
        ),
        (view(5, "maintenance", reason="MC"), "设备维护/故障（数据标记 MC）"),
        (
            view(
                6,
                "offline",
                reason="no_data",
                labels={"station_name": "西湖站", "last_data": T.timestamp()},
            ),
            "西湖站（西湖区） 断线：最后数据 11-21 10:00，长时间无数据",
        ),
        (
            view(
                7,
                "offline_mass",
                scope_key="region:西湖区",
                station_id=None,
                labels={"scope_name": "西湖区", "offline": 12, "total": 20},
            ),
            "西湖区：12 个站点同时断线（共 20 个）",
        ),
    ],
)
def test_describe(alert: AlertView, text: str) -> None:
    assert text in describe(alert, SH)


def test_render_alerts_sections_and_payload() -> None:
    new, old = view(1, "exceedance"), view(2, "exceedance", fired_at=T)
    gone = view(3, "exceedance", state="resolved", resolved_at=T)
    m = render_alerts(
        "alert",
        [new],
        [gone],
        [new, old],
        group_labels={"region": "西湖区", "rule": "exceedance"},
        receiver="监管群",
        tz=SH,
        dashboard_url="https://envgrid.example.cn",
    )
    assert m.subject == "【环境监测告警】超标 · 西湖区：1 条新告警，1 条已恢复"
    assert "新告警（1）" in m.text and "已恢复（1）" in m.text and "仍在告警（1）" in m.text
    assert "详情：https://envgrid.example.cn" in m.text and "<li>" in m.html
    assert m.markdown.startswith("### 【环境监测告警】")
    assert (
        m.payload["new"] == [1] and m.payload["resolved"] == [3] and m.payload["status"] == "firing"
    )
    assert {a["id"] for a in m.payload["alerts"]} == {1, 2, 3}
    many = render_alerts(
        "reminder",
        [],
        [],
        [view(i, "offline", reason="no_data") for i in range(40)],
        group_labels={},
        receiver="x",
        tz=SH,
        max_items=30,
    )
    assert (
        many.subject == "【环境监测告警·提醒】断线：40 条告警仍未恢复"
        and "…另有 10 条" in many.text
    )


@pytest.mark.parametrize(("day", "code"), [(date(2026, 2, 28), "HJ 633—2012"), (ON, "HJ 633—2026")])
def test_aqi_level_alert_message_names_the_standard(day: date, code: str) -> None:
    """The hourly-AQI alert says which HJ 633 table its threshold came from (the one in
    force on the day), in every rendering of the push."""
    c = config(on=day)
    rule = c.rules_for(S1, PM25).aqi
    assert rule is not None and rule.source.startswith(f"{code} 小时 AQI")
    alert = view(1, "aqi_level", labels={"station_name": "西湖站", "source": rule.source})
    assert f"（{code} 小时 AQI" in describe(alert, SH)
    m = render_alerts("alert", [alert], [], [], group_labels={}, receiver="值班", tz=SH)
    for part in (m.text, m.html, m.markdown):
        assert code in part
