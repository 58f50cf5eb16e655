"""Limits and rule configuration, and what the engine applies to one station."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.settings import AlertsConfig

from .. import queries
from ..limits import LimitSpec
from ..loader import load_config
from ..means import MeanRule
from ..model import jsonable
from ..params import LEVELS, RULE_PARAMS, coerce_params
from ..rules import SEVERITIES, RuleError
from .common import (
    AlertApiError,
    Db,
    NotFound,
    Record,
    absent,
    choices,
    delete_row,
    record,
    write_row,
)

__all__ = [
    "delete_limit",
    "delete_rule_config",
    "effective_rules",
    "list_limits",
    "list_rule_configs",
    "set_limit",
    "set_rule_config",
]


def _level(level: str, scope_key: str | int) -> str:
    choices([level], LEVELS, "level")
    key = "" if level == "default" else str(scope_key).strip()
    if level != "default" and not key:
        raise AlertApiError(
            f"level {level!r} needs a scope_key (ST code, region or station id)",
            f"层级 {level} 须指定对象（系统编码 ST、区域名称或站点编号）",
        )
    return key


async def set_limit(
    db: Db,
    *,
    factor_code: str,
    level: str = "default",
    scope_key: str | int = "",
    rule: str = "exceedance",
    upper: float | None = None,
    lower: float | None = None,
    aqi_level: int | None = None,
    severity: str | None = None,
    enabled: bool = True,
    source: str = "",
    user: str = "",
) -> int:
    """Set (insert or replace) a limit at one level; ``enabled=False`` removes the limit at
    that level (e.g. exempts a station from the station-type limit)."""
    key = _level(level, scope_key)
    choices([rule], ("exceedance", "aqi_level"), "rule")
    if severity is not None:
        choices([severity], SEVERITIES, "severity")
    if not factor_code:
        raise AlertApiError(
            "factor_code must name a factor (e.g. a34004 for PM2.5)",
            "须指定监测因子（如 PM2.5 的编码 a34004）",
        )
    if enabled:
        if rule == "aqi_level":
            if aqi_level is None or not 2 <= aqi_level <= 6:
                raise AlertApiError(
                    "an aqi_level limit needs aqi_level 2..6 (HJ 633 levels)",
                    "空气质量级别限值须为 2–6 级（HJ 633）",
                )
        else:
            try:
                LimitSpec(upper, lower)
                if upper is None and lower is None:
                    raise AlertApiError("a limit needs upper and/or lower", "限值须填写上限或下限")
                if upper is not None and lower is not None and lower >= upper:
                    raise AlertApiError("lower must be below upper", "下限须小于上限")
            except TypeError as exc:
                raise AlertApiError(str(exc), "上限和下限须为数字") from None
    args = (rule, level, key, factor_code, upper, lower, aqi_level, severity, enabled, source, user)
    return int(await write_row(db, queries.UPSERT_LIMIT_SQL, args, "alert_limits"))


async def list_limits(
    db: Db,
    *,
    factor_code: str | None = None,
    level: str | None = None,
    scope_key: str | None = None,
) -> list[Record]:
    """The limits users set (the built-in ones: :func:`effective_rules`)."""
    return [
        record(r) for r in await db.fetch(queries.LIST_LIMITS_SQL, factor_code, level, scope_key)
    ]


async def delete_limit(db: Db, limit_id: int) -> None:
    await delete_row(db, queries.DELETE_LIMIT_SQL, limit_id, "alert_limits", ("limit", "限值"))


async def set_rule_config(
    db: Db,
    *,
    rule: str,
    level: str = "default",
    scope_key: str | int = "",
    factor_code: str = "",
    enabled: bool | None = None,
    severity: str | None = None,
    params: Mapping[str, Any] | None = None,
    user: str = "",
) -> int:
    """Rule parameters at one level (merged over the alerts.* settings; see
    :data:`alerts.config.RULE_PARAMS` for the names)."""
    key = _level(level, scope_key)
    choices([rule], tuple(RULE_PARAMS), "rule")
    if severity is not None:
        choices([severity], SEVERITIES, "severity")
    try:
        checked = coerce_params(rule, params or {})
    except RuleError as exc:
        raise AlertApiError(str(exc), f"规则参数无效：{exc}") from None
    args = (rule, level, key, factor_code, enabled, severity, checked, user)
    return int(await write_row(db, queries.UPSERT_RULE_CONFIG_SQL, args, "alert_rule_config"))


async def list_rule_configs(db: Db, *, rule: str | None = None) -> list[Record]:
    return [record(r) for r in await db.fetch(queries.LIST_RULE_CONFIG_SQL, rule)]


async def delete_rule_config(db: Db, config_id: int) -> None:
    await delete_row(
        db,
        queries.DELETE_RULE_CONFIG_SQL,
        config_id,
        "alert_rule_config",
        ("rule config", "规则配置"),
    )


def _mean_entry(rule: MeanRule) -> Record:
    """An exceedance rule on means as the limits page shows it: the reference limit's
    bounds and source first (as for a single-value rule), then every limit."""
    first = rule.limits[0]
    return {
        "basis": first.averaging,
        "upper": first.upper,
        "lower": first.lower,
        "source": first.source,
        "severity": rule.severity,
        "limits": [
            {"averaging": x.averaging, "upper": x.upper, "lower": x.lower, "source": x.source}
            for x in rule.limits
        ],
        "major_ratio": rule.major_ratio,
        "critical_ratio": rule.critical_ratio,
        "major_after_s": rule.major_after_s,
        "critical_after_s": rule.critical_after_s,
    }


async def effective_rules(db: Db, settings: AlertsConfig, station: int | str) -> list[Record]:
    """What the engine applies to one station (id or MN): per factor the exceedance limit
    (with its source), the hourly-AQI threshold and the flatline/jump/maintenance
    parameters — built-in defaults and every override resolved."""
    sid = await db.fetchval(queries.STATION_ID_SQL, str(station))
    if sid is None:
        raise NotFound(*absent(("station", "站点"), repr(station)))
    config = await load_config(db, settings)
    info = config.stations[sid]
    out: list[Record] = []
    for factor in sorted(config.factors.values(), key=lambda f: f.code):
        rules = config.rules_for(info, factor)
        if rules.empty:
            continue
        entry: Record = {
            "factor_code": factor.code,
            "factor_name": factor.name_zh,
            "unit": factor.unit,
        }
        if rules.mean is not None:
            entry["exceedance"] = _mean_entry(rules.mean)
        for name, rule in (
            ("exceedance", rules.exceedance),
            ("aqi_level", rules.aqi),
            ("flatline", rules.flatline),
            ("jump", rules.jump),
            ("maintenance", rules.maintenance),
        ):
            if rule is not None:
                entry[name] = {
                    k: jsonable(getattr(rule, k))
                    for k in rule.__slots__
                    if not k.startswith("_") and k != "bands"
                }
        out.append(entry)
    offline = config.offline_rule(info)
    if offline is not None:
        out.append(
            {
                "factor_code": "",
                "offline": {k: getattr(offline, k) for k in offline.__slots__ if k != "bands"},
            }
        )
    return out
