"""The forwarder: one :class:`~forward.link.TargetLink` task per enabled target, in one
process (``envgrid-forward`` under ``envgrid serve``; one per deployment).

Every ``reload_s``, and at once on ``NOTIFY envgrid_forward_targets`` (sent by
:mod:`forward.repo` when a target is added or removed), it reads the targets again — a
target added, removed or changed (its ``updated_at``) starts, stops or restarts its
link — and every ``status_s`` it writes each link's counters to ``forward_status`` (what
``envgrid forward status`` and the admin page show, from any process); the backlog
gauges of the Prometheus metrics follow every ``reload_s``.  The counters continue
from what ``forward_status`` holds, so they survive restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from store.db import CONNECTION_ERRORS, connect, create_pool
from store.secretbox import SecretBox

from . import queries
from .link import LinkCounters, LinkTuning, TargetLink
from .metrics import ForwardMetrics
from .repo import load_targets
from .targets import Target

__all__ = ["ForwardService"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Running:
    target: Target
    version: datetime | None
    link: TargetLink
    stop: asyncio.Event
    task: asyncio.Task[None]


@dataclass(eq=False)
class ForwardService:
    dsn: str
    box: SecretBox
    tuning: LinkTuning = field(default_factory=LinkTuning)
    metrics: ForwardMetrics | None = None
    reload_s: float = 5.0
    status_s: float = 1.0
    _pool: asyncpg.Pool | None = field(default=None, init=False)
    _links: dict[int, _Running] = field(default_factory=dict, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Forward until ``stop`` is set; retries while the database is away."""
        while not stop.is_set():
            try:
                self._pool = await create_pool(self.dsn, min_size=1, max_size=4)
            except CONNECTION_ERRORS as exc:
                log.warning("forwarder: database unavailable (%s); retrying", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.reload_s)
                continue
            changed = asyncio.Event()
            listener: asyncpg.Connection | None = None
            try:
                listener = await connect(self.dsn, application_name="envgrid-forward-listen")
                await listener.add_listener(queries.TARGETS_CHANNEL, _setter(changed))
                await self._serve(stop, changed)
            except CONNECTION_ERRORS as exc:
                log.warning("forwarder: database connection lost (%s); restarting", exc)
            finally:
                await self._stop_all()
                if listener is not None:
                    listener.terminate()
                await self._pool.close()
                self._pool = None

    async def _serve(self, stop: asyncio.Event, changed: asyncio.Event) -> None:
        """Reload the targets every ``reload_s`` and at once when one is added or removed
        (``NOTIFY envgrid_forward_targets``); save the status every ``status_s``."""
        loop = asyncio.get_running_loop()
        next_reload = 0.0
        while not stop.is_set():
            if changed.is_set() or loop.time() >= next_reload:
                changed.clear()
                await self.reload()
                await self.update_metrics()
                next_reload = loop.time() + self.reload_s
            await self.save_status()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, changed), self.status_s)

    async def reload(self) -> None:
        assert self._pool is not None
        rows = {
            r["id"]: r["updated_at"]
            for r in await self._pool.fetch(
                "SELECT id, updated_at FROM forward_targets WHERE enabled"
            )
        }
        targets = {t.id: t for t in await load_targets(self._pool, self.box)}
        for target_id in list(self._links):
            running = self._links[target_id]
            if target_id not in targets or rows.get(target_id) != running.version:
                await self._stop(target_id)
        for target_id, target in targets.items():
            if target_id not in self._links:
                await self._start(target, rows.get(target_id))

    async def _start(self, target: Target, version: datetime | None) -> None:
        assert self._pool is not None
        row = await self._pool.fetchrow(queries.LOAD_STATUS_SQL, target.id)
        counters = LinkCounters(**dict(row)) if row is not None else LinkCounters()
        metrics = self.metrics

        def changed(kind: str, n: int) -> None:
            if metrics is not None:
                metrics.bump(target.name, kind, n)

        link = TargetLink(
            target, self._pool, tuning=self.tuning, counters=counters, on_change=changed
        )
        stop = asyncio.Event()
        task = asyncio.create_task(link.run(stop), name=f"forward-{target.name}")
        self._links[target.id] = _Running(target, version, link, stop, task)
        log.info(
            "forward %s: started (%s:%d, HJ 212-%s)",
            target.name,
            target.host,
            target.port,
            target.edition,
        )

    async def _stop(self, target_id: int) -> None:
        running = self._links.pop(target_id)
        running.stop.set()
        try:
            await asyncio.wait_for(running.task, 10)
        except TimeoutError:  # wait_for has cancelled it; its unacked frames stay queued
            log.warning(
                "forward %s: the link did not stop within 10 s and was cancelled",
                running.target.name,
            )
        except Exception:  # a link that died is replaced at the next reload
            log.exception("forward %s: link failed", running.target.name)
        running.link.counters.connected = False
        if self._pool is not None:
            with contextlib.suppress(*CONNECTION_ERRORS, asyncpg.PostgresError):
                await self._save(running)

    async def _stop_all(self) -> None:
        for target_id in list(self._links):
            await self._stop(target_id)

    async def _save(self, running: _Running) -> None:
        assert self._pool is not None
        c = running.link.counters
        await self._pool.execute(
            queries.SAVE_STATUS_SQL,
            running.target.id,
            c.connected,
            c.connected_at,
            c.last_sent_at,
            c.last_ack_at,
            c.sent,
            c.acked,
            c.resent,
            c.errors,
            c.expired,
            c.last_error,
        )

    async def save_status(self) -> None:
        """Write every link's counters; restart a link whose task ended."""
        assert self._pool is not None
        for target_id, running in list(self._links.items()):
            if running.task.done():
                await self._stop(target_id)  # logged; started again at the next reload
                continue
            with contextlib.suppress(asyncpg.ForeignKeyViolationError):
                await self._save(running)  # a removed target: stopped at the next reload

    async def update_metrics(self) -> None:
        """The backlog gauges (a count over the outbox: every ``reload_s``, not every
        second)."""
        assert self._pool is not None
        if self.metrics is not None:
            self.metrics.pool.sample(self._pool)
            backlog = await self._pool.fetch(queries.BACKLOG_SQL)
            connected = {r.target.name: r.link.counters.connected for r in self._links.values()}
            self.metrics.set_backlog(
                [(r["name"], r["backlog"], r["oldest_s"] or 0.0) for r in backlog], connected
            )


async def _first(*events: asyncio.Event) -> None:
    """Until one of ``events`` is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


def _setter(event: asyncio.Event) -> Callable[..., None]:
    """A LISTEN callback that sets ``event``."""

    def notified(*_args: object) -> None:
        event.set()

    return notified
