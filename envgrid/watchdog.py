"""systemd readiness and watchdog for ``envgrid serve`` (``Type=notify``, ``WatchdogSec=``).

The notification protocol (sd_notify(3)) is one datagram of ``KEY=value`` lines to the
Unix socket named by ``$NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract
namespace); :class:`Notifier` sends it with the standard library (the PyPI wrappers are
unmaintained, and ``systemd-python`` needs libsystemd headers to build — for one
datagram neither is worth it).  Outside systemd (no ``$NOTIFY_SOCKET``) nothing is sent.

Theory of operation
-------------------
The supervisor sends ``READY=1`` once the HJ 212 port accepts connections and the start
banner is out, ``STOPPING=1`` when it begins to stop, and ``STATUS=`` lines on the way.
With ``WatchdogSec=`` (systemd passes ``$WATCHDOG_USEC``) :class:`Watchdog` runs every
half of that period.  While starting (migrations may take minutes) it pings
unconditionally, each ping extending the start timeout (``EXTEND_TIMEOUT_USEC``) by three
of its periods, so ``TimeoutStartSec=`` stops only a start whose event loop hangs; once
ready it runs the
checks of ``/readyz`` and sends ``WATCHDOG=1`` only while they pass
(:func:`healthy`):

* *ingest* — the HJ 212 port accepts a connection, or a worker reports that it closed
  its listener because it holds its connection limit (``envgrid_workers_not_accepting``,
  read from the supervisor's metrics directory): a full server is not a hung one;
* *database* — ``SELECT 1`` answers within 2 s.  Required when the database is the
  embedded cluster the supervisor runs (a restart brings it back).  With an external
  database a failure is reported (``STATUS=``, a warning) but does not stop the pings:
  the workers spool and ack while it is away, and a restart could not bring it back —
  it would only stop the ingest.

A supervisor whose event loop hangs sends nothing at all, so systemd restarts it after
``WatchdogSec=`` either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import asyncpg

from store.db import connect
from web.health import CHECK_TIMEOUT_S, listener_error

__all__ = ["Checks", "Notifier", "Watchdog", "describe", "healthy"]

log = logging.getLogger("envgrid.watchdog")

NOT_ACCEPTING: Final = "envgrid_workers_not_accepting"


@dataclass(slots=True)
class Notifier:
    """Sends sd_notify datagrams to ``address`` (None: not under systemd, a no-op);
    ``watchdog_s``: the watchdog period systemd expects pings within (None: off)."""

    address: str | None = None
    watchdog_s: float | None = None
    _failing: bool = field(default=False, init=False, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], pid: int | None = None) -> Notifier:
        """From ``$NOTIFY_SOCKET``, ``$WATCHDOG_USEC`` and ``$WATCHDOG_PID`` (the watchdog
        is ours only when that names ``pid``, default this process)."""
        raw = environ.get("NOTIFY_SOCKET", "")
        address = raw if raw.startswith(("/", "@")) and len(raw) > 1 else None
        if raw and address is None:
            log.warning("NOTIFY_SOCKET=%r is neither a path nor @abstract; not notifying", raw)
        watchdog_s = None
        usec = environ.get("WATCHDOG_USEC", "")
        owner = environ.get("WATCHDOG_PID", "")
        mine = not owner or owner == str(pid if pid is not None else os.getpid())
        if usec.isdigit() and int(usec) > 0 and mine and address is not None:
            watchdog_s = int(usec) / 1_000_000
        return cls(address, watchdog_s)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send ``lines`` as one datagram; False (logged) when the socket refuses."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:  # never blocks the event loop: a receiver that does not read loses it
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(lines).encode("utf-8"), socket.MSG_DONTWAIT, target)
        except OSError as exc:
            if not self._failing:  # once until a datagram goes through again
                log.warning("sd_notify to %s failed: %s", self.address, exc)
            self._failing = True
            return False
        self._failing = False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def extend_start(self, seconds: float) -> bool:
        """A ping that also moves the start timeout ``seconds`` ahead (systemd ≥ 236):
        a start that keeps its event loop turning — a long migration — is not killed at
        ``TimeoutStartSec=``; a hung one stops extending it."""
        return self.notify("WATCHDOG=1", f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")


@dataclass(frozen=True, slots=True)
class Checks:
    """Outcome of one round: the HJ 212 listener, the database."""

    ingest: bool
    database: bool


def healthy(checks: Checks, *, embedded: bool) -> bool:
    """Whether this round earns a ping (module docstring): the ingest must pass; the
    database only when it is the embedded cluster."""
    return checks.ingest and (checks.database or not embedded)


def describe(checks: Checks) -> str:
    """The ``STATUS=`` text of a round: ``running``, or what fails."""
    pairs = (("ingest", checks.ingest), ("database", checks.database))
    failing = [name for name, ok in pairs if not ok]
    return "degraded: " + " and ".join(failing) + " failing" if failing else "running"


@dataclass(slots=True)
class Watchdog:
    """Pings ``notifier`` every half watchdog period (see the module docstring).
    ``ready()`` tells whether the start is over; ``metrics_dir`` is the supervisor's
    prometheus multiprocess directory."""

    notifier: Notifier
    dsn: Callable[[], str]
    listener: tuple[str, int]
    embedded: bool
    metrics_dir: str | None = None
    _conn: asyncpg.Connection | None = field(default=None, init=False)
    _last: str = field(default="", init=False)

    async def run(self, ready: Callable[[], bool]) -> None:
        assert self.notifier.watchdog_s is not None
        interval = self.notifier.watchdog_s / 2
        try:
            while True:
                if not ready():  # starting: alive, and the start may take longer
                    self.notifier.extend_start(3 * interval)
                elif await self.round():
                    self.notifier.ping()
                await asyncio.sleep(interval)
        finally:
            await self.close()

    async def round(self) -> bool:
        """One round of checks; True when it earns a ping.  Changes go to STATUS=."""
        checks = Checks(await self._ingest(), await self._database())
        text = describe(checks)
        if text != self._last:
            self._last = text
            self.notifier.status(text)
            if text != "running":
                log.warning("watchdog: %s", text)
        return healthy(checks, embedded=self.embedded)

    async def _ingest(self) -> bool:
        if await listener_error(self.listener) is None:
            return True
        return self._workers_at_limit()

    def _workers_at_limit(self) -> bool:
        if not self.metrics_dir:
            return False
        from prometheus_client import CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, self.metrics_dir)  # type: ignore[no-untyped-call]
        return (registry.get_sample_value(NOT_ACCEPTING) or 0) > 0

    async def _database(self) -> bool:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                if self._conn is None or self._conn.is_closed():
                    self._conn = await connect(self.dsn(), application_name="envgrid-watchdog")
                await self._conn.fetchval("SELECT 1")
            return True
        except Exception as exc:
            log.debug("watchdog: the database does not answer (%s)", exc)
            await self.close()
            return False

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()
