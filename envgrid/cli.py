"""The ``envgrid`` command: one entry point, one subcommand per job.

Each subcommand lives in the package that owns the job (``ingest.cli_station`` for
``station``, ``protocol.cli_decode`` for ``decode`` ...) and exposes
``configure(parser)`` to add its arguments and ``run(args)``; a subcommand that needs
the configuration has ``run(args, load)``, where ``load(overrides)`` builds the root
:class:`~envgrid.settings.Settings` from ``--config``, the environment and the
command's own overrides (``--dsn`` …).  This module is the only place that knows every
subcommand: :func:`command_module` imports each one explicitly, and only when it is
chosen, so ``envgrid --help`` and the light commands start fast.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from store.logcontext import log_fields

__all__ = ["COMMANDS", "build_parser", "command_module", "main"]

#: Subcommand -> its one-line help, in the order ``envgrid --help`` lists them.
COMMANDS: Final[Mapping[str, str]] = {
    "serve": "run the HJ 212 server, web dashboard and alert engine",
    "station": "list stations, approve pending ones, send commands",
    "simulate": "run simulated stations against a server",
    "bench": "run a benchmark scenario and write its report",
    "decode": "decode an HJ 212 byte stream to JSON lines",
    "encode": "build an HJ 212 reply or command frame from JSON",
    "aqi": "compute AQI (HJ 633) from JSON concentrations",
    "aqci": "compute the composite index (综合指数) from JSON",
    "standards": "list and show the AQI/limits/composite-index tables in force",
    "report": "write a station/region/grid report (XLSX/PDF/DOCX/CSV/PNG)",
    "audit": "data audit: invalidate/restore official values, log, pre-audit proposals",
    "db": "database: migrate, status, start the embedded cluster",
    "config": "show the effective configuration, print an example, check a file",
    "user": "manage dashboard users",
    "alerts": "alert rules, silences, notification tests",
    "grid": "import/export grid areas (GeoJSON), grid people",
    "calendar": "working-time calendar: holidays, 调休 workdays, overrides",
    "forward": "forwarding to upstream platforms: add, list, status, remove targets",
    "install-systemd": "write the systemd unit and its environment file",
    "backup": "back up or restore the database, uploads, configuration and key",
    "demo": "load or clear the sample city (demo data, never on production)",
}

#: The subcommands whose ``run`` takes the settings loader as a second argument.
WITH_SETTINGS: Final = frozenset(
    {
        "serve",
        "station",
        "bench",
        "report",
        "audit",
        "db",
        "user",
        "alerts",
        "grid",
        "calendar",
        "forward",
        "demo",
    }
)


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name``, imported now."""
    match name:
        case "serve":
            from envgrid import serve

            return serve
        case "station":
            from ingest import cli_station

            return cli_station
        case "simulate":
            from simulators import cli as simulate

            return simulate
        case "bench":
            from bench import cli as bench

            return bench
        case "decode":
            from protocol import cli_decode

            return cli_decode
        case "encode":
            from protocol import cli_encode

            return cli_encode
        case "aqi":
            from aggregates import cli_aqi

            return cli_aqi
        case "aqci":
            from aggregates import cli_aqci

            return cli_aqci
        case "standards":
            from aggregates import cli_standards

            return cli_standards
        case "report":
            from aggregates import cli_report

            return cli_report
        case "audit":
            from aggregates.audit import cli as cli_audit

            return cli_audit
        case "db":
            from store import cli_db

            return cli_db
        case "config":
            from envgrid import config

            return config
        case "user":
            from web import cli_user

            return cli_user
        case "alerts":
            from alerts import cli as alerts

            return alerts
        case "grid":
            from web.casework.grid import cli as cli_grid

            return cli_grid
        case "calendar":
            from web.casework.kernel import calendar_cli

            return calendar_cli
        case "forward":
            from forward import cli as cli_forward

            return cli_forward
        case "install-systemd":
            from envgrid import systemd

            return systemd
        case "backup":
            from envgrid import backup_cli

            return backup_cli
        case "demo":
            from envgrid.demo import cli as demo

            return demo
    raise KeyError(name)


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
    for name, text in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        if name == chosen:
            module = command_module(name)
            module.configure(p)
            p.set_defaults(_run=module.run)
    return parser


def _loader(args: argparse.Namespace) -> Any:
    """``load(overrides)``: the root settings from ``--config``, the environment and
    ``overrides`` (raises ``ConfigError``, which each subcommand reports in its words).
    ``envgrid bench`` gets defaults and overrides only: what it runs in-process must not
    depend on a local envgrid.toml or ENVGRID_* variables."""
    from envgrid.settings import load_settings
    from store.logs import configure_cli_logging

    config = Path(args.config) if args.config else None
    bench = args.command == "bench"

    def load(overrides: Mapping[str, Any] | None = None) -> Any:
        if bench:
            return load_settings(None, {}, overrides or {}, discover=False)
        settings = load_settings(config, os.environ, overrides or {})
        configure_cli_logging(settings.core.log_level, settings.core.log_format)
        return settings

    return load


def _migrated_fully(args: argparse.Namespace) -> bool:
    """``envgrid db migrate`` to the latest version (the work calendar is filled after)."""
    return (
        args.command == "db"
        and getattr(args, "db_command", None) == "migrate"
        and getattr(args, "target", None) is None
    )


def cli_user() -> str:
    """Who runs a command, as its log lines name them: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    try:
        with log_fields(user=cli_user()):
            if args.command in WITH_SETTINGS:
                status = int(args._run(args, _loader(args)) or 0)
                if status == 0 and _migrated_fully(args):
                    # the composition root wires the casework calendar after store's migrate
                    from web.casework.kernel.calendar_cli import fill_after_migrate

                    status = fill_after_migrate(_loader(args), getattr(args, "dsn", None))
                return status
            return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
