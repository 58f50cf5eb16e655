"""Rule states of every (station, factor) slot as columns (numpy), and their fast paths.

Theory of operation
-------------------
The in-stream evaluator (:mod:`alerts.engine`) sees every committed value — 60,000 to
100,000 a second at the bench issue's rates.  Run one by one through the rule functions
of :mod:`alerts.rules`, that costs 1.3 µs per value, more than 10 % of what ingest
spends on it.  Nearly every value, though, changes nothing but the rule states: the
factor is within its limits, it moved, it did not jump.  So the states live here as
columns indexed by slot, and :meth:`StateTable.evaluate` takes a batch of values (each
slot at most once) and, per rule, computes with numpy *which* values are such
uneventful ones and applies their state updates to the columns — the same arithmetic,
in the same order, as the rule function would.  The rest (a limit crossed, a run long
enough to fire, a firing alert, a maintenance flag for the maintenance rule, a change
of data kind, a jump window) go through the rule function itself: the state is taken
out of the columns as the rule's state object, evaluated, and put back.

So :mod:`alerts.rules` stays the one definition of the rules; the fast paths here are a
pre-computation of their "nothing happens" branches, checked against them value for
value by tests/alerts/test_states.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, Final

import numpy as np

from .rules import (
    EXCEEDANCE,
    FLATLINE,
    JUMP,
    MAINTENANCE,
    NORMAL,
    Change,
    FlatlineRule,
    FlatlineState,
    JumpRule,
    JumpState,
    MaintenanceRule,
    MaintenanceState,
    ThresholdRule,
    ThresholdState,
    evaluate_flatline,
    evaluate_jump,
    evaluate_maintenance,
    evaluate_threshold,
)

__all__ = ["KIND_CODES", "KIND_NAMES", "ROW_RULES", "StateTable", "kinds_mask"]

#: data kind letter ↔ code (finer kinds rank lower); code -1 is "no kind yet"
KIND_NAMES: Final = ("r", "m", "h", "d")
KIND_CODES: Final = {k: i for i, k in enumerate(KIND_NAMES)}
#: the rules kept in columns (the hourly-AQI rule is rare and stays an object per slot)
ROW_RULES: Final = (EXCEEDANCE, FLATLINE, JUMP, MAINTENANCE)

State = ThresholdState | FlatlineState | JumpState | MaintenanceState
Rule = ThresholdRule | FlatlineRule | JumpRule | MaintenanceRule

# rule → (column prefix, state class, numeric state fields beyond kind/last_ts/phase,
#         object state field kept in a list, rule function)
_LAYOUT: Final[dict[str, tuple[str, type, tuple[str, ...], str, Callable[..., Any]]]] = {
    EXCEEDANCE: ("e", ThresholdState, ("run", "since"), "samples", evaluate_threshold),
    FLATLINE: ("f", FlatlineState, ("ref", "run", "since"), "", evaluate_flatline),
    JUMP: (
        "j",
        JumpState,
        ("prev", "prev_ts", "mean", "var", "n", "win_ref", "win_ts", "quiet"),
        "",
        evaluate_jump,
    ),
    MAINTENANCE: ("m", MaintenanceState, ("run", "since"), "flags", evaluate_maintenance),
}
_INT_FIELDS: Final = frozenset({"run", "n", "quiet"})
_DEFAULTS: Final = {
    "ref": math.nan,
    "prev": math.nan,
    "win_ref": math.nan,
    "last_ts": -math.inf,
    "kind": -1,
}
# rule parameters as columns (per slot, from the bound rule)
_PARAMS: Final = {
    "e": ("hi", "lo"),
    "f": ("tol", "min_value", "count", "duration", "min_count"),
    "j": ("rel", "min_delta", "abs", "sigma", "alpha", "window"),
    "m": (),
}


def kinds_mask(kinds: str) -> int:
    """A rule's ``kinds`` letters as a bit mask over :data:`KIND_CODES`."""
    return sum(1 << KIND_CODES[k] for k in set(kinds))


class StateTable:
    """Columns of rule states and parameters, one row per slot (see the module docstring).

    ``emit(slot_index, changes)`` is called for every rule change, in value order per
    slot."""

    def __init__(self, emit: Callable[[int, tuple[Change, ...]], None], capacity: int = 1024):
        self.emit = emit
        self.size = 0
        self._cap = 0
        self.col: dict[str, np.ndarray] = {}
        self.objects: dict[str, list[Any]] = {"e_samples": [], "m_flags": []}
        self.rules: dict[str, list[Any]] = {rule: [] for rule in ROW_RULES}
        self._grow(capacity)

    # -- storage -----------------------------------------------------------------------
    def _columns(self) -> Iterator[tuple[str, Any, float | int]]:
        for p, _cls, fields, _obj, _fn in _LAYOUT.values():
            yield f"{p}_has", bool, False  # rule bound now
            yield f"{p}_exists", bool, False  # state ever created (kept across reloads)
            yield f"{p}_kinds", np.int64, 0
            yield f"{p}_kind", np.int64, -1
            yield f"{p}_last_ts", np.float64, -math.inf
            yield f"{p}_phase", np.int64, NORMAL
            for name in fields:
                dtype = np.int64 if name in _INT_FIELDS else np.float64
                yield f"{p}_{name}", dtype, _DEFAULTS.get(name, 0)
            for name in _PARAMS[p]:
                yield f"{p}_{name}", np.float64, 0.0
        yield "aqi_kinds", np.int64, 0
        yield "gen", np.int64, -1

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, 2 * self._cap)
        for name, dtype, default in self._columns():
            column = np.full(cap, default, dtype=dtype)
            old = self.col.get(name)
            if old is not None:
                column[: self.size] = old[: self.size]
            self.col[name] = column
        self._cap = cap

    def add(self) -> int:
        """A new slot with fresh states; returns its index."""
        index = self.size
        self._grow(index + 1)
        self.size += 1
        self.objects["e_samples"].append(())
        self.objects["m_flags"].append("")
        for rules in self.rules.values():
            rules.append(None)
        return index

    def bind(
        self,
        index: int,
        gen: int,
        exceedance: ThresholdRule | None,
        flatline: FlatlineRule | None,
        jump: JumpRule | None,
        maintenance: MaintenanceRule | None,
        aqi_kinds: str,
    ) -> None:
        """Put a slot's rules (from the configuration) into its row; states stay."""
        c = self.col
        for rule, bound in (
            (EXCEEDANCE, exceedance),
            (FLATLINE, flatline),
            (JUMP, jump),
            (MAINTENANCE, maintenance),
        ):
            p = _LAYOUT[rule][0]
            self.rules[rule][index] = bound
            c[f"{p}_has"][index] = bound is not None
            if bound is None:
                continue
            c[f"{p}_exists"][index] = True
            c[f"{p}_kinds"][index] = kinds_mask(bound.kinds)
        if exceedance is not None:
            up, low = exceedance.upper, exceedance.lower
            c["e_hi"][index] = math.inf if up is None else up
            c["e_lo"][index] = -math.inf if low is None else low
        if flatline is not None:
            c["f_tol"][index] = flatline.tolerance
            c["f_min_value"][index] = flatline.min_value
            c["f_count"][index] = flatline.count
            c["f_duration"][index] = flatline.duration_s
            c["f_min_count"][index] = flatline.min_count
        if jump is not None:
            c["j_rel"][index] = jump.rel
            c["j_min_delta"][index] = jump.min_delta
            c["j_abs"][index] = jump.abs
            c["j_sigma"][index] = jump.sigma
            c["j_alpha"][index] = 2.0 / (jump.sigma_span + 1)
            c["j_window"][index] = jump.window_s
        c["aqi_kinds"][index] = kinds_mask(aqi_kinds) if aqi_kinds else 0
        c["gen"][index] = gen

    # -- states as the rule functions' objects -------------------------------------------
    def exists(self, rule: str, index: int) -> bool:
        return bool(self.col[f"{_LAYOUT[rule][0]}_exists"][index])

    def get(self, rule: str, index: int) -> State:
        p, cls, fields, obj, _fn = _LAYOUT[rule]
        c = self.col
        kind = int(c[f"{p}_kind"][index])
        state = cls(
            KIND_NAMES[kind] if kind >= 0 else "",
            float(c[f"{p}_last_ts"][index]),
            int(c[f"{p}_phase"][index]),
        )
        for name in fields:
            setattr(state, name, c[f"{p}_{name}"][index].item())
        if obj:
            setattr(state, obj, self.objects[f"{p}_{obj}"][index])
        return state  # type: ignore[no-any-return]

    def put(self, rule: str, index: int, state: State) -> None:
        p, _cls, fields, obj, _fn = _LAYOUT[rule]
        c = self.col
        c[f"{p}_kind"][index] = KIND_CODES.get(state.kind, -1)
        c[f"{p}_last_ts"][index] = state.last_ts
        c[f"{p}_phase"][index] = state.phase
        for name in fields:
            c[f"{p}_{name}"][index] = getattr(state, name)
        if obj:
            self.objects[f"{p}_{obj}"][index] = getattr(state, obj)
        c[f"{p}_exists"][index] = True

    def worth_saving(self, rule: str, min_run: int) -> np.ndarray:
        """Indexes whose state of ``rule`` is not normal, or (flatline, maintenance) in a
        run of at least ``min_run`` values."""
        p = _LAYOUT[rule][0]
        c, n = self.col, self.size
        keep = c[f"{p}_phase"][:n] != NORMAL
        if rule in (FLATLINE, MAINTENANCE):
            keep |= c[f"{p}_run"][:n] >= min_run
        return np.flatnonzero(keep & c[f"{p}_exists"][:n])

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(
        self,
        idx: np.ndarray,
        kind: np.ndarray,
        ts: np.ndarray,
        value: np.ndarray,
        maint: np.ndarray,
        codes: np.ndarray,
        flags: list[str | None],
    ) -> None:
        """One value per slot ``idx`` (no index twice) through the four column rules.
        ``flags[codes[j]]`` is value j's flag, ``maint[j]`` whether it declares
        maintenance."""
        with np.errstate(invalid="ignore", over="ignore"):
            for rule in ROW_RULES:
                go, slow = self._gate(rule, idx, kind, ts)
                fast = getattr(self, f"_fast_{_LAYOUT[rule][0]}")(go, idx, ts, value, maint)
                rows = np.flatnonzero(slow | (go & ~fast))
                if rows.size:
                    self._slow(rule, rows, idx, kind, ts, value, codes, flags)

    def _gate(
        self, rule: str, idx: np.ndarray, kind: np.ndarray, ts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(values in the rule's current stream and newer than its last, values that
        switch it to a finer stream) — the others change nothing (rules._take)."""
        p = _LAYOUT[rule][0]
        c = self.col
        has = c[f"{p}_has"][idx]
        current = c[f"{p}_kind"][idx]
        same = current == kind
        go = has & same & (ts > c[f"{p}_last_ts"][idx])
        wanted = ((c[f"{p}_kinds"][idx] >> kind) & 1).astype(bool)
        switch = has & ~same & wanted & ((current < 0) | (kind < current))
        return go, switch

    def _at(self, idx: np.ndarray, *names: str) -> list[np.ndarray]:
        """The columns ``names`` at the slots ``idx`` (copies: write back through
        :attr:`col`)."""
        return [self.col[name][idx] for name in names]

    def _fast_e(
        self, go: np.ndarray, idx: np.ndarray, ts: np.ndarray, value: np.ndarray, maint: np.ndarray
    ) -> np.ndarray:
        c = self.col
        quiet = (
            (c["e_phase"][idx] == NORMAL) & (value <= c["e_hi"][idx]) & (value >= c["e_lo"][idx])
        )
        fast: np.ndarray = go & (maint | quiet)
        c["e_last_ts"][idx[fast]] = ts[fast]
        return fast

    def _fast_f(
        self, go: np.ndarray, idx: np.ndarray, ts: np.ndarray, value: np.ndarray, maint: np.ndarray
    ) -> np.ndarray:
        c = self.col
        run, ref, since, phase, tol, min_count, min_value, count, duration = self._at(
            idx, "f_run", "f_ref", "f_since", "f_phase",
            "f_tol", "f_min_count", "f_min_value", "f_count", "f_duration",
        )  # fmt: skip
        same = (run > 0) & (np.abs(value - ref) <= tol)
        new_run = run + 1
        fire = (
            same
            & (new_run >= min_count)
            & (np.abs(ref) > min_value)
            & (((count > 0) & (new_run >= count)) | ((duration > 0) & (ts - since >= duration)))
        )
        fast: np.ndarray = go & (maint | ((phase == NORMAL) & ~fire))
        c["f_last_ts"][idx[fast]] = ts[fast]
        moving = fast & ~maint
        grow = moving & same
        c["f_run"][idx[grow]] = new_run[grow]
        reset = moving & ~same
        at = idx[reset]
        c["f_ref"][at] = value[reset]
        c["f_run"][at] = 1
        c["f_since"][at] = ts[reset]
        return fast

    def _fast_j(
        self, go: np.ndarray, idx: np.ndarray, ts: np.ndarray, value: np.ndarray, maint: np.ndarray
    ) -> np.ndarray:
        c = self.col
        prev, mean, var, count, phase, bound_abs, rel, min_delta, sigma, window = self._at(
            idx, "j_prev", "j_mean", "j_var", "j_n", "j_phase",
            "j_abs", "j_rel", "j_min_delta", "j_sigma", "j_window",
        )  # fmt: skip
        first = go & ~maint & np.isnan(prev)
        delta = np.abs(value - prev)
        smaller = np.minimum(np.abs(prev), np.abs(value))
        jumped = ((bound_abs > 0) & (delta > bound_abs)) | (
            (rel > 0) & (delta > min_delta) & (delta > rel * smaller)
        )
        sd = np.sqrt(var)
        jumped |= (sigma > 0) & (count >= 10) & (sd > 0) & (np.abs(value - mean) > sigma * sd)
        steady = (phase == NORMAL) & ~jumped & (window == 0)
        fast: np.ndarray = go & (maint | first | steady)
        c["j_last_ts"][idx[fast]] = ts[fast]
        at = idx[first]
        c["j_prev"][at] = c["j_mean"][at] = c["j_win_ref"][at] = value[first]
        c["j_prev_ts"][at] = c["j_win_ts"][at] = ts[first]
        c["j_var"][at] = 0.0
        c["j_n"][at] = 1
        step = fast & ~maint & ~first
        at = idx[step]
        c["j_prev"][at] = value[step]
        c["j_prev_ts"][at] = ts[step]
        ewma = step & (sigma > 0)
        if ewma.any():  # rules.evaluate_jump's EWMA, operation for operation
            at = idx[ewma]
            alpha = c["j_alpha"][at]
            diff = value[ewma] - mean[ewma]
            incr = alpha * diff
            c["j_mean"][at] = mean[ewma] + incr
            c["j_var"][at] = (1.0 - alpha) * (var[ewma] + diff * incr)
            c["j_n"][at] = count[ewma] + 1
        return fast

    def _fast_m(
        self, go: np.ndarray, idx: np.ndarray, ts: np.ndarray, value: np.ndarray, maint: np.ndarray
    ) -> np.ndarray:
        c = self.col
        fast: np.ndarray = go & ~maint & (c["m_phase"][idx] == NORMAL)
        at = idx[fast]
        c["m_last_ts"][at] = ts[fast]
        c["m_run"][at] = 0
        return fast

    def _slow(
        self,
        rule: str,
        rows: np.ndarray,
        idx: np.ndarray,
        kind: np.ndarray,
        ts: np.ndarray,
        value: np.ndarray,
        codes: np.ndarray,
        flags: list[str | None],
    ) -> None:
        evaluate = _LAYOUT[rule][4]
        bound = self.rules[rule]
        for code, index, k, t, v in zip(
            codes[rows].tolist(),
            idx[rows].tolist(),
            kind[rows].tolist(),
            ts[rows].tolist(),
            value[rows].tolist(),
            strict=True,
        ):
            state = self.get(rule, index)
            changes = evaluate(bound[index], t, v, flags[code], KIND_NAMES[k], state)
            self.put(rule, index, state)
            if changes:
                self.emit(index, changes)
