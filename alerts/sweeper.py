"""The offline sweeper: one set-based query, then an in-memory comparison per station.

Theory of operation
-------------------
``station_state`` (kept by the ingest workers, flushed every ~2 s, at most ~10 s apart
while a writer is saturated) says when each station last delivered data and whether its
TCP connection is up.  Every
``alerts.sweep_interval_s`` the sweeper reads it for all stations in one query (with the
database's ``now()``, so the clocks of the processes do not matter) and runs
:func:`alerts.rules.evaluate_offline` per station: offline after ``offline_after_s``
without data, or earlier when the connection dropped and stayed down
(``offline_disconnect_grace_s``); recovered when newer data arrives.  Stations that never
sent data are not monitored.

Storms (ALERTS_AND_DASHBOARDS.md §1.2 "Inhibition", §1.6 "Storms"): the offline stations
are counted per region, per ingest worker (``station_state.worker``, the worker that held
the connection) and overall.  When a scope has at least ``alerts.inhibit_min_stations``
offline stations and at least ``alerts.inhibit_ratio`` of its stations, one grouped
``offline_mass`` alert opens for it (the broadest explanation wins: the whole fleet, else
an ingest worker, else a region — stations covered by a worker's alert do not count for
their region), and every offline alert of its stations is marked
``inhibited_by`` it — in the same transaction — so the dispatcher sends one notice
instead of hundreds.  The grouped alert closes with hysteresis (below half of both
thresholds); stations still offline then are notified on their own.

:meth:`OfflineSweeper.evaluate` is pure (rows and time in, transitions out) so the
benchmark can time it without a database.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import asyncpg

from . import queries
from .config import AlertConfig
from .rules import (
    FIRING,
    NORMAL,
    OFFLINE,
    OFFLINE_MASS,
    Change,
    OfflineRule,
    OfflineState,
    StationFacts,
    evaluate_offline,
    mass_offline,
)
from .settings import AlertSettings
from .writer import AlertKey, AlertWriter, Transition

__all__ = ["OfflineSweeper", "SweepResult", "SweepRow"]

log = logging.getLogger(__name__)

#: (station id, region, enabled, connected, last data (epoch), disconnected at, worker)
SweepRow = tuple[int, str, bool, bool, float | None, float | None, int | None]

_MAX_LISTED: Final = 50
_MAX_IDS: Final = 1000


@dataclass(slots=True)
class SweepResult:
    stations: int = 0
    monitored: int = 0
    offline: int = 0
    opened: int = 0
    resolved: int = 0
    mass_open: list[str] = field(default_factory=list)
    query_s: float = 0.0
    evaluate_s: float = 0.0
    write_s: float = 0.0

    @property
    def total_s(self) -> float:
        return self.query_s + self.evaluate_s + self.write_s


@dataclass(slots=True)
class _Plan:
    transitions: list[Transition]
    inhibit: dict[AlertKey, AlertKey | None]
    result: SweepResult


def _scope_name(scope: str) -> str:
    kind, _, key = scope.partition(":")
    if kind == "region":
        return key
    if kind == "worker":
        return f"接入进程 {key}"
    return "全部站点"


class OfflineSweeper:
    """Offline state per station and the grouped offline alerts (module docstring)."""

    def __init__(self) -> None:
        #: stations currently offline → their state
        self.states: dict[int, OfflineState] = {}

    def restore(self, open_alerts: Iterable[Mapping[str, Any]]) -> None:
        """Offline states from the open offline alerts (rows of LOAD_OPEN_ALERTS_SQL)."""
        for r in open_alerts:
            if r["rule"] != OFFLINE or not str(r["scope_key"]).startswith("station:"):
                continue
            labels = r["labels"] or {}
            since = labels.get("last_data")
            self.states[int(r["scope_key"][8:])] = OfflineState(
                FIRING,
                float(since) if since is not None else float(r["first_seen"]),
                str(r["severity"] or ""),
            )

    def evaluate(
        self,
        rows: Sequence[SweepRow],
        now: float,
        config: AlertConfig,
        open_keys: Iterable[AlertKey],
    ) -> _Plan:
        """Compare every station with ``now``; no I/O."""
        s = config.alerts
        result = SweepResult(stations=len(rows))
        transitions: list[Transition] = []
        stations = config.stations
        states = self.states
        default_rule = OfflineRule(
            float(s.offline_after_s), float(s.offline_disconnect_grace_s), "major"
        )
        offline_count: dict[str, int] = defaultdict(int)
        totals: dict[str, int] = defaultdict(int)
        members: dict[str, list[int]] = defaultdict(list)
        firing: list[tuple[int, str, bool, int | None]] = []
        seen: set[int] = set()
        scratch = OfflineState()
        for sid, region, enabled, connected, last, disconnected, worker in rows:
            seen.add(sid)
            station = stations.get(sid)
            rule = config.offline_rule(station) if station is not None else default_rule
            state = states.get(sid)
            if not enabled or rule is None:
                if state is not None:
                    del states[sid]
                    change = Change("resolved", OFFLINE, now, None, "major", None, "disabled")
                    transitions.append(Transition((OFFLINE, f"station:{sid}", 0), change, sid))
                    result.resolved += 1
                continue
            if last is None:
                continue
            result.monitored += 1
            totals["all"] += 1
            if region:
                totals["region:" + region] += 1
            if worker is not None:
                totals[f"worker:{worker}"] += 1
            if state is None:
                scratch.phase, scratch.since, scratch.severity = NORMAL, 0.0, ""
                target = scratch
            else:
                target = state
            facts = StationFacts(
                connected,
                last,
                disconnected,
                station.expected_interval if station is not None else 0.0,
            )
            changes, _ = evaluate_offline(rule, facts, target, now)
            for change in changes:
                labels: dict[str, Any] = {}
                if change.action == "firing":
                    result.opened += 1
                    labels = {
                        "station_name": station.name if station else "",
                        "mn": station.mn if station else "",
                        "st": station.st if station else "",
                        "worker": worker,
                        "last_data": last,
                        "connected": connected,
                    }
                elif change.action == "resolved":
                    result.resolved += 1
                transitions.append(
                    Transition(
                        (OFFLINE, f"station:{sid}", 0),
                        change,
                        sid,
                        region,
                        station.grid_id if station else None,
                        labels,
                    )
                )
            if target.phase == FIRING:
                if state is None:
                    states[sid] = OfflineState(FIRING, target.since, target.severity)
                firing.append((sid, region, connected, worker))
                offline_count["all"] += 1
                members["all"].append(sid)
                if region:
                    offline_count["region:" + region] += 1
                    members["region:" + region].append(sid)
                if worker is not None and not connected:
                    offline_count[f"worker:{worker}"] += 1
                    members[f"worker:{worker}"].append(sid)
            elif state is not None:
                del states[sid]
        for sid in [k for k in states if k not in seen]:
            del states[sid]  # station deleted (its alerts went with it)
        result.offline = len(firing)

        # grouped alerts, broadest explanation first: everything > an ingest worker > a region
        open_scopes = {k[1] for k in open_keys if k[0] == OFFLINE_MASS}
        active, to_open = self._mass(offline_count, totals, members, firing, open_scopes, s)
        to_close = open_scopes - active
        for scope in sorted(active):
            n, total = offline_count.get(scope, 0), totals.get(scope, 0)
            ids = members.get(scope, [])
            names = [stations[i].display if i in stations else str(i) for i in ids[:_MAX_LISTED]]
            labels = {
                "scope_name": _scope_name(scope),
                "offline": n,
                "total": total,
                "stations": names,
                "station_ids": ids[:_MAX_IDS],
            }
            change = Change(
                "firing" if scope in to_open else "touch",
                OFFLINE_MASS,
                now,
                float(n),
                "critical",
                None,
                "mass",
            )
            region = scope[7:] if scope.startswith("region:") else ""
            transitions.append(
                Transition((OFFLINE_MASS, scope, 0), change, None, region, None, labels)
            )
        for scope in sorted(to_close):
            count = float(offline_count.get(scope, 0))
            change = Change("resolved", OFFLINE_MASS, now, count, "critical", None, "recovered")
            transitions.append(Transition((OFFLINE_MASS, scope, 0), change))
        result.mass_open = sorted(active)
        inhibit: dict[AlertKey, AlertKey | None] = {}
        for sid, region, connected, worker in firing:
            by: str | None = None
            if "all" in active:
                by = "all"
            elif worker is not None and not connected and f"worker:{worker}" in active:
                by = f"worker:{worker}"
            elif region and "region:" + region in active:
                by = "region:" + region
            inhibit[(OFFLINE, f"station:{sid}", 0)] = (
                (OFFLINE_MASS, by, 0) if by is not None else None
            )
        return _Plan(transitions, inhibit, result)

    @staticmethod
    def _mass(
        offline: Mapping[str, int],
        totals: Mapping[str, int],
        members: Mapping[str, list[int]],
        firing: Sequence[tuple[int, str, bool, int | None]],
        open_scopes: set[str],
        s: AlertSettings,
    ) -> tuple[set[str], set[str]]:
        """The grouped scopes that are open after this sweep, and those newly opened.

        ``all`` first: when most of the fleet is offline (the platform or the network, not
        the stations) one alert covers everything.  Then ingest workers (a worker that died
        with its connections); the stations they cover no longer count for their regions.
        Then regions (a power cut in a district).
        """

        def level(prefix: str, counts: Mapping[str, int]) -> tuple[set[str], set[str]]:
            opened = {x for x in open_scopes if x == prefix or x.startswith(prefix + ":")}
            new, closing = mass_offline(
                counts, totals, opened, min_stations=s.inhibit_min_stations, ratio=s.inhibit_ratio
            )
            return (opened - closing) | new, new

        active, new = level("all", {"all": offline.get("all", 0)})
        if active:
            return active, new
        workers = {k: v for k, v in offline.items() if k.startswith("worker:")}
        active_w, new_w = level("worker", workers)
        covered = {sid for scope in active_w for sid in members.get(scope, ())}
        regions: dict[str, int] = defaultdict(int)
        for sid, region, _connected, _worker in firing:
            if region and sid not in covered:
                regions["region:" + region] += 1
        active_r, new_r = level("region", regions)
        return active_w | active_r, new_w | new_r

    async def sweep(
        self, conn: asyncpg.Connection, writer: AlertWriter, config: AlertConfig
    ) -> SweepResult:
        """One sweep: query, evaluate, write (one transaction)."""
        t0 = time.perf_counter()
        now = float(await conn.fetchval(queries.DB_NOW_SQL))
        rows = await conn.fetch(queries.SWEEP_SQL)
        t1 = time.perf_counter()
        plan = self.evaluate(rows, now, config, writer.open.keys())
        t2 = time.perf_counter()
        await writer.apply(conn, plan.transitions, inhibit=plan.inhibit, now=now)
        t3 = time.perf_counter()
        result = plan.result
        result.query_s, result.evaluate_s, result.write_s = t1 - t0, t2 - t1, t3 - t2
        if result.opened or result.resolved:
            log.info(
                "offline sweep: %d stations, %d offline (%d new, %d recovered), grouped: %s,"
                " %.0f ms",
                result.stations,
                result.offline,
                result.opened,
                result.resolved,
                ", ".join(result.mass_open) or "none",
                result.total_s * 1000,
            )
        return result
