"""Pure rule evaluation: one value (or one station's facts) in, state changes out.

Theory of operation
-------------------
Every rule is a frozen, validated configuration object; every (station, factor, rule)
has a small mutable state object (``__slots__``; 36,000 stations × 6 factors × 4 rules
must fit comfortably in memory).  :func:`evaluate` takes the rule, the value, the state
and the wall-clock time and returns ``(changes, state)``: the state is updated *in
place* (and returned, so callers may treat it as a new value) and ``changes`` tells the
caller what happened to the alert of that key.  Nothing here does I/O, reads the clock
or logs; times are POSIX seconds passed in.

Changes (:class:`Change`) are the alert lifecycle as the rules see it
(ALERTS_AND_DASHBOARDS.md §1.1 "pending", §1.4 "one alarm per originator and type"):

``pending``    the condition started but has not held long enough (exceedance only);
``firing``     the condition held: the alert fires (from pending, or directly);
``touch``      the condition is still true: count and last-seen of the open alert move;
``cancelled``  a pending condition ended before firing (the pending alert closes
               without ever having fired: it is never notified);
``resolved``   a firing condition ended (after the hysteresis, where the rule has one).

State machine of every in-stream rule (phases :data:`NORMAL`, :data:`PENDING`,
:data:`FIRING`)::

    NORMAL --breach--> PENDING --N values or T seconds--> FIRING --clear × M--> NORMAL
       \\                 \\--no breach--> NORMAL (cancelled)      ^
        \\--breach, N ≤ 1 ---------------------------------------/

Common input rules (ISSUE "Rules"):

* Data kinds: a rule looks at the kinds in its ``kinds`` (``r`` real-time 2011, ``m``
  minute 2051, ``h`` hour 2061, ``d`` day 2031) and, among them, at the finest kind the
  station actually sends: once real-time data is seen, minute data of the same factor is
  ignored by that rule (one stream per rule keeps "consecutive values" meaningful).
* Order: a value whose data time is not after the last evaluated one is ignored
  (retransmissions, history uploads of data already seen, the catch-up after a restart).
* Device-declared maintenance (HJ 212-2017 table 8 / HJ/T 212-2005 §6.3.3.2.3 flags M, C,
  D, F and 2005 P, 2005 air "0"; :func:`protocol.flags.is_maintenance`): such values never
  raise data alerts and neither advance nor break a pending/clearing run — they carry no
  information about the process.  They are counted by :class:`MaintenanceRule`, which
  raises its own "station in maintenance/fault" alert when they last.

Offline (断线) is evaluated by sweeps, not per value (:mod:`alerts.rules_offline`).
Exceedance of limits defined for 1-h, 8-h or 24-h means is judged on those means
(:mod:`alerts.means`); single values only for rules with ``basis = "rtd"``
(:mod:`alerts.rules_exceedance`).  Severities step up by ratio and duration
(:mod:`alerts.severity`).

Modules: :mod:`alerts.rules_base` (names, :class:`Change`, the data-kind stream),
:mod:`alerts.rules_exceedance`, this one (flatline, jump, maintenance, the generic entry
point) and :mod:`alerts.rules_offline`; everything is re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from store.feed import Reading

from .rules_base import (
    AQI_LEVEL,
    EXCEEDANCE,
    FIRING,
    FLATLINE,
    IN_STREAM_RULES,
    JUMP,
    MAINTENANCE,
    MAINTENANCE_SET,
    NONE,
    NORMAL,
    OFFLINE,
    OFFLINE_MASS,
    PENDING,
    RULES,
    SEVERITIES,
    SEVERITY_RANK,
    Change,
    RuleError,
    Sample,
    Severity,
    Streamed,
    admit,
    check,
    check_kinds,
    check_severity,
    declares_maintenance,
)
from .rules_exceedance import ThresholdRule, ThresholdState, evaluate_threshold
from .rules_offline import (
    OfflineRule,
    OfflineState,
    StationFacts,
    evaluate_offline,
    mass_offline,
)
from .severity import SeverityBands, grade

__all__ = [
    "AQI_LEVEL",
    "EXCEEDANCE",
    "FIRING",
    "FLATLINE",
    "IN_STREAM_RULES",
    "JUMP",
    "MAINTENANCE",
    "NORMAL",
    "OFFLINE",
    "OFFLINE_MASS",
    "PENDING",
    "RULES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "Change",
    "FlatlineRule",
    "FlatlineState",
    "JumpRule",
    "JumpState",
    "MaintenanceRule",
    "MaintenanceState",
    "OfflineRule",
    "OfflineState",
    "RuleError",
    "Sample",
    "Severity",
    "StationFacts",
    "ThresholdRule",
    "ThresholdState",
    "declares_maintenance",
    "evaluate",
    "evaluate_flatline",
    "evaluate_jump",
    "evaluate_maintenance",
    "evaluate_offline",
    "evaluate_threshold",
    "mass_offline",
    "new_state",
]

_EWMA_MIN_VALUES: Final = 10

# ------------------------------------------------------------------------------------------
# flatline (恒值)


@dataclass(frozen=True, slots=True)
class FlatlineRule:
    """A value unchanged (within ``tolerance``) — ISSUE "Flatline (恒值)".

    Fires when the run of values within ``tolerance`` of its first value reaches ``count``
    values or lasts ``duration_s`` seconds of data time (whichever first; 0 = criterion
    off), never on fewer than ``min_count`` values.  The run itself is the pending period,
    so there is no separate pending state.  Resolves at the first value outside the
    tolerance.  Runs at or below ``min_value`` (absolute) are not flagged: near the
    analyser's floor, low-resolution readings (integer µg/m³ of a clean-air SO2) stay
    constant on their own.
    """

    count: int = 30
    duration_s: float = 3600.0
    min_count: int = 3
    tolerance: float = 0.0
    min_value: float = 0.0
    severity: Severity = "warning"
    kinds: str = "rm"
    #: flat this long (data time) = at least 较重 / 严重 (alerts.severity; 0 = off)
    major_after_s: float = 0.0
    critical_after_s: float = 0.0
    bands: SeverityBands = field(init=False, default=SeverityBands())

    def __post_init__(self) -> None:
        check(self.count >= 0 and self.duration_s >= 0, "count and duration_s must be ≥ 0")
        check(self.count > 0 or self.duration_s > 0, "flatline needs count or duration_s > 0")
        check(self.min_count >= 2, "min_count must be ≥ 2")
        check(self.tolerance >= 0 and math.isfinite(self.tolerance), "tolerance must be ≥ 0")
        check(self.min_value >= 0 and math.isfinite(self.min_value), "min_value must be ≥ 0")
        check_severity(self.severity)
        check_kinds(self.kinds)
        bands = SeverityBands(0.0, 0.0, self.major_after_s, self.critical_after_s)
        object.__setattr__(self, "bands", bands)


@dataclass(slots=True)
class FlatlineState(Streamed):
    ref: float = math.nan
    run: int = 0
    since: float = 0.0


def evaluate_flatline(
    rule: FlatlineRule,
    ts: float,
    value: float,
    flag: str | None,
    kind: str,
    state: FlatlineState,
) -> tuple[Change, ...]:
    """One value through a flatline rule (see :class:`FlatlineRule`)."""
    if not admit(rule.kinds, ts, kind, state) or flag in MAINTENANCE_SET:
        return NONE
    if state.run and abs(value - state.ref) <= rule.tolerance:
        state.run += 1
    else:
        firing = state.phase == FIRING
        state.ref = value
        state.run = 1
        state.since = ts
        if firing:
            state.phase = NORMAL
            return (Change("resolved", FLATLINE, ts, value, rule.severity, None, "", (), kind),)
        return NONE
    if state.phase == FIRING:
        severity = grade(rule.severity, rule.bands, duration_s=ts - state.since)
        return (Change("touch", FLATLINE, ts, value, severity, rule.tolerance, "flat"),)
    run = state.run
    if (
        run >= rule.min_count
        and abs(state.ref) > rule.min_value
        and (
            (rule.count and run >= rule.count)
            or (rule.duration_s and ts - state.since >= rule.duration_s)
        )
    ):
        state.phase = FIRING
        samples = ((state.since, state.ref, None), (ts, value, flag))
        severity = grade(rule.severity, rule.bands, duration_s=ts - state.since)
        return (
            Change("firing", FLATLINE, ts, value, severity, rule.tolerance, "flat", samples, kind),
        )
    return NONE


# ------------------------------------------------------------------------------------------
# jump (突变)


@dataclass(frozen=True, slots=True)
class JumpRule:
    """A change beyond a bound — ISSUE "Jump (突变)".

    Between consecutive values ``a → b`` (Δ = |b − a|) a jump is any of:

    * ``rel``: Δ > ``rel`` × min(|a|, |b|) and Δ > ``min_delta`` (rises and falls alike:
      36 → 150 and 150 → 36 are both jumps at rel 1.5; ``min_delta`` keeps noise near zero
      quiet);
    * ``abs``: Δ > ``abs`` (0 = off);
    * ``sigma``: |b − mean| > ``sigma`` × sd of an exponentially weighted mean/variance
      over about ``sigma_span`` values (0 = off; needs 10 values first);
    * ``window``: with ``window_s`` > 0, the ``rel``/``abs`` bounds also apply between b and
      a reference value taken once per window (a ramp within the window, 速率).

    A jump fires at once (a jump is an event, not a state) and resolves after
    ``clear_count`` consecutive values without one; jumps while firing count as touches.
    """

    rel: float = 1.5
    min_delta: float = 0.0
    abs: float = 0.0
    sigma: float = 0.0
    sigma_span: int = 30
    window_s: float = 0.0
    clear_count: int = 5
    severity: Severity = "warning"
    kinds: str = "rm"

    def __post_init__(self) -> None:
        for name in ("rel", "min_delta", "abs", "sigma", "window_s"):
            value = getattr(self, name)
            check(value >= 0 and math.isfinite(value), f"{name} must be ≥ 0 (0 = off)")
        check(
            self.rel > 0 or self.abs > 0 or self.sigma > 0,
            "a jump rule needs rel, abs or sigma > 0",
        )
        check(self.sigma_span >= 2, "sigma_span must be ≥ 2")
        check(self.clear_count >= 1, "clear_count must be ≥ 1")
        check_severity(self.severity)
        check_kinds(self.kinds)


@dataclass(slots=True)
class JumpState(Streamed):
    prev: float = math.nan
    prev_ts: float = 0.0
    mean: float = 0.0
    var: float = 0.0
    n: int = 0
    win_ref: float = math.nan
    win_ts: float = 0.0
    quiet: int = 0


def _step(rule: JumpRule, a: float, b: float) -> str:
    delta = abs(b - a)
    if rule.abs and delta > rule.abs:
        return "abs"
    if rule.rel and delta > rule.min_delta and delta > rule.rel * min(abs(a), abs(b)):
        return "rel"
    return ""


def evaluate_jump(
    rule: JumpRule,
    ts: float,
    value: float,
    flag: str | None,
    kind: str,
    state: JumpState,
) -> tuple[Change, ...]:
    """One value through a jump rule (see :class:`JumpRule`)."""
    if not admit(rule.kinds, ts, kind, state) or flag in MAINTENANCE_SET:
        return NONE
    prev = state.prev
    if math.isnan(prev):  # first value of the stream
        state.prev, state.prev_ts = value, ts
        state.mean, state.var, state.n = value, 0.0, 1
        state.win_ref, state.win_ts = value, ts
        return NONE
    reason = _step(rule, prev, value)
    if not reason and rule.sigma and state.n >= _EWMA_MIN_VALUES:
        sd = math.sqrt(state.var)
        if sd > 0 and abs(value - state.mean) > rule.sigma * sd:
            reason = "sigma"
    if rule.window_s:
        if ts - state.win_ts > rule.window_s:
            state.win_ref, state.win_ts = prev, state.prev_ts
        if not reason and _step(rule, state.win_ref, value):
            reason = "window"
    prev_ts = state.prev_ts
    state.prev, state.prev_ts = value, ts
    if rule.sigma:  # the EWMA is only kept when the statistical bound is in use
        alpha = 2.0 / (rule.sigma_span + 1)
        diff = value - state.mean
        incr = alpha * diff
        state.mean += incr
        state.var = (1.0 - alpha) * (state.var + diff * incr)
        state.n += 1
    if reason:
        state.quiet = 0
        if state.phase == FIRING:
            return (Change("touch", JUMP, ts, value, rule.severity, prev, reason),)
        state.phase = FIRING
        samples = ((prev_ts, prev, None), (ts, value, flag))
        return (Change("firing", JUMP, ts, value, rule.severity, prev, reason, samples, kind),)
    if state.phase == FIRING:
        state.quiet += 1
        if state.quiet >= rule.clear_count:
            state.phase = NORMAL
            state.quiet = 0
            return (Change("resolved", JUMP, ts, value, rule.severity, None, "", (), kind),)
    return NONE


# ------------------------------------------------------------------------------------------
# device-declared maintenance / fault


@dataclass(frozen=True, slots=True)
class MaintenanceRule:
    """A factor flagged maintenance/fault (M, C, D, F, 2005 P, 2005 air "0") for
    ``duration_s`` seconds of data time or ``count`` consecutive values (0 = criterion
    off) — ISSUE "Device-declared maintenance".  Severity ``fault_severity`` when a fault
    or stop (D, F, P) was among the flags, else ``severity``.  Resolves at the first value
    with another flag."""

    duration_s: float = 1800.0
    count: int = 0
    severity: Severity = "info"
    fault_severity: Severity = "major"
    kinds: str = "rmh"

    def __post_init__(self) -> None:
        check(self.duration_s >= 0 and self.count >= 0, "duration_s and count must be ≥ 0")
        check(self.duration_s > 0 or self.count > 0, "maintenance needs duration_s or count")
        check_severity(self.severity)
        check_severity(self.fault_severity, "fault_severity")
        check_kinds(self.kinds)


@dataclass(slots=True)
class MaintenanceState(Streamed):
    run: int = 0
    since: float = 0.0
    #: distinct flags of the current run, upper-case, in order of appearance
    flags: str = ""


_FAULT_FLAGS: Final = frozenset("DFP")


def evaluate_maintenance(
    rule: MaintenanceRule,
    ts: float,
    value: float,
    flag: str | None,
    kind: str,
    state: MaintenanceState,
) -> tuple[Change, ...]:
    """One value through the maintenance rule (see :class:`MaintenanceRule`)."""
    if not admit(rule.kinds, ts, kind, state):
        return NONE
    if flag is not None and flag in MAINTENANCE_SET:
        if state.run == 0:
            state.since = ts
            state.flags = ""
        state.run += 1
        upper = flag.upper()
        if upper not in state.flags:
            state.flags += upper
        if state.phase == FIRING:
            return (Change("touch", MAINTENANCE, ts, value, rule.severity, None, state.flags),)
        if (rule.duration_s and ts - state.since >= rule.duration_s) or (
            rule.count and state.run >= rule.count
        ):
            state.phase = FIRING
            fault = any(f in _FAULT_FLAGS for f in state.flags)
            severity = rule.fault_severity if fault else rule.severity
            samples = ((state.since, value, flag), (ts, value, flag))
            return (
                Change(
                    "firing", MAINTENANCE, ts, value, severity, None, state.flags, samples, kind
                ),
            )
        return NONE
    state.run = 0
    if state.phase == FIRING:
        state.phase = NORMAL
        return (Change("resolved", MAINTENANCE, ts, value, rule.severity, None, "", (), kind),)
    return NONE


# ------------------------------------------------------------------------------------------
# the generic entry point

InStreamRule: TypeAlias = ThresholdRule | FlatlineRule | JumpRule | MaintenanceRule
InStreamState: TypeAlias = ThresholdState | FlatlineState | JumpState | MaintenanceState


def new_state(rule: InStreamRule) -> InStreamState:
    """A fresh state for ``rule``."""
    if isinstance(rule, ThresholdRule):
        return ThresholdState()
    if isinstance(rule, FlatlineRule):
        return FlatlineState()
    if isinstance(rule, JumpRule):
        return JumpState()
    return MaintenanceState()


def evaluate(
    rule: InStreamRule, reading: Reading, state: InStreamState, now: float
) -> tuple[tuple[Change, ...], InStreamState]:
    """Evaluate one reading; returns ``(changes, state)`` (the state is updated in place).

    ``now`` (wall clock) is accepted for symmetry with :func:`evaluate_offline`; in-stream
    rules measure time on the data (``reading.ts``), so a replay gives the same result.
    Raises :class:`TypeError` if the state does not belong to the rule.
    """
    del now
    args = (reading.ts, reading.value, reading.flag, reading.kind)
    if isinstance(rule, ThresholdRule) and isinstance(state, ThresholdState):
        return evaluate_threshold(rule, *args, state), state
    if isinstance(rule, FlatlineRule) and isinstance(state, FlatlineState):
        return evaluate_flatline(rule, *args, state), state
    if isinstance(rule, JumpRule) and isinstance(state, JumpState):
        return evaluate_jump(rule, *args, state), state
    if isinstance(rule, MaintenanceRule) and isinstance(state, MaintenanceState):
        return evaluate_maintenance(rule, *args, state), state
    raise TypeError(f"{type(state).__name__} is not the state of {type(rule).__name__}")
