"""``envgrid bench exceedance``: alerts and cases per 1,000 station-days, judged per
real-time value (before issue 21) and on the averaging period of each limit (after).

Data: ``--stations`` ambient-air stations (default 1,000) for ``--days`` days from
``--start`` (local date), every 30 s, from the simulator's value model with its noise
(:mod:`simulators.ambient_days`).  The same data goes through

* **before**: the in-stream engine (:class:`alerts.engine.StreamEvaluator`) with every
  exceedance limit judged on single values (``basis = "rtd"``), severity fixed at 严重
  (``major``) and no grading — what the engine did before;
* **after**: the hourly judge (:class:`alerts.means_job.MeanJudge`) on the hourly means
  of the same values (valid with ≥ 45 minutes of sampling), 1-h, O3 8-h and 24-h limits,
  severities graded by ratio and duration.

Only exceedance is compared (flatline, jump, maintenance and the AQI-level rule are off in
both).  Cases are counted two ways: as the bridge opened them before (one case per
station, rule and factor, open for the run) and as one case per station incident (alerts
of one station within ``--window-h`` hours of the incident's last activity join it —
issue 21 point 3).  The 17.3 million values a day of 1,000 stations through the in-stream
engine take most of the time (2 days: 57 s of CPU on the development machine).
"""

from __future__ import annotations

import argparse
import json
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
    "major",
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

    def add(self, transitions: Iterable[Transition]) -> None:
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
        tally.add(evaluator.take())
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
    transitions, _ = judge.plan(config, [float(h) for h in starts], values, {})
    tally = Tally()
    tally.add(transitions)
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
    return "\n".join(lines)


def run(
    settings_for: SettingsLoader[AlertsConfig],
    stations: int,
    days: float,
    start: date,
    window_h: float,
    seed: int,
) -> dict[str, Any]:
    settings = settings_for(dict(OFF))
    tz = ZoneInfo(settings.core.timezone)
    t0 = datetime(start.year, start.month, start.day, tzinfo=tz).timestamp()
    clock = time.perf_counter()
    data = ambient_days(stations, t0, days, seed=seed, timezone=settings.core.timezone)
    generated = time.perf_counter() - clock
    station_days = stations * days
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
    return out


def main(argv: list[str], settings_for: SettingsLoader[AlertsConfig]) -> int:
    parser = argparse.ArgumentParser(prog="envgrid bench exceedance", description=__doc__)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 11, 16))
    parser.add_argument("--window-h", type=float, default=2.0, help="incident window (h)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="OUT", help="also write the result as JSON")
    args = parser.parse_args(argv)
    if args.stations < 1 or not 1 / 24 <= args.days <= 7:
        parser.error("need --stations ≥ 1 and 1 h ≤ --days ≤ 7")
    result = run(settings_for, args.stations, args.days, args.start, args.window_h, args.seed)
    print(report(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, ensure_ascii=False)
    return 0
