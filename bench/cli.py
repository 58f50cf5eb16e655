"""``envgrid bench [scenario] --json OUT``: measure, and write JSON plus a Markdown report.

Scenarios against a real server (``envgrid serve`` with its own embedded PostgreSQL
unless ``--dsn``; simulated stations on loopback): ``connections``, ``throughput``,
``burst``, ``latency``.  Without I/O: ``codec``.  Subsystems: ``aggregates``,
``alerts``, ``web``, ``cases`` (each builds its own data).  ``all`` runs them in turn.
Every result carries the machine (cores, memory), the versions and the engine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .proc import machine_info

#: scenario → (module, function, description); loaded on demand
SCENARIOS: dict[str, tuple[str, str, str]] = {
    "codec": ("bench.codec", "measure", "decode + CRC frames/s on one core, no I/O"),
    "connections": (
        "bench.scenarios",
        "connections",
        "ramp to N stations, hold: connect rate, memory per connection, idle CPU",
    ),
    "throughput": (
        "bench.scenarios",
        "throughput",
        "6-factor frames as fast as acks allow: committed frames/s, latency",
    ),
    "burst": (
        "bench.scenarios",
        "burst",
        "100,000 messages from 36,000 connected stations: time until committed",
    ),
    "latency": (
        "bench.scenarios",
        "latency",
        "36,000 stations every 30 s: p50/p99 received → committed",
    ),
    "aggregates": ("bench.aggregates", "run", "ranking, daily AQI, monthly XLSX report"),
    "alerts": ("bench.alerts", "run", "offline sweep over 36,000 stations, in-stream cost"),
    "web": ("bench.web", "run", "map endpoint (36,000 stations), 24 h chart"),
    "cases": ("bench.cases", "run", "case board over 100,000 cases, monthly assessment"),
}
SERVER_SCENARIOS = ("connections", "throughput", "burst", "latency")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        nargs="?",
        default="all",
        choices=[*SCENARIOS, "all", "server"],
        help="what to measure (default: all)",
    )
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument(
        "--report", metavar="DIR", help="write a Markdown report with plots (PNG) into DIR"
    )
    parser.add_argument("--dsn", help="use this PostgreSQL instead of a private embedded one")
    parser.add_argument("--stations", type=int, help="stations (scenario default if unset)")
    parser.add_argument("--duration", type=float, help="measured seconds (throughput)")
    parser.add_argument("--workers", type=int, default=0, help="ingest workers (0: per core)")


def _kwargs(name: str, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name in SERVER_SCENARIOS:
        out["workers"] = args.workers
        out["dsn"] = args.dsn
        out["progress"] = lambda msg: print(msg, file=sys.stderr, flush=True)
        if args.stations:
            out["stations"] = args.stations
        if args.duration and name == "throughput":
            out["duration"] = args.duration
    return out


def run_scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    module, func, _ = SCENARIOS[name]
    fn: Callable[..., Any] = getattr(importlib.import_module(module), func)
    started = time.time()
    result = fn(**_kwargs(name, args))
    if not isinstance(result, dict):
        result = {"result": result}
    result.setdefault("scenario", name)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result


def run(args: argparse.Namespace) -> int:
    if args.scenario == "all":
        names = list(SCENARIOS)
    elif args.scenario == "server":
        names = list(SERVER_SCENARIOS)
    else:
        names = [args.scenario]
    results = {
        "machine": machine_info(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "scenarios": {},
    }
    for name in names:
        print(f"== {name}: {SCENARIOS[name][2]}", file=sys.stderr, flush=True)
        results["scenarios"][name] = run_scenario(name, args)
        print(json.dumps(results["scenarios"][name], ensure_ascii=False, default=str), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    if args.report:
        from .report import write_report

        path = write_report(results, Path(args.report))
        print(f"report: {path}", file=sys.stderr)
    return 0
