"""The hourly judge of exceedances on means: the ``exceedance-means`` job.

Theory of operation
-------------------
Every ``alerts.means_interval_s`` the job looks for hours that closed at least
``alerts.means_delay_s`` ago and were not judged yet (the mark ``means_done`` in
``alert_engine_meta``: the end of the last judged hour, so a restart judges nothing twice
and catches up on at most :data:`MAX_HOURS` hours).  For those hours it reads the official
hourly series (``hourly_values``: the station's own 2061 value, else the mean of its
real-time or minute data with ≥ 45 minutes sampled — HJ 663 validity) and, for the hours
that end a local day (``core.timezone``), the station's own daily values (2031); then it
runs :func:`alerts.means.evaluate_hour` for every (station, factor) with a
:class:`~alerts.means.MeanRule` — hour by hour, in order — and writes the changes through
the engine's :class:`~alerts.writer.AlertWriter` (one transaction).

:meth:`MeanJudge.plan` is pure (rows in, transitions out), for tests and the
``exceedance`` bench scenario.  Data that arrives after its hour was judged changes
nothing (the reports and rankings still count it).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import asyncpg

from . import queries
from .config import AlertConfig
from .labels import factor_labels
from .means import HourInput, MeanRule, MeanState, evaluate_hour, exceeded_labels, restore_state
from .rules import EXCEEDANCE
from .writer import AlertKey, AlertWriter, OpenAlert, Transition

__all__ = ["MAX_HOURS", "HourRows", "MeanJudge", "MeansResult", "hours_to_judge"]

log = logging.getLogger(__name__)

#: Most hours judged in one run (a long outage of the engine: older hours are skipped).
MAX_HOURS: Final = 48
DONE_KEY: Final = "means_done"
HOUR: Final = 3600.0

#: (station, factor) → hour start (POSIX s) → valid hourly value
HourRows = Mapping[tuple[int, int], Mapping[float, float]]


@dataclass(slots=True)
class MeansResult:
    hours: int = 0
    judged: int = 0
    fired: int = 0
    resolved: int = 0
    skipped_hours: int = 0


def hours_to_judge(done: float | None, now: float, delay_s: float) -> tuple[list[float], int]:
    """Starts of the hours to judge (closed ``delay_s`` before ``now``, after ``done``) and
    how many older ones are skipped (more than :data:`MAX_HOURS`)."""
    last_end = math.floor((now - delay_s) / HOUR) * HOUR
    first = last_end - HOUR if done is None else done
    starts = [first + i * HOUR for i in range(max(0, round((last_end - first) / HOUR)))]
    skipped = max(0, len(starts) - MAX_HOURS)
    return starts[skipped:], skipped


class MeanJudge:
    """Mean-rule states per (station, factor) and the judged-hours mark."""

    def __init__(self) -> None:
        self.states: dict[tuple[int, int], MeanState] = {}
        self.done: float | None = None

    def restore(self, open_alerts: Iterable[Mapping[str, Any]], config: AlertConfig) -> int:
        """States of the open exceedance alerts of mean rules (LOAD_OPEN_ALERTS_SQL rows)."""
        n = 0
        for r in open_alerts:
            scope = str(r["scope_key"])
            if r["rule"] != EXCEEDANCE or not scope.startswith("station:"):
                continue
            rule = self._rule(config, int(scope[8:]), int(r["factor_id"]))
            if rule is None:
                continue
            labels = r["labels"] or {}
            key = (int(scope[8:]), int(r["factor_id"]))
            self.states[key] = restore_state(
                rule, labels, float(r["first_seen"]), str(r["severity"] or "")
            )
            n += 1
        return n

    def reset(self, key: AlertKey) -> None:
        """A user resolved the alert: the next exceeding hour raises a new one."""
        rule, scope, factor_id = key
        if rule == EXCEEDANCE and scope.startswith("station:"):
            self.states.pop((int(scope[8:]), factor_id), None)

    @staticmethod
    def _rule(config: AlertConfig, station_id: int, factor_id: int) -> MeanRule | None:
        station = config.stations.get(station_id)
        factor = config.factors.get(factor_id)
        if station is None or factor is None:
            return None
        return config.rules_for(station, factor).mean

    def plan(
        self,
        config: AlertConfig,
        hours: Sequence[float],
        values: HourRows,
        daily: Mapping[tuple[int, int, float], float],
        open_alerts: Mapping[AlertKey, OpenAlert] | None = None,
    ) -> tuple[list[Transition], MeansResult]:
        """Judge ``hours`` (starts, in order) for every slot with data or a standing
        exceedance; ``daily``: (station, factor, local day start) → reported daily value.
        ``open_alerts`` (the writer's): an open exceedance alert of a slot without a state
        — its rule became a mean rule on a configuration reload — is adopted, so that it
        clears when the means are within the limits."""
        result = MeansResult(hours=len(hours))
        for (name, scope, factor_id), alert in (open_alerts or {}).items():
            if name == EXCEEDANCE and scope.startswith("station:"):
                key = (int(scope[8:]), factor_id)
                if key not in self.states and self._rule(config, *key) is not None:
                    self.states[key] = MeanState(firing=True, severity=alert.severity)
        tz = ZoneInfo(config.settings.core.timezone)
        ends_day = {h: _day_start(h, tz) for h in hours if _day_start(h + HOUR, tz) == h + HOUR}
        out: list[Transition] = []
        for key in sorted({*values, *self.states}):
            rule = self._rule(config, *key)
            if rule is None:
                continue
            series = values.get(key, {})
            state = self.states.get(key)
            if state is None:
                state = self.states[key] = MeanState()
            for h in hours:
                day_start = ends_day.get(h)
                day = None
                if day_start is not None:
                    n = round((h + HOUR - day_start) / HOUR)  # 23 to 25 with DST
                    day = [series.get(day_start + i * HOUR) for i in range(n)]
                hour = HourInput(
                    h,
                    [series.get(h - i * HOUR) for i in range(7, -1, -1)],
                    day,
                    daily.get((*key, day_start)) if day_start is not None else None,
                    day_start or 0.0,
                )
                result.judged += 1
                for change in evaluate_hour(rule, hour, state):
                    out.append(self._transition(config, key, change, state))
                    if change.action == "firing":
                        result.fired += 1
                    elif change.action == "resolved":
                        result.resolved += 1
            if not state.firing and not state.exceeded:
                del self.states[key]  # nothing standing: rebuilt from data when needed
        return out, result

    @staticmethod
    def _transition(
        config: AlertConfig, key: tuple[int, int], change: Any, state: MeanState
    ) -> Transition:
        station = config.stations[key[0]]
        labels: dict[str, Any] = {}
        if change.action != "resolved":
            labels = exceeded_labels(state)
            if change.action == "firing":
                labels = {**factor_labels(config, station, config.factors[key[1]]), **labels}
        return Transition(
            (EXCEEDANCE, f"station:{station.id}", key[1]),
            change,
            station.id,
            station.region,
            station.grid_id,
            labels,
        )

    async def run(
        self, pool: asyncpg.Pool, writer: AlertWriter, config: AlertConfig
    ) -> MeansResult:
        """Judge the hours that closed since the last run (see the module docstring)."""
        now = float(await pool.fetchval(queries.DB_NOW_SQL))
        if self.done is None:
            saved = await pool.fetchval(queries.GET_META_SQL, DONE_KEY)
            self.done = float(saved) if saved is not None else None
        hours, skipped = hours_to_judge(self.done, now, config.alerts.means_delay_s)
        if skipped:
            log.warning("exceedance on means: %d hours too old to judge were skipped", skipped)
        if not hours:
            return MeansResult()
        tz = ZoneInfo(config.settings.core.timezone)
        start = hours[0] - 7 * HOUR  # the 8-h windows …
        for h in hours:  # … and the whole of a day that ends among them
            if _day_start(h + HOUR, tz) == h + HOUR:
                start = min(start, _day_start(h, tz))
        end = hours[-1] + HOUR
        rows = await pool.fetch(queries.HOURLY_MEANS_SQL, _dt(start), _dt(end))
        values: dict[tuple[int, int], dict[float, float]] = {}
        for s, f, ts, v in rows:
            values.setdefault((s, f), {})[float(ts)] = float(v)
        daily = {
            (s, f, float(ts)): float(v)
            for s, f, ts, v in await pool.fetch(
                queries.DAILY_REPORTED_SQL, _dt(_day_start(hours[0], tz)), _dt(end)
            )
            if ts >= start
        }
        transitions, result = self.plan(config, hours, values, daily, writer.open)
        result.skipped_hours = skipped
        async with pool.acquire() as conn, conn.transaction():
            if transitions:
                outcome = await writer.apply(conn, transitions)
                for key in outcome.gone:
                    self.reset(key)
            await conn.execute(queries.SET_META_SQL, DONE_KEY, hours[-1] + HOUR)
        self.done = hours[-1] + HOUR
        return result


def _day_start(ts: float, tz: ZoneInfo) -> float:
    local = datetime.fromtimestamp(ts, tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
