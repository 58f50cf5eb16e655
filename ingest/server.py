"""One ingest worker process: listener, connections, pipeline, state, commands.

:class:`IngestWorker` follows uvicorn's ``Server``: it owns the listening
socket (SO_REUSEPORT, so several workers share one port and the kernel spreads
connections over them), the background tasks and the graceful stop:

1. stop accepting new connections;
2. close the pipeline: every queued frame is written (or spooled) and acked;
3. close the station connections, flush the station state, stop the command
   listener, close the database connections.

A worker never holds more sockets than the open-files limit allows; the
supervisor (:mod:`ingest.supervisor`) runs several of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from ingest.settings import IngestConfig
from protocol import Decoder, Frame
from protocol.redact import mask_frame
from store.db import create_pool
from store.engine import Engine
from store.logcontext import station_fields
from store.partitions import PartitionCache
from store.secretbox import box_for
from store.service import raise_nofile_limit, run_until_signalled

from . import queries
from .commands import CommandTracker
from .connection import StationConnection
from .dispatch import Dispatcher
from .loopwatch import GcWatch, LoopLag, QuietGc
from .metrics import WorkerMetrics
from .pipeline import Pipeline
from .registry import Station, StationRegistry
from .settings import IngestSettings
from .spool import Spool, SpoolRecord
from .state import StateFlusher
from .writer import BatchWriter, Inbound

__all__ = ["IngestWorker", "listening_socket", "raise_nofile_limit", "run_worker"]

log = logging.getLogger(__name__)


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A TCP listener that other workers can share (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(slots=True)
class _Tasks:
    items: list[asyncio.Task[Any]]

    def cancel(self) -> None:
        for task in self.items:
            task.cancel()


class IngestWorker:
    def __init__(
        self,
        settings: IngestConfig,
        dsn: str,
        engine: Engine,
        *,
        index: int = 0,
        port: int | None = None,
    ) -> None:
        self.settings = settings
        self.dsn = dsn
        self.engine = engine
        self.index = index
        self.port = settings.ingest.port if port is None else port
        self.tz = ZoneInfo(settings.core.timezone)
        self.box = box_for(settings.core.secret_key_path)
        self.registry = StationRegistry(box=self.box)
        self.dispatcher: Dispatcher | None = None
        self.pipeline: Pipeline | None = None
        self.metrics: WorkerMetrics | None = None
        self.spool: Spool | None = None
        self._pool: asyncpg.Pool | None = None
        self._server: asyncio.Server | None = None
        self._tasks = _Tasks([])
        self._writer_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._reload_pending = False
        self._stop_request: asyncio.Event | None = None
        self._reload_task: asyncio.Task[None] | None = None
        self._relisten: asyncio.Task[None] | None = None
        self.capacity, self.capacity_low = connection_capacity(settings.ingest)
        self.bound_port = 0
        self._loop_lag: LoopLag | None = None
        self._gc_watch = GcWatch()
        self._quiet_gc = QuietGc()

    async def start(self) -> None:
        ing = self.settings.ingest
        db = self.settings.database
        self._pool = await create_pool(
            self.dsn,
            min_size=1,
            max_size=max(2, min(db.pool_max, 6)),
            application_name=f"envgrid-worker-{self.index}",
        )
        async with self._pool.acquire() as conn:
            await self.registry.load(conn)
            factor_ids = {r["code"]: r["id"] for r in await conn.fetch(queries.LOAD_FACTORS_SQL)}
            await conn.execute(queries.RESET_WORKER_STATE_SQL, self.index)
        dispatcher = Dispatcher(
            ing, worker=self.index, tz=self.tz, registry=self.registry, lookup=self._lookup
        )
        self.dispatcher = dispatcher
        writer = BatchWriter(
            self.dsn,
            self.engine,
            worker=self.index,
            factor_ids=factor_ids,
            partitions=PartitionCache(self.engine),
        )
        spool_dir = ing.spool_path(self.settings.core.data_dir) / f"worker-{self.index}"
        self.spool = Spool(
            spool_dir, max_bytes=ing.spool_max_bytes, fsync=ing.spool_fsync == "batch"
        )
        if not self.spool.is_empty():
            log.info(
                "worker %d: %d bytes left in the spool from a previous run; replaying",
                self.index,
                self.spool.size,
            )
        self.pipeline = pipeline = Pipeline(
            writer,
            self.spool,
            batch_rows=ing.batch_rows,
            batch_ms=ing.batch_ms,
            queue_high=ing.queue_high,
            queue_low=ing.queue_low,
            ack=dispatcher.ack,
            pause=dispatcher.pause_all,
            resume=dispatcher.resume_all,
            rebuild=self._rebuild,
        )
        dispatcher.pipeline = self.pipeline
        dispatcher.state = StateFlusher(
            self._pool,
            worker=self.index,
            busy=lambda: pipeline.busy,
            box=self.box,
            pending_max_total=ing.pending_max_total,
            pending_max_per_address=ing.pending_max_per_address,
        )
        dispatcher.commands = CommandTracker(
            self._pool,
            worker=self.index,
            sessions=dispatcher.sessions,
            loggers=dispatcher.loggers,
            registry_get=self.registry.get,
            timeout_s=ing.command_timeout_s,
            on_registry_change=self._registry_changed,
            box=self.box,
            sm4_rotate=timedelta(days=ing.sm4_rotate_days) if ing.sm4_rotate_days else None,
            tz=self.settings.core.timezone,
        )
        await dispatcher.commands.start(self.dsn)
        loop = asyncio.get_running_loop()
        self._loop_lag = LoopLag(loop)
        self._loop_lag.start()
        self._gc_watch.install()
        self.metrics = WorkerMetrics(
            self.index,
            dispatcher,
            self.pipeline,
            self.spool,
            self._pool,
            loop_lag=self._loop_lag,
            gc_watch=self._gc_watch,
        )
        self._writer_task = loop.create_task(self.pipeline.run(), name="writer")
        self._writer_task.add_done_callback(self._writer_done)
        self._tasks = _Tasks(
            [
                loop.create_task(dispatcher.state.run(), name="state"),
                loop.create_task(self._housekeeping(), name="housekeeping"),
            ]
        )
        await self._listen(self.port)
        dispatcher.on_connections = self._connections_changed
        # what start-up built (registry, tables, modules) lives as long as the process:
        # out of the collector's way, and young objects collected less often
        self._quiet_gc.apply()
        log.info(
            "worker %d listening on %s:%d (%d stations in the registry)",
            self.index,
            ing.host,
            self.bound_port,
            len(self.registry),
        )

    # -- the listener: accept only while there is room -------------------------------------
    async def _listen(self, port: int) -> None:
        ing = self.settings.ingest
        dispatcher = self.dispatcher
        assert dispatcher is not None
        sock = listening_socket(ing.host, port, ing.backlog)
        self.bound_port = sock.getsockname()[1]
        self._server = await asyncio.get_running_loop().create_server(
            lambda: StationConnection(dispatcher), sock=sock, backlog=ing.backlog
        )
        dispatcher.listener_paused = False

    def _connections_changed(self, n: int) -> None:
        """At ``capacity`` connections the listener closes: with SO_REUSEPORT the kernel
        then hands new connections to the other workers instead of queueing them where
        no descriptor is left to accept them.  Below ``capacity_low`` it opens again."""
        if self._stopped.is_set() or self.dispatcher is None:
            return
        if n >= self.capacity and self._server is not None:
            self._server.close()
            self._server = None
            self.dispatcher.listener_paused = True
            log.warning(
                "worker %d holds %d connections (ingest.max_connections_per_worker %d):"
                " not accepting new ones until it holds %d",
                self.index,
                n,
                self.capacity,
                self.capacity_low,
            )
        elif n <= self.capacity_low and self._server is None and self._relisten is None:
            self._relisten = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        try:
            await self._listen(self.bound_port)
        except OSError as exc:
            log.error(
                "worker %d cannot listen again on port %d: %s", self.index, self.bound_port, exc
            )
        else:
            if self._stopped.is_set() and self._server is not None:
                self._server.close()  # stop() came while the listener was being made
            else:
                log.info("worker %d accepting connections again", self.index)
        finally:
            self._relisten = None

    # -- helpers given to the dispatcher / pipeline ------------------------------------
    def _lookup(self, mn: str) -> asyncio.Future[Station | None]:
        async def lookup() -> Station | None:
            assert self._pool is not None
            try:
                async with self._pool.acquire() as conn:
                    station = await self.registry.lookup(conn, mn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("cannot look up MN %s (%s)", mn, exc, extra=station_fields(mn))
                return None
            if station is not None and station.modbus_crc and self.dispatcher is not None:
                self.dispatcher.refresh_modbus()
            return station

        return asyncio.ensure_future(lookup())

    def _rebuild(self, record: SpoolRecord) -> Inbound | None:
        """A spooled frame back into an Inbound (replay: nobody to ack)."""
        events = Decoder(max_length=9999).feed(record.raw)
        frame = events[0] if len(events) == 1 else None
        if not isinstance(frame, Frame):
            log.error("spool record does not decode (%r); skipped", mask_frame(record.raw)[:120])
            return None
        assert self.dispatcher is not None
        received = datetime.fromtimestamp(record.received_at, UTC)
        ts = self.dispatcher.parse_time(frame.data_time) or received
        return Inbound(
            frame,
            record.station_id,
            frame.mn or "",
            ts,
            received,
            time.monotonic(),
            weight=max(1, frame.cp.count(";")),
            replay=True,
        )

    async def _housekeeping(self) -> None:
        assert self.dispatcher is not None and self.metrics is not None
        d = self.dispatcher
        tick = 0
        stats_every = max(1, int(self.settings.ingest.stats_interval_s * 2))
        while True:
            await asyncio.sleep(0.5)
            tick += 1
            d.clock = time.monotonic()
            if tick % 2 == 0:
                self.metrics.update()
            if tick % 4 == 0:
                d.sweep_idle()
            if tick % 20 == 0:
                d.sweep_splits(d.clock)
                if d.commands is not None:
                    d.commands.expire()
                    await d.commands.ensure_listening()
            if tick % stats_every == 0:
                self.metrics.log_line()
            if tick % 120 == 0:
                await self._refresh_registry(only_if_changed=True)

    def _registry_changed(self) -> None:
        """NOTIFY envgrid_stations: reload soon (changes come in bursts: debounce)."""
        if self._reload_pending:
            return
        self._reload_pending = True

        async def reload() -> None:
            await asyncio.sleep(0.5)
            self._reload_pending = False
            await self._refresh_registry()

        self._reload_task = asyncio.get_running_loop().create_task(reload())

    async def _refresh_registry(self, *, only_if_changed: bool = False) -> None:
        """Reload the registry (a NOTIFY said it changed); the periodic check
        (``only_if_changed``) reloads only when the stations' fingerprint moved."""
        assert self._pool is not None and self.dispatcher is not None
        try:
            async with self._pool.acquire() as conn:
                if only_if_changed:
                    await self.registry.refresh(conn)
                else:
                    await self.registry.load(conn)
                await conn.execute(queries.EXPIRE_COMMANDS_SQL)
            self.dispatcher.refresh_modbus()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("registry refresh failed (%s); keeping the cached one", exc)

    # -- stopping -------------------------------------------------------------------------
    async def stop(self) -> None:
        """Graceful stop: stop accepting, flush and ack everything, close."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        log.info("worker %d stopping: no new connections, flushing", self.index)
        if self._server is not None:
            self._server.close()
        if self.pipeline is not None:
            await self.pipeline.close()
            if self._writer_task is not None:
                await self._writer_task
        self._tasks.cancel()
        await asyncio.gather(*self._tasks.items, return_exceptions=True)
        d = self.dispatcher
        if d is not None:
            await d.close_all()
            if d.state is not None:
                await d.state.flush()
            if d.commands is not None:
                await d.commands.stop()
        if self.metrics is not None:
            self.metrics.update()
        if self.pipeline is not None:
            await self.pipeline.writer.close()
        if self.spool is not None:
            self.spool.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        if self._pool is not None:
            await self._pool.close()
        if self._loop_lag is not None:
            self._loop_lag.stop()
        self._gc_watch.uninstall()
        self._quiet_gc.restore()
        log.info("worker %d stopped", self.index)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        """The writer only ends when the worker stops; if it ends otherwise, this worker
        can no longer make anything durable: stop it, so the supervisor starts a new one
        (its stations reconnect and retransmit whatever was not acked)."""
        if self._stopped.is_set():
            return
        error = None if task.cancelled() else task.exception()
        log.critical(
            "worker %d: the writer ended unexpectedly (%r); stopping this worker", self.index, error
        )
        if self._stop_request is not None:
            self._stop_request.set()

    async def serve(self, stop: asyncio.Event) -> None:
        """Start, run until ``stop``, stop."""
        self._stop_request = stop
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def connection_capacity(settings: IngestSettings) -> tuple[int, int]:
    """(stop accepting at, accept again at) connections for one worker."""
    capacity = settings.max_connections_per_worker
    if capacity <= 0:
        capacity = max(100, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 500)
    return capacity, max(1, capacity - max(100, capacity // 20))


def run_worker(settings: IngestConfig, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point used by the supervisor."""

    async def main(stop: asyncio.Event) -> None:
        # made on the running loop, after the open-files limit is raised
        await IngestWorker(settings, dsn, engine, index=index).serve(stop)

    run_until_signalled(settings, main, raise_nofile=True)
