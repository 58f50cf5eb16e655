"""The alert engine's process under ``envgrid serve`` (spawned by ingest/supervisor.py as
``"alerts.process:run_alerts"``): one :class:`~alerts.service.AlertService` on uvloop
until SIGTERM/SIGINT, then a graceful stop (last transitions written, rule state saved,
queued messages sent)."""

from __future__ import annotations

import asyncio
import logging
import signal

from store.engine import Engine
from store.settings import Settings

from .service import CONNECTION_ERRORS, AlertService

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
    from store.logs import configure_logging

    del engine, index  # the engine's SQL is the same on both storage engines
    configure_logging(settings.core.log_level, settings.core.log_format)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    else:
        runner = uvloop.run

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, dsn, stop)

    runner(main())
