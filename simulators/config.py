"""``FleetConfig``: everything a simulator run needs, frozen and picklable.

It mirrors the ``envgrid simulate`` flags one to one (see :mod:`simulators.cli`)
and is what the benchmark harness and the tests build directly.  Validation
happens on construction, with messages that say what to change.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any

from .clock import ClockAnchor, zone
from .editions import editions_of
from .faults import FaultSpec
from .identities import Area, StationIdentity, station_identities
from .profiles import profile_for
from .schedule import validate_min_interval, validate_rtd_interval

__all__ = ["DEFAULT_DURATION", "DEFAULT_PORT", "ConfigError", "FleetConfig", "LinkSettings"]

#: seconds a run lasts when neither a duration nor a frame budget is given
DEFAULT_DURATION = 60.0
DEFAULT_PORT = 2121


class ConfigError(ValueError):
    """A simulator setting that cannot work; the message says how to fix it."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """A simulated fleet (one process or many; see :func:`simulators.run`)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    #: stations in this run (in a child process: in this slice)
    stations: int = 10
    #: index of the first station (slices of a multi-process run; disjoint fleets)
    first_index: int = 0
    #: the whole run's first index and size (a multi-process child is a slice of it;
    #: source addresses are spread over the whole run); None: this config is the run
    run_start: int | None = None
    total_stations: int | None = None
    #: "2017", "2005", "2025", "mix" (2005/2017 half and half) or a weighted mix
    #: "2017:0.5,2025:0.5" (:mod:`simulators.editions`)
    edition: str = "2017"
    #: HJ 212-2025 stations encrypt the CP of their data (CN 2000–2999) and 3020 with
    #: their SM4 key (they decrypt encrypted commands whether or not this is set)
    encrypt: bool = False
    #: HJ 212-2025 stations send a 9015 heartbeat when they have sent nothing for this
    #: many simulated seconds (0: never)
    heartbeat: float = 60.0
    st: tuple[str, ...] = ("22",)
    #: send only these factors (2017 codes; empty: every factor of the station type) —
    #: e.g. the six AQI pollutants for a "6-factor" benchmark
    factors: tuple[str, ...] = ()
    pw: str = "123456"
    seed: int = 1
    area: Area = field(default_factory=Area)
    # -- what stations send (simulated time) --------------------------------------------
    rtd_interval: int = 30
    min_interval: int | None = None  # minutes; None: no minute data
    hourly: bool = False
    daily: bool = False
    realtime: bool = True
    #: send 2021 with every Nth real-time sample (0: never)
    status_every: int = 1
    #: a station sends up to this many simulated seconds after each instant (spreads load)
    phase: float = 20.0
    # -- the clock ---------------------------------------------------------------------
    time_scale: float = 1.0
    #: simulated start (POSIX seconds); None: now
    start_time: float | None = None
    timezone: str = "Asia/Shanghai"
    #: set by multi-process runs so every process shares one clock
    clock_anchor: ClockAnchor | None = None
    # -- bounds (real time) ------------------------------------------------------------
    duration: float | None = None
    #: uploads to generate in all (2011/2021/2051/2061/2031/2041/2081; a split upload
    #: counts once; answers to platform requests do not count)
    max_frames: int | None = None
    #: after the stop, wait this long (real s) for outstanding acks before closing
    drain: float = 10.0
    # -- acks and pacing ---------------------------------------------------------------
    ack: bool = True
    ack_timeout: float = 10.0
    retries: int = 3
    window: int = 16
    backlog: int = 1000
    pace: str = "clock"  # "clock": on schedule; "fast": as fast as the ack window allows
    #: fast pace: stations connect at once but hold their uploads until this POSIX time
    #: (a synchronised burst from an already connected fleet)
    start_at: float | None = None
    #: frames per second for the whole run in fast pace (None: unlimited)
    rate: float | None = None
    # -- connections (real time) -------------------------------------------------------
    connect_rate: float = 1000.0
    connect_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    source_addresses: tuple[str, ...] = ()
    #: close with FIN at the end (default: RST, so no client port lingers in TIME_WAIT)
    graceful_close: bool = False
    # -- scale ---------------------------------------------------------------------------
    processes: int | None = None
    per_process: int = 15_000
    per_address: int = 25_000
    # -- faults and commands -------------------------------------------------------------
    faults: tuple[FaultSpec, ...] = ()
    fault_log_limit: int = 100_000
    history_limit: int = 1000
    history_ack: bool = True
    # -- output ------------------------------------------------------------------------
    station_detail: bool = True
    progress_interval: float = 1.0
    uvloop: bool = True

    def __post_init__(self) -> None:
        _require(
            _is_loopback(self.host),
            f"--host {self.host!r}: the simulator only targets loopback addresses"
            " (127.0.0.0/8, ::1, localhost)",
        )
        _require(1 <= self.port <= 65535, f"--port must be 1..65535 (got {self.port})")
        _require(self.stations >= 0, f"--stations must be ≥ 0 (got {self.stations})")
        _require(self.first_index >= 0, f"first_index must be ≥ 0 (got {self.first_index})")
        try:
            mix = editions_of(self.edition)
        except ValueError as exc:
            raise ConfigError(f"--edition/--edition-mix: {exc}") from None
        _require(
            not self.encrypt or any(e == "2025" and w > 0 for e, w in mix),
            "--encrypt needs HJ 212-2025 stations: --edition 2025 or an --edition-mix with 2025",
        )
        _require(
            self.heartbeat >= 0 and math.isfinite(self.heartbeat),
            f"--heartbeat must be ≥ 0 simulated seconds (0: none; got {self.heartbeat})",
        )
        _require(bool(self.st), "--st needs at least one station type, e.g. --st 22,31,32")
        for code in self.st:
            try:
                known = {f.code for f in profile_for(code).factors}
            except ValueError as exc:
                raise ConfigError(f"--st: {exc}") from None
            unknown = [f for f in self.factors if f not in known]
            _require(
                not unknown,
                f"--factors {','.join(unknown)}: not a factor of station type {code}"
                f" (it has {','.join(sorted(known))})",
            )
        _require(
            bool(self.pw) and not any(c in self.pw for c in ";,=&"),
            f"--pw {self.pw!r} must be non-empty without ; , = &",
        )
        try:
            validate_rtd_interval(self.rtd_interval)
            if self.min_interval is not None:
                validate_min_interval(self.min_interval)
            zone(self.timezone)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        _require(self.status_every >= 0, "--status-every must be ≥ 0 (0: no 2021 status)")
        _require(self.phase >= 0, "phase must be ≥ 0 simulated seconds")
        _require(
            self.time_scale > 0 and math.isfinite(self.time_scale),
            f"--time-scale must be > 0 (got {self.time_scale})",
        )
        for name in ("duration", "drain", "ack_timeout", "connect_timeout"):
            value = getattr(self, name)
            _require(
                value is None or (value >= 0 and math.isfinite(value)),
                f"--{name.replace('_', '-')} must be ≥ 0 seconds (got {value})",
            )
        _require(self.ack_timeout > 0, "--ack-timeout must be > 0 seconds")
        _require(
            self.max_frames is None or self.max_frames >= 0,
            f"--max-frames must be ≥ 0 (got {self.max_frames})",
        )
        _require(self.retries >= 0, f"--retries must be ≥ 0 (got {self.retries})")
        _require(self.window >= 1, f"--window must be ≥ 1 (got {self.window})")
        _require(self.backlog >= 1, f"--backlog must be ≥ 1 (got {self.backlog})")
        _require(
            self.pace in ("clock", "fast"), f"--pace must be clock or fast (got {self.pace!r})"
        )
        _require(
            self.rate is None or self.rate > 0,
            f"--rate must be > 0 frames/s (got {self.rate}); leave it out for no limit",
        )
        _require(self.connect_rate > 0, f"--connect-rate must be > 0 (got {self.connect_rate})")
        _require(
            0 < self.reconnect_min <= self.reconnect_max,
            "--reconnect-min must be > 0 and ≤ --reconnect-max",
        )
        for addr in self.source_addresses:
            _require(
                _is_loopback(addr) and addr != "localhost",
                f"source address {addr!r} is not a loopback IP address (use 127.0.0.x)",
            )
        _require(
            self.processes is None or self.processes >= 1,
            f"--processes must be ≥ 1 (got {self.processes})",
        )
        _require(self.per_process >= 1, "per_process must be ≥ 1")
        _require(self.per_address >= 1, "per_address must be ≥ 1")
        _require(self.history_limit >= 0, "--history-limit must be ≥ 0")
        if self.duration is None and self.max_frames is None:
            object.__setattr__(self, "duration", DEFAULT_DURATION)
        _require(
            self.start_at is None or self.pace == "fast",
            "start_at (--burst-at) needs --pace fast",
        )
        if self.rate is not None and self.pace != "fast":
            object.__setattr__(self, "pace", "fast")

    # -- derived -----------------------------------------------------------------------
    @property
    def whole_run(self) -> int:
        """Stations in the whole run (this config's, or the parent run's for a slice)."""
        return self.stations if self.total_stations is None else self.total_stations

    def identities(self) -> list[StationIdentity]:
        """The identities of this config's stations."""
        return station_identities(
            self.stations,
            seed=self.seed,
            edition=self.edition,
            st=self.st,
            area=self.area,
            pw=self.pw,
            first=self.first_index,
        )

    def link_settings(self, index: int) -> LinkSettings:
        """What the link of station ``index`` is told."""
        return LinkSettings.of(self, self.address_for(index))

    def address_for(self, index: int) -> str | None:
        """The source address of station ``index`` (None: the kernel chooses)."""
        addrs = self.source_addresses
        if not addrs:
            return None
        start = self.first_index if self.run_start is None else self.run_start
        position = max(0, index - start)
        return addrs[min(len(addrs) - 1, position * len(addrs) // max(1, self.whole_run))]

    def replace(self, **changes: Any) -> FleetConfig:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON (for the summary)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "faults":
                value = [str(spec) for spec in value]
            elif f.name == "area":
                value = dataclasses.asdict(value)
            elif f.name == "clock_anchor":
                value = None if value is None else dataclasses.asdict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """What one station's :class:`~simulators.link.Link` is told (from a fleet or replay
    configuration)."""

    host: str
    port: int
    local_addr: str | None = None
    window: int = 16
    ack_timeout: float = 10.0
    retries: int = 3
    backlog: int = 1000
    connect_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    graceful_close: bool = False

    @classmethod
    def of(cls, config: object, local_addr: str | None) -> LinkSettings:
        """The fields of ``config`` (a fleet or replay configuration) named like ours."""
        given = {n: getattr(config, n) for n in _LINK_FIELDS if hasattr(config, n)}
        return cls(local_addr=local_addr, **given)


_LINK_FIELDS = tuple(f.name for f in dataclasses.fields(LinkSettings) if f.name != "local_addr")
