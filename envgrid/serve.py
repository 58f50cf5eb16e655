"""``envgrid serve``: run the server (ingest workers, web dashboard, alert engine)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

from store.logs import configure_logging
from store.settings import ConfigError, load_settings

from .supervisor import Service, Supervisor

#: Services besides the ingest workers, started when their package provides them.
OPTIONAL_SERVICES = (("web", "web.process:run_web"), ("alerts", "alerts.process:run_alerts"))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dsn", help="PostgreSQL DSN (default: the embedded cluster)")
    parser.add_argument("--host", help="HJ 212 listen address (ingest.host)")
    parser.add_argument("--port", type=int, help="HJ 212 port (ingest.port)")
    parser.add_argument("--workers", type=int, help="ingest worker processes (0 = one per core)")
    parser.add_argument("--data-dir", help="state directory (core.data_dir)")
    parser.add_argument("--no-web", action="store_true", help="do not start the web dashboard")
    parser.add_argument("--no-alerts", action="store_true", help="do not start the alert engine")


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
    out = []
    for name, target in OPTIONAL_SERVICES:
        if getattr(args, f"no_{name}", False):
            continue
        if importlib.util.find_spec(target.partition(":")[0]) is not None:
            out.append(Service(name, target))
    return out


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config, os.environ, overrides(args))
    except ConfigError as exc:
        print(f"envgrid serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.core.log_level, settings.core.log_format)
    return Supervisor(settings, services(args)).run()
