"""Prometheus metrics of the forwarder, per target.  Under ``envgrid serve`` the process
writes them in prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set by
the supervisor) and the supervisor's ``/metrics`` serves them with the others; its
database pool's gauges are ``store.metrics``' (``role="forward"``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge

from store.metrics import PoolMetrics

__all__ = ["ForwardMetrics"]


class ForwardMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = registry if registry is not None else CollectorRegistry()
        self.registry = reg
        self.counters = {
            kind: Counter(f"envgrid_forward_{kind}", text, ["target"], registry=reg)
            for kind, text in (
                ("sent", "Frames sent to the upstream platform (first sends)"),
                ("acked", "Frames the upstream acked with 9014"),
                ("resent", "Frames sent again after the ack timeout"),
                ("errors", "Connection, database and encoding errors"),
                ("expired", "Backlog frames no longer in the packet ledger (dropped)"),
            )
        }
        self.backlog = Gauge(
            "envgrid_forward_backlog",
            "Frames waiting for the upstream's 9014",
            ["target"],
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.oldest = Gauge(
            "envgrid_forward_oldest_unsent_seconds",
            "Age of the oldest frame waiting for the upstream",
            ["target"],
            registry=reg,
            multiprocess_mode="livemax",
        )
        self.pool = PoolMetrics("forward", reg)
        self.connected = Gauge(
            "envgrid_forward_connected",
            "1 while the target's connection is up",
            ["target"],
            registry=reg,
            multiprocess_mode="livemax",
        )

    def bump(self, target: str, kind: str, n: int) -> None:
        self.counters[kind].labels(target).inc(n)

    def set_backlog(
        self, rows: Iterable[tuple[str, int, float]], connected: Mapping[str, bool]
    ) -> None:
        for name, backlog, oldest_s in rows:
            self.backlog.labels(name).set(backlog)
            self.oldest.labels(name).set(oldest_s)
            self.connected.labels(name).set(1 if connected.get(name) else 0)
