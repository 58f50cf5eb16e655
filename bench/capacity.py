"""How a run of many idle connections fits one host: workers, simulator processes, source
addresses, and the kernel limits checked before anything starts.

Theory of operation
-------------------
Every connection costs a descriptor on each side, both on this host.  An ingest worker
stops accepting at ``ingest.max_connections_per_worker`` (default: its open-files limit −
:data:`WORKER_RESERVED_FILES`), and SO_REUSEPORT spreads connections over the workers
only roughly evenly, so :func:`hold_plan` gives the server
``ceil(stations × 110 % / capacity)`` workers unless told how many.  The simulated
stations go into processes of at most ``per_process`` connections (each below the
open-files limit) and onto loopback source addresses ``127.0.0.k`` of at most half an
ephemeral-port range each (a connect's port search slows down as the range fills).

:func:`check_limits` compares the plan with the host: the per-process open-files limit,
``fs.file-max``, the ephemeral ports, ``net.core.somaxconn`` and
``net.ipv4.tcp_max_syn_backlog`` (the queues one second of connects lands in),
``nf_conntrack_max`` when connection tracking is loaded (one entry per loopback
connection).  A limit the run cannot pass is an error naming the setting and the fix
(:class:`LimitError`); one that only slows the ramp (SYN retries) is a warning the
result carries.  Pure: :func:`read_limits` is the only reader of ``/proc``.
"""

from __future__ import annotations

import contextlib
import math
import resource
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "HEADROOM",
    "WORKER_RESERVED_FILES",
    "HoldPlan",
    "LimitCheck",
    "LimitError",
    "SystemLimits",
    "check_limits",
    "hold_plan",
    "read_limits",
    "refuse",
]

#: descriptors an ingest worker keeps for itself (``ingest.server.connection_capacity``)
WORKER_RESERVED_FILES = 500
#: a simulator process's own descriptors (``simulators.fleet``)
SIM_RESERVED_FILES = 64
#: SO_REUSEPORT hashes connections over the workers: room for an uneven spread (%)
HEADROOM = 110
#: descriptors the rest of the host may want meanwhile (PostgreSQL, shells …)
FILE_MAX_SLACK = 10_000


class LimitError(ValueError):
    """A limit of this host that the run cannot pass; the message names the fix."""


@dataclass(frozen=True, slots=True)
class SystemLimits:
    """What the host allows (``None``: not known here)."""

    open_files: int  # RLIMIT_NOFILE, hard: what a process may raise its soft limit to
    file_max: int | None = None
    files_allocated: int = 0
    port_low: int = 32_768
    port_high: int = 60_999
    somaxconn: int | None = None
    syn_backlog: int | None = None
    conntrack_max: int | None = None  # None: nf_conntrack not loaded
    conntrack_count: int = 0

    @property
    def ports(self) -> int:
        return self.port_high - self.port_low + 1


@dataclass(frozen=True, slots=True)
class HoldPlan:
    stations: int
    workers: int
    #: connections one worker takes before closing its listener
    per_worker: int
    processes: int
    per_process: int
    addresses: int
    per_address: int

    def to_json(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LimitCheck:
    name: str
    value: int | None
    need: int
    ok: bool
    #: "error": the run cannot pass it; "warning": it slows the ramp
    severity: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "need": self.need, "ok": self.ok, "severity": self.severity}


def _workers_for(stations: int, capacity: int) -> int:
    return max(1, -(-stations * HEADROOM // (100 * capacity)))


def hold_plan(
    stations: int,
    limits: SystemLimits,
    *,
    workers: int = 0,
    per_worker: int = 0,
    per_process: int = 15_000,
) -> HoldPlan:
    """The split of ``stations`` connections over server workers (``workers``: 0 = from the
    open-files limit), simulator processes and loopback source addresses."""
    if stations < 1:
        raise LimitError(f"--stations must be ≥ 1 (got {stations})")
    capacity = per_worker or max(100, limits.open_files - WORKER_RESERVED_FILES)
    if workers <= 0:
        workers = _workers_for(stations, capacity)
    per_process = max(1, min(per_process, limits.open_files - SIM_RESERVED_FILES))
    processes = math.ceil(stations / per_process)
    per_address = max(1, limits.ports // 2)
    addresses = math.ceil(stations / per_address)
    return HoldPlan(
        stations=stations,
        workers=workers,
        per_worker=capacity,
        processes=processes,
        per_process=math.ceil(stations / processes),
        addresses=addresses,
        per_address=math.ceil(stations / addresses),
    )


def check_limits(plan: HoldPlan, limits: SystemLimits, connect_rate: float) -> list[LimitCheck]:
    """Each limit the run meets, with what it needs of it (see the module docstring)."""
    n = plan.stations
    checks = [
        LimitCheck(
            "open_files_per_process",
            limits.open_files,
            plan.per_process + SIM_RESERVED_FILES,
            plan.per_process + SIM_RESERVED_FILES <= limits.open_files,
            "error",
            "raise the hard RLIMIT_NOFILE (ulimit -Hn, LimitNOFILE=)",
        ),
        LimitCheck(
            "workers_capacity",
            plan.workers * plan.per_worker,
            n,
            plan.workers * plan.per_worker >= n,
            "error",
            f"--workers {_workers_for(n, plan.per_worker)} or more",
        ),
    ]
    if limits.file_max is not None:
        need = limits.files_allocated + 2 * n + FILE_MAX_SLACK
        checks.append(
            LimitCheck(
                "fs.file-max",
                limits.file_max,
                need,
                need <= limits.file_max,
                "error",
                f"sysctl -w fs.file-max={need}",
            )
        )
    checks.append(
        LimitCheck(
            "net.ipv4.ip_local_port_range",
            limits.ports,
            plan.per_address,
            plan.addresses <= 254 and plan.per_address <= limits.ports,
            "error",
            f"sysctl -w net.ipv4.ip_local_port_range='1024 65000' (more ports per address;"
            f" {plan.addresses} loopback addresses of 254 needed now)",
        )
    )
    # a worker's accept queue takes the connects of a second its loop may be busy; its
    # SYN queue those of a round trip (µs on loopback: 100 ms is generous)
    per_worker_s = connect_rate / plan.workers
    for name, value, queued in (
        ("net.core.somaxconn", limits.somaxconn, math.ceil(per_worker_s)),
        ("net.ipv4.tcp_max_syn_backlog", limits.syn_backlog, math.ceil(per_worker_s / 10)),
    ):
        if value is not None:
            checks.append(
                LimitCheck(
                    name,
                    value,
                    queued,
                    value >= queued,
                    "warning",
                    f"sysctl -w {name}={max(4096, queued)} (below it SYNs are dropped and"
                    " retried: a slower ramp)",
                )
            )
    if limits.conntrack_max is not None:
        need = limits.conntrack_count + n
        checks.append(
            LimitCheck(
                "net.netfilter.nf_conntrack_max",
                limits.conntrack_max,
                need,
                need <= limits.conntrack_max,
                "error",
                f"sysctl -w net.netfilter.nf_conntrack_max={2 * need}",
            )
        )
    return checks


def refuse(checks: list[LimitCheck]) -> None:
    """:class:`LimitError` naming every limit the run cannot pass (nothing if none)."""
    failed = [c for c in checks if not c.ok and c.severity == "error"]
    if failed:
        raise LimitError(
            "this host cannot hold the run: "
            + "; ".join(f"{c.name} is {c.value}, needs {c.need} — {c.fix}" for c in failed)
        )


def _int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def read_limits(proc: Path = Path("/proc")) -> SystemLimits:
    """The limits of this host (Linux ``/proc/sys``; what cannot be read stays unknown)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    sys_ = proc / "sys"
    low, high = 32_768, 60_999
    with contextlib.suppress(OSError, ValueError):
        low, high = (int(x) for x in (sys_ / "net/ipv4/ip_local_port_range").read_text().split())
    conntrack = sys_ / "net/netfilter/nf_conntrack_max"
    return SystemLimits(
        open_files=hard,
        file_max=_int(sys_ / "fs/file-max"),
        files_allocated=_int(sys_ / "fs/file-nr") or 0,
        port_low=low,
        port_high=high,
        somaxconn=_int(sys_ / "net/core/somaxconn"),
        syn_backlog=_int(sys_ / "net/ipv4/tcp_max_syn_backlog"),
        conntrack_max=_int(conntrack) if conntrack.exists() else None,
        conntrack_count=_int(sys_ / "net/netfilter/nf_conntrack_count") or 0,
    )
