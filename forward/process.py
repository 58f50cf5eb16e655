"""The forwarder's process under ``envgrid serve`` (``envgrid-forward``): ``run_forward``
(spawned by the supervisor) and its banner line ``describe_endpoint``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from forward.link import LinkTuning
from forward.metrics import ForwardMetrics
from forward.service import ForwardService
from store.cluster import FORWARDER_LOCK_KEY, ClusterSettings, LeaderElection
from store.engine import Engine
from store.secretbox import box_for
from store.service import run_until_signalled
from store.settings import StoreConfig

__all__ = ["describe_endpoint", "run_forward"]

log = logging.getLogger(__name__)


def describe_endpoint(settings: StoreConfig) -> str:
    del settings
    return "targets from `envgrid forward list`; status: `envgrid forward status`"


class ForwardProcessConfig(StoreConfig, Protocol):
    """What the forwarder's process reads of the root settings."""

    @property
    def cluster(self) -> ClusterSettings: ...


def run_forward(settings: ForwardProcessConfig, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point: forward every enabled target until SIGTERM (blocking), while
    elected — one forwarder per database however many hosts run the alerts role."""
    del engine, index

    async def main(stop: asyncio.Event) -> None:
        metrics = ForwardMetrics()
        election = LeaderElection(
            dsn, settings.cluster, what="forwarder", lock_key=FORWARDER_LOCK_KEY
        )
        try:
            while await election.campaign(stop):
                log.info("leadership gained: %s runs the forwarder", election.identity)
                service = ForwardService(
                    dsn, box_for(settings.core.secret_key_path), LinkTuning(), metrics
                )
                reason = await _forward_while_elected(service, election, stop)
                await election.release()
                if stop.is_set():
                    return
                log.warning("leadership lost: %s (%s); standing by", election.identity, reason)
        finally:
            await election.release()

    run_until_signalled(settings, main)


async def _forward_while_elected(
    service: ForwardService, election: LeaderElection, stop: asyncio.Event
) -> str:
    """Run ``service`` until ``stop`` ("") or the lock is lost (the reason); either way
    it stops gracefully (in-flight acks awaited briefly, the backlog stays in the table)."""
    halt = asyncio.Event()
    running = asyncio.ensure_future(service.run(halt))
    watch = asyncio.ensure_future(election.watch())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({running, watch, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        halt.set()
        for task in (watch, stopping):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await running
    return watch.result() if watch.done() and not watch.cancelled() else ""
