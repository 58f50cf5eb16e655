"""The alert engine's process under ``envgrid serve`` (spawned by ingest/supervisor.py as
``"alerts.process:run_alerts"``): one :class:`~alerts.service.AlertService` on uvloop
until SIGTERM/SIGINT, then a graceful stop (last transitions written, rule state saved,
queued messages sent)."""

from __future__ import annotations

import asyncio
import logging

from store.db import CONNECTION_ERRORS
from store.engine import Engine
from store.service import run_until_signalled
from store.settings import Settings

from .service import AlertService

__all__ = ["describe_endpoint", "run_alerts"]

log = logging.getLogger("envgrid.alerts")

_START_RETRY_S = 5.0


def describe_endpoint(settings: Settings) -> str:
    """One line for the supervisor's banner."""
    s = settings.alerts
    channels = f"SMTP {s.smtp_host}:{s.smtp_port}" if s.smtp_host else "SMTP not configured"
    return (
        f"offline after {s.offline_after_s} s, sweep every {s.sweep_interval_s:g} s;"
        f" {channels}; webhooks, WeCom, DingTalk"
    )


async def serve(settings: Settings, dsn: str, stop: asyncio.Event) -> None:
    """Run the engine until ``stop`` is set; retry the start while the database is away."""
    while not stop.is_set():
        service = AlertService(settings, dsn)
        try:
            await service.start()
        except CONNECTION_ERRORS as exc:
            log.warning("alert engine cannot start (%s); retrying in %.0f s", exc, _START_RETRY_S)
            try:
                await asyncio.wait_for(stop.wait(), _START_RETRY_S)
            except TimeoutError:
                continue
            return
        try:
            await stop.wait()
        finally:
            await service.stop()
        return


def run_alerts(settings: Settings, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point (blocking)."""
    del engine, index  # the engine's SQL is the same on both storage engines
    run_until_signalled(settings, lambda stop: serve(settings, dsn, stop), quiet=("apscheduler",))
