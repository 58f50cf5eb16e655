"""Exceedance (超标) on single values and the hourly-AQI level: a limit with a pending
period and hysteresis.

Used for exceedance rules that ask for it (``basis = "rtd"``: emission-source
instantaneous limits) and for the hourly-AQI-level rule; limits defined for 1-h, 8-h or
24-h means are judged on those means by :mod:`alerts.means`.  Pure (see :mod:`alerts.rules`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .rules_base import (
    EXCEEDANCE,
    FIRING,
    MAINTENANCE_SET,
    MAX_SAMPLES,
    NONE,
    NORMAL,
    PENDING,
    Action,
    Change,
    Sample,
    Severity,
    Streamed,
    admit,
    check,
    check_kinds,
    check_severity,
)
from .severity import SeverityBands, exceedance_ratio, grade

__all__ = ["ThresholdRule", "ThresholdState", "evaluate_threshold"]


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """A factor above ``upper`` (or below ``lower``) — ISSUE "Exceedance (超标)".

    Pending period (ALERTS_AND_DASHBOARDS.md §1.1 ``for:``, §1.4 "repeating"/"duration"):
    fire on the ``pending_count``-th consecutive breaching value, or once the breach has
    lasted ``pending_s`` seconds of data time, whichever comes first (``pending_count`` 0:
    time only; 1: fire at once).  Hysteresis (§1.1 ``keep_firing_for``, §1.4 separate clear
    condition): resolve only after ``clear_count`` consecutive values below
    ``upper − hysteresis_ratio·|upper|`` (above ``lower + hysteresis_ratio·|lower|``);
    values in between keep it firing and restart the count.
    """

    upper: float | None
    lower: float | None = None
    pending_count: int = 2
    pending_s: float = 0.0
    clear_count: int = 2
    hysteresis_ratio: float = 0.05
    severity: Severity = "major"
    kinds: str = "rm"
    name: str = EXCEEDANCE
    #: Where the limit comes from ("GB 3095-2012 二级 1小时平均", "用户设定" …).
    source: str = ""
    #: severity bands (alerts.severity; 0 = off): ratio of the value to its limit, and
    #: how long the exceedance has lasted (data time)
    major_ratio: float = 0.0
    critical_ratio: float = 0.0
    major_after_s: float = 0.0
    critical_after_s: float = 0.0
    bands: SeverityBands = field(init=False, default=SeverityBands())
    clear_upper: float = field(init=False, default=math.inf)
    clear_lower: float = field(init=False, default=-math.inf)

    def __post_init__(self) -> None:
        check(
            self.upper is not None or self.lower is not None,
            "an exceedance limit needs an upper or a lower value",
        )
        if self.upper is not None and self.lower is not None:
            check(self.lower < self.upper, "lower limit must be below the upper limit")
        for bound in (self.upper, self.lower):
            check(bound is None or math.isfinite(bound), "limits must be finite numbers")
        check(self.pending_count >= 0, "pending_count must be ≥ 0")
        check(self.pending_s >= 0, "pending_s must be ≥ 0")
        check(
            self.pending_count >= 1 or self.pending_s > 0,
            "pending_count 0 needs pending_s > 0 (a time-only pending period)",
        )
        check(self.clear_count >= 1, "clear_count must be ≥ 1")
        check(0 <= self.hysteresis_ratio < 1, "hysteresis_ratio must be in [0, 1)")
        check_severity(self.severity)
        check_kinds(self.kinds)
        bands = SeverityBands(
            self.major_ratio, self.critical_ratio, self.major_after_s, self.critical_after_s
        )
        object.__setattr__(self, "bands", bands)
        ratio = self.hysteresis_ratio
        if self.upper is not None:
            object.__setattr__(self, "clear_upper", self.upper - ratio * abs(self.upper))
        if self.lower is not None:
            object.__setattr__(self, "clear_lower", self.lower + ratio * abs(self.lower))


@dataclass(slots=True)
class ThresholdState(Streamed):
    #: consecutive breaching values (pending) or consecutive clear values (firing)
    run: int = 0
    #: data time of the first breaching value of the current episode
    since: float = 0.0
    samples: tuple[Sample, ...] = ()


def evaluate_threshold(
    rule: ThresholdRule,
    ts: float,
    value: float,
    flag: str | None,
    kind: str,
    state: ThresholdState,
) -> tuple[Change, ...]:
    """One value through an exceedance rule (see :class:`ThresholdRule`)."""
    if not admit(rule.kinds, ts, kind, state) or flag in MAINTENANCE_SET:
        return NONE  # device-declared maintenance: no data alerts (ISSUE "Rules")
    upper, lower = rule.upper, rule.lower
    if upper is not None and value > upper:
        reason, threshold = "above", upper
    elif lower is not None and value < lower:
        reason, threshold = "below", lower
    else:
        reason, threshold = "", 0.0
    phase = state.phase
    sample = (ts, value, flag)
    if phase == NORMAL:
        if not reason:
            return NONE
        state.run = 1
        state.since = ts
        state.samples = (sample,)
        if rule.pending_count == 1:
            state.phase = FIRING
            state.run = 0
            return (_threshold_change("firing", rule, state, value, threshold, reason, kind),)
        state.phase = PENDING
        return (_threshold_change("pending", rule, state, value, threshold, reason, kind),)
    if phase == PENDING:
        if reason:
            state.run += 1
            state.samples = (*state.samples[-(MAX_SAMPLES - 1) :], sample)
            if (rule.pending_count and state.run >= rule.pending_count) or (
                rule.pending_s > 0 and ts - state.since >= rule.pending_s
            ):
                state.phase = FIRING
                state.run = 0
                return (_threshold_change("firing", rule, state, value, threshold, reason, kind),)
            return (Change("touch", rule.name, ts, value, rule.severity, threshold, reason),)
        state.phase = NORMAL
        state.run = 0
        state.samples = ()
        return (Change("cancelled", rule.name, ts, value, rule.severity, None, "", (), kind),)
    # FIRING: hysteresis before resolving
    if reason:
        state.run = 0
        severity = _graded(rule, state, ts, value)
        return (Change("touch", rule.name, ts, value, severity, threshold, reason),)
    if value <= rule.clear_upper and value >= rule.clear_lower:
        state.run += 1
        if state.run >= rule.clear_count:
            state.phase = NORMAL
            state.run = 0
            state.samples = ()
            return (Change("resolved", rule.name, ts, value, rule.severity, None, "", (), kind),)
        return NONE
    state.run = 0  # inside the hysteresis band: still firing, the clear count restarts
    return NONE


def _threshold_change(
    action: Action,
    rule: ThresholdRule,
    state: ThresholdState,
    value: float,
    threshold: float,
    reason: str,
    kind: str,
) -> Change:
    return Change(
        action,
        rule.name,
        state.last_ts,
        value,
        _graded(rule, state, state.last_ts, value) if action == "firing" else rule.severity,
        threshold,
        reason,
        state.samples,
        kind,
    )


def _graded(rule: ThresholdRule, state: ThresholdState, ts: float, value: float) -> Severity:
    """The rule's severity raised by the value's ratio to its limit and the duration."""
    if rule.bands == _NO_BANDS:
        return rule.severity
    ratio = exceedance_ratio(value, rule.upper, rule.lower)
    return grade(rule.severity, rule.bands, ratio=ratio, duration_s=ts - state.since)


_NO_BANDS = SeverityBands()
