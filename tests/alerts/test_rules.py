"""Table-driven tests of alerts.rules: every rule, pending periods, hysteresis, flags,
data kinds, ordering, offline and the grouped-offline decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from alerts.rules import (
    FlatlineRule,
    FlatlineState,
    JumpRule,
    JumpState,
    MaintenanceRule,
    MaintenanceState,
    OfflineRule,
    OfflineState,
    RuleError,
    StationFacts,
    ThresholdRule,
    ThresholdState,
    evaluate,
    evaluate_flatline,
    evaluate_jump,
    evaluate_maintenance,
    evaluate_offline,
    evaluate_threshold,
    mass_offline,
    new_state,
)
from store.feed import Reading

# A step: value, or (value, flag), or (value, flag, kind), or (value, flag, kind, ts).
Step = Any


@dataclass
class Case:
    name: str
    rule: Any
    steps: Sequence[Step]
    #: expected actions per step ("" = no change); "firing:major" also checks severity
    expect: Sequence[str]
    step_s: float = 60.0
    checks: dict[str, Any] = field(default_factory=dict)


def run(case: Case, evaluate_fn: Callable[..., Any], state: Any) -> list[str]:
    got: list[str] = []
    ts = 1_700_000_000.0
    for raw in case.steps:
        step = raw if isinstance(raw, tuple) else (raw,)
        value = step[0]
        flag = step[1] if len(step) > 1 else "N"
        kind = step[2] if len(step) > 2 else "r"
        if len(step) > 3:
            ts = step[3]
        else:
            ts += case.step_s
        changes = evaluate_fn(case.rule, ts, value, flag, kind, state)
        with_severity = ":" in "".join(case.expect)
        got.append(
            ",".join(c.action + (f":{c.severity}" if with_severity else "") for c in changes)
        )
    return got


# ------------------------------------------------------------------------------------------
# exceedance (超标): pending period, hysteresis, flags, kinds

EXC = ThresholdRule(upper=75.0)  # defaults: two consecutive, 5 % hysteresis, clear × 2

THRESHOLD_CASES = [
    Case(
        "two consecutive values fire (reference platform default), two clear values resolve",
        EXC,
        [50, 80, 80, 80, 70, 50, 50],
        ["", "pending", "firing", "touch", "", "resolved", ""],
    ),
    Case(
        "a single spike is cancelled, never fires", EXC, [80, 50, 50], ["pending", "cancelled", ""]
    ),
    Case(
        "hysteresis band keeps it firing and restarts the clear count",
        ThresholdRule(upper=100.0, hysteresis_ratio=0.05),
        [120, 120, 97, 120, 90, 97, 90, 90],
        ["pending", "firing", "", "touch", "", "", "", "resolved"],
    ),
    Case(
        "at the limit is not above it",
        EXC,
        [75, 75, 75.0001, 75.0001],
        ["", "", "pending", "firing"],
    ),
    Case(
        "pending_count 1 fires at once",
        ThresholdRule(upper=75.0, pending_count=1),
        [80],
        ["firing"],
    ),
    Case(
        "time-only pending period (T minutes)",
        ThresholdRule(upper=75.0, pending_count=0, pending_s=120),
        [80, 80, 80],
        ["pending", "touch", "firing"],
    ),
    Case(
        "count or time, whichever first: time first",
        ThresholdRule(upper=75.0, pending_count=5, pending_s=60),
        [80, 80, 80],
        ["pending", "touch", "firing"],
        step_s=30,
    ),
    Case(
        "count or time, whichever first: count first",
        ThresholdRule(upper=75.0, pending_count=3, pending_s=3600),
        [80, 80, 80],
        ["pending", "touch", "firing"],
    ),
    Case(
        "lower limit (pH 6–9) with hysteresis on the low side",
        ThresholdRule(upper=9.0, lower=6.0),
        [7, 5.5, 5.5, 6.1, 6.5, 6.5],
        ["", "pending", "firing", "", "", "resolved"],
    ),
    Case(
        "maintenance flags (M, C) raise nothing and neither start nor break a pending run",
        EXC,
        [(80, "M"), (80, "M"), 80, (80, "C"), 80],
        ["", "", "pending", "", "firing"],
    ),
    Case(
        "a maintenance value does not break the clear count",
        EXC,
        [80, 80, 50, (90, "D"), 50],
        ["pending", "firing", "", "", "resolved"],
    ),
    Case(
        "HJ/T 212-2005 P (power failure) and air-station 0 (calibration) are maintenance",
        EXC,
        [(99, "P"), (99, "0"), (99, "F"), (99, "d")],
        ["", "", "", ""],
    ),
    Case(
        "T (above measuring range) and unknown vendor flags are data",
        EXC,
        [(99, "T"), (99, "X")],
        ["pending", "firing"],
    ),
    Case(
        "a value not newer than the last one is ignored (resend, catch-up overlap)",
        EXC,
        [(80, "N", "r", 100.0), (80, "N", "r", 100.0), (80, "N", "r", 50.0), (80, "N", "r", 160.0)],
        ["pending", "", "", "firing"],
    ),
    Case(
        "the finest data kind wins: minute data is ignored once real-time data is seen",
        EXC,
        [(80, "N", "m"), (80, "N", "r"), (80, "N", "m"), (80, "N", "r")],
        ["pending", "firing", "", "touch"],
    ),
    Case(
        "kinds outside the rule's are ignored (hourly AQI rule sees only hourly data)",
        ThresholdRule(upper=150.0, pending_count=1, clear_count=1, kinds="h", name="aqi_level"),
        [(200, "N", "r"), (200, "N", "h"), (100, "N", "h")],
        ["", "firing", "resolved"],
    ),
]


@pytest.mark.parametrize("case", THRESHOLD_CASES, ids=lambda c: c.name)
def test_threshold(case: Case) -> None:
    assert run(case, evaluate_threshold, ThresholdState()) == list(case.expect)


def test_threshold_firing_carries_the_triggering_values_and_the_limit() -> None:
    state = ThresholdState()
    evaluate_threshold(EXC, 100.0, 80.0, "N", "r", state)
    (change,) = evaluate_threshold(EXC, 130.0, 90.0, "N", "r", state)
    assert change.action == "firing"
    assert change.values == ((100.0, 80.0, "N"), (130.0, 90.0, "N"))
    assert (change.threshold, change.reason, change.kind, change.value) == (
        75.0,
        "above",
        "r",
        90.0,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"upper": None}, "upper or a lower"),
        ({"upper": 5.0, "lower": 6.0}, "lower limit must be below"),
        ({"upper": 5.0, "pending_count": 0}, "pending_s > 0"),
        ({"upper": 5.0, "kinds": "x"}, "kinds"),
        ({"upper": 5.0, "severity": "fatal"}, "severity"),
        ({"upper": 5.0, "hysteresis_ratio": 1.0}, "hysteresis_ratio"),
    ],
)
def test_threshold_rule_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        ThresholdRule(**kwargs)


# ------------------------------------------------------------------------------------------
# flatline (恒值)

FLAT_CASES = [
    Case(
        "N identical values fire; a different value resolves",
        FlatlineRule(count=4, duration_s=0, min_count=3),
        [5, 5, 5, 5, 5, 6],
        ["", "", "", "firing", "touch", "resolved"],
    ),
    Case(
        "within the tolerance counts as unchanged (measured from the run's first value)",
        FlatlineRule(count=4, duration_s=0, tolerance=0.1),
        [5, 5.05, 4.95, 5.1, 5.11],
        ["", "", "", "firing", "resolved"],
    ),
    Case(
        "T minutes unchanged fire",
        FlatlineRule(count=0, duration_s=120, min_count=3),
        [5, 5, 5],
        ["", "", "firing"],
    ),
    Case(
        "never on fewer than min_count values",
        FlatlineRule(count=0, duration_s=60, min_count=3),
        [5, 5, 5],
        ["", "", "firing"],
    ),
    Case(
        "maintenance-flagged values are skipped, not counted and not breaking",
        FlatlineRule(count=4, duration_s=0),
        [5, 5, (9, "M"), 5, 5],
        ["", "", "", "", "firing"],
    ),
    Case(
        "constant readings at the analyser's floor (min_value) are not flagged",
        FlatlineRule(count=3, duration_s=0, min_value=5.0),
        [3, 3, 3, 3, 6, 6, 6],
        ["", "", "", "", "", "", "firing"],
    ),
    Case(
        "a normal noisy signal never fires",
        FlatlineRule(count=3, duration_s=0),
        [5, 6, 5, 6, 5, 6],
        ["", "", "", "", "", ""],
    ),
]


@pytest.mark.parametrize("case", FLAT_CASES, ids=lambda c: c.name)
def test_flatline(case: Case) -> None:
    assert run(case, evaluate_flatline, FlatlineState()) == list(case.expect)


# ------------------------------------------------------------------------------------------
# jump (突变)

NOISE = [10.0 + (0.3 if i % 2 else -0.3) for i in range(20)]

JUMP_CASES = [
    Case(
        "relative jump up and back, then quiet values resolve",
        JumpRule(rel=1.5, clear_count=3),
        [36, 37, 150, 40, 38, 37, 36],
        ["", "", "firing", "touch", "", "", "resolved"],
    ),
    Case(
        "drops are jumps too (relative to the smaller value)",
        JumpRule(rel=1.5, clear_count=1),
        [100, 10, 10],
        ["", "firing", "resolved"],
    ),
    Case(
        "min_delta keeps changes near zero quiet",
        JumpRule(rel=1.5, min_delta=10.0),
        [2, 6, 2, 20],
        ["", "", "", "firing"],
    ),
    Case("absolute bound", JumpRule(rel=0, abs=50.0), [100, 140, 200], ["", "", "firing"]),
    Case(
        "statistical bound (z-score over an EWMA)",
        JumpRule(rel=0, sigma=4.0),
        [*NOISE, 14.0],
        [""] * 20 + ["firing"],
    ),
    Case(
        "a ramp within the window (速率) is a jump though each step is small",
        JumpRule(rel=1.0, window_s=300),
        [10, 13, 16, 19, 22],
        ["", "", "", "", "firing"],
    ),
    Case(
        "maintenance-flagged values are skipped",
        JumpRule(rel=1.5),
        [36, (150, "C"), 37],
        ["", "", ""],
    ),
]


@pytest.mark.parametrize("case", JUMP_CASES, ids=lambda c: c.name)
def test_jump(case: Case) -> None:
    assert run(case, evaluate_jump, JumpState()) == list(case.expect)


def test_jump_change_says_from_and_to() -> None:
    state = JumpState()
    evaluate_jump(JumpRule(), 100.0, 36.0, None, "r", state)
    (change,) = evaluate_jump(JumpRule(), 130.0, 150.0, None, "r", state)
    assert (change.threshold, change.value, change.reason) == (36.0, 150.0, "rel")
    assert change.values == ((100.0, 36.0, None), (130.0, 150.0, None))


# ------------------------------------------------------------------------------------------
# device-declared maintenance

MAINT_CASES = [
    Case(
        "flagged for T minutes raises an info alert; a normal value resolves it",
        MaintenanceRule(duration_s=120),
        [(1, "M"), (1, "M"), (1, "C"), (1, "N")],
        ["", "", "firing:info", "resolved:info"],
    ),
    Case(
        "a fault (D) among the flags makes it major",
        MaintenanceRule(duration_s=60),
        [(1, "M"), (1, "D"), (1, "D")],
        ["", "firing:major", "touch:info"],
    ),
    Case(
        "N consecutive flagged values",
        MaintenanceRule(duration_s=0, count=2),
        [(1, "F"), (1, "F")],
        ["", "firing:major"],
    ),
    Case(
        "a normal value in between restarts the run",
        MaintenanceRule(duration_s=120),
        [(1, "M"), (1, "M"), 1, (1, "M"), (1, "M")],
        ["", "", "", "", ""],
    ),
]


@pytest.mark.parametrize("case", MAINT_CASES, ids=lambda c: c.name)
def test_maintenance(case: Case) -> None:
    assert run(case, evaluate_maintenance, MaintenanceState()) == list(case.expect)


def test_maintenance_reason_lists_the_flags() -> None:
    state = MaintenanceState()
    rule = MaintenanceRule(duration_s=60)
    evaluate_maintenance(rule, 0.0, 1.0, "m", "r", state)
    (change,) = evaluate_maintenance(rule, 60.0, 1.0, "C", "r", state)
    assert change.reason == "MC"


# ------------------------------------------------------------------------------------------
# the generic entry point


def test_evaluate_dispatches_and_checks_the_state_type() -> None:
    rule = ThresholdRule(upper=1.0, pending_count=1)
    state = new_state(rule)
    changes, same = evaluate(rule, Reading(1, 2, "r", 10.0, 5.0, None), state, now=0.0)
    assert [c.action for c in changes] == ["firing"] and same is state
    with pytest.raises(TypeError):
        evaluate(rule, Reading(1, 2, "r", 11.0, 5.0, None), FlatlineState(), now=0.0)


# ------------------------------------------------------------------------------------------
# offline (断线)

OFF = OfflineRule(after_s=900, disconnect_grace_s=300)


@dataclass
class OffStep:
    now: float
    facts: StationFacts
    expect: str


OFFLINE_CASES: list[tuple[str, OfflineRule, list[OffStep]]] = [
    (
        "no data for 15 min is offline at once; no repeats; data returning resolves",
        OFF,
        [
            OffStep(1899, StationFacts(True, 1000.0), ""),
            OffStep(1900, StationFacts(True, 1000.0), "firing:no_data"),
            OffStep(5500, StationFacts(True, 1000.0), ""),
            OffStep(5600, StationFacts(True, 5590.0), "resolved:recovered"),
            OffStep(5700, StationFacts(True, 5690.0), ""),
        ],
    ),
    (
        "a dropped connection that stays down is offline after the grace",
        OFF,
        [
            OffStep(1309, StationFacts(False, 1000.0, 1010.0), ""),
            OffStep(1310, StationFacts(False, 1000.0, 1010.0), "firing:disconnected"),
            OffStep(1400, StationFacts(True, 1000.0, 1010.0), ""),
            OffStep(1410, StationFacts(True, 1405.0, 1010.0), "resolved:recovered"),
        ],
    ),
    (
        "short-connection loggers: grace of 2 × report interval ≥ after_s disables the early path",
        OFF,
        [
            OffStep(1305, StationFacts(False, 1000.0, 1005.0, 600.0), ""),
            OffStep(1899, StationFacts(False, 1000.0, 1005.0, 600.0), ""),
            OffStep(1900, StationFacts(False, 1000.0, 1005.0, 600.0), "firing:no_data"),
        ],
    ),
    (
        "a disconnect before the latest data is not a disconnect path",
        OFF,
        [OffStep(2000, StationFacts(False, 1800.0, 1000.0), "")],
    ),
    ("never sent data: not monitored", OFF, [OffStep(99999, StationFacts(False, None), "")]),
    (
        "early path off with grace 0",
        OfflineRule(after_s=900, disconnect_grace_s=0),
        [OffStep(1500, StationFacts(False, 1000.0, 1010.0), "")],
    ),
]


@pytest.mark.parametrize(
    ("name", "rule", "steps"), OFFLINE_CASES, ids=[c[0] for c in OFFLINE_CASES]
)
def test_offline(name: str, rule: OfflineRule, steps: list[OffStep]) -> None:
    state = OfflineState()
    for step in steps:
        changes, state = evaluate_offline(rule, step.facts, state, step.now)
        got = ",".join(f"{c.action}:{c.reason}" for c in changes)
        assert got == step.expect, (name, step)


@pytest.mark.parametrize(
    ("offline", "totals", "open_", "expect_open", "expect_close"),
    [
        ({"region:A": 10}, {"region:A": 20}, set(), {"region:A"}, set()),
        ({"region:A": 9}, {"region:A": 20}, set(), set(), set()),  # below min_stations
        ({"region:A": 10}, {"region:A": 100}, set(), set(), set()),  # below the ratio
        ({"region:A": 6}, {"region:A": 20}, {"region:A"}, set(), set()),  # hysteresis: stays
        ({"region:A": 4}, {"region:A": 20}, {"region:A"}, set(), {"region:A"}),
        ({}, {}, {"worker:3"}, set(), {"worker:3"}),
    ],
)
def test_mass_offline(
    offline: dict[str, int],
    totals: dict[str, int],
    open_: set[str],
    expect_open: set[str],
    expect_close: set[str],
) -> None:
    assert mass_offline(offline, totals, open_, min_stations=10, ratio=0.3) == (
        expect_open,
        expect_close,
    )
