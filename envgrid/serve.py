"""``envgrid serve``: run the server (ingest workers, web dashboard, alert engine) — all
of it, or the roles given (``--role ingest|web|alerts``, :mod:`store.cluster`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from envgrid import leader
from envgrid.settings import Settings
from envgrid.supervisor import Service, Supervisor
from envgrid.watchdog import Notifier
from forward import process as forward_process
from store.cluster import parse_roles
from store.logs import configure_logging
from store.validation import ConfigError
from web import process as web_process


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: the embedded cluster)")
    parser.add_argument("--host", help="HJ 212 listen address (ingest.host)")
    parser.add_argument("--port", type=int, help="HJ 212 port (ingest.port)")
    parser.add_argument("--workers", type=int, help="ingest worker processes (0 = one per core)")
    parser.add_argument("--data-dir", help="state directory (core.data_dir)")
    parser.add_argument(
        "--role",
        action="append",
        metavar="ROLES",
        help="what this host runs, comma-separated or repeated: ingest (HJ 212 workers), web"
        " (dashboard), alerts (candidate leader: alert engine and scheduled jobs, one per"
        " database); default all (cluster.roles)",
    )
    parser.add_argument(
        "--no-web", action="store_true", help="do not start the web dashboard (drops the web role)"
    )
    parser.add_argument(
        "--no-alerts",
        action="store_true",
        help="do not start the alert engine (drops the alerts role; with the dashboard on,"
        " its scheduled jobs still run here)",
    )
    parser.add_argument(
        "--no-forward",
        action="store_true",
        help="do not forward to upstream platforms (the forwarder runs on hosts with the"
        " alerts role, one elected per database)",
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


def roles(args: argparse.Namespace, configured: tuple[str, ...]) -> tuple[str, ...]:
    """The roles of this host: ``--role`` (else ``cluster.roles``) less what ``--no-web``
    / ``--no-alerts`` drop.  ConfigError when nothing is left or a role is unknown."""
    try:
        chosen = parse_roles(",".join(args.role)) if args.role else configured
    except ValueError as exc:
        raise ConfigError(f"--role: {exc}") from None
    dropped = {"web"} if args.no_web else set()
    dropped |= {"alerts"} if args.no_alerts else set()
    left = tuple(r for r in chosen if r not in dropped)
    if not left:
        raise ConfigError("nothing to run: --no-web/--no-alerts removed every role of --role")
    return left


def services(args: argparse.Namespace, host_roles: tuple[str, ...]) -> list[Service]:
    """The child processes besides the ingest workers: the web dashboard, and the
    candidate for leadership (the alert engine with the one scheduler, run while elected).
    With ``--no-alerts`` (the old flag) and the dashboard on, the dashboard's scheduled
    work (session purge, case deadlines and notices, patrol tasks …) still runs, in an
    elected process of its own; ``--role ingest,web`` runs no scheduler (the leader on
    another host does).  Hosts with the alerts role also run a candidate forwarder to
    upstream platforms (forward/: elected on a lock of its own, so one per database);
    ``--no-forward`` leaves it out."""
    out = []
    if "web" in host_roles:
        out.append(Service("web", web_process.run_web, describe=web_process.describe_endpoint))
    if "alerts" in host_roles:
        out.append(Service("alerts", leader.run_alerts, describe=leader.describe_endpoint))
    elif args.no_alerts and "web" in host_roles:
        out.append(Service("jobs", leader.run_jobs))
    if "alerts" in host_roles and not getattr(args, "no_forward", False):
        out.append(
            Service(
                "forward", forward_process.run_forward, describe=forward_process.describe_endpoint
            )
        )
    return out


def run(args: argparse.Namespace, load: Callable[[Mapping[str, Any]], Settings]) -> int:
    try:
        settings = load(overrides(args))
        host_roles = roles(args, settings.cluster.roles)
        if "web" in host_roles:  # a bad certificate: exit 2 here, not in the web process
            web_process.tls_context(settings.web)
    except ConfigError as exc:
        print(f"envgrid serve: {exc}", file=sys.stderr)
        return 2
    settings = replace(settings, cluster=replace(settings.cluster, roles=host_roles))
    configure_logging(settings.core.log_level, settings.core.log_format)
    notifier = Notifier.from_environ(os.environ)  # systemd's, not envgrid settings
    return Supervisor(settings, services(args, host_roles), notifier=notifier).run()
