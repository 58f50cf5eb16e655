"""The forwarder's process under ``envgrid serve`` (``envgrid-forward``): ``run_forward``
(spawned by the supervisor) and its banner line ``describe_endpoint``."""

from __future__ import annotations

import asyncio

from forward.link import LinkTuning
from forward.metrics import ForwardMetrics
from forward.service import ForwardService
from store.engine import Engine
from store.secretbox import box_for
from store.service import run_until_signalled
from store.settings import StoreConfig

__all__ = ["describe_endpoint", "run_forward"]


def describe_endpoint(settings: StoreConfig) -> str:
    del settings
    return "targets from `envgrid forward list`; status: `envgrid forward status`"


def run_forward(settings: StoreConfig, dsn: str, engine: Engine, index: int) -> None:
    """Process entry point: forward every enabled target until SIGTERM (blocking)."""
    del engine, index

    async def main(stop: asyncio.Event) -> None:
        service = ForwardService(
            dsn, box_for(settings.core.secret_key_path), LinkTuning(), ForwardMetrics()
        )
        await service.run(stop)

    run_until_signalled(settings, main)
