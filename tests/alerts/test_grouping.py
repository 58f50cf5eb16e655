"""Table-driven tests of the notification timers (alerts.grouping) and of routing,
responsibilities, silences and maintenance windows (alerts.routing)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.grouping import Decision, GroupState, Member, Timers, decide, idle
from alerts.routing import (
    ResponsibilityIndex,
    Route,
    RoutingError,
    Silence,
    Window,
    group_key,
    muted_by,
    parse_matchers,
    parse_time_ranges,
    select_routes,
    window_active,
)

T = Timers(group_wait=30, group_interval=300, repeat_interval=3600)


@dataclass
class Step:
    at: float
    members: list[Member]
    #: None, or (kind, new_firing, resolved, firing)
    expect: tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None


def firing(i: int, told: bool = False, **kw: bool) -> Member:
    return Member(i, True, notified_firing=told, **kw)


def resolved(i: int, told: bool = True, told_resolved: bool = False) -> Member:
    return Member(i, False, notified_firing=told, notified_resolved=told_resolved)


GROUP_CASES: list[tuple[str, Timers, list[Step]]] = [
    (
        "group_wait collects alerts that arrive together into one message",
        T,
        [
            Step(0, [firing(1)], None),
            Step(10, [firing(1), firing(2)], None),
            Step(30, [firing(1), firing(2)], ("alert", (1, 2), (), (1, 2))),
        ],
    ),
    (
        "after a message, new alerts wait for group_interval",
        T,
        [
            Step(0, [firing(1)], None),
            Step(30, [firing(1)], ("alert", (1,), (), (1,))),
            Step(100, [firing(1, True), firing(2)], None),
            Step(330, [firing(1, True), firing(2)], ("alert", (2,), (), (1, 2))),
        ],
    ),
    (
        "the hourly reminder: an unchanged firing group is re-sent every repeat_interval",
        Timers(0, 300, 3600),
        [
            Step(0, [firing(1)], ("alert", (1,), (), (1,))),
            Step(3599, [firing(1, True)], None),
            Step(3600, [firing(1, True)], ("reminder", (), (), (1,))),
            Step(7199, [firing(1, True)], None),
            Step(7200, [firing(1, True)], ("reminder", (), (), (1,))),
        ],
    ),
    (
        "no reminder for acknowledged alerts",
        Timers(0, 300, 3600),
        [
            Step(0, [firing(1)], ("alert", (1,), (), (1,))),
            Step(3600, [firing(1, True, acknowledged=True)], None),
        ],
    ),
    (
        "send_resolved: the recovery notice goes out after group_interval",
        T,
        [
            Step(0, [firing(1)], None),
            Step(30, [firing(1)], ("alert", (1,), (), (1,))),
            Step(60, [resolved(1)], None),
            Step(330, [resolved(1)], ("alert", (), (1,), ())),
        ],
    ),
    (
        "no resolved notice without send_resolved",
        Timers(0, 0, 3600, send_resolved=False),
        [
            Step(0, [firing(1)], ("alert", (1,), (), (1,))),
            Step(60, [resolved(1)], None),
        ],
    ),
    (
        "a pending alert that never fired or a resolved one never told says nothing",
        T,
        [Step(0, [resolved(1, told=False)], None), Step(99, [resolved(1, told=False)], None)],
    ),
    (
        "silences mute without marking; still firing at the end of the silence = notified then",
        Timers(0, 0, 3600),
        [
            Step(0, [firing(1, muted=True)], None),
            Step(500, [firing(1, muted=True)], None),
            Step(900, [firing(1)], ("alert", (1,), (), (1,))),
        ],
    ),
    (
        "resolved while muted and never told: nothing at all",
        Timers(0, 0, 3600),
        [Step(0, [firing(1, muted=True)], None), Step(10, [resolved(1, told=False)], None)],
    ),
    (
        "the recovery of an alert that was told is not muted",
        Timers(0, 0, 3600),
        [
            Step(0, [firing(1)], ("alert", (1,), (), (1,))),
            Step(10, [Member(1, False, notified_firing=True, muted=True)], ("alert", (), (1,), ())),
        ],
    ),
    (
        "inhibited members (grouped offline alert) are not notified",
        Timers(0, 0, 3600),
        [Step(0, [firing(1, muted=True), firing(2, muted=True)], None)],
    ),
]


@pytest.mark.parametrize(("name", "timers", "steps"), GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_decide(name: str, timers: Timers, steps: list[Step]) -> None:
    state = GroupState()
    for step in steps:
        decision = decide(step.members, state, step.at, timers)
        got = (
            None
            if decision is None
            else (decision.kind, decision.new_firing, decision.resolved, decision.firing)
        )
        assert got == step.expect, (name, step.at)
        if decision is not None:
            state.last_sent_at = step.at


def test_decision_is_hashable_and_ids_sorted() -> None:
    state = GroupState()
    d = decide([firing(5), firing(2)], state, 0.0, Timers(0, 0, 0))
    assert d == Decision("alert", (2, 5), (), (2, 5))


def test_idle() -> None:
    assert idle([resolved(1, told_resolved=True)])
    assert not idle([resolved(1)])
    assert idle([resolved(1)], send_resolved=False)
    assert not idle([firing(1)])


# ------------------------------------------------------------------------------------------
# routing

ALERT = {
    "rule": "offline",
    "severity": "major",
    "station": "12",
    "region": "西湖区",
    "grid": "7",
    "st": "22",
    "factor": "",
    "worker": "1",
    "scope": "station",
}

ROUTES = [
    Route(
        1,
        "maint",
        10,
        parse_matchers({"rule": ["offline", "flatline"]}),
        to_roles=("maintainer",),
        continue_matching=True,
    ),
    Route(2, "officers", 20, parse_matchers({"rule": ["exceedance"]}), to_roles=("officer",)),
    Route(3, "admin", 30, {}, receiver_ids=(99,)),
    Route(4, "never", 40, {}, receiver_ids=(100,)),
]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (ALERT, ["maint", "admin"]),  # continue_matching, then the catch-all stops the walk
        ({**ALERT, "rule": "exceedance"}, ["officers"]),
        ({**ALERT, "rule": "jump"}, ["admin"]),
    ],
)
def test_select_routes(labels: dict[str, str], expected: list[str]) -> None:
    assert [r.name for r in select_routes(ROUTES, labels)] == expected


def test_disabled_routes_are_skipped() -> None:
    routes = [replace(ROUTES[2], enabled=False), ROUTES[3]]
    assert [r.name for r in select_routes(routes, ALERT)] == ["never"]


def test_group_key() -> None:
    assert group_key(ROUTES[0], ALERT) == "region=西湖区|rule=offline"


def test_responsibilities() -> None:
    index = ResponsibilityIndex(
        [
            (1, "maintainer", "station", "12"),
            (2, "maintainer", "station", "13"),
            (3, "officer", "region", "西湖区"),
            (4, "maintainer", "area", "3"),
            (5, "officer", "all", ""),
            (6, "maintainer", "region", "西湖区"),
        ]
    )
    assert index.receivers(["maintainer"], ALERT, areas=(7, 3, 1)) == {1, 4, 6}
    assert index.receivers(["officer"], ALERT, areas=(7, 3, 1)) == {3, 5}
    mass = {**ALERT, "scope": "region", "station": ""}
    assert index.receivers(["maintainer", "officer"], mass) == {3, 5, 6}
    worker = {**ALERT, "scope": "worker", "station": "", "region": ""}
    assert index.receivers(["maintainer", "officer"], worker) == {5}
    assert index.receivers([], ALERT) == set()


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"colour": ["red"]}, "unknown matcher label"),
        ({"rule": []}, "has no values"),
        ({"rule": {"a": 1}}, "list of values"),
        ([1], "must be an object"),
    ],
)
def test_bad_matchers(obj: object, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        parse_matchers(obj)


def test_route_validation() -> None:
    with pytest.raises(RoutingError, match="unknown role"):
        Route(1, "x", to_roles=("boss",)).validate()
    with pytest.raises(RoutingError, match="cannot group by"):
        Route(1, "x", group_by=("colour",)).validate()


# ------------------------------------------------------------------------------------------
# silences and maintenance windows

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SH).timestamp()


NIGHT = Window(
    1,
    "night",
    {},
    recurring=True,
    tz=SH,
    weekdays=frozenset({1, 2, 3, 4, 5}),  # Monday..Friday
    ranges=parse_time_ranges([["22:00", "06:00"]]),
)
TUESDAY_MORNING = Window(
    2,
    "tue",
    parse_matchers({"station": ["12"]}),
    recurring=True,
    tz=SH,
    weekdays=frozenset({2}),
    ranges=parse_time_ranges([["08:00", "12:00"]]),
)
ONE_OFF = Window(
    3,
    "once",
    {},
    recurring=False,
    tz=SH,
    starts_at=at("2026-11-21T10:00"),
    ends_at=at("2026-11-21T11:00"),
)


@pytest.mark.parametrize(
    ("window", "when", "active"),
    [
        (NIGHT, "2026-11-23T23:00", True),  # Monday night
        (NIGHT, "2026-11-24T05:59", True),  # Tuesday early morning belongs to Monday's night
        (NIGHT, "2026-11-24T06:00", False),
        (NIGHT, "2026-11-22T23:00", False),  # Sunday night
        (NIGHT, "2026-11-23T03:00", False),  # Monday early: belongs to Sunday (not listed)
        (NIGHT, "2026-11-28T01:00", True),  # Saturday 01:00 belongs to Friday's night
        (TUESDAY_MORNING, "2026-11-24T09:00", True),
        (TUESDAY_MORNING, "2026-11-24T12:00", False),
        (TUESDAY_MORNING, "2026-11-25T09:00", False),
        (ONE_OFF, "2026-11-21T10:30", True),
        (ONE_OFF, "2026-11-21T11:00", False),
        (replace(NIGHT, enabled=False), "2026-11-23T23:00", False),
        (replace(NIGHT, ends_at=at("2026-11-23T00:00")), "2026-11-23T23:00", False),
    ],
)
def test_window_active(window: Window, when: str, active: bool) -> None:
    assert window_active(window, at(when)) is active


def test_muted_by() -> None:
    silence = Silence(7, parse_matchers({"region": ["西湖区"], "rule": ["offline"]}), 100.0, 200.0)
    assert muted_by(ALERT, [silence], [], 150.0) == "silence:7"
    assert muted_by(ALERT, [silence], [], 200.0) is None  # ended
    assert muted_by({**ALERT, "rule": "jump"}, [silence], [], 150.0) is None
    tue = at("2026-11-24T09:00")
    assert muted_by(ALERT, [], [TUESDAY_MORNING], tue) == "window:2"
    assert muted_by({**ALERT, "station": "13"}, [], [TUESDAY_MORNING], tue) is None


def test_bad_time_ranges() -> None:
    with pytest.raises(RoutingError, match="HH:MM"):
        parse_time_ranges([["25:00", "06:00"]])
    assert parse_time_ranges([["00:00", "24:00"]]) == ((0, 1440),)
