"""The common body of the processes ``envgrid serve`` spawns (ingest workers, web, alerts).

:func:`run_until_signalled` configures logging from the settings, logs the process's
start, runs its ``main(stop)`` on uvloop and sets ``stop`` on SIGTERM or SIGINT, so that
``main`` ends gracefully when the supervisor (or a terminal) asks, and logs its stop
(``event`` start/stop, ``service`` the process name: ``envgrid-web``, ``envgrid-ingest-0``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import signal
from collections.abc import Awaitable, Callable, Iterable

from store.logs import configure_logging
from store.settings import StoreConfig

__all__ = ["raise_nofile_limit", "run_until_signalled"]

log = logging.getLogger("envgrid.process")


def raise_nofile_limit() -> int:
    """Raise the soft open-files limit to the hard one; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def run_until_signalled(
    settings: StoreConfig,
    main: Callable[[asyncio.Event], Awaitable[None]],
    *,
    raise_nofile: bool = False,
    quiet: Iterable[str] = (),
) -> None:
    """Process entry point (blocking): run ``main(stop)``; SIGTERM/SIGINT set ``stop``.

    ``raise_nofile``: raise the open-files limit first (a process holding many sockets);
    ``quiet``: loggers that only log warnings and above.
    """
    configure_logging(settings.core.log_level, settings.core.log_format)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    if raise_nofile:
        raise_nofile_limit()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency
        runner = asyncio.run
    else:
        runner = uvloop.run

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    name = multiprocessing.current_process().name
    log.info("%s starting (pid %d)", name, os.getpid(), extra={"event": "start", "service": name})
    try:
        runner(until_signalled())
    finally:
        log.info("%s stopped (pid %d)", name, os.getpid(), extra={"event": "stop", "service": name})
