"""``envgrid serve``: the supervisor process.

Theory of operation
-------------------
The supervisor owns everything that exists once per installation:

1. the database — the embedded PostgreSQL cluster in ``core.data_dir/pg`` when
   no DSN is configured (started here, stopped on exit) — made ready by
   :func:`store.prepare.prepare_database` (engine, migrations, partitions);
2. the child processes: ``ingest.workers`` ingest workers sharing the HJ 212
   port through SO_REUSEPORT (one process holds at most the open-files limit
   of sockets), plus the services the caller passes (web, alerts and the one
   scheduler) as :class:`Service` values naming their entry functions —
   started with *spawn*, restarted with backoff when they die;
3. the Prometheus endpoint (``/metrics``: prometheus_client in multiprocess
   mode, summing what every child writes) and the periodic housekeeping
   (partitions ahead, retention);
4. under systemd, readiness and the watchdog (:mod:`envgrid.watchdog`): ``READY=1``
   after the banner, ``WATCHDOG=1`` while the checks of ``/readyz`` pass, ``STOPPING=1``.

Stopping (SIGTERM/SIGINT): children get SIGTERM and stop gracefully (a worker
stops accepting, flushes, acks and closes), stragglers are killed after
``stop_timeout``; then the embedded cluster stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.process
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from envgrid.lifecycle import record_settings
from envgrid.settings import Settings
from envgrid.watchdog import Notifier, Watchdog
from ingest.server import run_worker
from store.config import mask_dsn
from store.embedded import EmbeddedPostgres, embedded_from_settings
from store.engine import Engine, EngineInfo
from web.health import listener_address, listener_error

__all__ = ["Service", "Supervisor"]

log = logging.getLogger("envgrid.supervisor")

_RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)


#: A child's entry function, called in the child with ``(settings, dsn, engine, index)``;
#: a module-level function, since *spawn* pickles it by its qualified name.
Target = Callable[[Settings, str, Engine, int], None]


@dataclass(frozen=True, slots=True)
class Service:
    """A child process: ``target`` runs it; ``describe(settings)``, if given, is its line
    in the start banner."""

    name: str
    target: Target
    index: int = 0
    describe: Callable[[Settings], str] | None = None


@dataclass(slots=True)
class _Child:
    service: Service
    process: multiprocessing.process.BaseProcess | None = None
    started: float = 0.0
    restarts: int = 0
    next_start: float = 0.0


def process_title(name: str) -> str:
    """A child's name as the kernel keeps it (15 bytes): ``envgrid-alerts``,
    ``envgrid-web``; longer ones as ``eg-ingest-0``, ``eg-ingest-12``."""
    if len(name) <= 15:
        return name
    return ("eg-" + name.removeprefix("envgrid-"))[:15]


def _call_target(
    target: Target, settings: Settings, dsn: str, engine: Engine, index: int, multiproc_dir: str
) -> None:
    """Entry point of every child (module level: spawn pickles it by name)."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc_dir
    with contextlib.suppress(OSError):  # ps/top show envgrid-alerts, eg-ingest-0 …
        Path("/proc/self/comm").write_text(process_title(multiprocessing.current_process().name))
    target(settings, dsn, engine, index)


@dataclass(slots=True)
class Supervisor:
    settings: Settings
    services: Sequence[Service] = ()
    out: TextIO = field(default_factory=lambda: sys.stdout)
    stop_timeout: float = 30.0
    on_ready: Callable[[Supervisor], None] | None = None
    dsn: str = ""
    engine: EngineInfo | None = None
    retention: dict[str, int] = field(default_factory=dict)
    notifier: Notifier = field(default_factory=Notifier)
    _ready: bool = False
    _embedded: EmbeddedPostgres | None = None
    _children: list[_Child] = field(default_factory=list)
    _stop: asyncio.Event | None = None

    # -- entry point -------------------------------------------------------------------
    def run(self) -> int:
        try:
            import uvloop

            return uvloop.run(self._main())
        except KeyboardInterrupt:
            return 130

    async def _main(self) -> int:
        self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        log.info(
            "envgrid starting (pid %d; %d ingest workers%s)",
            os.getpid(),
            self.settings.ingest.worker_count if self._ingest else 0,
            "".join(f", {s.name}" for s in self.services),
            extra={"event": "start", "service": "supervisor"},
        )
        record_settings(self.settings, self.settings.core.data_dir)
        watchdog = self._start_watchdog()
        try:
            await self._start_database()
            if self._ingest:
                self._check_port()
            multiproc = self._metrics_dir()
            self._spawn_all(multiproc)
            metrics_runner = await self._start_metrics()
            if self._ingest:
                await self._wait_listening()
            log.info(
                "envgrid running: HJ 212 on %s:%d, database %s; roles %s",
                self.settings.ingest.host,
                self.settings.ingest.port,
                self.engine.describe() if self.engine else "?",
                ",".join(self.settings.cluster.roles),
            )
            self._banner()
            self._ready = True
            self.notifier.ready(f"running: HJ 212 on port {self.settings.ingest.port}")
            if self.on_ready is not None:
                self.on_ready(self)
            housekeeping = loop.create_task(self._housekeeping())
            await self._monitor(multiproc)
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            if metrics_runner is not None:
                await metrics_runner.cleanup()
            return 0
        except StartupError as exc:
            log.error("%s", exc)
            print(f"envgrid serve: {exc}", file=sys.stderr)
            return 1
        finally:
            stopping = time.monotonic()
            self.notifier.stopping()
            if watchdog is not None:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
            await self._stop_children()
            await self._stop_database()
            log.info(
                "envgrid stopped (in %.1f s)",
                time.monotonic() - stopping,
                extra={"event": "stop", "service": "supervisor"},
            )

    @property
    def _ingest(self) -> bool:
        """This host runs the HJ 212 workers (the ``ingest`` role)."""
        return "ingest" in self.settings.cluster.roles

    def _on_signal(self, sig: signal.Signals) -> None:
        assert self._stop is not None
        if not self._stop.is_set():
            log.info("envgrid stopping on %s", sig.name)
        self._stop.set()

    def _start_watchdog(self) -> asyncio.Task[None] | None:
        if self.notifier.watchdog_s is None:
            return None
        ing = self.settings.ingest
        watchdog = Watchdog(
            self.notifier,
            lambda: self.dsn,
            listener_address(ing.host, ing.port),
            embedded=not self.settings.database.dsn,
            metrics_dir=str(self._metrics_path()),
        )
        log.info("systemd watchdog: a check every %.1f s", self.notifier.watchdog_s / 2)
        return asyncio.get_running_loop().create_task(watchdog.run(lambda: self._ready))

    # -- database ------------------------------------------------------------------------
    async def _start_database(self) -> None:
        from store.prepare import prepare_database
        from store.secretbox import box_for

        core, db = self.settings.core, self.settings.database
        if db.dsn:
            self.dsn = db.dsn
            log.info("using the database at %s", mask_dsn(db.dsn))
        else:
            self._embedded = embedded_from_settings(core, db)
            try:
                self.dsn = await self._embedded.astart()
            except Exception as exc:
                raise StartupError(f"cannot start the embedded PostgreSQL: {exc}") from exc
        ing = self.settings.ingest
        retention = {
            "measurements_rtd": ing.retention_rtd_days,
            "measurements_minute": ing.retention_minute_days,
            "measurements_hour": ing.retention_hour_days,
            "measurements_day": ing.retention_day_days,
            "packet_ledger": ing.retention_ledger_days,
            "equipment_status": ing.retention_status_days,
        }
        try:
            self.engine = await prepare_database(
                self.dsn,
                engine=db.engine,
                retention_days=retention,
                migrate_schema=db.migrate_on_start,
                compress_after_days=db.compress_after_days,
                rollup_refresh_days=db.rollup_refresh_days,
                box=box_for(core.secret_key_path),
            )
        except Exception as exc:
            raise StartupError(f"cannot prepare the database: {exc}") from exc
        self.retention = retention

    async def _stop_database(self) -> None:
        if self._embedded is not None and self._embedded.started_here:
            await self._embedded.astop()

    # -- children ------------------------------------------------------------------------
    def _check_port(self) -> None:
        ing = self.settings.ingest
        sock = socket.socket(socket.AF_INET6 if ":" in ing.host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((ing.host, ing.port))
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {ing.host}:{ing.port} ({exc.strerror}); another program"
                " holds the port — stop it or set ingest.port"
            ) from None
        finally:
            sock.close()

    def _metrics_path(self) -> Path:
        return self.settings.core.data_dir / "run" / "metrics"

    def _metrics_dir(self) -> str:
        path = self._metrics_path()
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True, exist_ok=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
        return str(path)

    def _spawn_all(self, multiproc: str) -> None:
        workers = [
            Service(f"ingest-{i}", run_worker, i)
            for i in range(self.settings.ingest.worker_count if self._ingest else 0)
        ]
        self._children = [_Child(s) for s in (*workers, *self.services)]
        for child in self._children:
            self._spawn(child, multiproc)

    def _spawn(self, child: _Child, multiproc: str) -> None:
        assert self.engine is not None
        ctx = multiprocessing.get_context("spawn")
        process = ctx.Process(
            target=_call_target,
            args=(
                child.service.target,
                self.settings,
                self.dsn,
                self.engine.engine,
                child.service.index,
                multiproc,
            ),
            name=f"envgrid-{child.service.name}",
            daemon=False,
        )
        process.start()
        child.process = process
        child.started = time.monotonic()
        log.info(
            "started %s (pid %s)",
            child.service.name,
            process.pid,
            extra={"event": "start", "service": child.service.name, "child_pid": process.pid},
        )

    async def _monitor(self, multiproc: str) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.5)
            now = time.monotonic()
            for child in self._children:
                proc = child.process
                if proc is not None and proc.is_alive():
                    if now - child.started > 60:
                        child.restarts = 0
                    continue
                if proc is not None:
                    code = proc.exitcode
                    _mark_dead(multiproc, proc.pid)
                    log.error(
                        "%s (pid %s) exited with code %s; restarting",
                        child.service.name,
                        proc.pid,
                        code,
                        extra={"event": "exit", "service": child.service.name, "code": code},
                    )
                    child.process = None
                    delay = _RESTART_BACKOFF[min(child.restarts, len(_RESTART_BACKOFF) - 1)]
                    child.next_start = now + delay
                    child.restarts += 1
                if now >= child.next_start and not self._stop.is_set():
                    self._spawn(child, multiproc)

    async def _stop_children(self) -> None:
        alive = [
            c.process for c in self._children if c.process is not None and c.process.is_alive()
        ]
        for proc in alive:
            proc.terminate()  # SIGTERM: the child stops gracefully
        await asyncio.to_thread(_join_all, alive, self.stop_timeout)
        for proc in alive:
            if proc.is_alive():
                log.error("%s did not stop in %.0f s; killing it", proc.name, self.stop_timeout)
                proc.kill()
            proc.join(5)
            log.info(
                "stopped %s (pid %s, exit code %s)",
                proc.name,
                proc.pid,
                proc.exitcode,
                extra={"event": "stop", "service": proc.name, "child_pid": proc.pid},
            )

    async def _wait_listening(self, limit_s: float = 60.0) -> None:
        """Return once the HJ 212 port accepts connections (a worker is up)."""
        ing = self.settings.ingest
        address = listener_address(ing.host, ing.port)
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if await listener_error(address) is None:
                return
            await asyncio.sleep(0.1)
        raise StartupError(
            f"no ingest worker listened on port {ing.port} within {limit_s:.0f} s;"
            " see the log above"
        )

    # -- metrics and housekeeping ----------------------------------------------------------
    async def _start_metrics(self) -> Any:
        ing = self.settings.ingest
        if not ing.metrics_port:
            return None
        from aiohttp import web
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        from prometheus_client.multiprocess import MultiProcessCollector

        async def metrics(_request: web.Request) -> web.Response:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            body = await asyncio.to_thread(generate_latest, registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, ing.metrics_host, ing.metrics_port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise StartupError(
                f"cannot serve metrics on {ing.metrics_host}:{ing.metrics_port} ({exc.strerror});"
                " set ingest.metrics_port (0 = off)"
            ) from None
        return runner

    async def _housekeeping(self) -> None:
        from store.db import connect
        from store.partitions import apply_retention, ensure_ahead

        assert self.engine is not None
        last_retention = time.monotonic()
        while True:
            await asyncio.sleep(3600)
            try:
                conn = await connect(self.dsn, application_name="envgrid-housekeeping")
                try:
                    now = datetime.now(UTC)
                    await ensure_ahead(conn, self.engine.engine, now)
                    if time.monotonic() - last_retention > 6 * 3600:
                        await apply_retention(conn, self.engine.engine, self.retention, now)
                        last_retention = time.monotonic()
                finally:
                    await conn.close()
            except Exception as exc:
                log.warning("housekeeping failed (%s); retrying in an hour", exc)

    def _banner(self) -> None:
        ing = self.settings.ingest
        assert self.engine is not None
        host = ing.host if ing.host not in ("0.0.0.0", "::") else _local_address()
        where = (
            f"embedded PostgreSQL at {self.settings.core.pg_dir}"
            if self._embedded is not None
            else mask_dsn(self.dsn)
        )
        lines = ["", "envgrid is running"]
        if self._ingest:
            lines.append(
                f"  HJ 212 stations : tcp://{ing.host}:{ing.port}"
                f"  ({ing.worker_count} worker processes sharing the port)"
            )
        for service in self.services:
            if service.describe is not None:
                lines.append(f"  {service.name:<15} : {service.describe(self.settings)}")
        if ing.metrics_port:
            lines.append(
                f"  metrics         : http://{ing.metrics_host}:{ing.metrics_port}/metrics"
            )
        lines += [
            f"  database        : {where} — {self.engine.describe()}",
            f"  roles           : {', '.join(self.settings.cluster.roles)}",
            "",
        ]
        if self._ingest:
            lines += [
                f"Point a data logger at {host}:{ing.port} over TCP (HJ 212-2025, 2017 or 2005).",
                "Register it:  envgrid station add MN --password PW --name NAME --st 22",
                "  HJ 212-2025 with SM4: … --edition 2025 --sm4-key KEY",
                "  unknown MNs wait for approval: envgrid station pending | approve MN",
                "Try it:       envgrid simulate --list-stations --stations 100 | envgrid station"
                f" import - && envgrid simulate --port {ing.port} --stations 100",
            ]
        lines += ["Stop with Ctrl-C.", ""]
        print("\n".join(lines), file=self.out, flush=True)


class StartupError(RuntimeError):
    """envgrid cannot start; the message says what to change."""


def _join_all(processes: Sequence[multiprocessing.process.BaseProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for proc in processes:
        proc.join(max(0.0, deadline - time.monotonic()))


def _mark_dead(multiproc: str, pid: int | None) -> None:
    if pid is None:
        return
    with contextlib.suppress(Exception):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, multiproc)  # type: ignore[no-untyped-call]


def _local_address() -> str:
    """The address other machines most likely reach this one at (no traffic is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))
            return str(sock.getsockname()[0])
        except OSError:
            return "127.0.0.1"
