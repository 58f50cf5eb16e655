"""The column evaluator (alerts.states via alerts.engine.StreamEvaluator) against the rule
functions of alerts.rules, value for value: the same changes, in the same order per
alert key, and the same states afterwards — for random rules, streams, flags, data
kinds, out-of-order values, slots repeated within a batch and batch splits."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.config import FactorInfo, KeyRules, StationInfo
from alerts.engine import StreamEvaluator
from alerts.rules import (
    AQI_LEVEL,
    EXCEEDANCE,
    FLATLINE,
    JUMP,
    MAINTENANCE,
    FlatlineRule,
    JumpRule,
    MaintenanceRule,
    RuleError,
    ThresholdRule,
    evaluate_flatline,
    evaluate_jump,
    evaluate_maintenance,
    evaluate_threshold,
    new_state,
)
from store.feed import readings_payloads

STATIONS = {i: StationInfo(i, f"MN{i:04d}", f"站{i}", "22", "区", None) for i in (1, 2)}
FACTORS = {f: FactorInfo(f, f"a{f:05d}", f"因子{f}", "µg/m³") for f in (1, 2)}
FUNCTIONS = {
    EXCEEDANCE: evaluate_threshold,
    AQI_LEVEL: evaluate_threshold,
    FLATLINE: evaluate_flatline,
    JUMP: evaluate_jump,
    MAINTENANCE: evaluate_maintenance,
}


@dataclass
class Config:
    """What StreamEvaluator reads of an AlertConfig, with the rules given."""

    rules: dict[tuple[int, int], KeyRules]
    stations: dict[int, StationInfo]
    factors: dict[int, FactorInfo]

    def rules_for(self, station: StationInfo, factor: FactorInfo) -> KeyRules:
        return self.rules[(station.id, factor.id)]

    def unit_for(self, station: StationInfo, factor: FactorInfo) -> str:
        return factor.unit


kinds = st.sampled_from(["r", "m", "rm", "rmh", "h"])
severity = st.sampled_from(["major", "warning"])
limits = st.floats(-50, 200, allow_nan=False).map(lambda x: round(x, 1))


@st.composite
def threshold_rules(draw: Any) -> ThresholdRule | None:
    upper = draw(st.one_of(st.none(), limits))
    lower = draw(st.one_of(st.none(), limits))
    if upper is None and lower is None:
        return None
    if upper is not None and lower is not None and lower >= upper:
        lower = upper - 10
    count = draw(st.integers(0, 3))
    return ThresholdRule(
        upper,
        lower,
        pending_count=count,
        pending_s=draw(st.sampled_from([0.0, 90.0])) if count else 120.0,
        clear_count=draw(st.integers(1, 3)),
        hysteresis_ratio=draw(st.sampled_from([0.0, 0.05, 0.3])),
        severity=draw(severity),
        kinds=draw(kinds),
    )


def _or_none(rule: Any) -> Any:
    """The rule class, or None where the random parameters make no valid rule."""

    def build(**kw: Any) -> Any:
        try:
            return rule(**kw)
        except RuleError:
            return None

    return build


flatline_rules = st.builds(
    _or_none(FlatlineRule),
    count=st.integers(0, 6),
    duration_s=st.sampled_from([0.0, 150.0]),
    min_count=st.integers(2, 4),
    tolerance=st.sampled_from([0.0, 0.5]),
    min_value=st.sampled_from([0.0, 10.0]),
    kinds=kinds,
)
jump_rules = st.builds(
    _or_none(JumpRule),
    rel=st.sampled_from([0.0, 0.5, 1.5]),
    min_delta=st.sampled_from([0.0, 5.0]),
    abs=st.sampled_from([0.0, 40.0]),
    sigma=st.sampled_from([0.0, 2.0]),
    sigma_span=st.integers(2, 12),
    window_s=st.sampled_from([0.0, 120.0]),
    clear_count=st.integers(1, 3),
    kinds=kinds,
)
maintenance_rules = st.builds(
    _or_none(MaintenanceRule),
    duration_s=st.sampled_from([0.0, 100.0]),
    count=st.sampled_from([0, 2, 3]),
    kinds=kinds,
)


@st.composite
def key_rules(draw: Any) -> KeyRules:
    def maybe(strategy: Any) -> Any:
        return draw(st.one_of(st.none(), strategy))

    aqi = draw(st.one_of(st.none(), threshold_rules()))
    if aqi is not None:
        aqi = ThresholdRule(
            aqi.upper, aqi.lower, pending_count=1, clear_count=1, kinds="h", name=AQI_LEVEL
        )
    return KeyRules(
        exceedance=draw(threshold_rules()),
        aqi=aqi,
        flatline=maybe(flatline_rules),
        jump=maybe(jump_rules),
        maintenance=maybe(maintenance_rules),
    )


# one value: slot, kind, seconds since the last value of the stream (0 or less: out of
# order or repeated), the step from the slot's last value (a random walk: repeats make
# flatlines, small steps keep the jump rule's fast path busy, big ones cross limits and
# jump), flag
moves = st.sampled_from([0.0, 0.0, 0.0, 0.3, -0.3, 2.0, -2.0, 10.0, -10.0, 120.0, -120.0])
steps = st.tuples(
    st.sampled_from([(1, 1), (1, 2), (2, 1)]),
    st.sampled_from(["r", "r", "r", "r", "m", "h"]),
    st.sampled_from([30.0, 30.0, 30.0, 60.0, 0.0, -30.0]),
    moves,
    st.sampled_from(["N", "N", "N", "N", None, "M", "D", "c", "T"]),
)


def reference(
    config: Config, stream: list[tuple[int, int, str, float, float, str | None]]
) -> tuple[dict[Any, list[Any]], dict[Any, Any]]:
    """The rule functions, one value at a time: changes per key, and the final states."""
    states: dict[tuple[int, int, str], Any] = {}
    changes: dict[Any, list[Any]] = {}
    order = (
        (EXCEEDANCE, "exceedance"),
        (FLATLINE, "flatline"),
        (JUMP, "jump"),
        (MAINTENANCE, "maintenance"),
        (AQI_LEVEL, "aqi"),
    )
    for s, f, kind, ts, value, flag in stream:
        rules = config.rules[(s, f)]
        for name, attr in order:
            rule = getattr(rules, attr)
            if rule is None:
                continue
            if name == AQI_LEVEL and kind not in rule.kinds:
                continue
            state = states.setdefault((s, f, name), new_state(rule))
            for change in FUNCTIONS[name](rule, ts, value, flag, kind, state):
                changes.setdefault((name, f"station:{s}", f), []).append(change)
    return changes, states


def as_tuple(state: Any) -> tuple[Any, ...]:
    out = []
    for field in fields(state):
        x = getattr(state, field.name)
        out.append("nan" if isinstance(x, float) and math.isnan(x) else x)
    return tuple(out)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=st.fixed_dictionaries({k: key_rules() for k in [(1, 1), (1, 2), (2, 1)]}),
    script=st.lists(steps, min_size=1, max_size=80),
    batches=st.lists(st.integers(1, 12), min_size=1, max_size=8),
)
def test_columns_evaluate_as_the_rule_functions(
    rules: dict[tuple[int, int], KeyRules], script: list[Any], batches: list[int]
) -> None:
    clock: dict[tuple[int, int], float] = {}
    level: dict[tuple[int, int], float] = {}
    stream = []
    for (s, f), kind, dt, move, flag in script:
        ts = clock.get((s, f), 1_700_000_000.0) + dt
        clock[(s, f)] = max(ts, clock.get((s, f), ts))
        value = level[(s, f)] = round(level.get((s, f), 40.0) + move, 1)
        stream.append((s, f, kind, ts, value, flag))
    config = Config(rules, STATIONS, FACTORS)
    want, want_states = reference(config, stream)

    evaluator = StreamEvaluator(config)  # type: ignore[arg-type]
    i, b = 0, 0
    while i < len(stream):  # batches of random sizes, each as the feed would carry it
        size = batches[b % len(batches)]
        b += 1
        chunk = stream[i : i + size]
        i += size
        payloads = []
        start = 0
        for j in range(1, len(chunk) + 1):  # one payload per run of one data kind
            if j == len(chunk) or chunk[j][2] != chunk[start][2]:
                items = [(s, f, ts, v, fl) for s, f, _k, ts, v, fl in chunk[start:j]]
                payloads += readings_payloads(chunk[start][2], items)
                start = j
        evaluator.feed_payloads(payloads)
    got: dict[Any, list[Any]] = {}
    for t in evaluator.take():
        got.setdefault(t.key, []).append(t.change)
    assert got == want

    for (s, f, name), state in want_states.items():
        slot = evaluator.slots[(s << 16) | f]
        mine = dict(evaluator.states(slot))
        assert as_tuple(mine[name]) == as_tuple(state), (s, f, name)


def test_a_maintenance_flag_table_and_unknown_stations() -> None:
    rules = {k: KeyRules(exceedance=ThresholdRule(100.0, pending_count=1)) for k in [(1, 1)]}
    evaluator = StreamEvaluator(Config(rules, {1: STATIONS[1]}, FACTORS))  # type: ignore[arg-type]
    (payload,) = readings_payloads(
        "r", [(1, 1, 1.0e9, 500.0, "M"), (9, 1, 1.0e9, 500.0, "N"), (1, 1, 1.0e9 + 30, 500.0, "N")]
    )
    assert evaluator.feed_payload(payload) == 3
    assert [t.change.action for t in evaluator.take()] == ["firing"]  # not on the M value
    assert evaluator.unknown == [(9, 1, "r", 1.0e9, 500.0, "N")]


@pytest.mark.parametrize("bad", ["", "r", "x|AAAA", "r|not base64!", "r|AAEA", "r|AQAB"])
def test_malformed_payloads_are_counted_not_raised(bad: str) -> None:
    evaluator = StreamEvaluator(Config({}, STATIONS, FACTORS))  # type: ignore[arg-type]
    assert evaluator.feed_payload(bad) == 0
    assert evaluator.malformed == 1
