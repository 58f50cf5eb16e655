"""The in-stream evaluator: committed readings in, alert transitions out (no I/O here).

Theory of operation
-------------------
Every committed value arrives once, in commit order, on ``NOTIFY envgrid_readings``
(:mod:`store.feed`).  The service hands the payloads that arrived since its last flush
to :meth:`StreamEvaluator.feed_payloads` in one batch: the columns are decoded and
concatenated, each value is mapped to its (station, factor) *slot* with one dict
look-up, and the rules run over the batch with their states in columns
(:mod:`alerts.states`: numpy fast paths for the values that change nothing but the
states, the rule functions of :mod:`alerts.rules` for the rest).  A slot seen twice in a
batch is evaluated in rounds, in order.  Rule changes become
:class:`~alerts.writer.Transition` objects in :attr:`StreamEvaluator.pending`; the
service writes them in batches (``alerts.flush_ms``).

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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import numpy as np

from store.feed import FeedFormatError, decode_arrays

from .config import AlertConfig, FactorInfo, StationInfo
from .keyindex import KeyIndex
from .labels import factor_labels
from .rules import (
    AQI_LEVEL,
    EXCEEDANCE,
    FIRING,
    NORMAL,
    PENDING,
    Change,
    JumpState,
    MaintenanceState,
    ThresholdRule,
    ThresholdState,
    declares_maintenance,
    evaluate_threshold,
)
from .state_codec import SAVE_RUN, State, dump_state, load_state, worth_saving
from .states import KIND_CODES, KIND_NAMES, ROW_RULES, StateTable
from .writer import AlertKey, Transition

__all__ = ["Slot", "StreamEvaluator", "dump_state", "load_state"]

log = logging.getLogger(__name__)

#: Readings of unknown stations kept until the next configuration reload.
MAX_UNKNOWN: Final = 50_000


class Slot:
    """One (station, factor): its rules, its row in the state table, its hourly-AQI
    state (the other rule states are columns of :class:`~alerts.states.StateTable`)."""

    __slots__ = (
        "aqi",
        "aqi_rule",
        "exc_rule",
        "factor",
        "gen",
        "index",
        "station",
    )

    def __init__(self, station: StationInfo, factor: FactorInfo, index: int) -> None:
        self.station = station
        self.factor = factor
        self.index = index
        self.gen = -1
        self.exc_rule: Any = None
        self.aqi_rule: ThresholdRule | None = None
        self.aqi: ThresholdState | None = None

    def bind(self, config: AlertConfig, gen: int, table: StateTable) -> None:
        rules = config.rules_for(self.station, self.factor)
        self.exc_rule = rules.exceedance
        self.aqi_rule = rules.aqi
        self.gen = gen
        table.bind(
            self.index,
            gen,
            rules.exceedance,
            rules.flatline,
            rules.jump,
            rules.maintenance,
            rules.aqi.kinds if rules.aqi is not None else "",
        )


class StreamEvaluator:
    """In-stream rules over all (station, factor) slots (see the module docstring)."""

    def __init__(self, config: AlertConfig) -> None:
        self.config = config
        self.gen = 0
        self.slots: dict[int, Slot] = {}
        self.by_index: list[Slot] = []
        self._lookup = KeyIndex()  # slot key → slot index
        self._new_keys: list[int] = []  # slot keys not in the look-up yet
        self.table = StateTable(self._emit_index)
        self.pending: list[Transition] = []
        self.unknown: list[tuple[int, int, str, float, float, str | None]] = []
        #: values evaluated, rule changes, payloads that could not be decoded (logged)
        self.values = 0
        self.changes = 0
        self.malformed = 0

    def set_config(self, config: AlertConfig) -> None:
        """Adopt a new configuration; slots re-resolve their rules on their next value, and
        values of then-unknown stations are evaluated now."""
        self.config = config
        self.gen += 1
        waiting, self.unknown = self.unknown, []
        for item in waiting:
            self.feed(*item)

    # -- the hot path ----------------------------------------------------------------------
    def feed_payloads(self, payloads: Sequence[str]) -> int:
        """Evaluate ``envgrid_readings`` payloads (:mod:`store.feed` format), in order, as
        one batch; returns the number of values."""
        parts = []
        for payload in payloads:
            try:
                parts.append(decode_arrays(payload))
            except FeedFormatError as exc:
                self.malformed += 1
                if self.malformed & (self.malformed - 1) == 0:  # 1st, 2nd, 4th, 8th … time
                    log.warning("readings payload skipped (%d so far): %s", self.malformed, exc)
        if not parts:
            return 0
        table: dict[str | None, int] = {}
        codes = []
        for part in parts:  # one flag table for the batch
            remap = np.array([table.setdefault(f, len(table)) for f in part.flags], np.int64)
            codes.append(remap[part.codes])
        return self._evaluate(
            np.concatenate([np.full(len(p.ts), KIND_CODES[p.kind]) for p in parts]),
            np.concatenate([p.stations for p in parts]).astype(np.int64),
            np.concatenate([p.factors for p in parts]).astype(np.int64),
            np.concatenate([p.ts for p in parts]),
            np.concatenate([p.values for p in parts]),
            np.concatenate(codes),
            list(table),
        )

    def feed_payload(self, payload: str) -> int:
        """Evaluate one ``envgrid_readings`` payload."""
        return self.feed_payloads((payload,))

    def feed_rows(
        self,
        kind: str,
        stations: Sequence[int] | np.ndarray,
        factors: Sequence[int] | np.ndarray,
        ts: Sequence[float] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        flags: Sequence[str | None],
    ) -> int:
        """Evaluate stored values of one kind (the catch-up after a restart; arrays or
        sequences)."""
        table: dict[str | None, int] = {}
        codes = [table.setdefault(f or None, len(table)) for f in flags]
        return self._evaluate(
            np.full(len(stations), KIND_CODES[kind]),
            np.array(stations, np.int64),
            np.array(factors, np.int64),
            np.array(ts, np.float64),
            np.array(values, np.float64),
            np.array(codes, np.int64),
            list(table),
        )

    def feed(
        self,
        station_id: int,
        factor_id: int,
        kind: str,
        ts: float,
        value: float,
        flag: str | None,
    ) -> None:
        """Evaluate one value (tests, tools)."""
        self.feed_rows(kind, [station_id], [factor_id], [ts], [value], [flag])

    def _evaluate(
        self,
        kinds: np.ndarray,
        stations: np.ndarray,
        factors: np.ndarray,
        ts: np.ndarray,
        values: np.ndarray,
        codes: np.ndarray,
        flags: list[str | None],
    ) -> int:
        n = len(stations)
        if not n:
            return 0
        self.values += n
        index = self._indexes((stations << 16) | factors)
        stale = np.flatnonzero((index < 0) | (self.table.col["gen"][index] != self.gen))
        if stale.size:  # new slots, unknown stations, a new configuration
            keep = np.ones(n, bool)
            for j in stale.tolist():
                s, f = int(stations[j]), int(factors[j])
                slot = self.slots.get((s << 16) | f)
                if slot is None or slot.gen != self.gen:  # not bound yet by an earlier row
                    slot = self._slot(s, f, slot)
                if slot is not None:
                    index[j] = slot.index
                    continue
                keep[j] = False
                kind = KIND_NAMES[int(kinds[j])]
                self._unknown(s, f, kind, float(ts[j]), float(values[j]), flags[int(codes[j])])
            if not keep.all():
                index, kinds, ts, values, codes = (
                    a[keep] for a in (index, kinds, ts, values, codes)
                )
        maint = np.array([declares_maintenance(f) for f in flags], bool)[codes]
        todo = np.arange(index.size)
        while todo.size:  # a slot twice in the batch: its values in rounds, in order
            _, first = np.unique(index[todo], return_index=True)
            if first.size == todo.size:
                now, todo = todo, todo[:0]
            else:
                first.sort()
                now = todo[first]
                later = np.ones(todo.size, bool)
                later[first] = False
                todo = todo[later]
            self._round(index[now], kinds[now], ts[now], values[now], maint[now], codes[now], flags)
        return n

    def _indexes(self, keys: np.ndarray) -> np.ndarray:
        """Slot index per key (-1: no slot yet); a vectorised hash look-up."""
        if self._new_keys:
            self._lookup.extend(np.array(self._new_keys, np.int64))
            self._new_keys = []
        return self._lookup.get(keys)

    def _round(
        self,
        index: np.ndarray,
        kinds: np.ndarray,
        ts: np.ndarray,
        values: np.ndarray,
        maint: np.ndarray,
        codes: np.ndarray,
        flags: list[str | None],
    ) -> None:
        table = self.table
        table.evaluate(index, kinds, ts, values, maint, codes, flags)
        aqi = np.flatnonzero((table.col["aqi_kinds"][index] >> kinds) & 1)
        for j in aqi.tolist():  # hourly values of slots with an AQI-level rule
            slot = self.by_index[int(index[j])]
            assert slot.aqi_rule is not None
            if slot.aqi is None:  # created on the first hourly value
                slot.aqi = ThresholdState()
            changes = evaluate_threshold(
                slot.aqi_rule,
                float(ts[j]),
                float(values[j]),
                flags[int(codes[j])],
                KIND_NAMES[int(kinds[j])],
                slot.aqi,
            )
            if changes:
                self._emit(slot, changes)

    def _unknown(
        self, station_id: int, factor_id: int, kind: str, ts: float, value: float, flag: str | None
    ) -> None:
        if len(self.unknown) < MAX_UNKNOWN:
            self.unknown.append((station_id, factor_id, kind, ts, value, flag))

    def _slot(self, station_id: int, factor_id: int, slot: Slot | None) -> Slot | None:
        config = self.config
        if slot is None:
            station = config.stations.get(station_id)
            factor = config.factors.get(factor_id)
            if station is None or factor is None:
                return None
            slot = Slot(station, factor, self.table.add())
            key = (station_id << 16) | factor_id
            self.slots[key] = slot
            self.by_index.append(slot)
            self._new_keys.append(key)
        else:
            slot.station = config.stations.get(station_id, slot.station)
            slot.factor = config.factors.get(factor_id, slot.factor)
        slot.bind(config, self.gen, self.table)
        return slot

    def _emit_index(self, index: int, changes: tuple[Change, ...]) -> None:
        self._emit(self.by_index[index], changes)

    def _emit(self, slot: Slot, changes: tuple[Change, ...]) -> None:
        station = slot.station
        for change in changes:
            self.changes += 1
            labels: dict[str, Any] = {}
            if change.action in ("pending", "firing"):
                labels = factor_labels(self.config, station, slot.factor)
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

    # -- states as objects (restart, user actions) -------------------------------------------
    def states(self, slot: Slot) -> Iterator[tuple[str, State]]:
        """The slot's rule states (copies: :meth:`set_state` puts a changed one back)."""
        for rule in ROW_RULES:
            if self.table.exists(rule, slot.index):
                yield rule, self.table.get(rule, slot.index)
        if slot.aqi is not None:
            yield AQI_LEVEL, slot.aqi

    def set_state(self, slot: Slot, rule: str, state: State) -> None:
        if rule == AQI_LEVEL:
            if isinstance(state, ThresholdState):
                slot.aqi = state
        elif rule in ROW_RULES:
            self.table.put(rule, slot.index, state)

    def reset(self, key: AlertKey) -> None:
        """A user resolved the alert of ``key``: its rule restarts from normal (a condition
        that persists raises a new alert after the pending period)."""
        rule, scope, factor_id = key
        if not scope.startswith("station:"):
            return
        slot = self.slots.get((int(scope[8:]) << 16) | factor_id)
        if slot is None:
            return
        for name, state in self.states(slot):
            if name == rule:
                state.phase = NORMAL
                if isinstance(state, ThresholdState):
                    state.run = 0
                    state.samples = ()
                elif isinstance(state, JumpState):
                    state.quiet = 0
                self.set_state(slot, name, state)

    def dump_states(self) -> list[tuple[int, int, str, list[Any]]]:
        """(station, factor, rule, state) of the states worth saving."""
        out = []
        table = self.table
        for rule in ROW_RULES:
            for index in table.worth_saving(rule, SAVE_RUN).tolist():
                slot = self.by_index[index]
                out.append(
                    (slot.station.id, slot.factor.id, rule, dump_state(table.get(rule, index)))
                )
        for slot in self.by_index:
            if slot.aqi is not None and worth_saving(AQI_LEVEL, slot.aqi):
                out.append((slot.station.id, slot.factor.id, AQI_LEVEL, dump_state(slot.aqi)))
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
            self.set_state(slot, rule, state)
            restored += 1
        for (rule, scope, factor_id), (alert_state, first_seen) in open_alerts.items():
            if not scope.startswith("station:"):
                continue
            station_id = int(scope[8:])
            slot = self._slot(station_id, factor_id, self.slots.get((station_id << 16) | factor_id))
            if slot is None:
                continue
            for name, state in self.states(slot):
                if name != rule or state.phase != NORMAL:
                    continue
                state.phase = PENDING if alert_state == "pending" else FIRING
                if isinstance(state, ThresholdState | MaintenanceState):
                    state.since = first_seen
                    state.run = 1 if alert_state == "pending" else 0
                self.set_state(slot, name, state)
        return restored
