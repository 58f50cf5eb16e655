"""The data audit's vocabulary: who acts (:class:`Actor`), what they ask
(:class:`AuditRequest`: a station, factors, a range of official hours, a reason), what the
log holds (:class:`LogEntry`), and the pure parsing of the ranges people type.

Ranges are whole official hours (``hourly_values.ts``, the start of each hour).  A range
is given inclusively — ``--from 2024-03-05T08:00 --to 2024-03-05T08:00`` is the one hour
08:00–09:00, ``--from 2024-03-05 --to 2024-03-05`` the whole local day — and stored
half-open, [``start``, ``end``).  Times without a zone are local (``core.timezone``).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

__all__ = [
    "ACTIONS",
    "MAX_SPAN",
    "Action",
    "Actor",
    "AuditError",
    "AuditRequest",
    "LogEntry",
    "hour_range",
    "parse_instant",
]

Action = Literal["invalidate", "restore"]
ACTIONS: tuple[Action, ...] = ("invalidate", "restore")
#: Longest range one audit action may cover (a year: an officer's mistake should not
#: invalidate a station's whole history in one go).
MAX_SPAN = timedelta(days=366)
MAX_REASON = 200
MAX_NOTE = 2000


class AuditError(ValueError):
    """A request the audit refuses; the message (Chinese) says why."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who audits: a dashboard user (``web``) or the OS user running the CLI (``cli``)."""

    name: str
    kind: Literal["web", "cli"]
    user_id: int | None = None

    @classmethod
    def os_user(cls) -> Actor:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER
            name = "unknown"
        return cls(name, "cli")


def _floor_hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def parse_instant(text: str, tz: ZoneInfo, *, end: bool = False) -> datetime:
    """An ISO date or date-time; a date alone is the first hour of that local day, or its
    last hour when ``end``; no zone → local time ``tz``."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            ts = datetime.combine(day, time(23 if end else 0), tzinfo=tz)
        else:
            ts = datetime.fromisoformat(text)
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=tz)
    except ValueError:
        raise AuditError(
            f"时间格式不正确：{text!r}（应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM）"
        ) from None
    return ts.astimezone(UTC)


def hour_range(first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the official hours from the hour holding ``first`` to the hour
    holding ``last``, both included."""
    if first.tzinfo is None or last.tzinfo is None:
        raise AuditError("时间必须带时区")
    start, end = _floor_hour(first), _floor_hour(last) + timedelta(hours=1)
    if end <= start:
        raise AuditError("结束时间早于开始时间")
    if end - start > MAX_SPAN:
        raise AuditError(f"一次审核最多覆盖 {MAX_SPAN.days} 天，请缩小时间范围")
    return start, end


@dataclass(frozen=True, slots=True)
class AuditRequest:
    """Invalidate or restore the official hours [``start``, ``end``) of station ``mn`` for
    the factor codes ``factors`` (empty: every factor of the station)."""

    mn: str
    start: datetime
    end: datetime
    factors: tuple[str, ...] = ()
    reason: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if not self.mn.strip():
            raise AuditError("缺少站点 MN")
        hour_range(self.start, self.end - timedelta(hours=1))  # checks the span
        if _floor_hour(self.start) != self.start or _floor_hour(self.end) != self.end:
            raise AuditError("审核范围必须是整点小时")
        if len(self.reason) > MAX_REASON:
            raise AuditError(f"原因最多 {MAX_REASON} 个字符")
        if len(self.note) > MAX_NOTE:
            raise AuditError(f"备注最多 {MAX_NOTE} 个字符")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One row of the append-only audit log (``envgrid_audit.data_audit_log``).

    ``changes``: one item per official hour whose audit state the action changed and that
    has a value — ``{"factor": code, "hour": ISO, "value": v, "before": valid,
    "after": valid}`` (valid as the official series showed it before and after)."""

    id: int
    ts: datetime
    actor: str
    actor_kind: str
    action: str
    station_id: int
    mn: str
    factor_codes: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str
    note: str
    source: str
    n_changed: int
    changes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_record(cls, r: Any) -> LogEntry:
        return cls(
            r["id"],
            r["ts"],
            r["actor"],
            r["actor_kind"],
            r["action"],
            r["station_id"],
            r["mn"],
            tuple(r["factor_codes"]),
            r["ts_from"],
            r["ts_to"],
            r["reason"],
            r["note"],
            r["source"],
            r["n_changed"],
            list(r["changes"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ts": self.ts.isoformat(),
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "action": self.action,
            "station_id": self.station_id,
            "mn": self.mn,
            "factors": list(self.factor_codes),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "reason": self.reason,
            "note": self.note,
            "source": self.source,
            "n_changed": self.n_changed,
            "changes": self.changes,
        }
