"""``envgrid bench [scenario] --json OUT``: measure, and write JSON plus a Markdown report.

Scenarios against a real server (``envgrid serve`` with its own embedded PostgreSQL
unless ``--dsn``; simulated stations on loopback): ``connections``, ``throughput``,
``burst``, ``latency``.  Without I/O: ``codec``.  Subsystems: ``aggregates``,
``alerts``, ``web``, ``cases``, ``forward`` (each builds its own data).  ``all`` runs them in turn.
Every result carries the machine (cores, memory) and the versions; each scenario carries
the engine of the live database it measured (``engine``, read from that database).

Engines: the servers and private clusters run on what ``database.engine`` and
``database.embedded_bindir`` say — ``--set``, else ``ENVGRID_DATABASE__ENGINE`` and
``ENVGRID_DATABASE__EMBEDDED_BINDIR`` (the only variables read; the rest of the settings
are defaults and ``--set``).  ``--engines postgres,timescaledb`` runs each scenario that
uses a database (the server and fault scenarios, ``aggregates``) once per engine, back to
back, each leg reported as ``SCENARIO@ENGINE``; a leg whose engine is not installed here
is reported as skipped with the reason, one that fails as its error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from store.config import SettingsLoader
from store.progress import Progress, add_quiet_option
from web.settings import WebConfig

from .capacity import LimitError
from .engines import BINDIR, ENGINE, Leg, legs, parse_engines, unavailable
from .proc import machine_info

#: scenario → what it measures; the module that runs it is imported when it runs
#: (:func:`_measure`), so ``envgrid bench codec`` does not load the web stack
SCENARIOS: dict[str, str] = {
    "codec": "decode + CRC frames/s on one core, no I/O",
    "connections": "ramp to N stations, hold: connect rate, memory per connection, idle CPU",
    "throughput": "6-factor frames as fast as acks allow: committed frames/s, latency",
    "burst": "100,000 messages from 36,000 connected stations: time until committed",
    "latency": "36,000 stations every 30 s: p50/p99 received → committed",
    "outage": "PostgreSQL stopped for 60 s under 36,000 stations: lost, duplicated, replay",
    "kill-worker": "an ingest worker SIGKILLed under load: restart, retransmissions, lost",
    "restart": "the whole server restarted under load: start-up time, lost, duplicated",
    "disk-full": "the spool's file system full: acks stop, resume when space returns",
    "soak": "5 minutes at 36,000 stations: RSS, open files, latency",
    "hostile": "slowloris, floods, garbage, stolen MNs: legitimate stations' latency",
    "scale-out": "2 ingest hosts + 1 alerts host on one database, the leader SIGKILLed: failover",
    "aggregates": "ranking, daily AQI, monthly XLSX report; refresh job after an hour, a backfill",
    "alerts": "offline sweep over 36,000 stations, in-stream cost",
    "exceedance": "1,000 ambient stations × 1 day: alerts and cases (real bridge), rtd vs means",
    "web": "map endpoint (36,000 stations), 24 h chart",
    "cases": "case board over 100,000 cases, monthly assessment",
    "forward": "forwarding backlog drain to an upstream platform, live frames alongside",
    "disk": "disk per station-day and station-year on each engine (on demand)",
    "backup": "backup and restore of a station-day, scaled to 36,000 stations (on demand)",
    "fuzz": "1,000,000 mutated inputs through the decoder (on demand)",
}
SERVER_SCENARIOS = ("connections", "throughput", "burst", "latency")
FAULT_SCENARIOS = (
    "outage",
    "kill-worker",
    "restart",
    "disk-full",
    "soak",
    "hostile",
    "scale-out",
)
#: not part of "all": long or disruptive — run them by name
ON_DEMAND = ("soak", "fuzz", "disk", "backup", "exceedance")
#: the scenarios ``--engines`` runs once per engine (the others choose no engine)
ENGINE_SCENARIOS = (*SERVER_SCENARIOS, *FAULT_SCENARIOS, "aggregates", "forward")
#: what the bench reads of the environment: the engine and the server binaries
ENVIRONMENT = {"ENVGRID_DATABASE__ENGINE": ENGINE, "ENVGRID_DATABASE__EMBEDDED_BINDIR": BINDIR}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        nargs="?",
        default="all",
        choices=[*SCENARIOS, "all", "server", "faults"],
        help="what to measure (default: all)",
    )
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    add_quiet_option(parser)
    parser.add_argument(
        "--report", metavar="DIR", help="write a Markdown report with plots (PNG) into DIR"
    )
    parser.add_argument("--dsn", help="use this PostgreSQL instead of a private embedded one")
    parser.add_argument("--stations", type=int, help="stations (scenario default if unset)")
    parser.add_argument("--duration", type=float, help="measured seconds (throughput)")
    parser.add_argument("--workers", type=int, default=0, help="ingest workers (0: per core)")
    parser.add_argument("--minutes", type=float, help="soak duration in minutes (default 5)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="a setting of the server under test, e.g. --set ingest.batch_ms=100 (repeatable);"
        " simulate.KEY=VALUE tells the simulated stations of the server scenarios instead:"
        " simulate.edition_mix=2017:0.5,2025:0.5, simulate.edition=2025, simulate.encrypt=true,"
        " simulate.heartbeat=S (connections, latency)",
    )
    parser.add_argument(
        "--engines",
        metavar="LIST",
        help="run each scenario once per engine, back to back, e.g. postgres,timescaledb"
        " (TimescaleDB from ENVGRID_DATABASE__EMBEDDED_BINDIR or --set"
        " database.embedded_bindir=DIR when it is not installed system-wide)",
    )
    parser.add_argument(
        "--parts",
        metavar="LIST",
        help="aggregates: analytics and/or refresh (default both)",
    )
    parser.add_argument(
        "--alerts",
        action="store_true",
        help="throughput: with the alert engine evaluating every value in-stream",
    )
    parser.add_argument(
        "--rate",
        type=float,
        metavar="FRAMES_PER_S",
        help="throughput: offer this many frames/s instead of as many as acks allow "
        "(e.g. the floor, 10000: then compare CPU, not frames/s)",
    )


#: what a scenario says as it goes (``outage: stopping PostgreSQL for 60 s``)
Say = Callable[[str], None]


def _silent(message: str) -> None:
    """The default :data:`Say`: nothing."""


def _kwargs(name: str, args: argparse.Namespace, leg: Leg, say: Say) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name in SERVER_SCENARIOS or name in FAULT_SCENARIOS:
        out["workers"] = args.workers
        out["dsn"] = args.dsn
        out["progress"] = say
        if args.stations:
            out["stations"] = args.stations
        if args.duration and name == "throughput":
            out["duration"] = args.duration
        if args.alerts and name == "throughput":
            out["alerts"] = True
        if args.rate and name == "throughput":
            out["rate"] = args.rate
        if leg.overrides:
            out["overrides"] = dict(leg.overrides)
        if getattr(args, "simulate", None) and name in SERVER_SCENARIOS:
            out["simulate"] = dict(args.simulate)
        if args.minutes and name == "soak":
            out["duration"] = args.minutes * 60
    return out


#: ``--set simulate.KEY=VALUE``: for the simulated stations, not the server
SIMULATE = "simulate."


def split_simulate(args: argparse.Namespace, names: list[str]) -> None:
    """Take the ``simulate.*`` pairs out of ``args.set`` into ``args.simulate`` (checked:
    :func:`bench.load.simulator_settings`); SystemExit with the reason when they are wrong
    or no chosen scenario runs simulated stations."""
    server, sim = [], {}
    for pair in args.set:
        key, sep, value = pair.partition("=")
        if key.strip().startswith(SIMULATE) and sep:
            sim[key.strip()[len(SIMULATE) :]] = value.strip()
        else:
            server.append(pair)
    args.set = server
    args.simulate = {}
    if not sim:
        return
    from simulators.blast import BlastConfig

    from .load import simulator_settings
    from .scenarios import blast_options

    try:
        args.simulate = simulator_settings(sim)
        if args.simulate and {"throughput", "burst"} & set(names):
            BlastConfig(**blast_options(args.simulate))
    except ValueError as exc:
        raise SystemExit(f"--set {exc}") from None
    if args.simulate and not set(SERVER_SCENARIOS) & set(names):
        raise SystemExit(
            f"--set simulate.*: only the server scenarios ({', '.join(SERVER_SCENARIOS)})"
            " run simulated stations"
        )


def _overrides(pairs: list[str]) -> dict[str, str]:
    """``["ingest.batch_ms=100"]`` → ``{"ingest.batch_ms": "100"}`` (the server reads them
    as ENVGRID_SECTION__FIELD variables, with the usual validation)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        section, dot, name = key.strip().partition(".")
        if not (sep and dot and section and name):
            raise SystemExit(
                f"--set {pair!r}: expected SECTION.FIELD=VALUE, e.g. ingest.batch_ms=100"
            )
        out[f"{section}.{name}"] = value.strip()
    return out


def with_environment(overrides: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """``overrides`` (``--set``) completed with the engine and the server binaries of the
    environment (:data:`ENVIRONMENT`) where ``--set`` does not give them."""
    out = dict(overrides)
    for variable, key in ENVIRONMENT.items():
        if environ.get(variable) and key not in out:
            out[key] = environ[variable]
    return out


def _via_main(
    fn: Callable[[list[str]], int], args: argparse.Namespace, argv: list[str]
) -> dict[str, Any]:
    """The subsystem benchmarks are commands of their own (``main(argv, ...)``):
    run one and read back the JSON it writes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        argv = ["--json", str(out), *argv]
        if args.dsn:
            argv += ["--dsn", args.dsn]
        code = fn(argv)
        result: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
        result["exit_code"] = code
        return result


def _main_of(name: str, settings_for: SettingsLoader[WebConfig]) -> Callable[[list[str]], int]:
    """The command of a subsystem benchmark (each builds its own data)."""
    if name == "aggregates":
        from bench import aggregates

        return partial(aggregates.main, settings_for=settings_for)
    if name == "alerts":
        from bench import alerts

        return partial(alerts.main, settings_for=settings_for)
    if name == "exceedance":
        from bench import exceedance

        return partial(exceedance.main, settings_for=settings_for)
    if name == "web":
        from bench import web

        return partial(web.main, settings_for=settings_for)
    if name == "cases":
        from bench import cases

        return cases.main
    if name == "disk":
        from bench import disk

        return partial(disk.main, settings_for=settings_for)
    if name == "backup":
        from bench import backup

        return backup.main
    if name == "fuzz":
        from bench import fuzz

        return fuzz.main
    if name == "forward":
        from bench import forward

        return forward.main
    raise ValueError(f"unknown scenario {name!r}")


def _subsystem_argv(name: str, args: argparse.Namespace, leg: Leg) -> list[str]:
    """The options of a subsystem benchmark's own command (aggregates: engine, sizes;
    disk, which measures every engine available itself: --stations)."""
    if name == "exceedance" and args.dsn:  # the real case bridge's scratch databases
        return [*(["--stations", str(args.stations)] if args.stations else []), "--dsn", args.dsn]
    if name in ("disk", "exceedance", "backup"):
        return ["--stations", str(args.stations)] if args.stations else []
    if name not in ("aggregates", "forward"):
        return []
    argv = []
    if ENGINE in leg.overrides:
        argv += ["--engine", leg.overrides[ENGINE]]
    if leg.bindir is not None:
        argv += ["--bindir", str(leg.bindir)]
    if args.stations:
        argv += ["--stations", str(args.stations)]
    if args.parts and name == "aggregates":
        argv += ["--parts", args.parts]
    return argv


def _measure(
    name: str,
    args: argparse.Namespace,
    settings_for: SettingsLoader[WebConfig],
    leg: Leg,
    say: Say,
) -> Any:
    if name == "codec":
        from bench import codec

        return codec.measure()
    if name in SERVER_SCENARIOS:
        from bench import scenarios

        return scenarios.SCENARIOS[name](**_kwargs(name, args, leg, say))
    if name in FAULT_SCENARIOS:
        from bench import attacks, faults, scale_out

        fault: Callable[..., dict[str, Any]] = {
            "outage": faults.outage,
            "kill-worker": faults.kill_worker,
            "restart": faults.restart,
            "disk-full": faults.disk_full,
            "soak": faults.soak,
            "hostile": attacks.hostile,
            "scale-out": scale_out.scale_out,
        }[name]
        return fault(**_kwargs(name, args, leg, say))
    return _via_main(_main_of(name, settings_for), args, _subsystem_argv(name, args, leg))


def run_scenario(
    name: str,
    args: argparse.Namespace,
    settings_for: SettingsLoader[WebConfig],
    leg: Leg | None = None,
    say: Say = _silent,
) -> dict[str, Any]:
    started = time.time()
    result = _measure(name, args, settings_for, leg or Leg("auto"), say)
    if not isinstance(result, dict):
        result = {"result": result}
    result.setdefault("scenario", name)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result


def _legs(args: argparse.Namespace, environ: Mapping[str, str]) -> list[Leg] | None:
    """The legs of ``--engines`` (None without it: one run, on the configured engine)."""
    overrides = with_environment(_overrides(args.set), environ)
    if not args.engines:
        return None
    if ENGINE in _overrides(args.set):
        raise SystemExit("--engines and --set database.engine: give one of them")
    try:
        engines = parse_engines(args.engines)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    # the legs choose the engine; the environment's engine does not apply to them
    overrides.pop(ENGINE, None)
    return legs(engines, overrides, embedded=args.dsn is None)


def _run_legs(
    name: str,
    args: argparse.Namespace,
    settings_for: SettingsLoader[WebConfig],
    engine_legs: list[Leg],
    say: Say = _silent,
) -> dict[str, dict[str, Any]]:
    """``name`` once per leg, back to back: ``{"name@engine": result}``; a leg that cannot
    run here is reported as skipped, one that fails with its error."""
    out: dict[str, dict[str, Any]] = {}
    for leg in engine_legs:
        key = f"{name}@{leg.engine}"
        base = {"scenario": name, "engine_choice": leg.engine}
        if leg.skipped:
            say(f"== {key}: skipped: {leg.skipped}")
            out[key] = {**base, "skipped": leg.skipped}
            continue
        say(f"== {key}: {SCENARIOS[name]}")
        try:
            out[key] = {**base, **run_scenario(name, args, settings_for, leg, say)}
        except Exception as exc:  # one engine failing must not lose the other's figures
            out[key] = {**base, "error": f"{type(exc).__name__}: {exc}"[-3000:]}
    return out


def run(
    args: argparse.Namespace,
    settings_for: SettingsLoader[WebConfig],
    environ: Mapping[str, str] = os.environ,
) -> int:
    """``settings_for(overrides)``: the settings of what a subsystem benchmark runs in-process
    (defaults and ``overrides`` only, so a local envgrid.toml does not skew the figures);
    ``environ``: where the engine and the server binaries are read from (:data:`ENVIRONMENT`)."""
    if args.scenario == "all":
        names = [n for n in SCENARIOS if n not in ON_DEMAND]
    elif args.scenario == "server":
        names = list(SERVER_SCENARIOS)
    elif args.scenario == "faults":
        names = [n for n in FAULT_SCENARIOS if n not in ON_DEMAND]
    else:
        names = [args.scenario]
    split_simulate(args, names)
    engine_legs = _legs(args, environ)
    single = Leg("auto", with_environment(_overrides(args.set), environ))
    chosen = single.overrides.get(ENGINE, "auto")
    if engine_legs is None and args.dsn is None and any(n in ENGINE_SCENARIOS for n in names):
        reason = unavailable("timescaledb", single.bindir) if chosen == "timescaledb" else ""
        if reason:
            raise SystemExit(f"database.engine = 'timescaledb': {reason}")
    scenarios: dict[str, Any] = {}
    results: dict[str, Any] = {
        "machine": machine_info(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "scenarios": scenarios,
    }
    if engine_legs is not None:
        results["engines"] = [leg.engine for leg in engine_legs]
    failed = False
    with Progress(quiet=args.quiet) as display:
        task = display.task("bench", total=len(names))

        def say(message: str) -> None:
            display.note(message)
            task.update(status=message.strip())

        for name in names:
            task.update(description=f"bench {name}")
            if engine_legs is not None and name in ENGINE_SCENARIOS:
                done = _run_legs(name, args, settings_for, engine_legs, say)
            else:
                say(f"== {name}: {SCENARIOS[name]}")
                try:
                    done = {name: run_scenario(name, args, settings_for, single, say)}
                except LimitError as exc:  # a kernel limit: nothing was started
                    print(f"bench {name}: {exc}", file=sys.stderr)
                    return 2
            for key, result in done.items():
                scenarios[key] = result
                failed = failed or "error" in result
                print(json.dumps(result, ensure_ascii=False, default=str), flush=True)
            task.advance()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    if args.report:
        from .report import write_report

        path = write_report(results, Path(args.report))
        print(f"report: {path}", file=sys.stderr)
    return 1 if failed else 0
