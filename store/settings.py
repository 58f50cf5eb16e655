"""The two sections the store owns: ``[core]`` (data directory, time zone, logging) and
``[database]`` (where the data lives, the embedded cluster, the pool).

Each package declares its own section beside its code (``ingest.settings``,
``alerts.settings`` …); the root that composes them is ``envgrid.settings.Settings``,
loaded by :mod:`store.config`.  A package that needs several sections names them in a
small :class:`~typing.Protocol` (:class:`StoreConfig` here, ``IngestConfig``,
``WebConfig`` …), which the root satisfies, so no package imports the root.
"""

from __future__ import annotations

import ipaddress
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, Protocol

from store.config import mask_dsn, suggest
from store.engine import ENGINE_CHOICES, EngineChoice
from store.validation import ConfigError, require

__all__ = ["CoreSettings", "DatabaseSettings", "StoreConfig"]


_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LOOPBACK_NAMES: Final = ("localhost",)


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """Process-wide basics."""

    #: Where envgrid keeps its state: the embedded cluster (``pg/``), the spool, exports.
    data_dir: Path = Path("var")
    #: Day boundaries, reports and the dashboard use this zone; storage is timestamptz.
    timezone: str = "Asia/Shanghai"
    #: Log threshold (DEBUG, INFO, WARNING, ERROR, CRITICAL) and format: ``text`` for a
    #: terminal, ``json`` (one object a line) for journald or a log shipper.
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    #: Key that seals station passwords at rest (AES-256-GCM, ``store.secretbox``); unset →
    #: ``<data_dir>/secret.key``, created with mode 0600 on first use.  Every host sharing
    #: the database needs the same file.
    secret_key_file: Path | None = None

    def __post_init__(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"core.timezone {self.timezone!r} is not a known IANA time zone"
                f"{suggest(self.timezone, sorted(zoneinfo.available_timezones()))}"
                " (e.g. 'Asia/Shanghai', 'UTC')"
            ) from None
        level = self.log_level.upper()
        require(
            level in _LOG_LEVELS,
            f"core.log_level must be one of {', '.join(_LOG_LEVELS)} (got {self.log_level!r})",
        )
        object.__setattr__(self, "log_level", level)
        require(
            self.log_format in ("text", "json"),
            f"core.log_format must be 'text' or 'json' (got {self.log_format!r})",
        )

    @property
    def secret_key_path(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def pg_dir(self) -> Path:
        """Directory of the embedded PostgreSQL cluster."""
        return self.data_dir / "pg"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where the data lives.  ``dsn = None`` means the embedded cluster."""

    #: ``postgresql://user:password@host:port/db``; unset → private cluster in core.data_dir/pg.
    dsn: str | None = None
    #: Storage engine: "auto" = TimescaleDB when the server has the extension, else plain
    #: PostgreSQL; "timescaledb" insists (start-up fails, naming what to install, without
    #: it); "postgres" never uses TimescaleDB.  A database keeps the engine it was set up
    #: with (``envgrid db status``).
    engine: EngineChoice = "auto"
    #: Loopback address and port of the embedded cluster (used only when dsn is unset).
    embedded_host: str = "127.0.0.1"
    embedded_port: int = 55432
    #: Directory with ``initdb``/``postgres``/``pg_ctl``; unset → ``pg_config --bindir``, then
    #: the newest ``/usr/lib/postgresql/<N>/bin``.
    embedded_bindir: Path | None = None
    #: OS account that runs the embedded cluster when envgrid runs as root.
    embedded_os_user: str = "postgres"
    #: Extra ``postgresql.conf`` settings for the embedded cluster; they win over the defaults.
    embedded_tuning: dict[str, str] = field(default_factory=dict)
    #: Pool bounds: pool_max caps each ingest worker's pool (2 to 6 connections) and the
    #: alert engine's (4 to 8); the dashboard's is web.pool_max.  pool_min is only checked.
    pool_min: int = 2
    pool_max: int = 10
    #: Per-statement limit for application connections; 0 disables it.  Migrations ignore it.
    statement_timeout_ms: int = 60_000
    #: How long to wait for a connection, and the name the server shows in pg_stat_activity.
    connect_timeout_s: float = 10.0
    application_name: str = "envgrid"
    #: Apply pending migrations when a server process starts.
    migrate_on_start: bool = True
    #: TimescaleDB: compress raw chunks (segment-by station and factor) after this age.
    compress_after_days: int = 7
    #: TimescaleDB: the continuous-aggregate refresh jobs re-materialise this many recent
    #: days (late data of any age is refreshed by envgrid itself); the raw retention of
    #: real-time and minute data must be longer (checked at start-up).
    rollup_refresh_days: int = 3

    def __post_init__(self) -> None:
        require(
            self.engine in ENGINE_CHOICES,
            f"database.engine must be one of {', '.join(ENGINE_CHOICES)} (got {self.engine!r})"
            f"{suggest(str(self.engine), ENGINE_CHOICES)}",
        )
        if self.dsn is not None:
            scheme = self.dsn.partition("://")[0]
            require(
                scheme in ("postgresql", "postgres") and "://" in self.dsn,
                "database.dsn must be a URL like postgresql://user:password@host:5432/dbname"
                f" (got {mask_dsn(self.dsn)!r})",
            )
        require(
            _is_loopback(self.embedded_host),
            "database.embedded_host must be a loopback address such as 127.0.0.1"
            f" (got {self.embedded_host!r}): the embedded cluster serves this machine only;"
            " for remote access run a managed server and set database.dsn",
        )
        require(
            1 <= self.embedded_port <= 65535,
            f"database.embedded_port must be between 1 and 65535 (got {self.embedded_port})",
        )
        require(self.pool_min >= 0, f"database.pool_min must be ≥ 0 (got {self.pool_min})")
        require(self.pool_max >= 1, f"database.pool_max must be ≥ 1 (got {self.pool_max})")
        require(
            self.pool_min <= self.pool_max,
            f"database.pool_min ({self.pool_min}) must not exceed"
            f" database.pool_max ({self.pool_max})",
        )
        require(
            self.statement_timeout_ms >= 0,
            f"database.statement_timeout_ms must be ≥ 0, 0 = no limit"
            f" (got {self.statement_timeout_ms})",
        )
        require(
            self.connect_timeout_s > 0,
            f"database.connect_timeout_s must be > 0 (got {self.connect_timeout_s})",
        )
        require(
            self.compress_after_days >= 1,
            f"database.compress_after_days must be ≥ 1 (got {self.compress_after_days})",
        )
        require(
            self.rollup_refresh_days >= 1,
            f"database.rollup_refresh_days must be ≥ 1 (got {self.rollup_refresh_days})",
        )
        require(
            bool(self.embedded_os_user),
            "database.embedded_os_user must name an OS account (e.g. 'postgres')",
        )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StoreConfig(Protocol):
    """What the store reads of the root settings."""

    @property
    def core(self) -> CoreSettings: ...

    @property
    def database(self) -> DatabaseSettings: ...
