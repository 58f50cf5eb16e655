"""Rule states as compact JSON lists (``alert_rule_state``), and which are worth saving.

See :mod:`alerts.engine` ("Persistence").
"""

from __future__ import annotations

import math
from typing import Any, Final

from .rules import (
    AQI_LEVEL,
    EXCEEDANCE,
    FLATLINE,
    JUMP,
    MAINTENANCE,
    NORMAL,
    FlatlineState,
    JumpState,
    MaintenanceState,
    ThresholdState,
)

__all__ = ["SAVE_RUN", "State", "dump_state", "load_state", "worth_saving"]

#: Flatline/maintenance runs at least this long are saved (shorter ones are rebuilt).
SAVE_RUN: Final = 5

State = ThresholdState | FlatlineState | JumpState | MaintenanceState


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


def worth_saving(rule: str, state: State) -> bool:
    """Whether a state is worth saving (an open or pending alert, a long run)."""
    if state.phase != NORMAL:
        return True
    if isinstance(state, FlatlineState | MaintenanceState):
        return state.run >= SAVE_RUN
    return False
