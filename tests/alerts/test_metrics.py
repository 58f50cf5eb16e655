"""The alert engine's metrics (alerts.metrics) from a running engine on a real database:
evaluation lag of waiting reading notifications, open alerts by rule and state, queue
lengths and the delivery log's waiting messages by channel."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from alerts import api
from alerts.loader import load_config
from alerts.metrics import AlertMetrics
from alerts.outbox import queue_message
from alerts.service import AlertService
from store.db import connect, create_pool
from store.feed import READINGS_CHANNEL

from .conftest import alert_settings, register, wait_for
from .test_dispatch import set_state, station
from .test_notifiers import MESSAGE


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_engine_metrics_from_a_running_engine(db_dsn: str, pg_reachable_tmp: Path) -> None:
    ids = await register(db_dsn, station(1, "西湖区"))
    sid = next(iter(ids.values()))
    # flush_ms long: a reading notification waits until evaluate_incoming() below
    settings = alert_settings(db_dsn, pg_reachable_tmp, offline_after_s=60, flush_ms=60_000)
    registry = CollectorRegistry()
    metrics = AlertMetrics(registry)
    conn = await connect(db_dsn)
    try:
        await set_state(conn, sid, 120)
        async with AlertService(settings, db_dsn, metrics) as svc:
            metrics.sample(svc)
            assert _value(registry, "envgrid_alerts_evaluation_lag_seconds") == 0
            assert _value(registry, "envgrid_alerts_open", rule="offline", state="firing") == 0
            await svc.sweep()  # the station is silent for 120 s: an offline alert
            metrics.sample(svc)
            assert _value(registry, "envgrid_alerts_open", rule="offline", state="firing") == 1
            assert _value(registry, "envgrid_alerts_open", rule="exceedance", state="pending") == 0

            await conn.execute("SELECT pg_notify($1, 'not-a-payload')", READINGS_CHANNEL)
            await wait_for(lambda: _waiting(svc))
            await wait_for(lambda: _older_than(svc, 0.1))
            metrics.sample(svc)
            lag = _value(registry, "envgrid_alerts_evaluation_lag_seconds")
            assert lag is not None and lag >= 0.1
            assert _value(registry, "envgrid_alerts_queue_length", queue="readings") == 1
            svc.evaluate_incoming()  # a malformed payload is skipped, but it was evaluated
            metrics.sample(svc)
            assert _value(registry, "envgrid_alerts_evaluation_lag_seconds") == 0
            assert _value(registry, "envgrid_alerts_queue_length", queue="readings") == 0
            delay = "envgrid_alerts_evaluation_delay_seconds"
            assert _value(registry, delay + "_count") == 1
            assert (_value(registry, delay + "_sum") or 0) >= 0.1

        # after the engine (its sender would deliver it): one message waiting
        await api.create_receiver(conn, name="robot", kind="wecom", address="http://x/w")
        config = await load_config(conn, settings)
        rx = next(r for r in config.receivers.values() if r.name == "robot")
        await queue_message(conn, key="k1", receiver=rx, kind="test", message=MESSAGE)
        pool = await create_pool(db_dsn, min_size=1, max_size=1)
        try:
            await metrics.sample_db(pool)
        finally:
            await pool.close()
        queued = "envgrid_alerts_notifications_queued"
        assert _value(registry, queued, channel="wecom") == 1
        assert _value(registry, queued, channel="email") == 0
    finally:
        await conn.close()


async def _waiting(svc: AlertService) -> bool:
    return svc.backlog()[0] == 1


async def _older_than(svc: AlertService, seconds: float) -> bool:
    return svc.backlog()[1] >= seconds
