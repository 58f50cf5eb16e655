"""Every Prometheus family the processes of ``envgrid serve`` export, read from the
metric definitions (each metrics class registered in one registry), with the sample
names Prometheus stores (counters ``_total``, histograms ``_bucket``/``_sum``/``_count``).

The deploy kit's tests check names against this: the Grafana dashboard's queries, the
Prometheus alert rules and docs/operations.md."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from aggregates.metrics import AggregatesMetrics
from alerts.metrics import AlertMetrics
from envgrid.leader import leader_gauge
from envgrid.scheduler import SchedulerMetrics
from forward.metrics import ForwardMetrics
from ingest.metrics import WorkerMetrics
from store.metrics import PoolMetrics
from web.metrics import WebMetrics

_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
}


def families() -> dict[str, str]:
    """Family name → type (counter, gauge, histogram) of every family."""
    out: dict[str, str] = {}
    # A worker's families (the objects it reads are only used by update()); the worker
    # and the web process each register store.metrics' pool gauges (role label).
    for define in (
        lambda reg: WorkerMetrics(0, None, None, None, registry=reg),  # type: ignore[arg-type]
        WebMetrics,
        AlertMetrics,
        AggregatesMetrics,
        SchedulerMetrics,
        ForwardMetrics,
        lambda reg: PoolMetrics("alerts", reg),
        leader_gauge,
    ):
        registry = CollectorRegistry()
        define(registry)
        out |= {family.name: family.type for family in registry.collect()}
    return out


def samples() -> dict[str, str]:
    """Series name Prometheus stores → its family, for every family."""
    return {name + suffix: name for name, kind in families().items() for suffix in _SUFFIXES[kind]}


def sample_names() -> set[str]:
    return set(samples())


def family_of(sample: str) -> str:
    return samples()[sample]
