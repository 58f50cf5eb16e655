"""``postgresql.conf`` settings of the embedded cluster: :func:`default_tuning` for a
write-heavy telemetry store on one machine, and the ``envgrid.conf`` text written at
every start (so a config change applies at the next start; ``ALTER SYSTEM`` still wins,
it lives in ``postgresql.auto.conf``)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Final

from store.engine import INSTALL_HINT, EngineChoice
from store.pg_installation import EmbeddedError, PgInstallation

__all__ = ["conf_text", "default_tuning", "is_guc_name", "preload_libraries"]

_GUC_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


def is_guc_name(key: str) -> bool:
    """True if ``key`` can name a ``postgresql.conf`` setting."""
    return _GUC_NAME.match(key) is not None


def _total_ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 4 << 30


def preload_libraries(installation: PgInstallation, engine: EngineChoice) -> list[str]:
    """``shared_preload_libraries``: pg_stat_statements when installed, and timescaledb
    when the engine may use it (``auto``: when installed; ``timescaledb``: required)."""
    preload = [lib for lib in ("pg_stat_statements",) if installation.has_library(lib)]
    has_timescaledb = installation.has_library("timescaledb") and installation.has_extension(
        "timescaledb"
    )
    if engine == "timescaledb" and not has_timescaledb:
        raise EmbeddedError(
            "database.engine is 'timescaledb' but TimescaleDB is not installed for PostgreSQL"
            f" {installation.version} (no timescaledb.so in {installation.pkglibdir} or no"
            f" timescaledb.control in {installation.sharedir}/extension): {INSTALL_HINT}"
        )
    if engine != "postgres" and has_timescaledb:
        preload.append("timescaledb")
    return preload


def default_tuning(
    installation: PgInstallation,
    *,
    engine: EngineChoice = "auto",
    ram_bytes: int | None = None,
    cpus: int | None = None,
) -> dict[str, str]:
    """``postgresql.conf`` settings for a write-heavy telemetry store on one machine."""
    ram_mb = (ram_bytes or _total_ram()) >> 20
    ncpu = cpus or os.cpu_count() or 2
    preload = preload_libraries(installation, engine)
    tuning = {
        "max_connections": "200",
        "shared_buffers": f"{min(1024, ram_mb // 4)}MB",
        "effective_cache_size": f"{max(256, ram_mb // 2)}MB",
        "work_mem": "16MB",
        "maintenance_work_mem": f"{max(64, min(512, ram_mb // 16))}MB",
        "wal_buffers": "16MB",
        "max_wal_size": "4GB",
        "min_wal_size": "1GB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "synchronous_commit": "on",
        "wal_compression": "on",
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        "max_locks_per_transaction": "256",
        "max_worker_processes": str(max(16, ncpu + 8)),
        "max_parallel_workers": str(ncpu),
        "max_parallel_workers_per_gather": str(max(1, ncpu // 2)),
        "jit": "off",
        "autovacuum_vacuum_cost_limit": "1000",
        "timezone": "UTC",
        "log_timezone": "UTC",
        "lc_messages": "C",
        "logging_collector": "on",
        "log_filename": "postgresql-%a.log",
        "log_truncate_on_rotation": "on",
        "log_rotation_age": "1d",
        "log_rotation_size": "0",
        "log_line_prefix": "%m [%p] %q%u@%d ",
        "log_min_duration_statement": "2s",
        "log_lock_waits": "on",
        "log_checkpoints": "on",
        "shared_preload_libraries": ",".join(preload),
    }
    if "timescaledb" in preload:
        tuning["timescaledb.telemetry_level"] = "off"
        tuning["timescaledb.max_background_workers"] = "8"
    return tuning


def _conf_quote(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise EmbeddedError(f"postgresql.conf value {value!r} must be on one line")
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def conf_text(settings: Mapping[str, str]) -> str:
    """The ``envgrid.conf`` file for ``settings``."""
    lines = [
        "# Written by envgrid at every start of the embedded cluster; edits are lost.",
        "# Set database.embedded_tuning in envgrid.toml instead (or use ALTER SYSTEM).",
        *(f"{key} = {_conf_quote(value)}" for key, value in sorted(settings.items())),
    ]
    return "\n".join(lines) + "\n"
