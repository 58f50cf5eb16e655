"""``envgrid bench exceedance``: alerts and cases per 1,000 station-days, judged per
real-time value (before issue 21) and on the averaging period of each limit (after).

Data: ``--stations`` ambient-air stations (default 1,000) for ``--days`` days from
``--start`` (local date), every 30 s, from the simulator's value model with its noise
(:mod:`simulators.ambient_days`).  The same data goes through

* **before**: the in-stream engine (:class:`alerts.engine.StreamEvaluator`) with every
  exceedance limit judged on single values (``basis = "rtd"``), severity fixed at 严重
  (``critical``) and no grading — what the engine did before (issue 21: "every alert is
  严重; every alert opens a 紧急 case");
* **after**: the hourly judge (:class:`alerts.means_job.MeanJudge`) on the hourly means
  of the same values (valid with ≥ 45 minutes of sampling), 1-h, O3 8-h and 24-h limits,
  severities graded by ratio and duration.

Only exceedance is compared (flatline, jump, maintenance and the AQI-level rule are off in
both).  Cases are counted three ways: modelled as the bridge opened them before issue 21
(one case per station, rule and factor, open for the run — that bridge is gone, so
"before" for the real bridge below means the old *alerts* through today's bridge), modelled
as one case per station incident (alerts of one station within ``--window-h`` hours of
the incident's last activity join it), and **made by the real code**: each leg's
transitions, batch by batch (before: every 30-s step; after: every judged hour), through
:class:`alerts.writer.AlertWriter` into a fresh database and from there through the case
bridge (:mod:`bench.exceedance_cases`; ``--no-cases`` skips it, ``--bridge-stations N``
bridges only the first N stations, ``--dsn`` puts the scratch databases on a server).
The run fails (exit 1) when a station has two cases for one incident.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from alerts.config import AlertConfig, ConfigRow, FactorInfo, StationInfo
from alerts.engine import StreamEvaluator
from alerts.means_job import MeanJudge
from alerts.settings import AlertsConfig
from alerts.writer import Transition
from bench.exceedance_cases import Batch, replay
from simulators.ambient_days import AmbientDays, ambient_days, hourly_means
from store.config import SettingsLoader

__all__ = ["Tally", "after", "before", "main", "tally"]

NAMES: Final = {
    "a21026": "二氧化硫",
    "a21004": "二氧化氮",
    "a21005": "一氧化碳",
    "a05024": "臭氧",
    "a34002": "可吸入颗粒物",
    "a34004": "细颗粒物",
}
#: only exceedance: the other rules off in both runs
OFF: Final = {
    "alerts.flatline_count": 0,
    "alerts.flatline_s": 0,
    "alerts.jump_rel": 0,
    "alerts.jump_abs": 0,
    "alerts.jump_sigma": 0,
    "alerts.maintenance_s": 0,
    "alerts.aqi_level": 0,
}
#: before issue 21: single values, one severity, no grading
BEFORE_ROW: Final = ConfigRow(
    "exceedance",
    "default",
    "",
    "",
    None,
    "critical",
    {
        "basis": "rtd",
        "major_ratio": 0.0,
        "critical_ratio": 0.0,
        "major_after_s": 0.0,
        "critical_after_s": 0.0,
    },
)
#: values fed to the in-stream engine per batch (a few flushes' worth)
BATCH_STEPS: Final = 20


def _config(
    settings: AlertsConfig, data: AmbientDays, on: date, rows: Iterable[ConfigRow]
) -> AlertConfig:
    stations = {
        i + 1: StationInfo(i + 1, f"SIM{i + 1:09d}", f"站点{i + 1}", "22", region, None)
        for i, region in enumerate(data.regions)
    }
    factors = {
        k + 1: FactorInfo(k + 1, code, NAMES[code], "µg/m³") for k, code in enumerate(data.codes)
    }
    return AlertConfig(settings, stations=stations, factors=factors, rule_rows=rows, on=on)


class Tally:
    """Fired alerts (station, factor, fired at, resolved at, severity) of one run."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, int], int] = {}
        self.alerts: list[list[Any]] = []
        self.pending_only = 0
        self.escalations = 0
        #: the transitions batch by batch, with the simulated time each was written at
        self.batches: list[Batch] = []

    def add(self, transitions: list[Transition], at: float) -> None:
        if transitions:
            self.batches.append((at, transitions))
        for tr in transitions:
            station, factor = int(tr.key[1][8:]), tr.key[2]
            key = (station, factor)
            ch = tr.change
            if ch.action == "firing":
                self.open[key] = len(self.alerts)
                self.alerts.append([station, factor, ch.ts, None, ch.severity])
            elif ch.action == "cancelled":
                self.pending_only += 1
            elif ch.action == "touch" and key in self.open:
                alert = self.alerts[self.open[key]]
                if _rank(ch.severity) > _rank(alert[4]):
                    alert[4] = ch.severity
                    self.escalations += 1
            elif ch.action == "resolved" and key in self.open:
                self.alerts[self.open.pop(key)][3] = ch.ts


def _rank(severity: str) -> int:
    return {"info": 0, "warning": 1, "major": 2, "critical": 3}[severity]


def before(settings: AlertsConfig, data: AmbientDays, on: date) -> Tally:
    evaluator = StreamEvaluator(_config(settings, data, on, [BEFORE_ROW]))
    n_st, n_f, n_t = data.values.shape
    stations = np.repeat(np.arange(1, n_st + 1, dtype=np.int64), n_f)
    factors = np.tile(np.arange(1, n_f + 1, dtype=np.int64), n_st)
    flat = data.values.reshape(n_st * n_f, n_t)
    tally = Tally()
    for t0 in range(0, n_t, BATCH_STEPS):
        steps = range(t0, min(n_t, t0 + BATCH_STEPS))
        k = len(steps)
        evaluator.feed_rows(
            "r",
            np.tile(stations, k),
            np.tile(factors, k),
            np.repeat(data.times[t0 : t0 + k], n_st * n_f),
            np.round(flat[:, t0 : t0 + k].T.reshape(-1).astype(np.float64), 3),
            ["N"] * (k * n_st * n_f),
        )
        by_step: dict[float, list[Transition]] = {}
        for tr in evaluator.take():  # as the ingest writer would have flushed them
            by_step.setdefault(tr.change.ts, []).append(tr)
        for ts in sorted(by_step):
            tally.add(by_step[ts], ts + 30.0)
    return tally


def after(settings: AlertsConfig, data: AmbientDays, on: date) -> Tally:
    config = _config(settings, data, on, [])
    means, valid, starts = hourly_means(data)
    values: dict[tuple[int, int], dict[float, float]] = {}
    rounded = np.round(means, 3)
    for s in range(means.shape[0]):
        for f in range(means.shape[1]):
            values[(s + 1, f + 1)] = {
                float(h): float(v)
                for h, v, ok in zip(starts, rounded[s, f], valid, strict=True)
                if ok
            }
    judge = MeanJudge()
    tally = Tally()
    for h in starts:  # as the hourly job runs: each hour once it closed
        transitions, _ = judge.plan(config, [float(h)], values, {})
        tally.add(transitions, float(h) + 3600.0)
    return tally


def _cases(alerts: list[list[Any]], end: float, window_s: float) -> dict[str, int]:
    """Cases as the bridge opened them before (station, rule, factor) and per incident."""
    by_key = {(a[0], a[1]) for a in alerts}
    incidents = 0
    last: dict[int, float] = {}
    for station, _factor, fired, resolved, _sev in sorted(alerts, key=lambda a: a[2]):
        if station not in last or fired > last[station] + window_s:
            incidents += 1
            last[station] = resolved if resolved is not None else end
        else:
            last[station] = max(last[station], resolved if resolved is not None else end)
    return {"per_station_rule_factor": len(by_key), "per_station_incident": incidents}


def tally(run: Tally, station_days: float, end: float, window_s: float) -> dict[str, Any]:
    per = 1000.0 / station_days
    cases = _cases(run.alerts, end, window_s)
    severities = Counter(a[4] for a in run.alerts)
    factors = Counter(NAMES_BY_ID.get(a[1], str(a[1])) for a in run.alerts)
    return {
        "alerts": len(run.alerts),
        "alerts_per_1000_station_days": round(len(run.alerts) * per, 1),
        "pending_never_fired": run.pending_only,
        "cases": cases,
        "cases_per_1000_station_days": {k: round(v * per, 1) for k, v in cases.items()},
        "severity": dict(severities),
        "escalated": run.escalations,
        "by_factor": dict(factors),
        "stations_with_alerts": len({a[0] for a in run.alerts}),
    }


NAMES_BY_ID: Final = {k + 1: NAMES[code] for k, code in enumerate(NAMES)}


def report(result: dict[str, Any]) -> str:
    lines = [
        f"exceedance: {result['stations']} stations × {result['days']} days from {result['start']}"
        f" ({result['station_days']:.0f} station-days, data {result['generate_s']:.1f} s)",
        "",
        "| | alerts | alerts / 1,000 station-days | cases (station·rule·factor)"
        " | cases (incident) | severities |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("before", "after"):
        r = result[name]
        per = r["cases_per_1000_station_days"]
        lines.append(
            f"| {name} | {r['alerts']} | {r['alerts_per_1000_station_days']} |"
            f" {per['per_station_rule_factor']} | {per['per_station_incident']} |"
            f" {json.dumps(r['severity'], ensure_ascii=False)} |"
        )
    if all("bridge" in result[name] for name in ("before", "after")):
        days = result["before"]["bridge"]["station_days"]
        lines += [
            "",
            f"real alert writer + case bridge (one database per leg, {days:g} station-days):",
            "",
            "| | alerts fired | cases | cases / 1,000 station-days | alert severities"
            " | case priorities | 紧急 | 已恢复 | one case per incident | s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in ("before", "after"):
            b = result[name]["bridge"]
            ok = "yes" if not b["incident_violations"] else f"NO ({b['incident_violations']})"
            lines.append(
                f"| {name} | {b['alerts_fired']} | {b['cases']} |"
                f" {b['cases_per_1000_station_days']} |"
                f" {json.dumps(b['alert_severity'], ensure_ascii=False)} |"
                f" {json.dumps(b['case_priority'], ensure_ascii=False)} | {b['cases_urgent']} |"
                f" {b['cases_recovered']} | {ok} | {b['seconds']} |"
            )
    return "\n".join(lines)


def run(
    settings_for: SettingsLoader[AlertsConfig],
    stations: int,
    days: float,
    start: date,
    window_h: float,
    seed: int,
    *,
    cases: bool = True,
    dsn: str | None = None,
    bridge_stations: int | None = None,
) -> dict[str, Any]:
    settings = settings_for(dict(OFF))
    tz = ZoneInfo(settings.core.timezone)
    t0 = datetime(start.year, start.month, start.day, tzinfo=tz).timestamp()
    clock = time.perf_counter()
    data = ambient_days(stations, t0, days, seed=seed, timezone=settings.core.timezone)
    generated = time.perf_counter() - clock
    station_days = stations * days
    bridged = min(stations, bridge_stations or stations)
    end = float(data.times[-1]) + 30.0
    out: dict[str, Any] = {
        "scenario": "exceedance",
        "stations": stations,
        "days": days,
        "start": start.isoformat(),
        "seed": seed,
        "station_days": station_days,
        "generate_s": round(generated, 2),
        "values": int(data.values.size),
    }
    for name, judge in (("before", before), ("after", after)):
        clock = time.perf_counter()
        result = judge(settings, data, start)
        out[name] = tally(result, station_days, end, window_h * 3600)
        out[name]["seconds"] = round(time.perf_counter() - clock, 2)
        if cases:  # the same transitions through the alert writer and the real case bridge
            kept = [
                (at, [t for t in b if (t.station_id or 0) <= bridged]) for at, b in result.batches
            ]
            real = asyncio.run(
                replay([(at, b) for at, b in kept if b], bridged, data.codes,
                       settings.core.timezone, dsn=dsn, window_minutes=round(window_h * 60),
                       progress=lambda msg: print(msg, file=sys.stderr, flush=True))
            )  # fmt: skip
            real["station_days"] = bridged * days
            real["cases_per_1000_station_days"] = round(real["cases"] * 1000 / (bridged * days), 1)
            out[name]["bridge"] = real
    return out


def check(result: dict[str, Any]) -> list[str]:
    """The Done-when conditions the run breaks (empty: none)."""
    faults = []
    for name in ("before", "after"):
        real = result[name].get("bridge")
        if real is None:
            continue
        if real["incident_violations"]:
            faults.append(
                f"{name}: {real['incident_violations']} cases break one case per incident"
            )
        if real["open_unrecovered_per_station_max"] > 1:
            faults.append(f"{name}: a station has several open, unrecovered cases")
    return faults


def main(argv: list[str], settings_for: SettingsLoader[AlertsConfig]) -> int:
    parser = argparse.ArgumentParser(prog="envgrid bench exceedance", description=__doc__)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 16))
    parser.add_argument("--window-h", type=float, default=2.0, help="incident window (h)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    parser.add_argument(
        "--no-cases", action="store_true", help="skip the real alert writer and case bridge"
    )
    parser.add_argument(
        "--dsn", help="server for the bridge's scratch database (default: embedded PostgreSQL)"
    )
    parser.add_argument(
        "--bridge-stations",
        type=int,
        metavar="N",
        help="only the first N stations through the writer and bridge (default: all)",
    )
    args = parser.parse_args(argv)
    if args.stations < 1 or not 1 / 24 <= args.days <= 7:
        parser.error("need --stations ≥ 1 and 1 h ≤ --days ≤ 7")
    result = run(settings_for, args.stations, args.days, args.start, args.window_h, args.seed,
                 cases=not args.no_cases, dsn=args.dsn,
                 bridge_stations=args.bridge_stations)  # fmt: skip
    faults = check(result)
    result["one_case_per_incident"] = not faults if not args.no_cases else None
    print(report(result))
    for fault in faults:
        print(f"FAILED: {fault}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, ensure_ascii=False)
    return 1 if faults else 0
