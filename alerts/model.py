"""Alert records as the dispatcher, the templates and the API see them, and the names
shown to users (Simplified Chinese)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

__all__ = [
    "ALERTS_CHANNEL",
    "CONFIG_CHANNEL",
    "REASON_ZH",
    "ROLE_ZH",
    "RULE_ZH",
    "SEVERITY_ZH",
    "STATES",
    "STATE_ZH",
    "AlertView",
    "columns",
    "jsonable",
]

#: NOTIFY channel of alert transitions: payload ``"<alert id>:<state>"``.
ALERTS_CHANNEL: Final = "envgrid_alerts"
#: NOTIFY channel of configuration changes (limits, rules, routes, receivers, silences …);
#: payload: the table that changed.  The engine reloads its configuration.
CONFIG_CHANNEL: Final = "envgrid_alert_config"

STATES: Final = ("pending", "firing", "acknowledged", "resolved")

RULE_ZH: Final[Mapping[str, str]] = {
    "exceedance": "超标",
    "aqi_level": "AQI 等级超限",
    "flatline": "恒值",
    "forward_backlog": "转发积压",
    "jump": "突变",
    "maintenance": "设备维护/故障",
    "offline": "断线",
    "offline_mass": "大面积断线",
    "backup_failed": "备份失败",
}
#: Severities as officers grade them (issue 21: an exceedance below 1.5× its limit is 一般,
#: 1.5–3× 较重, from 3× 严重 — alerts.severity); the codes are those of the schema.
SEVERITY_ZH: Final[Mapping[str, str]] = {
    "critical": "严重",
    "major": "较重",
    "warning": "一般",
    "info": "提示",
}
STATE_ZH: Final[Mapping[str, str]] = {
    "pending": "待确认",
    "firing": "告警中",
    "acknowledged": "已确认",
    "resolved": "已恢复",
}
ROLE_ZH: Final[Mapping[str, str]] = {"maintainer": "运维人员", "officer": "监管人员"}
REASON_ZH: Final[Mapping[str, str]] = {
    "above": "高于上限",
    "below": "低于下限",
    "flat": "数值长时间不变",
    "rel": "相邻数据相对变化过大",
    "abs": "相邻数据绝对变化过大",
    "sigma": "偏离近期均值过大",
    "window": "时间窗内变化过大",
    "no_data": "长时间无数据",
    "disconnected": "连接断开未恢复",
    "recovered": "数据已恢复",
}


@dataclass(slots=True)
class AlertView:
    """One row of ``alerts`` (see store/migrations/0020_alerts.sql)."""

    id: int
    rule: str
    scope_key: str
    station_id: int | None
    factor_id: int
    region: str
    grid_id: int | None
    state: str
    severity: str
    first_seen: datetime
    last_seen: datetime
    fired_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    count: int
    assignee: str | None
    value: float | None
    threshold: float | None
    reason: str
    data_kind: str
    trigger_values: list[Any] = field(default_factory=list)
    labels: dict[str, Any] = field(default_factory=dict)
    inhibited_by: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> AlertView:
        return cls(
            r["id"],
            r["rule"],
            r["scope_key"],
            r["station_id"],
            r["factor_id"],
            r["region"],
            r["grid_id"],
            r["state"],
            r["severity"],
            r["first_seen"],
            r["last_seen"],
            r["fired_at"],
            r["acknowledged_at"],
            r["acknowledged_by"],
            r["resolved_at"],
            r["resolved_by"],
            r["count"],
            r["assignee"],
            r["value"],
            r["threshold"],
            r["reason"],
            r["data_kind"],
            list(r["trigger_values"] or []),
            dict(r["labels"] or {}),
            r["inhibited_by"],
            r["updated_at"],
        )

    @property
    def firing(self) -> bool:
        return self.state in ("firing", "acknowledged")

    @property
    def scope(self) -> str:
        return self.scope_key.partition(":")[0]

    def routing_labels(self) -> dict[str, str]:
        """The labels routes, silences and windows match (alerts.routing)."""
        labels = self.labels
        return {
            "rule": self.rule,
            "severity": self.severity,
            "station": "" if self.station_id is None else str(self.station_id),
            "region": self.region,
            "grid": "" if self.grid_id is None else str(self.grid_id),
            "st": str(labels.get("st", "")),
            "factor": str(labels.get("factor_code", "")),
            "worker": str(labels.get("worker", "")),
            "scope": self.scope,
        }

    def to_json(self) -> dict[str, Any]:
        return {name: jsonable(getattr(self, name)) for name in self.__slots__}


def columns(rows: Iterable[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows of ``width`` values as ``width`` columns (the arrays of an ``unnest`` query)."""
    out: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(out, row, strict=True):
            column.append(value)
    return out


def jsonable(value: Any) -> Any:
    """datetimes → ISO 8601; containers recursively; the rest unchanged."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
