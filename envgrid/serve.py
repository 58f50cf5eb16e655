"""``envgrid serve``: run the server (ingest workers, web dashboard, alert engine)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from envgrid import leader
from envgrid.settings import Settings
from envgrid.supervisor import Service, Supervisor
from envgrid.watchdog import Notifier
from forward import process as forward_process
from store.logs import configure_logging
from store.validation import ConfigError
from web import process as web_process


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: the embedded cluster)")
    parser.add_argument("--host", help="HJ 212 listen address (ingest.host)")
    parser.add_argument("--port", type=int, help="HJ 212 port (ingest.port)")
    parser.add_argument("--workers", type=int, help="ingest worker processes (0 = one per core)")
    parser.add_argument("--data-dir", help="state directory (core.data_dir)")
    parser.add_argument("--no-web", action="store_true", help="do not start the web dashboard")
    parser.add_argument("--no-alerts", action="store_true", help="do not start the alert engine")
    parser.add_argument(
        "--no-forward",
        action="store_true",
        help="do not forward to upstream platforms (it runs beside the alert engine)",
    )


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, key in (
        ("dsn", "database.dsn"),
        ("host", "ingest.host"),
        ("port", "ingest.port"),
        ("workers", "ingest.workers"),
        ("data_dir", "core.data_dir"),
    ):
        value = getattr(args, attr, None)
        if value is not None:
            out[key] = value
    return out


def services(args: argparse.Namespace) -> list[Service]:
    """The child processes besides the ingest workers: the web dashboard, and the alert
    engine with the one scheduler and, beside it on the same (leader) host, the forwarder
    to upstream platforms (forward/).  With ``--no-alerts`` the dashboard's scheduled work
    (session purge, case deadlines and notices, patrol tasks …) still runs, in a process
    of its own, and nothing is forwarded; with neither, only the ingest workers run.
    ``--no-forward``: the alert engine without the forwarder."""
    out = []
    if not args.no_web:
        out.append(Service("web", web_process.run_web, describe=web_process.describe_endpoint))
    if not args.no_alerts:
        out.append(Service("alerts", leader.run_alerts, describe=leader.describe_endpoint))
    elif not args.no_web:
        out.append(Service("jobs", leader.run_jobs))
    if not args.no_alerts and not getattr(args, "no_forward", False):
        out.append(
            Service(
                "forward", forward_process.run_forward, describe=forward_process.describe_endpoint
            )
        )
    return out


def run(args: argparse.Namespace, load: Callable[[Mapping[str, Any]], Settings]) -> int:
    try:
        settings = load(overrides(args))
    except ConfigError as exc:
        print(f"envgrid serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.core.log_level, settings.core.log_format)
    notifier = Notifier.from_environ(os.environ)  # systemd's, not envgrid settings
    return Supervisor(settings, services(args), notifier=notifier).run()
