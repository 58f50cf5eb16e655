"""Offline (断线): evaluated by the sweeper (:mod:`alerts.sweeper`) over ``station_state``,
not per value.

:func:`evaluate_offline` compares one station's facts with the wall-clock time, and
:func:`mass_offline` decides the grouped "many stations offline together" alerts used for
inhibition (ALERTS_AND_DASHBOARDS.md §1.2 "Inhibition", §1.6 "Storms").  An offline alert
is graded by how long the station has been silent (``major_after_s``/``critical_after_s``,
:mod:`alerts.severity`): the sweep that crosses a band returns a ``touch`` carrying the
higher severity.  Pure (see :mod:`alerts.rules`).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from .rules_base import (
    FIRING,
    NONE,
    NORMAL,
    OFFLINE,
    Change,
    Severity,
    check,
    check_severity,
)
from .severity import SeverityBands, grade

__all__ = ["OfflineRule", "OfflineState", "StationFacts", "evaluate_offline", "mass_offline"]


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
    #: silent this long (since the last data) = at least 较重 / 严重 (0 = off)
    major_after_s: float = 0.0
    critical_after_s: float = 0.0
    bands: SeverityBands = field(init=False, default=SeverityBands())

    def __post_init__(self) -> None:
        check(self.after_s > 0, "after_s must be > 0")
        check(self.disconnect_grace_s >= 0, "disconnect_grace_s must be ≥ 0 (0 = off)")
        check_severity(self.severity)
        bands = SeverityBands(0.0, 0.0, self.major_after_s, self.critical_after_s)
        object.__setattr__(self, "bands", bands)


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
    #: the severity the open alert has (graded by the outage's duration); "" = unknown
    severity: str = ""


def evaluate_offline(
    rule: OfflineRule, facts: StationFacts, state: OfflineState, now: float
) -> tuple[tuple[Change, ...], OfflineState]:
    """One station's facts at wall-clock ``now`` (see :class:`OfflineRule`)."""
    last = facts.last_data
    if last is None:
        return NONE, state
    if state.phase == FIRING:
        if last > state.since:
            state.phase = NORMAL
            return (
                Change("resolved", OFFLINE, last, None, rule.severity, None, "recovered"),
            ), state
        severity = grade(rule.severity, rule.bands, duration_s=now - state.since)
        if severity == state.severity or (not state.severity and severity == rule.severity):
            return NONE, state
        state.severity = severity
        return (
            Change("touch", OFFLINE, state.since, None, severity, rule.after_s, "no_data"),
        ), state
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
        return NONE, state
    state.phase = FIRING
    state.since = last
    severity = grade(rule.severity, rule.bands, duration_s=now - last)
    state.severity = severity
    threshold = rule.after_s if reason == "no_data" else rule.disconnect_grace_s
    return (Change("firing", OFFLINE, last, None, severity, threshold, reason),), state


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
