"""The common ground of the rules: names, severities, the :class:`Change` a rule returns,
parameter checks and the data-kind stream every in-stream rule follows.

See :mod:`alerts.rules` for the theory of operation (it re-exports everything here).
Pure: no I/O, no clock, no logging.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from protocol.flags import MAINTENANCE_FLAGS

__all__ = [
    "AQI_LEVEL",
    "EXCEEDANCE",
    "FIRING",
    "FLATLINE",
    "IN_STREAM_RULES",
    "JUMP",
    "KIND_RANK",
    "MAINTENANCE",
    "MAINTENANCE_SET",
    "MAX_SAMPLES",
    "NONE",
    "NORMAL",
    "OFFLINE",
    "OFFLINE_MASS",
    "PENDING",
    "RULES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "Action",
    "Change",
    "RuleError",
    "Sample",
    "Severity",
    "Streamed",
    "admit",
    "check",
    "check_kinds",
    "check_severity",
    "declares_maintenance",
    "escalated",
]

# -- names ---------------------------------------------------------------------------------

EXCEEDANCE: Final = "exceedance"  # 超标
AQI_LEVEL: Final = "aqi_level"  # 小时 AQI 等级
FLATLINE: Final = "flatline"  # 恒值
JUMP: Final = "jump"  # 突变
MAINTENANCE: Final = "maintenance"  # 维护/故障 (device-declared)
OFFLINE: Final = "offline"  # 断线
OFFLINE_MASS: Final = "offline_mass"  # 大面积断线 (grouped, inhibits per-station notices)
IN_STREAM_RULES: Final = (EXCEEDANCE, AQI_LEVEL, FLATLINE, JUMP, MAINTENANCE)
RULES: Final = (*IN_STREAM_RULES, OFFLINE, OFFLINE_MASS)

Severity: TypeAlias = Literal["critical", "major", "warning", "info"]
SEVERITIES: Final[tuple[Severity, ...]] = ("critical", "major", "warning", "info")
#: Severities in order (higher = worse); shown as 提示 < 一般 < 较重 < 严重 (alerts.model).
SEVERITY_RANK: Final[Mapping[str, int]] = {"info": 0, "warning": 1, "major": 2, "critical": 3}

Action: TypeAlias = Literal["pending", "firing", "touch", "cancelled", "resolved"]

#: (data time, value, flag) of a value that contributed to a change.
Sample: TypeAlias = tuple[float, float, "str | None"]

NORMAL: Final = 0
PENDING: Final = 1
FIRING: Final = 2

#: Finer data kinds rank lower (real-time < minute < hour < day).
KIND_RANK: Final[Mapping[str, int]] = {"r": 0, "m": 1, "h": 2, "d": 3}
#: Device-declared maintenance/fault flags, either case (protocol.flags.is_maintenance as a
#: set, so the hot path is one membership test; None is not in it).
MAINTENANCE_SET: Final[frozenset[str | None]] = frozenset(
    {*MAINTENANCE_FLAGS, *(f.lower() for f in MAINTENANCE_FLAGS)}
)
#: Triggering values kept per alert.
MAX_SAMPLES: Final = 10


def declares_maintenance(flag: str | None) -> bool:
    """Is ``flag`` a device-declared maintenance/fault flag (either case)?"""
    return flag in MAINTENANCE_SET


class RuleError(ValueError):
    """A rule configuration that cannot work; the message names the parameter."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RuleError(message)


def check_kinds(kinds: str) -> None:
    check(
        bool(kinds) and all(k in KIND_RANK for k in kinds),
        f"kinds must be letters of 'rmhd' (r real-time, m minute, h hour, d day), got {kinds!r}",
    )


def check_severity(severity: str, name: str = "severity") -> None:
    check(severity in SEVERITIES, f"{name} must be one of {', '.join(SEVERITIES)}")


@dataclass(frozen=True, slots=True)
class Change:
    """What happened to the alert of one key (the caller adds station and factor)."""

    action: Action
    rule: str
    #: Data time (POSIX s) of the value that caused it; for offline, the last data.
    ts: float
    value: float | None
    severity: Severity
    threshold: float | None = None
    #: above/below (exceedance), flat, rel/abs/sigma/window (jump), the flags seen
    #: (maintenance), no_data/disconnected/recovered (offline).
    reason: str = ""
    #: The values that triggered it (firing) — at most MAX_SAMPLES.
    values: tuple[Sample, ...] = ()
    kind: str = ""


NONE: Final[tuple[Change, ...]] = ()


def admit(kinds: str, ts: float, kind: str, state: Streamed) -> bool:
    """Whether a value of ``kind`` at ``ts`` enters the stream (its kind followed, newer
    than the last one); records its time."""
    if (kind != state.kind and not _take(kinds, kind, state)) or ts <= state.last_ts:
        return False
    state.last_ts = ts
    return True


def _take(kinds: str, kind: str, state: Streamed) -> bool:
    """Follow the finest kind of ``kinds`` the station sends (see module docstring)."""
    current = state.kind
    if kind == current:
        return True
    if kind not in kinds:
        return False
    if not current or KIND_RANK[kind] < KIND_RANK[current]:
        state.kind = kind
        state.last_ts = -math.inf
        return True
    return False


@dataclass(slots=True)
class Streamed:
    kind: str = ""
    last_ts: float = -math.inf
    phase: int = NORMAL


def escalated(current: Severity, candidate: Severity) -> Severity:
    """The worse of two severities."""
    return candidate if SEVERITY_RANK[candidate] > SEVERITY_RANK[current] else current
