"""Prometheus metrics of the alert engine: evaluation lag, open alerts by rule and state,
notifications sent, failed and dropped by channel, and its queues.

The engine's hot path (the LISTEN callback, the flush) only keeps plain values; the
process that runs the engine (``envgrid.leader``) calls :meth:`AlertMetrics.sample` once
a second (memory only) and :meth:`AlertMetrics.sample_db` every few seconds (one indexed
count of the delivery log).  The sender counts each delivery as it ends
(:meth:`AlertMetrics.notified`).  Under ``envgrid serve`` the process runs
prometheus_client in multiprocess mode and the supervisor serves the sum at ``/metrics``.

*Evaluation lag* is the age of the oldest reading notification (``envgrid_readings``)
that the engine has received and not yet evaluated: 0 while it keeps up (it evaluates
every ``alerts.flush_ms``), growing during a catch-up or when evaluation falls behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from . import queries
from .model import STATES
from .notifiers import NOTIFIERS
from .rules import RULES

if TYPE_CHECKING:
    from .service import AlertService

__all__ = ["OPEN_STATES", "QUEUES", "AlertMetrics"]

#: The states of an open alert (``resolved`` ones are history).
OPEN_STATES: Final = tuple(s for s in STATES if s != "resolved")
#: readings: notifications received, not yet evaluated; transitions: evaluated, not yet
#: written to ``alerts``.  (Messages waiting for delivery: ..._notifications_queued.)
QUEUES: Final = ("readings", "transitions")
_DELAY_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class AlertMetrics:
    """The alert engine's families, registered in ``registry`` (a new one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()

        def gauge(name: str, text: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, text, labels, registry=reg, multiprocess_mode="livesum")

        self.lag = gauge(
            "envgrid_alerts_evaluation_lag_seconds",
            "Age of the oldest reading notification not evaluated yet (0: none waiting)",
        )
        self.delay = Histogram(
            "envgrid_alerts_evaluation_delay_seconds",
            "Reading notification received → its batch evaluated (the oldest of the batch)",
            buckets=_DELAY_BUCKETS,
            registry=reg,
        )
        self.open = gauge("envgrid_alerts_open", "Open alerts by rule and state", ("rule", "state"))
        self.queue = gauge(
            "envgrid_alerts_queue_length", "Items waiting in the engine's queues", ("queue",)
        )
        self.pending = gauge(
            "envgrid_alerts_notifications_queued",
            "Messages waiting for delivery (queued or being sent), by channel",
            ("channel",),
        )
        self.sent = Counter(
            "envgrid_alerts_notifications_sent",
            "Notifications delivered, by channel",
            ["channel"],
            registry=reg,
        )
        self.failed = Counter(
            "envgrid_alerts_notifications_failed",
            "Notifications given up on (permanent error or attempts exhausted), by channel",
            ["channel"],
            registry=reg,
        )
        self.dropped = Counter(
            "envgrid_alerts_notifications_dropped",
            "SMS over a receiver's hourly cap, not sent (rolled into its next SMS), by channel",
            ["channel"],
            registry=reg,
        )
        self._outcomes = {"sent": self.sent, "failed": self.failed, "dropped": self.dropped}
        for channel in NOTIFIERS:
            for counter in self._outcomes.values():
                counter.labels(channel)
        self.lag.set(0)

    def notified(self, channel: str, outcome: str) -> None:
        """A delivery through ``channel`` ended: ``sent``, ``failed`` (for good) or
        ``dropped`` (an SMS over its receiver's cap)."""
        self._outcomes[outcome].labels(channel).inc()

    def evaluated(self, delay_s: float) -> None:
        self.delay.observe(max(0.0, delay_s))

    def sample(self, service: AlertService) -> None:
        """Lag, open alerts and queue lengths from the running ``service`` (memory only)."""
        waiting, age = service.backlog()
        self.lag.set(age if waiting else 0.0)
        self.queue.labels("readings").set(waiting)
        evaluator = service.evaluator
        self.queue.labels("transitions").set(len(evaluator.pending) if evaluator else 0)
        counts = dict.fromkeys(((r, s) for r in RULES for s in OPEN_STATES), 0)
        for (rule, _, _), alert in service.writer.open.items():
            counts[rule, alert.state] = counts.get((rule, alert.state), 0) + 1
        for (rule, state), n in counts.items():
            self.open.labels(rule, state).set(n)

    async def sample_db(self, pool: asyncpg.Pool) -> None:
        """Messages waiting for delivery, by channel."""
        rows = await pool.fetch(queries.PENDING_NOTIFICATIONS_SQL)
        counts = dict.fromkeys(NOTIFIERS, 0) | {r["channel"]: r["n"] for r in rows}
        for channel, n in counts.items():
            self.pending.labels(channel).set(n)

    def clear(self) -> None:
        """The engine stopped: nothing is waiting here any more."""
        self.lag.set(0)
        for queue in QUEUES:
            self.queue.labels(queue).set(0)
