"""Settings of the ingest server (section ``[ingest]`` of envgrid.toml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from store.settings import StoreConfig
from store.validation import require

__all__ = ["IngestConfig", "IngestSettings"]


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """The HJ 212 listener, its worker processes, batching, spool and retention."""

    #: Address and port stations connect to.
    host: str = "0.0.0.0"
    port: int = 8212
    #: Worker processes sharing the port (SO_REUSEPORT); 0 = one per CPU core.  Each may
    #: hold at most the open-files limit of sockets (20,000 here).
    workers: int = 0
    #: Listen backlog per worker.
    backlog: int = 4096
    #: Largest accepted data segment; 1024 by the standard, up to 9999 for odd devices.
    max_frame_length: int = 1024
    #: Close a connection that sent nothing for this long (the reference platform: 5 min).
    #: Online/offline is a separate, data-driven fact (alerts.offline_after_s).
    idle_timeout_s: float = 300.0
    #: A frame still incomplete after this long is dropped and its connection closed
    #: (a slow sender, or a slowloris that never sends the CRLF).
    frame_timeout_s: float = 60.0
    #: A connection that sent no valid frame this long after connecting is closed.
    first_frame_timeout_s: float = 120.0
    #: What to do with a frame from an MN that is not in the registry.
    unknown_mn: Literal["pending", "reject"] = "pending"
    #: A registered station without a password is refused (``no_password``): anyone who
    #: knows its MN could send in its name.  True accepts such stations (insecure; for a
    #: migration from a platform that did not check passwords).
    allow_empty_passwords: bool = False
    #: Unknown MNs recorded for approval: at most this many rows wait in total, and one
    #: client address brings at most ``pending_max_per_address`` new MNs per hour per
    #: worker (further frames: ``pending_limit``).
    pending_max_total: int = 10_000
    pending_max_per_address: int = 20
    #: HJ 212-2025 SM4 keys older than this are rotated (CN 1014) when their station is
    #: online (§6.4.3: every 90 days; 0 = never automatically); a replaced key stays valid
    #: for 7 days (``store.stations.SM4_KEY_GRACE``).
    sm4_rotate_days: int = 90
    #: Answer a station's 1013 time-calibration request with 1012 set-time.
    time_sync: bool = True
    #: Accept the byte-swapped CRC-16/MODBUS variant from every station (per-station
    #: switch: stations.modbus_crc).
    modbus_crc_all: bool = False
    #: Group commit (:mod:`ingest.batching`): the idle writer takes what is queued once the
    #: oldest frame has waited ``batch_ms`` (0: at once) or ``batch_rows`` rows are queued;
    #: what arrives during a write goes in the next batch, so batches grow with the load.
    #: A batch holds at most ``batch_rows`` measurement rows (its first frame aside).
    #: 40 ms (20 before the eleventh session of issue 23): half the transactions at
    #: 10,000 frames/s, and each station's acks of a batch in one write — server CPU a
    #: frame −13 %, PostgreSQL's −10 %, side by side; an ack comes ~15 ms later (p50).
    #: 80 ms since the twelfth: half the transactions again — server CPU a frame −8 to −9 %,
    #: PostgreSQL's −4 to −7 % (three pairs on both engines), the station's ack p50 62 ms,
    #: p99 125 ms at 36,000 stations every 30 s (issue 23's targets: 250 ms, 1 s).
    #: 12,000 rows (2,000 frames of 6 values; 5,000 before): at saturation fewer, larger
    #: transactions — the 100k-message burst ~8 % sooner (issue 23, eleventh session).
    batch_rows: int = 12_000
    batch_ms: int = 80
    #: Frames waiting for the writer above which every connection stops reading …
    queue_high: int = 20_000
    #: … and below which reading resumes.
    queue_low: int = 10_000
    #: Append-only spool used while the database is unreachable (default data_dir/spool).
    spool_dir: Path | None = None
    #: Spool size limit; when reached, frames are no longer acked (stations keep them).
    spool_max_bytes: int = 2 * 1024**3
    #: ``batch``: fsync every spooled batch before its acks go out; ``never``: leave it to
    #: the OS (faster, loses the last seconds on a power cut).
    spool_fsync: Literal["batch", "never"] = "batch"
    #: Split-packet groups: give up after this many seconds, keep at most this many open.
    split_timeout_s: float = 120.0
    split_max_open: int = 64
    #: Downlink commands expire if not answered within this time.
    command_timeout_s: float = 120.0
    #: Accept DataTimes at most this far in the future (clock skew) …
    max_future_s: int = 86_400
    #: … and at most this far in the past (history uploads after an outage).
    max_age_days: int = 400
    #: Retention per kind of data, in days (partitions / chunks are dropped after it).
    retention_rtd_days: int = 30
    retention_minute_days: int = 90
    retention_hour_days: int = 3650
    retention_day_days: int = 7300
    retention_ledger_days: int = 90
    retention_status_days: int = 30
    #: Prometheus endpoint of the server (0 = off) and the interval of the stats log line.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9212
    stats_interval_s: float = 60.0
    #: Announce every committed value on ``NOTIFY envgrid_readings`` (the alert engine's
    #: in-stream rules listen there).
    publish_readings: bool = True
    #: Per peer address: most concurrent connections and new connections per second
    #: (0 = unlimited).  Protects the listener from floods.
    max_connections_per_ip: int = 0
    max_connects_per_ip_per_s: float = 0.0
    #: Connections one worker holds before it stops accepting (its listener leaves the
    #: SO_REUSEPORT group, so the kernel sends new connections to the other workers) —
    #: e.g. when a worker restarts and its stations come back to the survivors.  0: the
    #: open-files limit minus 500 descriptors for the database, spool and logs.
    max_connections_per_worker: int = 0

    def __post_init__(self) -> None:
        require(
            0 <= self.port <= 65535,
            f"ingest.port must be 1..65535, or 0 for any free port (got {self.port})",
        )
        require(
            self.workers >= 0, f"ingest.workers must be ≥ 0, 0 = one per core (got {self.workers})"
        )
        require(
            1 <= self.max_frame_length <= 9999,
            f"ingest.max_frame_length must be 1..9999 (got {self.max_frame_length})",
        )
        require(self.idle_timeout_s > 0, "ingest.idle_timeout_s must be > 0")
        require(
            0 <= self.sm4_rotate_days <= 3650,
            f"ingest.sm4_rotate_days must be 0..3650, 0 = never (got {self.sm4_rotate_days})",
        )
        require(
            self.pending_max_total >= 1 and self.pending_max_per_address >= 1,
            "ingest.pending_max_total and ingest.pending_max_per_address must be ≥ 1",
        )
        require(self.frame_timeout_s > 0, "ingest.frame_timeout_s must be > 0")
        require(self.first_frame_timeout_s > 0, "ingest.first_frame_timeout_s must be > 0")
        require(self.max_connections_per_ip >= 0, "ingest.max_connections_per_ip must be ≥ 0")
        require(
            self.max_connections_per_worker >= 0,
            "ingest.max_connections_per_worker must be ≥ 0 (0: from the open-files limit)",
        )
        require(self.max_connects_per_ip_per_s >= 0, "ingest.max_connects_per_ip_per_s must be ≥ 0")
        require(self.batch_rows >= 1, f"ingest.batch_rows must be ≥ 1 (got {self.batch_rows})")
        require(self.batch_ms >= 0, f"ingest.batch_ms must be ≥ 0 (got {self.batch_ms})")
        require(
            0 < self.queue_low < self.queue_high,
            f"ingest.queue_low ({self.queue_low}) must be > 0 and below"
            f" ingest.queue_high ({self.queue_high})",
        )
        require(self.spool_max_bytes > 0, "ingest.spool_max_bytes must be > 0")
        for name in (
            "retention_rtd_days",
            "retention_minute_days",
            "retention_hour_days",
            "retention_day_days",
            "retention_ledger_days",
            "retention_status_days",
        ):
            require(getattr(self, name) >= 1, f"ingest.{name} must be ≥ 1 day")
        require(0 <= self.metrics_port <= 65535, "ingest.metrics_port must be 0..65535")

    @property
    def worker_count(self) -> int:
        return self.workers or (os.cpu_count() or 1)

    def spool_path(self, data_dir: Path) -> Path:
        return self.spool_dir if self.spool_dir is not None else data_dir / "spool"


class IngestConfig(StoreConfig, Protocol):
    """What the ingest package reads of the root settings (``envgrid.settings.Settings``)."""

    @property
    def ingest(self) -> IngestSettings: ...
