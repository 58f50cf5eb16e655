"""One case per station incident: the pure rules of the alert → case bridge.

* :func:`priority_of` — the case priority an alert's severity asks for.  Alerts carry a
  severity (store/migrations/0020_alerts.sql: critical / major / warning / info; the
  exceedance grading of issue 21 names them 严重 / 较重 / 一般).  Both spellings are read:
  critical, 严重, 紧急 → 3 严重; major, 较重 → 2 较重; warning, info, 一般, 提示 and anything
  unknown → 1 一般.  A case's priority is the highest of its alerts'; it is urgent (紧急)
  only at 严重, unless ``case_alert_rules.urgent`` says otherwise.
* :func:`joins` — whether an alert joins an open case of its station and kind: while one
  of the case's alerts is active (not recovered), or until ``window`` after the case
  recovered (measured to the alert's first data time).
* :func:`auto_closes` — 自动恢复: the case recovered within ``limit`` of being opened and
  no person acted on it.
* :func:`incident_title` — "一号站 PM2.5、PM10 超标": station, the factors, the kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "KIND_LABELS",
    "PRIORITY_LABELS",
    "auto_closes",
    "incident_title",
    "joins",
    "priority_of",
]

PRIORITY_LABELS: Final = {1: "一般", 2: "较重", 3: "严重"}
KIND_LABELS: Final = {"exceedance": "超标", "offline": "离线", "flatline": "恒值", "jump": "突变"}
_RANKS: Final = {
    "critical": 3, "严重": 3, "紧急": 3, "severe": 3,
    "major": 2, "较重": 2,
    "warning": 1, "info": 1, "一般": 1, "提示": 1, "警告": 1, "minor": 1,
}  # fmt: skip


def priority_of(severity: object) -> int:
    """1 一般, 2 较重 or 3 严重 for an alert severity (either spelling)."""
    return _RANKS.get(str(severity or "").strip().lower(), 1)


def joins(recovered_at: datetime | None, alert_time: datetime, window: timedelta) -> bool:
    """Does an alert first seen at ``alert_time`` join an open case recovered at
    ``recovered_at`` (None: some alert of it is still active)?"""
    return recovered_at is None or alert_time - recovered_at <= window


def auto_closes(
    reported_at: datetime, recovered_at: datetime, limit: timedelta, touched: bool
) -> bool:
    """自动恢复: recovered within ``limit`` of opening (``limit`` > 0) and nobody acted."""
    return limit > timedelta(0) and not touched and recovered_at - reported_at <= limit


def incident_title(station: str, kind: str, factors: Iterable[str]) -> str:
    """The case title: ``一号站 PM2.5、PM10 超标`` / ``一号站 站点离线``."""
    if kind == "offline":
        return f"{station} 站点离线"[:200]
    names = "、".join(dict.fromkeys(f for f in factors if f))
    return " ".join(p for p in (station, names, KIND_LABELS.get(kind, kind)) if p)[:200]
