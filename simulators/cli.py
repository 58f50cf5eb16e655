"""``envgrid simulate``: simulated HJ 212 data loggers against a (loopback) server.

``configure(parser)`` adds the flags, ``run(args)`` runs and returns the exit
status (0; 1 when a simulator process failed; 2 for a bad setting).  Every
flag maps onto a :class:`~simulators.config.FleetConfig` field (or, with
``--replay``, a :class:`~simulators.replay.ReplayConfig` field).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from store.progress import Progress

from . import multi
from .clock import parse_start_time, zone
from .config import DEFAULT_DURATION, DEFAULT_PORT, ConfigError, FleetConfig
from .editions import parse_edition_mix
from .faults import FAULT_GRAMMAR, parse_faults
from .identities import Area
from .progress import ProgressPrinter, human_summary, write_json
from .replay import ReplayConfig, run_replay
from .result import FleetResult

__all__ = ["build_config", "build_replay_config", "configure", "run"]

log = logging.getLogger("envgrid.simulators")

_EPILOG = f"""\
{FAULT_GRAMMAR}

time: DataTimes, schedules and fault durations are simulated time (--time-scale X runs X
simulated seconds per real second); --duration, --ack-timeout, reconnect back-off and the
slow-sender dribble are real seconds.  Without --duration or --max-frames a run lasts
{DEFAULT_DURATION:g} s.

examples:
  envgrid simulate --port 2121 --stations 100 --st 22,31,32 --minute 10 --hourly
  envgrid simulate --port 2121 --stations 50000 --time-scale 60 --duration 600 --json run.json
  envgrid simulate --port 2121 --stations 500 --pace fast --rate 5000 --max-frames 100000
  envgrid simulate --port 2121 --stations 20 --faults offline:0.001:20m,stuck:0.01,badcrc:0.01
  envgrid simulate --port 2121 --replay capture.txt --replay-pace fast
  envgrid simulate --stations 1000 --st 22,31,32 --list-stations > stations.json
  envgrid simulate --port 2121 --stations 100 --edition 2025 --encrypt --heartbeat 60
  envgrid simulate --stations 100 --edition-mix 2017:0.5,2025:0.5 --list-stations > mixed.json
"""


def _pair(text: str, what: str) -> tuple[float, float]:
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        raise ConfigError(f"{what} takes LAT,LON (e.g. 30.27,120.15), got {text!r}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise ConfigError(f"{what} takes two numbers LAT,LON, got {text!r}") from None


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        south, west, north, east = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--bbox takes SOUTH,WEST,NORTH,EAST in degrees, got {text!r}") from None
    return south, west, north, east


def _source_addresses(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    text = text.strip()
    if text.isdigit():
        count = int(text)
        if not 1 <= count <= 254:
            raise ConfigError(f"--source-addresses COUNT must be 1..254, got {count}")
        return tuple(f"127.0.0.{i + 1}" for i in range(count))
    return tuple(a.strip() for a in text.split(",") if a.strip())


def _edition_mix(text: str) -> str:
    """``--edition-mix``: checked, written back as ``EDITION:WEIGHT,…``."""
    try:
        mix = parse_edition_mix(text)
    except ValueError as exc:
        raise ConfigError(f"--edition-mix: {exc}") from None
    return ",".join(f"{edition}:{weight:g}" for edition, weight in mix)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    add = parser.add_argument
    target = parser.add_argument_group("target")
    target.add_argument("--host", default="127.0.0.1", help="server address (loopback only)")
    target.add_argument("--port", type=int, default=DEFAULT_PORT, help="server port")

    fleet = parser.add_argument_group("stations")
    fleet.add_argument("--stations", type=int, default=10, metavar="N", help="number of stations")
    fleet.add_argument(
        "--edition",
        choices=("2017", "2005", "2025", "mix"),
        default="2017",
        help="protocol edition: HJ 212-2017, HJ/T 212-2005, HJ 212-2025 (Flag 8/9, 9015"
        " heartbeats, RF=1 on re-sent data), or mix (2005 and 2017, half and half)",
    )
    fleet.add_argument(
        "--edition-mix",
        default=None,
        metavar="E:W,…",
        help="editions drawn per station with these weights, e.g. 2017:0.5,2025:0.5"
        " (seeded: same seed, same stations; overrides --edition)",
    )
    fleet.add_argument(
        "--encrypt",
        action="store_true",
        help="2025 stations encrypt the CP of their data uploads (CN 2000-2999) and 3020 with"
        " their SM4 key (see --list-stations); they always decrypt encrypted commands",
    )
    fleet.add_argument(
        "--heartbeat",
        type=float,
        default=60.0,
        metavar="S",
        help="2025 stations send 9015 when they have sent nothing for S simulated seconds"
        " (60; 0: never) — so never more often than data when data come more often",
    )
    fleet.add_argument(
        "--st",
        default="22",
        metavar="LIST",
        help="station types, cycled over the stations: 21 surface water, 22 ambient air,"
        " 23 noise, 31 flue gas, 32 wastewater (default 22)",
    )
    fleet.add_argument("--pw", default="123456", help="station password")
    fleet.add_argument("--seed", type=int, default=1, help="seed: same seed, same fleet")
    fleet.add_argument(
        "--first-index", type=int, default=0, metavar="I", help="index of the first station"
    )
    fleet.add_argument(
        "--centre", "--center", default=None, metavar="LAT,LON", help="area centre (30.27,120.15)"
    )
    fleet.add_argument("--radius-km", type=float, default=25.0, help="area radius (25 km)")
    fleet.add_argument("--bbox", default=None, metavar="S,W,N,E", help="area as a bounding box")
    fleet.add_argument("--regions", type=int, default=8, help="districts in the area (8)")

    sched = parser.add_argument_group("uploads (simulated time)")
    sched.add_argument(
        "--rtd-interval", type=int, default=30, metavar="S", help="RtdInterval, 30..3600 s (30)"
    )
    sched.add_argument(
        "--minute",
        type=int,
        default=None,
        metavar="M",
        help="send minute data (2051) every M minutes (1,2,3,4,5,6,10,12,15,20,30)",
    )
    sched.add_argument(
        "--factors",
        default="",
        metavar="CODES",
        help="send only these factors, e.g. a21026,a21004,a21005,a05024,a34002,a34004",
    )
    sched.add_argument("--hourly", action="store_true", help="send hourly data (2061)")
    sched.add_argument("--daily", action="store_true", help="send daily data (2031; 2041)")
    sched.add_argument(
        "--status-every",
        type=int,
        default=1,
        metavar="N",
        help="send 2021 status with every Nth real-time sample (1; 0: never)",
    )
    sched.add_argument(
        "--no-realtime", action="store_true", help="start with real-time upload (2011) off"
    )
    sched.add_argument(
        "--phase",
        type=float,
        default=20.0,
        metavar="S",
        help="stations send up to S simulated seconds after each instant (20)",
    )

    clock = parser.add_argument_group("clock")
    clock.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second",
    )
    clock.add_argument(
        "--start-time",
        default=None,
        metavar="T",
        help="simulated start, ISO 8601 or YYYYMMDDhhmmss (default: now)",
    )
    clock.add_argument("--timezone", default="Asia/Shanghai", help="station clock zone")

    bounds = parser.add_argument_group("bounds (real time)")
    bounds.add_argument("--duration", type=float, default=None, metavar="S", help="run for S s")
    bounds.add_argument(
        "--max-frames", type=int, default=None, metavar="K", help="stop after K uploads"
    )
    bounds.add_argument(
        "--drain",
        type=float,
        default=10.0,
        metavar="S",
        help="after stopping, wait up to S s for outstanding acks (10)",
    )

    acks = parser.add_argument_group("acks and pacing")
    acks.add_argument("--no-ack", action="store_true", help="uploads ask for no 9014")
    acks.add_argument(
        "--ack-timeout", type=float, default=10.0, metavar="S", help="real s before resending (10)"
    )
    acks.add_argument("--retries", type=int, default=3, help="retransmissions before giving up (3)")
    acks.add_argument(
        "--window", type=int, default=16, help="unacked frames a station may have in flight (16)"
    )
    acks.add_argument(
        "--backlog", type=int, default=1000, help="frames a station queues before dropping (1000)"
    )
    acks.add_argument(
        "--pace",
        choices=("clock", "fast"),
        default="clock",
        help="clock: on schedule; fast: next frame as soon as the ack window allows",
    )
    acks.add_argument(
        "--rate", type=float, default=None, metavar="R", help="fast pace, at most R frames/s in all"
    )
    acks.add_argument(
        "--burst-at",
        type=float,
        default=None,
        metavar="S",
        help="fast pace: connect now, hold every upload until S seconds from now, then burst",
    )

    conns = parser.add_argument_group("connections and scale")
    conns.add_argument(
        "--connect-rate", type=float, default=1000.0, metavar="R", help="new connections/s (1000)"
    )
    conns.add_argument("--connect-timeout", type=float, default=10.0, metavar="S")
    conns.add_argument("--reconnect-min", type=float, default=1.0, metavar="S")
    conns.add_argument("--reconnect-max", type=float, default=30.0, metavar="S")
    conns.add_argument(
        "--processes",
        type=int,
        default=None,
        metavar="P",
        help="simulator processes (default: one per 15,000 stations)",
    )
    conns.add_argument(
        "--source-addresses",
        default=None,
        metavar="K|LIST",
        help="spread stations over K loopback addresses 127.0.0.1..K, or a list"
        " (default: one per 25,000 stations)",
    )
    conns.add_argument("--per-process", type=int, default=15_000, help=argparse.SUPPRESS)
    conns.add_argument("--per-address", type=int, default=25_000, help=argparse.SUPPRESS)
    conns.add_argument("--no-uvloop", action="store_true", help="use the stock asyncio loop")
    conns.add_argument(
        "--graceful-close",
        action="store_true",
        help="end connections with FIN (default RST: no client port left in TIME_WAIT)",
    )

    faults = parser.add_argument_group("faults and commands")
    faults.add_argument("--faults", default=None, metavar="SPEC", help="see the grammar below")
    faults.add_argument(
        "--history-limit", type=int, default=1000, help="most periods one history request returns"
    )
    faults.add_argument(
        "--no-history-ack",
        action="store_true",
        help="history answers ask for no 9014 ([S17] C.47 instead of C.48)",
    )

    out = parser.add_argument_group("output")
    out.add_argument("--json", default=None, metavar="FILE|-", help="write the summary as JSON")
    progress = out.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="progress line every second (default: when stderr is a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")
    out.add_argument("--quiet", action="store_true", help="no summary on stderr")
    out.add_argument(
        "--no-station-detail", action="store_true", help="leave per-station data out of --json"
    )
    out.add_argument(
        "--list-stations",
        action="store_true",
        help="print the station identities (JSON: mn, pw, name, st, edition, lat, lon …;"
        " sm4_key for 2025 stations) and exit, e.g. for envgrid station import",
    )

    replay = parser.add_argument_group("replay")
    replay.add_argument("--replay", default=None, metavar="FILE", help="send recorded frames")
    replay.add_argument("--replay-pace", choices=("original", "fast"), default="original")
    replay.add_argument(
        "--replay-filter",
        choices=("uplink", "all"),
        default="uplink",
        help="uplink: leave out 9014 and downlink-only commands (default)",
    )
    replay.add_argument(
        "--replay-max-gap", type=float, default=60.0, metavar="S", help="longest wait (60 s)"
    )
    del add


def build_config(args: argparse.Namespace) -> FleetConfig:
    """The FleetConfig a parsed command line describes (ConfigError if it cannot work)."""
    area_kwargs: dict[str, Any] = {"radius_km": args.radius_km, "regions": args.regions}
    if args.centre:
        area_kwargs["lat"], area_kwargs["lon"] = _pair(args.centre, "--centre")
    if args.bbox:
        area_kwargs["bbox"] = _bbox(args.bbox)
    try:
        area = Area(**area_kwargs)
        tz = zone(args.timezone)
        start = None if args.start_time is None else parse_start_time(args.start_time, tz)
        faults = parse_faults(args.faults)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return FleetConfig(
        host=args.host,
        port=args.port,
        stations=args.stations,
        first_index=args.first_index,
        edition=args.edition if args.edition_mix is None else _edition_mix(args.edition_mix),
        encrypt=args.encrypt,
        heartbeat=args.heartbeat,
        st=tuple(s.strip() for s in args.st.split(",") if s.strip()),
        pw=args.pw,
        seed=args.seed,
        area=area,
        rtd_interval=args.rtd_interval,
        factors=tuple(c for c in args.factors.split(",") if c),
        min_interval=args.minute,
        hourly=args.hourly,
        daily=args.daily,
        realtime=not args.no_realtime,
        status_every=args.status_every,
        phase=args.phase,
        time_scale=args.time_scale,
        start_time=start,
        timezone=args.timezone,
        duration=args.duration,
        start_at=(time.time() + args.burst_at) if args.burst_at is not None else None,
        max_frames=args.max_frames,
        drain=args.drain,
        ack=not args.no_ack,
        ack_timeout=args.ack_timeout,
        retries=args.retries,
        window=args.window,
        backlog=args.backlog,
        pace=args.pace,
        rate=args.rate,
        connect_rate=args.connect_rate,
        connect_timeout=args.connect_timeout,
        reconnect_min=args.reconnect_min,
        reconnect_max=args.reconnect_max,
        source_addresses=_source_addresses(args.source_addresses),
        graceful_close=args.graceful_close,
        processes=args.processes,
        per_process=args.per_process,
        per_address=args.per_address,
        faults=faults,
        history_limit=args.history_limit,
        history_ack=not args.no_history_ack,
        station_detail=not args.no_station_detail,
        uvloop=not args.no_uvloop,
    )


def build_replay_config(args: argparse.Namespace) -> ReplayConfig:
    addresses = _source_addresses(args.source_addresses)
    return ReplayConfig(
        path=args.replay,
        host=args.host,
        port=args.port,
        pace=args.replay_pace,
        time_scale=args.time_scale,
        max_gap=args.replay_max_gap,
        direction=args.replay_filter,
        timezone=args.timezone,
        window=args.window,
        ack_timeout=args.ack_timeout,
        retries=args.retries,
        connect_timeout=args.connect_timeout,
        reconnect_min=args.reconnect_min,
        reconnect_max=args.reconnect_max,
        source_address=addresses[0] if addresses else None,
        duration=args.duration,
        drain=args.drain,
        station_detail=not args.no_station_detail,
        uvloop=not args.no_uvloop,
    )


def _replay_blocking(config: ReplayConfig, printer: ProgressPrinter | None) -> FleetResult:
    async def main() -> FleetResult:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        try:
            return await run_replay(config, on_progress=printer, stop=stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    factory = multi.loop_factory(config.uvloop)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def _label(args: argparse.Namespace) -> str:
    """What the progress display calls the run."""
    if args.replay:
        return f"replay {Path(args.replay).name}"
    return f"simulate {args.stations} stations"


def run(args: argparse.Namespace) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.list_stations:
            config = build_config(args)
            json.dump([i.to_json() for i in config.identities()], sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
            return 0
        show = sys.stderr.isatty() if args.progress is None else args.progress
        with Progress(quiet=args.quiet or not show) as display:
            printer = (
                ProgressPrinter(
                    sys.stderr, display=display, label=_label(args), duration=args.duration
                )
                if show and not args.quiet
                else None
            )
            if args.replay:
                result = _replay_blocking(build_replay_config(args), printer)
            else:
                result = multi.run(build_config(args), printer, handle_signals=True)
            if printer is not None:
                printer.finish()
    except ConfigError as exc:
        sys.stderr.write(f"envgrid simulate: error: {exc}\n")
        return 2
    if not args.quiet:
        sys.stderr.write(human_summary(result) + "\n")
    if args.json:
        write_json(result, args.json)
    return 1 if result.errors else 0
