"""Exceedance judged on the averaging period of the limit it cites (pure).

Theory of operation
-------------------
GB 3095 defines its short-term limits for 1-hour means, 8-hour moving means (O3) and
24-hour means, and discharge standards theirs for hourly or daily means; comparing each
30-second real-time value with them flags every gust of noise (issue 21).  So an
exceedance rule without ``basis = "rtd"`` is a :class:`MeanRule`: one or more
:class:`MeanLimit` (averaging ``1h``, ``8h`` or ``24h``) judged hour by hour on the
station's official hourly series — its own 2061 value, else the mean of its real-time or
minute data of that hour, valid with ≥ 45 minutes sampled (the ``hourly_values`` view,
migration 0011; :mod:`aggregates.validity` for the rest):

* ``1h``: the hour's value, when valid;
* ``8h``: the mean of the valid hours among the 8 ending with it, with ≥ 6 valid
  (:data:`aggregates.validity.MIN_HOURS_PER_8H`, as :func:`~aggregates.validity.moving_8h`);
* ``24h``: once the local day's last hour is judged, the station's own daily (2031) value,
  else the mean of the day's valid hours with ≥ 20
  (:func:`aggregates.validity.daily_mean_valid`); a daily judgement stands until the next
  day's.

(The means are floats — an alert compares a mean with a limit; the reports keep the exact
arithmetic of :mod:`aggregates.validity`.)

The alert of a (station, factor) fires when any of its limits is exceeded and resolves
when none is; it names the worst (highest ratio) — its limit, standard, mean and ratio —
and lists every exceeded period (:func:`exceeded_labels`).  Its severity is graded by that
ratio and by how long the exceedance has stood (:mod:`alerts.severity`), never lowered
while it is open.  :func:`evaluate_hour` takes the hour and its surrounding values and returns the
changes; the state records the last hour judged, so an hour is never judged twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from aggregates.validity import MIN_HOURS_PER_8H, MIN_HOURS_PER_DAY, daily_mean_valid

from .rules_base import EXCEEDANCE, NONE, Change, Severity, check, check_severity
from .severity import SeverityBands, exceedance_ratio, grade

__all__ = [
    "AVERAGING_ZH",
    "PERIODS",
    "Exceeded",
    "HourInput",
    "MeanLimit",
    "MeanRule",
    "MeanState",
    "evaluate_hour",
    "exceeded_labels",
    "restore_state",
]

#: Averaging periods judged on means, and how long each is (seconds).
PERIODS: Final[Mapping[str, float]] = {"1h": 3600.0, "8h": 8 * 3600.0, "24h": 86400.0}
AVERAGING_ZH: Final[Mapping[str, str]] = {
    "1h": "1小时平均",
    "8h": "8小时滑动平均",
    "24h": "24小时平均",
    "rtd": "实时值",
}
_KIND: Final[Mapping[str, str]] = {"1h": "h", "8h": "h", "24h": "d"}


@dataclass(frozen=True, slots=True)
class MeanLimit:
    """One limit of a factor: its averaging period, bounds and standard."""

    averaging: str
    upper: float | None
    lower: float | None = None
    #: the standard it comes from ("GB 3095—2026 过渡阶段 二级 1小时平均", "用户设定" …)
    source: str = ""

    def __post_init__(self) -> None:
        check(
            self.averaging in PERIODS,
            f"basis must be one of {', '.join((*PERIODS, 'rtd'))}, got {self.averaging!r}",
        )
        check(self.upper is not None or self.lower is not None, "a limit needs upper or lower")
        for bound in (self.upper, self.lower):
            check(bound is None or math.isfinite(bound), "limits must be finite numbers")


@dataclass(frozen=True, slots=True)
class MeanRule:
    """The exceedance rule of one (station, factor) on means (see the module docstring)."""

    limits: tuple[MeanLimit, ...]
    severity: Severity = "warning"
    major_ratio: float = 0.0
    critical_ratio: float = 0.0
    major_after_s: float = 0.0
    critical_after_s: float = 0.0
    #: validity: valid hours needed in an 8-h window and in a day (GB 3095 Table 4)
    min_hours_8h: int = MIN_HOURS_PER_8H
    min_hours_day: int = MIN_HOURS_PER_DAY
    bands: SeverityBands = field(init=False, default=SeverityBands())
    #: the averaging periods of its limits
    periods: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        check(bool(self.limits), "a mean rule needs at least one limit")
        object.__setattr__(self, "periods", frozenset(x.averaging for x in self.limits))
        check_severity(self.severity)
        check(1 <= self.min_hours_8h <= 8, "min_hours_8h must be 1..8")
        check(1 <= self.min_hours_day <= 24, "min_hours_day must be 1..24")
        bands = SeverityBands(
            self.major_ratio, self.critical_ratio, self.major_after_s, self.critical_after_s
        )
        object.__setattr__(self, "bands", bands)


@dataclass(frozen=True, slots=True)
class Exceeded:
    """A period judged over its limit: the limit, the mean, its ratio and its start."""

    limit: MeanLimit
    mean: float
    ratio: float
    start: float
    reason: str


@dataclass(slots=True)
class MeanState:
    #: start (POSIX s) of the last hour judged (an hour is judged once)
    last_hour: float = -math.inf
    firing: bool = False
    #: start of the episode (its first exceeding period)
    since: float = 0.0
    severity: str = ""
    #: averaging → the standing exceedance of that period
    exceeded: dict[str, Exceeded] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HourInput:
    """What is known when hour ``start`` closes (POSIX s; values None = missing/invalid)."""

    start: float
    #: the valid hourly values of the 8 hours ending with this one (oldest first)
    last8: Sequence[float | None]
    #: when this is the local day's last hour: the day's 24 hourly values …
    day: Sequence[float | None] | None = None
    #: … the station's own valid daily value, if it sent one, and the day's start
    day_reported: float | None = None
    day_start: float = 0.0


def _judge(limit: MeanLimit, mean: float, start: float) -> Exceeded | None:
    ratio = exceedance_ratio(mean, limit.upper, limit.lower)
    if ratio <= 0.0:
        return None
    reason = "above" if limit.upper is not None and mean > limit.upper else "below"
    return Exceeded(limit, mean, ratio, start, reason)


def _means(rule: MeanRule, hour: HourInput) -> dict[str, tuple[float, float] | None]:
    """averaging → (mean, period start), None = judged invalid; absent = not due."""
    out: dict[str, tuple[float, float] | None] = {}
    periods = rule.periods
    if "1h" in periods:
        value = hour.last8[-1] if hour.last8 else None
        out["1h"] = None if value is None else (value, hour.start)
    if "8h" in periods:
        window = [v for v in hour.last8[-8:] if v is not None]
        if len(window) >= rule.min_hours_8h:  # GB 3095 Table 4: ≥ 6 of the 8 hours
            out["8h"] = (math.fsum(window) / len(window), hour.start - 7 * 3600.0)
        else:
            out["8h"] = None
    if "24h" in periods and hour.day is not None:
        if hour.day_reported is not None:
            out["24h"] = (hour.day_reported, hour.day_start)
        else:
            valid = [v for v in hour.day if v is not None]
            ok = daily_mean_valid(len(valid), minimum=rule.min_hours_day)  # ≥ 20 hours
            out["24h"] = (math.fsum(valid) / len(valid), hour.day_start) if ok else None
    return out


def evaluate_hour(rule: MeanRule, hour: HourInput, state: MeanState) -> tuple[Change, ...]:
    """Judge the periods that end with ``hour``; returns the alert's changes."""
    if hour.start <= state.last_hour:
        return NONE
    state.last_hour = hour.start
    due = _means(rule, hour)
    for limit in rule.limits:
        if limit.averaging not in due:
            continue
        found = due[limit.averaging]
        verdict = None if found is None else _judge(limit, found[0], found[1])
        if verdict is None:
            # a valid mean within the limit — or no valid mean: an invalid period cannot
            # keep an exceedance standing (HJ 663: it is not evaluated)
            state.exceeded.pop(limit.averaging, None)
        else:
            state.exceeded[limit.averaging] = verdict
    if not state.exceeded:
        if not state.firing:
            return NONE
        state.firing, state.severity = False, ""
        value = hour.last8[-1] if hour.last8 else None
        return (
            Change("resolved", EXCEEDANCE, hour.start, value, rule.severity, None, "", (), "h"),
        )
    worst = max(state.exceeded.values(), key=lambda e: e.ratio)
    # duration: from the end of the first exceeding period to the end of the latest one —
    # a daily exceedance standing through the next day does not grow older by the hour,
    # a second exceeding day does
    latest = max(e.start + PERIODS[e.limit.averaging] for e in state.exceeded.values())
    if not state.firing:
        state.since = latest
    severity = grade(rule.severity, rule.bands, ratio=worst.ratio, duration_s=latest - state.since)
    threshold = worst.limit.upper if worst.reason == "above" else worst.limit.lower
    kind = _KIND[worst.limit.averaging]
    if state.firing:
        state.severity = severity
        return (Change("touch", EXCEEDANCE, hour.start, worst.mean, severity, threshold, ""),)
    state.firing, state.severity = True, severity
    samples = tuple((e.start, e.mean, None) for e in state.exceeded.values())
    return (
        Change(
            "firing",
            EXCEEDANCE,
            hour.start,
            worst.mean,
            severity,
            threshold,
            worst.reason,
            samples,
            kind,
        ),
    )


def exceeded_labels(state: MeanState) -> dict[str, Any]:
    """Labels naming the exceedance: the worst limit (its standard, averaging, mean and
    ratio) and every period standing over its limit."""
    if not state.exceeded:
        return {}
    worst = max(state.exceeded.values(), key=lambda e: e.ratio)
    return {
        "source": worst.limit.source,
        "averaging": worst.limit.averaging,
        "mean": round(worst.mean, 6),
        "ratio": round(worst.ratio, 3),
        "since": state.since,
        "exceeded": {
            averaging: {
                "mean": round(e.mean, 6),
                "ratio": round(e.ratio, 3),
                "limit": e.limit.upper if e.reason == "above" else e.limit.lower,
                "source": e.limit.source,
                "start": e.start,
            }
            for averaging, e in sorted(state.exceeded.items())
        },
    }


def restore_state(
    rule: MeanRule, labels: Mapping[str, Any], first_seen: float, severity: str
) -> MeanState:
    """The state of an open exceedance alert after a restart (from its labels)."""
    since = labels.get("since")
    state = MeanState(
        firing=True,
        since=float(since) if isinstance(since, int | float) else first_seen,
        severity=severity,
    )
    by_period = {limit.averaging: limit for limit in rule.limits}
    for averaging, item in dict(labels.get("exceeded") or {}).items():
        limit = by_period.get(averaging)
        if limit is None or not isinstance(item, Mapping):
            continue
        try:
            mean, start = float(item["mean"]), float(item["start"])
        except (KeyError, TypeError, ValueError):
            continue
        verdict = _judge(limit, mean, start)
        if verdict is not None:
            state.exceeded[averaging] = verdict
    return state
