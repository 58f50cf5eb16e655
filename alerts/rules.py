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

Offline (断线) is evaluated by sweeps, not per value: :func:`evaluate_offline` compares
one station's facts (from ``station_state``) with the wall-clock time, and
:func:`mass_offline` decides the grouped "many stations offline together" alerts used for
inhibition (ALERTS_AND_DASHBOARDS.md §1.2 "Inhibition", §1.6 "Storms").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from protocol.flags import MAINTENANCE_FLAGS
from store.feed import Reading

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

Action: TypeAlias = Literal["pending", "firing", "touch", "cancelled", "resolved"]

#: (data time, value, flag) of a value that contributed to a change.
Sample: TypeAlias = tuple[float, float, "str | None"]

NORMAL: Final = 0
PENDING: Final = 1
FIRING: Final = 2

#: Finer data kinds rank lower (real-time < minute < hour < day).
_KIND_RANK: Final[Mapping[str, int]] = {"r": 0, "m": 1, "h": 2, "d": 3}
#: Device-declared maintenance/fault flags, either case (protocol.flags.is_maintenance as a
#: set, so the hot path is one membership test; None is not in it).
_MAINTENANCE: Final[frozenset[str | None]] = frozenset(
    {*MAINTENANCE_FLAGS, *(f.lower() for f in MAINTENANCE_FLAGS)}
)
#: Triggering values kept per alert.
MAX_SAMPLES: Final = 10
_EWMA_MIN_VALUES: Final = 10


def declares_maintenance(flag: str | None) -> bool:
    """Is ``flag`` a device-declared maintenance/fault flag (either case)?"""
    return flag in _MAINTENANCE


class RuleError(ValueError):
    """A rule configuration that cannot work; the message names the parameter."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise RuleError(message)


def _check_kinds(kinds: str) -> None:
    _check(
        bool(kinds) and all(k in _KIND_RANK for k in kinds),
        f"kinds must be letters of 'rmhd' (r real-time, m minute, h hour, d day), got {kinds!r}",
    )


def _check_severity(severity: str, name: str = "severity") -> None:
    _check(severity in SEVERITIES, f"{name} must be one of {', '.join(SEVERITIES)}")


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


_NONE: Final[tuple[Change, ...]] = ()


def _admit(kinds: str, ts: float, kind: str, state: _Streamed) -> bool:
    """Whether a value of ``kind`` at ``ts`` enters the stream (its kind followed, newer
    than the last one); records its time."""
    if (kind != state.kind and not _take(kinds, kind, state)) or ts <= state.last_ts:
        return False
    state.last_ts = ts
    return True


def _take(kinds: str, kind: str, state: _Streamed) -> bool:
    """Follow the finest kind of ``kinds`` the station sends (see module docstring)."""
    current = state.kind
    if kind == current:
        return True
    if kind not in kinds:
        return False
    if not current or _KIND_RANK[kind] < _KIND_RANK[current]:
        state.kind = kind
        state.last_ts = -math.inf
        return True
    return False


@dataclass(slots=True)
class _Streamed:
    kind: str = ""
    last_ts: float = -math.inf
    phase: int = NORMAL


# ------------------------------------------------------------------------------------------
# exceedance (超标) and hourly-AQI level: a limit with a pending period and hysteresis


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
    clear_upper: float = field(init=False, default=math.inf)
    clear_lower: float = field(init=False, default=-math.inf)

    def __post_init__(self) -> None:
        _check(
            self.upper is not None or self.lower is not None,
            "an exceedance limit needs an upper or a lower value",
        )
        if self.upper is not None and self.lower is not None:
            _check(self.lower < self.upper, "lower limit must be below the upper limit")
        for bound in (self.upper, self.lower):
            _check(bound is None or math.isfinite(bound), "limits must be finite numbers")
        _check(self.pending_count >= 0, "pending_count must be ≥ 0")
        _check(self.pending_s >= 0, "pending_s must be ≥ 0")
        _check(
            self.pending_count >= 1 or self.pending_s > 0,
            "pending_count 0 needs pending_s > 0 (a time-only pending period)",
        )
        _check(self.clear_count >= 1, "clear_count must be ≥ 1")
        _check(0 <= self.hysteresis_ratio < 1, "hysteresis_ratio must be in [0, 1)")
        _check_severity(self.severity)
        _check_kinds(self.kinds)
        ratio = self.hysteresis_ratio
        if self.upper is not None:
            object.__setattr__(self, "clear_upper", self.upper - ratio * abs(self.upper))
        if self.lower is not None:
            object.__setattr__(self, "clear_lower", self.lower + ratio * abs(self.lower))


@dataclass(slots=True)
class ThresholdState(_Streamed):
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
    if not _admit(rule.kinds, ts, kind, state) or flag in _MAINTENANCE:
        return _NONE  # device-declared maintenance: no data alerts (ISSUE "Rules")
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
            return _NONE
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
        return (Change("touch", rule.name, ts, value, rule.severity, threshold, reason),)
    if value <= rule.clear_upper and value >= rule.clear_lower:
        state.run += 1
        if state.run >= rule.clear_count:
            state.phase = NORMAL
            state.run = 0
            state.samples = ()
            return (Change("resolved", rule.name, ts, value, rule.severity, None, "", (), kind),)
        return _NONE
    state.run = 0  # inside the hysteresis band: still firing, the clear count restarts
    return _NONE


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
        rule.severity,
        threshold,
        reason,
        state.samples,
        kind,
    )


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

    def __post_init__(self) -> None:
        _check(self.count >= 0 and self.duration_s >= 0, "count and duration_s must be ≥ 0")
        _check(self.count > 0 or self.duration_s > 0, "flatline needs count or duration_s > 0")
        _check(self.min_count >= 2, "min_count must be ≥ 2")
        _check(self.tolerance >= 0 and math.isfinite(self.tolerance), "tolerance must be ≥ 0")
        _check(self.min_value >= 0 and math.isfinite(self.min_value), "min_value must be ≥ 0")
        _check_severity(self.severity)
        _check_kinds(self.kinds)


@dataclass(slots=True)
class FlatlineState(_Streamed):
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
    if not _admit(rule.kinds, ts, kind, state) or flag in _MAINTENANCE:
        return _NONE
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
        return _NONE
    if state.phase == FIRING:
        return (Change("touch", FLATLINE, ts, value, rule.severity, rule.tolerance, "flat"),)
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
        return (
            Change(
                "firing", FLATLINE, ts, value, rule.severity, rule.tolerance, "flat", samples, kind
            ),
        )
    return _NONE


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
            _check(value >= 0 and math.isfinite(value), f"{name} must be ≥ 0 (0 = off)")
        _check(
            self.rel > 0 or self.abs > 0 or self.sigma > 0,
            "a jump rule needs rel, abs or sigma > 0",
        )
        _check(self.sigma_span >= 2, "sigma_span must be ≥ 2")
        _check(self.clear_count >= 1, "clear_count must be ≥ 1")
        _check_severity(self.severity)
        _check_kinds(self.kinds)


@dataclass(slots=True)
class JumpState(_Streamed):
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
    if not _admit(rule.kinds, ts, kind, state) or flag in _MAINTENANCE:
        return _NONE
    prev = state.prev
    if math.isnan(prev):  # first value of the stream
        state.prev, state.prev_ts = value, ts
        state.mean, state.var, state.n = value, 0.0, 1
        state.win_ref, state.win_ts = value, ts
        return _NONE
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
    return _NONE


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
        _check(self.duration_s >= 0 and self.count >= 0, "duration_s and count must be ≥ 0")
        _check(self.duration_s > 0 or self.count > 0, "maintenance needs duration_s or count")
        _check_severity(self.severity)
        _check_severity(self.fault_severity, "fault_severity")
        _check_kinds(self.kinds)


@dataclass(slots=True)
class MaintenanceState(_Streamed):
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
    if not _admit(rule.kinds, ts, kind, state):
        return _NONE
    if flag is not None and flag in _MAINTENANCE:
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
        return _NONE
    state.run = 0
    if state.phase == FIRING:
        state.phase = NORMAL
        return (Change("resolved", MAINTENANCE, ts, value, rule.severity, None, "", (), kind),)
    return _NONE


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


# ------------------------------------------------------------------------------------------
# offline (断线): evaluated by the sweeper over station_state


@dataclass(frozen=True, slots=True)
class OfflineRule:
    """No data for ``after_s`` seconds = offline — ISSUE "Disconnect / offline (断线)".

    Also offline earlier when the station's TCP connection dropped and stayed down for
    ``disconnect_grace_s`` with no data since (0 = off); the grace is raised to twice the
    station's report interval so that short-connection loggers (connect, send, close) are
    not flagged between uploads, and the early path only applies while it is shorter than
    ``after_s``.  Resolves when data newer than the last data before the outage arrives
    (a reconnect without data is not a recovery).  Reminders while offline are the
    routes' repeat interval (default ``alerts.offline_remind_s``).
    """

    after_s: float = 900.0
    disconnect_grace_s: float = 300.0
    severity: Severity = "major"

    def __post_init__(self) -> None:
        _check(self.after_s > 0, "after_s must be > 0")
        _check(self.disconnect_grace_s >= 0, "disconnect_grace_s must be ≥ 0 (0 = off)")
        _check_severity(self.severity)


@dataclass(frozen=True, slots=True)
class StationFacts:
    """What ``station_state`` says of one station (times are POSIX seconds)."""

    connected: bool
    #: reception time of the latest data frame (None: never sent data — not monitored)
    last_data: float | None
    disconnected_at: float | None = None
    #: the station's report interval in seconds, 0 if unknown
    expected_interval: float = 0.0


@dataclass(slots=True)
class OfflineState:
    phase: int = NORMAL
    #: last data time before the outage (the alert resolves when newer data arrives)
    since: float = 0.0


def evaluate_offline(
    rule: OfflineRule, facts: StationFacts, state: OfflineState, now: float
) -> tuple[tuple[Change, ...], OfflineState]:
    """One station's facts at wall-clock ``now`` (see :class:`OfflineRule`)."""
    last = facts.last_data
    if last is None:
        return _NONE, state
    if state.phase == FIRING:
        if last > state.since:
            state.phase = NORMAL
            return (
                Change("resolved", OFFLINE, last, None, rule.severity, None, "recovered"),
            ), state
        return _NONE, state
    reason = ""
    if now - last >= rule.after_s:
        reason = "no_data"
    elif (
        rule.disconnect_grace_s
        and not facts.connected
        and facts.disconnected_at is not None
        and facts.disconnected_at >= last
    ):
        grace = max(rule.disconnect_grace_s, 2.0 * facts.expected_interval)
        if grace < rule.after_s and now - facts.disconnected_at >= grace:
            reason = "disconnected"
    if not reason:
        return _NONE, state
    state.phase = FIRING
    state.since = last
    threshold = rule.after_s if reason == "no_data" else rule.disconnect_grace_s
    return (Change("firing", OFFLINE, last, None, rule.severity, threshold, reason),), state


def mass_offline(
    offline: Mapping[str, int],
    totals: Mapping[str, int],
    open_scopes: Set[str],
    *,
    min_stations: int,
    ratio: float,
) -> tuple[set[str], set[str]]:
    """Which "many stations offline together" scopes open and which close.

    A scope (``region:西湖区``, ``worker:3``, ``all``) opens when at least ``min_stations``
    of its stations and at least ``ratio`` of them are offline; an open scope closes when
    it falls below half of both (hysteresis, so a region at the threshold does not flap).
    Returns ``(to_open, to_close)``.
    """
    to_open: set[str] = set()
    for scope, count in offline.items():
        total = max(totals.get(scope, count), count, 1)
        if scope not in open_scopes and count >= min_stations and count >= ratio * total:
            to_open.add(scope)
    to_close: set[str] = set()
    for scope in open_scopes:
        count = offline.get(scope, 0)
        total = max(totals.get(scope, count), count, 1)
        if count < max(1, min_stations // 2) or count < ratio / 2 * total:
            to_close.add(scope)
    return to_open, to_close
