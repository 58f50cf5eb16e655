"""The ``envgrid`` command: one entry point, one subcommand per job.

Each subcommand lives in the package that owns the job (``ingest.cli`` for
``serve``, ``protocol.cli`` for ``decode`` ...).  A subcommand module exposes
``configure(parser)`` to add its arguments and ``run(args) -> int``.  Modules
are imported only when their subcommand is chosen, so ``envgrid --help`` and
the light commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "serve": Command("ingest.cli_serve", "run the HJ 212 server, web dashboard and alert engine"),
    "station": Command("ingest.cli_station", "list stations, approve pending ones, send commands"),
    "simulate": Command("simulators.cli", "run simulated stations against a server"),
    "bench": Command("bench.cli", "run a benchmark scenario and write its report"),
    "decode": Command("protocol.cli_decode", "decode an HJ 212 byte stream to JSON lines"),
    "encode": Command("protocol.cli_encode", "build an HJ 212 reply or command frame from JSON"),
    "aqi": Command("aggregates.cli_aqi", "compute AQI (HJ 633) from JSON concentrations"),
    "aqci": Command("aggregates.cli_aqci", "compute the composite index (综合指数) from JSON"),
    "report": Command(
        "aggregates.cli_report", "write a station/region/grid report (XLSX/PDF/DOCX/CSV/PNG)"
    ),
    "db": Command("store.cli_db", "database: migrate, status, start the embedded cluster"),
    "config": Command("store.cli_config", "show the effective configuration"),
    "user": Command("web.cli_user", "manage dashboard users"),
    "alerts": Command("alerts.cli", "alert rules, silences, notification tests"),
    "grid": Command("web.casework.grid.cli", "import/export grid areas (GeoJSON), grid people"),
}


#: Top-level options that take a separate value (``--config FILE``).
_VALUE_OPTIONS = frozenset({"--config"})


def _chosen(argv: Sequence[str]) -> str | None:
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token.startswith("-"):
            skip = token in _VALUE_OPTIONS
            continue
        return token if token in COMMANDS else None
    return None


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="envgrid",
        description="envgrid — HJ 212 telemetry platform (HJ 212-2017 and HJ/T 212-2005).",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration file (default: envgrid.toml if present)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen(argv)
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if name == chosen:
            module = importlib.import_module(cmd.module)
            module.configure(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
