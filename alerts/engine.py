"""The in-stream evaluator: committed readings in, alert transitions out (no I/O here).

Theory of operation
-------------------
Every committed value arrives once, in commit order, on ``NOTIFY envgrid_readings``
(:mod:`store.feed`).  :meth:`StreamEvaluator.feed_payload` parses a payload without
building intermediate objects and, per value, does one dict look-up of the
(station, factor) *slot* and runs the rules that apply to it (exceedance, hourly-AQI
level, flatline, jump, maintenance — :mod:`alerts.rules`), mutating their small states
in place.  Rule changes become :class:`~alerts.writer.Transition` objects in
:attr:`StreamEvaluator.pending`; the service flushes them to the database in batches
(``alerts.flush_ms``), so the cost per value is the evaluation alone.

A slot resolves its rules from the configuration lazily, and again after a
configuration reload (generation counter) — the rule *states* survive reloads.  Values
of stations the configuration does not know yet (registered since the last load) are
kept aside (bounded) until the next reload and then evaluated.

Persistence: :meth:`dump_states` returns the states worth saving — those of open or
pending alerts and runs longer than the catch-up window can rebuild (flatline and
maintenance runs) — and :meth:`restore` puts them back and reconciles them with the open
alerts in the database (an open alert without state gets a firing state so that it can
resolve; a firing state without an open alert restarts from normal).  Everything else
is rebuilt by re-evaluating the last minutes of data after a restart (the rules ignore
values not newer than the last one they saw, so overlaps are harmless).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .config import AlertConfig, FactorInfo, StationInfo
from .rules import (
    AQI_LEVEL,
    EXCEEDANCE,
    FIRING,
    FLATLINE,
    JUMP,
    MAINTENANCE,
    NORMAL,
    PENDING,
    Change,
    FlatlineState,
    JumpState,
    MaintenanceState,
    ThresholdState,
    evaluate_flatline,
    evaluate_jump,
    evaluate_maintenance,
    evaluate_threshold,
)
from .writer import AlertKey, Transition

__all__ = ["Slot", "StreamEvaluator", "dump_state", "load_state"]

log = logging.getLogger(__name__)

#: Readings of unknown stations kept until the next configuration reload.
MAX_UNKNOWN: Final = 50_000
#: Flatline/maintenance runs at least this long are saved (shorter ones are rebuilt).
_SAVE_RUN: Final = 5

State = ThresholdState | FlatlineState | JumpState | MaintenanceState


class Slot:
    """Rules and rule states of one (station, factor)."""

    __slots__ = (
        "aqi",
        "aqi_rule",
        "exc",
        "exc_rule",
        "factor",
        "flat",
        "flat_rule",
        "gen",
        "jump",
        "jump_rule",
        "maint",
        "maint_rule",
        "station",
    )

    def __init__(self, station: StationInfo, factor: FactorInfo) -> None:
        self.station = station
        self.factor = factor
        self.gen = -1
        self.exc_rule: Any = None
        self.aqi_rule: Any = None
        self.flat_rule: Any = None
        self.jump_rule: Any = None
        self.maint_rule: Any = None
        self.exc: ThresholdState | None = None
        self.aqi: ThresholdState | None = None
        self.flat: FlatlineState | None = None
        self.jump: JumpState | None = None
        self.maint: MaintenanceState | None = None

    def bind(self, config: AlertConfig, gen: int) -> None:
        rules = config.rules_for(self.station, self.factor)
        self.exc_rule = rules.exceedance
        self.aqi_rule = rules.aqi
        self.flat_rule = rules.flatline
        self.jump_rule = rules.jump
        self.maint_rule = rules.maintenance
        if self.exc_rule is not None and self.exc is None:
            self.exc = ThresholdState()
        if self.flat_rule is not None and self.flat is None:
            self.flat = FlatlineState()
        if self.jump_rule is not None and self.jump is None:
            self.jump = JumpState()
        if self.maint_rule is not None and self.maint is None:
            self.maint = MaintenanceState()
        self.gen = gen

    def states(self) -> Iterable[tuple[str, State]]:
        if self.exc is not None:
            yield EXCEEDANCE, self.exc
        if self.aqi is not None:
            yield AQI_LEVEL, self.aqi
        if self.flat is not None:
            yield FLATLINE, self.flat
        if self.jump is not None:
            yield JUMP, self.jump
        if self.maint is not None:
            yield MAINTENANCE, self.maint

    def set_state(self, rule: str, state: State) -> None:
        if rule == EXCEEDANCE and isinstance(state, ThresholdState):
            self.exc = state
        elif rule == AQI_LEVEL and isinstance(state, ThresholdState):
            self.aqi = state
        elif rule == FLATLINE and isinstance(state, FlatlineState):
            self.flat = state
        elif rule == JUMP and isinstance(state, JumpState):
            self.jump = state
        elif rule == MAINTENANCE and isinstance(state, MaintenanceState):
            self.maint = state


# ------------------------------------------------------------------------------------------
# state (de)serialisation: compact JSON lists


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _float(x: Any, default: float) -> float:
    return default if x is None else float(x)


def dump_state(state: State) -> list[Any]:
    base = [state.kind, _num(state.last_ts), state.phase]
    if isinstance(state, ThresholdState):
        return [*base, state.run, state.since, [list(s) for s in state.samples]]
    if isinstance(state, FlatlineState):
        return [*base, _num(state.ref), state.run, state.since]
    if isinstance(state, JumpState):
        return [
            *base,
            _num(state.prev),
            state.prev_ts,
            state.mean,
            state.var,
            state.n,
            _num(state.win_ref),
            state.win_ts,
            state.quiet,
        ]
    return [*base, state.run, state.since, state.flags]


def load_state(rule: str, data: list[Any]) -> State:
    kind, last_ts, phase = str(data[0]), _float(data[1], -math.inf), int(data[2])
    rest = data[3:]
    if rule in (EXCEEDANCE, AQI_LEVEL):
        samples = tuple((float(t), float(v), f) for t, v, f in rest[2])
        return ThresholdState(kind, last_ts, phase, int(rest[0]), float(rest[1]), samples)
    if rule == FLATLINE:
        ref = _float(rest[0], math.nan)
        return FlatlineState(kind, last_ts, phase, ref, int(rest[1]), float(rest[2]))
    if rule == JUMP:
        return JumpState(
            kind,
            last_ts,
            phase,
            _float(rest[0], math.nan),
            float(rest[1]),
            float(rest[2]),
            float(rest[3]),
            int(rest[4]),
            _float(rest[5], math.nan),
            float(rest[6]),
            int(rest[7]),
        )
    if rule == MAINTENANCE:
        return MaintenanceState(kind, last_ts, phase, int(rest[0]), float(rest[1]), str(rest[2]))
    raise ValueError(f"no saved state format for rule {rule!r}")


def _worth_saving(rule: str, state: State) -> bool:
    if state.phase != NORMAL:
        return True
    if isinstance(state, FlatlineState | MaintenanceState):
        return state.run >= _SAVE_RUN
    return False


# ------------------------------------------------------------------------------------------


class StreamEvaluator:
    """In-stream rules over all (station, factor) slots (see the module docstring)."""

    def __init__(self, config: AlertConfig) -> None:
        self.config = config
        self.gen = 0
        self.slots: dict[int, Slot] = {}
        self.pending: list[Transition] = []
        self.unknown: list[tuple[int, int, str, float, float, str | None]] = []
        self.unknown_dropped = 0
        #: values evaluated, and how many of them carried a maintenance flag
        self.values = 0
        self.changes = 0

    def set_config(self, config: AlertConfig) -> None:
        """Adopt a new configuration; slots re-resolve their rules on their next value, and
        values of then-unknown stations are evaluated now."""
        self.config = config
        self.gen += 1
        waiting, self.unknown = self.unknown, []
        for item in waiting:
            self.feed(*item)

    # -- the hot path ----------------------------------------------------------------------
    def feed_payload(self, payload: str) -> int:
        """Evaluate one ``envgrid_readings`` payload (:mod:`store.feed` format).

        The body of :meth:`feed`, inlined: at 60,000 values/s a function call per value
        is a measurable share of the cost (bench/alerts.py)."""
        kind, _, body = payload.partition("|")
        n = 0
        slots = self.slots
        gen = self.gen
        for item in body.split(";"):
            parts = item.split(",")
            if len(parts) != 5:
                continue
            try:
                station_id = int(parts[0])
                factor_id = int(parts[1])
                ts = float(parts[2])
                value = float(parts[3])
            except ValueError:
                continue
            n += 1
            flag = parts[4] or None
            slot = slots.get((station_id << 16) | factor_id)
            if slot is None or slot.gen != gen:
                slot = self._slot(station_id, factor_id, slot)
                if slot is None:
                    self._unknown(station_id, factor_id, kind, ts, value, flag)
                    continue
            rule: Any = slot.exc_rule
            if rule is not None:
                changes = evaluate_threshold(rule, ts, value, flag, kind, slot.exc)  # type: ignore[arg-type]
                if changes:
                    self._emit(slot, changes)
            rule = slot.flat_rule
            if rule is not None:
                changes = evaluate_flatline(rule, ts, value, flag, kind, slot.flat)  # type: ignore[arg-type]
                if changes:
                    self._emit(slot, changes)
            rule = slot.jump_rule
            if rule is not None:
                changes = evaluate_jump(rule, ts, value, flag, kind, slot.jump)  # type: ignore[arg-type]
                if changes:
                    self._emit(slot, changes)
            rule = slot.maint_rule
            if rule is not None:
                changes = evaluate_maintenance(rule, ts, value, flag, kind, slot.maint)  # type: ignore[arg-type]
                if changes:
                    self._emit(slot, changes)
            rule = slot.aqi_rule
            if rule is not None and kind in rule.kinds:
                self._aqi(slot, rule, ts, value, flag, kind)
        self.values += n
        return n

    def feed(
        self,
        station_id: int,
        factor_id: int,
        kind: str,
        ts: float,
        value: float,
        flag: str | None,
    ) -> None:
        """Evaluate one value (catch-up, tests; the live path is :meth:`feed_payload`)."""
        self.values += 1
        slot = self.slots.get((station_id << 16) | factor_id)
        if slot is None or slot.gen != self.gen:
            slot = self._slot(station_id, factor_id, slot)
            if slot is None:
                self._unknown(station_id, factor_id, kind, ts, value, flag)
                return
        checks: tuple[tuple[Any, Any, Any], ...] = (
            (slot.exc_rule, evaluate_threshold, slot.exc),
            (slot.flat_rule, evaluate_flatline, slot.flat),
            (slot.jump_rule, evaluate_jump, slot.jump),
            (slot.maint_rule, evaluate_maintenance, slot.maint),
        )
        for rule, evaluate, state in checks:
            if rule is not None:
                changes = evaluate(rule, ts, value, flag, kind, state)
                if changes:
                    self._emit(slot, changes)
        rule = slot.aqi_rule
        if rule is not None and kind in rule.kinds:
            self._aqi(slot, rule, ts, value, flag, kind)

    def _aqi(
        self, slot: Slot, rule: Any, ts: float, value: float, flag: str | None, kind: str
    ) -> None:
        if slot.aqi is None:  # created on the first hourly value (most slots never get one)
            slot.aqi = ThresholdState()
        changes = evaluate_threshold(rule, ts, value, flag, kind, slot.aqi)
        if changes:
            self._emit(slot, changes)

    def _unknown(
        self, station_id: int, factor_id: int, kind: str, ts: float, value: float, flag: str | None
    ) -> None:
        if len(self.unknown) < MAX_UNKNOWN:
            self.unknown.append((station_id, factor_id, kind, ts, value, flag))
        else:
            self.unknown_dropped += 1

    def _slot(self, station_id: int, factor_id: int, slot: Slot | None) -> Slot | None:
        config = self.config
        if slot is None:
            station = config.stations.get(station_id)
            factor = config.factors.get(factor_id)
            if station is None or factor is None:
                return None
            slot = Slot(station, factor)
            self.slots[(station_id << 16) | factor_id] = slot
        else:
            station = config.stations.get(station_id, slot.station)
            slot.station = station
            slot.factor = config.factors.get(factor_id, slot.factor)
        slot.bind(config, self.gen)
        return slot

    def _emit(self, slot: Slot, changes: tuple[Change, ...]) -> None:
        station = slot.station
        for change in changes:
            self.changes += 1
            labels: dict[str, Any] = {}
            if change.action in ("pending", "firing"):
                factor = slot.factor
                labels = {
                    "station_name": station.name,
                    "mn": station.mn,
                    "st": station.st,
                    "factor_code": factor.code,
                    "factor_name": factor.name_zh,
                    "unit": self.config.unit_for(station, factor),
                }
                rule = slot.aqi_rule if change.rule == AQI_LEVEL else slot.exc_rule
                if change.rule in (EXCEEDANCE, AQI_LEVEL) and rule is not None:
                    labels["source"] = rule.source
            self.pending.append(
                Transition(
                    (change.rule, f"station:{station.id}", slot.factor.id),
                    change,
                    station.id,
                    station.region,
                    station.grid_id,
                    labels,
                )
            )

    def take(self) -> list[Transition]:
        out, self.pending = self.pending, []
        return out

    def put_back(self, transitions: list[Transition]) -> None:
        """A batch that could not be written goes back to the front of the queue."""
        self.pending = transitions + self.pending

    # -- restart and user actions --------------------------------------------------------------
    def reset(self, key: AlertKey) -> None:
        """A user resolved the alert of ``key``: its rule restarts from normal (a condition
        that persists raises a new alert after the pending period)."""
        rule, scope, factor_id = key
        if not scope.startswith("station:"):
            return
        slot = self.slots.get((int(scope[8:]) << 16) | factor_id)
        if slot is None:
            return
        for name, state in slot.states():
            if name == rule:
                state.phase = NORMAL
                if isinstance(state, ThresholdState):
                    state.run = 0
                    state.samples = ()
                elif isinstance(state, JumpState):
                    state.quiet = 0

    def dump_states(self) -> list[tuple[int, int, str, list[Any]]]:
        """(station, factor, rule, state) of the states worth saving."""
        out = []
        for slot in self.slots.values():
            for rule, state in slot.states():
                if _worth_saving(rule, state):
                    out.append((slot.station.id, slot.factor.id, rule, dump_state(state)))
        return out

    def restore(
        self,
        rows: Iterable[tuple[int, int, str, list[Any]]],
        open_alerts: Mapping[AlertKey, tuple[str, float]],
    ) -> int:
        """Put saved states back; reconcile with the open alerts ``key → (state,
        first_seen)``.  Returns the number of states restored."""
        restored = 0
        for station_id, factor_id, rule, data in rows:
            slot = self._slot(station_id, factor_id, self.slots.get((station_id << 16) | factor_id))
            if slot is None:
                continue
            try:
                state = load_state(rule, data)
            except (ValueError, TypeError, IndexError) as exc:
                log.warning(
                    "saved %s state of %s/%s unreadable (%s)", rule, station_id, factor_id, exc
                )
                continue
            key = (rule, f"station:{station_id}", factor_id)
            if state.phase != NORMAL and key not in open_alerts:
                state.phase = NORMAL  # resolved by a user while we were away
                if isinstance(state, ThresholdState):
                    state.run, state.samples = 0, ()
            slot.set_state(rule, state)
            restored += 1
        for (rule, scope, factor_id), (alert_state, first_seen) in open_alerts.items():
            if not scope.startswith("station:"):
                continue
            station_id = int(scope[8:])
            slot = self._slot(station_id, factor_id, self.slots.get((station_id << 16) | factor_id))
            if slot is None:
                continue
            for name, state in slot.states():
                if name != rule or state.phase != NORMAL:
                    continue
                state.phase = PENDING if alert_state == "pending" else FIRING
                if isinstance(state, ThresholdState | MaintenanceState):
                    state.since = first_seen
                    state.run = 1 if alert_state == "pending" else 0
        return restored
