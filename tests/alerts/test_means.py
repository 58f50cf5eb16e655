"""Exceedance on means (alerts.means), severity grading (alerts.severity) and the plan of
the hourly judge (alerts.means_job), without a database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.config import AlertConfig, ConfigRow, FactorInfo, StationInfo
from alerts.means import (
    HourInput,
    MeanLimit,
    MeanRule,
    MeanState,
    evaluate_hour,
    exceeded_labels,
    restore_state,
)
from alerts.means_job import MAX_HOURS, MeanJudge, hours_to_judge
from alerts.model import AlertView
from alerts.rules import (
    FIRING,
    OfflineRule,
    OfflineState,
    RuleError,
    StationFacts,
    ThresholdRule,
    ThresholdState,
    evaluate_offline,
    evaluate_threshold,
)
from alerts.severity import SeverityBands, exceedance_ratio, grade
from alerts.templates import describe
from alerts.writer import OpenAlert
from envgrid.settings import load_settings

SH = ZoneInfo("Asia/Shanghai")
H = 3600.0
#: 2026-11-18 00:00 Asia/Shanghai
DAY0 = datetime(2026, 11, 18, tzinfo=SH).timestamp()
BANDS = SeverityBands(1.5, 3.0, 6 * H, 72 * H)


@pytest.mark.parametrize(
    ("base", "ratio", "duration", "expected"),
    [
        ("warning", 1.2, 0.0, "warning"),
        ("warning", 1.5, 0.0, "major"),
        ("warning", 2.99, 0.0, "major"),
        ("warning", 3.0, 0.0, "critical"),
        ("warning", 1.1, 6 * H, "major"),
        ("warning", 1.1, 72 * H, "critical"),
        ("critical", 1.1, 0.0, "critical"),  # never lowered below the rule's own
        ("info", 0.0, 0.0, "info"),
    ],
)
def test_grade_by_ratio_and_duration(
    base: Any, ratio: float, duration: float, expected: str
) -> None:
    assert grade(base, BANDS, ratio=ratio, duration_s=duration) == expected


def test_bands_off_and_invalid() -> None:
    assert grade("warning", SeverityBands(), ratio=10.0, duration_s=1e9) == "warning"
    for bad in ((0.5, 3.0, 0, 0), (3.0, 1.5, 0, 0), (0, 0, 100.0, 50.0), (-1.0, 0, 0, 0)):
        with pytest.raises(RuleError):
            SeverityBands(*bad)
    assert exceedance_ratio(90.0, 60.0, None) == 1.5
    assert exceedance_ratio(2.5, None, 5.0) == 2.0  # a minimum (dissolved oxygen)
    assert exceedance_ratio(50.0, 60.0, None) == 0.0


O3 = MeanRule(
    (
        MeanLimit("1h", 200.0, None, "GB 3095—2026 过渡阶段 二级 1小时平均"),
        MeanLimit("8h", 160.0, None, "GB 3095—2026 过渡阶段 二级 8小时平均"),
    ),
    "warning",
    1.5,
    3.0,
    6 * H,
    72 * H,
)
PM25 = MeanRule(
    (MeanLimit("24h", 60.0, None, "GB 3095—2026 过渡阶段 二级 24小时平均"),), "warning", 1.5, 3.0
)


def _run(rule: MeanRule, hourly: list[float | None], daily: float | None = None) -> list[Any]:
    """Judge ``hourly`` (one value per hour from DAY0) hour by hour; the changes."""
    state = MeanState()
    out = []
    for i in range(len(hourly)):
        start = DAY0 + i * H
        last8 = [hourly[j] if j >= 0 else None for j in range(i - 7, i + 1)]
        ends_day = (i + 1) % 24 == 0
        day = hourly[i - 23 : i + 1] if ends_day else None
        hour = HourInput(start, last8, day, daily if ends_day else None, start - 23 * H)
        out.extend(
            (i, c.action, c.severity, c.value, c.threshold)
            for c in evaluate_hour(rule, hour, state)
        )
    return out


@pytest.mark.parametrize(
    ("name", "rule", "hourly", "daily", "expected"),
    [
        # real-time noise averaged out: hourly means under the limits → nothing
        ("quiet", O3, [150.0] * 24, None, []),
        # one hour over the 1-h limit: fires, 一般 (1.1×), resolves at the next hour
        (
            "one hour",
            O3,
            [100.0, 220.0, 100.0],
            None,
            [(1, "firing", "warning", 220.0, 200.0), (2, "resolved", "warning", 100.0, None)],
        ),
        # 8-h moving mean over 160 with every hour under 200: fires on the 8-h limit once
        # 6 hours are valid (170/160 < 1.5: 一般), stands while the mean is over 160
        (
            "8h",
            O3,
            [170.0] * 8 + [100.0] * 6,
            None,
            [(5, "firing", "warning", 170.0, 160.0)]
            + [(i, "touch", "warning", None, 160.0) for i in (6, 7, 8)]
            + [(9, "resolved", "warning", 100.0, None)],
        ),
        # 3× the 1-h limit: 严重 at once
        ("3x", O3, [650.0], None, [(0, "firing", "critical", 650.0, 200.0)]),
        # PM2.5 daily mean: judged at the day's last hour, 100/60 = 1.67× → 较重
        ("24h", PM25, [100.0] * 24, None, [(23, "firing", "major", 100.0, 60.0)]),
        # a day with 19 valid hours has no valid daily mean (HJ 663: ≥ 20)
        ("24h invalid", PM25, [100.0] * 19 + [None] * 5, None, []),
        # the station's own daily value (2031) wins over the mean of its hours
        ("24h reported", PM25, [100.0] * 24, 50.0, []),
    ],
)
def test_mean_rules(
    name: str, rule: MeanRule, hourly: list[float | None], daily: float | None, expected: list[Any]
) -> None:
    got = _run(rule, hourly, daily)
    # touches carry the mean; compare it only where the table gives one
    assert [
        g if e[3] is not None else (*g[:3], None, g[4]) for g, e in zip(got, expected, strict=False)
    ] == expected, name
    assert len(got) == len(expected), name


def test_duration_escalates_and_an_hour_is_judged_once() -> None:
    changes = _run(O3, [210.0] * 8)
    assert changes[0][1:3] == ("firing", "warning")
    assert changes[-1][1:3] == ("touch", "major")  # standing 6 h and more: 较重
    state = MeanState()
    hour = HourInput(DAY0, [None] * 7 + [250.0])
    assert evaluate_hour(O3, hour, state)[0].action == "firing"
    assert evaluate_hour(O3, hour, state) == ()


def test_a_standing_daily_exceedance_ages_by_days_not_hours() -> None:
    daily = MeanRule((MeanLimit("24h", 60.0),), "warning", 1.5, 3.0, 6 * H, 72 * H)
    changes = _run(daily, [66.0] * 48)  # two days at 1.1× the daily limit
    assert changes[0][:3] == (23, "firing", "warning")
    assert {c[2] for c in changes[1:24]} == {"warning"}  # day 2's hours: still 一般
    assert changes[24][:3] == (47, "touch", "major")  # the second exceeding day: 较重


def test_labels_name_limit_standard_mean_and_ratio() -> None:
    state = MeanState()
    evaluate_hour(O3, HourInput(DAY0 + 7 * H, [170.0] * 7 + [330.0]), state)
    labels = exceeded_labels(state)
    assert labels["averaging"] == "1h" and labels["ratio"] == 1.65
    assert labels["source"] == "GB 3095—2026 过渡阶段 二级 1小时平均"
    assert set(labels["exceeded"]) == {"1h", "8h"}
    restored = restore_state(O3, labels, DAY0, "major")
    assert restored.firing and set(restored.exceeded) == {"1h", "8h"}
    view = AlertView(
        1,
        "exceedance",
        "station:1",
        1,
        6,
        "西湖区",
        None,
        "firing",
        "major",
        datetime.now(SH),
        datetime.now(SH),
        None,
        None,
        None,
        None,
        None,
        1,
        None,
        330.0,
        200.0,
        "above",
        "h",
        labels={**labels, "station_name": "西湖站", "factor_name": "臭氧", "unit": "µg/m³"},
    )
    text = describe(view, SH)
    assert "1小时平均浓度 330 µg/m³，限值 200 µg/m³（GB 3095—2026 过渡阶段 二级 1小时平均）" in text
    assert "为限值的 1.65 倍" in text and "8小时滑动平均" in text


def test_rtd_rule_and_offline_grade_by_ratio_and_duration() -> None:
    rule = ThresholdRule(60.0, pending_count=1, major_ratio=1.5, critical_ratio=3.0)
    state = ThresholdState()
    (fired,) = evaluate_threshold(rule, 0.0, 70.0, "N", "r", state)
    assert (fired.action, fired.severity) == ("firing", "major")  # base major (default)
    low = ThresholdRule(
        60.0, pending_count=1, severity="warning", major_ratio=1.5, critical_ratio=3
    )
    s2 = ThresholdState()
    assert evaluate_threshold(low, 0.0, 70.0, "N", "r", s2)[0].severity == "warning"
    assert evaluate_threshold(low, 30.0, 200.0, "N", "r", s2)[0].severity == "critical"
    off = OfflineRule(900.0, 0.0, "warning", major_after_s=4 * H, critical_after_s=24 * H)
    st = OfflineState()
    facts = StationFacts(False, 0.0)
    (opened,), _ = evaluate_offline(off, facts, st, 1000.0)
    assert (opened.action, opened.severity) == ("firing", "warning")
    assert evaluate_offline(off, facts, st, 2000.0)[0] == ()
    (up,), _ = evaluate_offline(off, facts, st, 4 * H)
    assert (up.action, up.severity, st.phase) == ("touch", "major", FIRING)
    assert evaluate_offline(off, facts, st, 5 * H)[0] == ()  # once per step
    assert evaluate_offline(off, facts, st, 24 * H)[0][0].severity == "critical"


def test_hours_to_judge() -> None:
    now = DAY0 + 5 * H + 700.0  # 05:11:40, delay 600 s → the hour 04:00 closed
    assert hours_to_judge(None, now, 600.0) == ([DAY0 + 4 * H], 0)
    assert hours_to_judge(DAY0 + 2 * H, now, 600.0) == (
        [DAY0 + 2 * H, DAY0 + 3 * H, DAY0 + 4 * H],
        0,
    )
    assert hours_to_judge(DAY0 + 5 * H, now, 600.0) == ([], 0)
    starts, skipped = hours_to_judge(DAY0 - 100 * H, now, 600.0)
    assert len(starts) == MAX_HOURS and skipped == 105 - MAX_HOURS


AIR = StationInfo(1, "MN1", "西湖站", "22", "西湖区", 5)
SRC = StationInfo(2, "MN2", "电厂", "31", "西湖区", None)
PM = FactorInfo(6, "a34004", "细颗粒物", "µg/m³")
OZ = FactorInfo(7, "a05024", "臭氧", "µg/m³")
SO2 = FactorInfo(8, "a21026", "二氧化硫", "mg/m³")


def _config(rows: list[ConfigRow] = (), **alerts: object) -> AlertConfig:  # type: ignore[assignment]
    settings = load_settings(
        None, {}, {f"alerts.{k}": v for k, v in alerts.items()}, discover=False
    )
    return AlertConfig(
        settings,
        stations={1: AIR, 2: SRC},
        factors={6: PM, 7: OZ, 8: SO2},
        rule_rows=rows,
        on=date(2026, 11, 18),
    )


def test_config_builds_mean_rules_and_rtd_on_request() -> None:
    c = _config()
    o3 = c.rules_for(AIR, OZ)
    assert o3.exceedance is None and o3.mean is not None
    assert [(x.averaging, x.upper) for x in o3.mean.limits] == [("1h", 200.0), ("8h", 160.0)]
    assert (o3.mean.severity, o3.mean.major_ratio, o3.mean.critical_ratio) == ("warning", 1.5, 3.0)
    source = c.rules_for(SRC, SO2).mean
    assert source is not None and [(x.averaging, x.upper) for x in source.limits] == [("1h", 35.0)]
    rtd = _config([ConfigRow("exceedance", "st", "31", "", None, None, {"basis": "rtd"})])
    inst = rtd.rules_for(SRC, SO2)
    assert inst.mean is None and inst.exceedance is not None and inst.exceedance.upper == 35.0
    only8 = _config(
        [ConfigRow("exceedance", "station", "1", "a05024", None, None, {"basis": "8h"})]
    )
    m = only8.rules_for(AIR, OZ).mean
    assert m is not None and [x.averaging for x in m.limits] == ["8h"]
    everywhere = _config(exceedance_basis="rtd").rules_for(AIR, PM)
    assert everywhere.exceedance is not None and everywhere.mean is None


def test_judge_plans_transitions_from_hourly_rows() -> None:
    c = _config()
    judge = MeanJudge()
    hours = [DAY0 + i * H for i in range(24)]
    values = {(1, 6): {h: 100.0 for h in hours}, (1, 7): {hours[3]: 250.0}}
    transitions, result = judge.plan(c, hours, values, {})
    got = [(t.key, t.change.action, t.change.severity) for t in transitions]
    assert got == [
        (("exceedance", "station:1", 6), "firing", "major"),  # PM2.5 daily mean 100 (1.67×)
        (("exceedance", "station:1", 7), "firing", "warning"),  # O3 hour 3 at 250 (1.25×)
        (("exceedance", "station:1", 7), "resolved", "warning"),  # hour 4: no valid value
    ]
    first = transitions[0]
    assert first.labels["factor_name"] == "细颗粒物" and first.labels["averaging"] == "24h"
    assert first.labels["source"] == "GB 3095—2026 过渡阶段 二级 24小时平均"
    assert (result.fired, result.resolved, result.judged) == (2, 1, 48)
    assert set(judge.states) == {(1, 6)}  # the standing daily exceedance
    # the next hour: the daily exceedance stands (a touch) until the next day is judged
    (touch,), _ = judge.plan(c, [DAY0 + 24 * H], {}, {})
    assert (touch.key[2], touch.change.action) == (6, "touch")


def test_an_open_single_value_alert_is_adopted_and_cleared_by_the_means() -> None:
    """After an upgrade or a reload that makes the rule a mean rule, an exceedance alert
    opened on single values clears once the hourly mean is within the limit."""
    judge = MeanJudge()
    open_alerts = {("exceedance", "station:1", 7): OpenAlert(5, "firing", None, "major")}
    hour = DAY0 + 10 * H
    (cleared,), _ = judge.plan(_config(), [hour], {(1, 7): {hour: 120.0}}, {}, open_alerts)
    assert (cleared.key, cleared.change.action) == (("exceedance", "station:1", 7), "resolved")
