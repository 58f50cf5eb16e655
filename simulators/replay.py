"""Replay recorded frames: ``envgrid simulate --replay FILE``.

The file holds one frame per line, with or without its CRLF — the format of
``corpus/virt2017.txt`` and of ``envgrid decode``'s input.  Lines that do not
start with ``##`` are skipped (and counted); frames that do not decode are
still sent as recorded (counted as bad frames, never acked).

* **Direction.** A capture holds both sides.  With ``--replay-filter uplink``
  (the default) frames a station never sends are left out: 9014 data answers
  and the downlink-only commands of the CN table (1012, 1062, 2012 …).
  ``all`` sends every line.
* **Connections.** Frames are grouped by MN, in file order; each MN gets its
  own connection (a :class:`~simulators.link.Link`, so acks, the window,
  retransmission and reconnects work as for simulated stations).
* **Acks.** Uploads that ask for one (A bit) are tracked by their QN (2017:
  the head; 2005: the head or, for replies, the QN inside CP).  A QN already
  in use on that connection is sent untracked (counted as a duplicate QN).
* **Pacing.** ``original`` keeps each MN's recorded gaps (from the QN time
  stamp, 17-digit or epoch milliseconds, else DataTime), divided by
  ``--time-scale`` and capped at ``--replay-max-gap`` seconds; ``fast`` sends
  as fast as the ack window allows.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from protocol import (
    HARD_CAP,
    DataUpload,
    Decoder,
    Frame,
    InfoUpload,
    Role,
    StatusUpload,
    parse_time,
)
from protocol.commands import COMMANDS, Direction

from .clock import zone
from .config import DEFAULT_PORT, ConfigError, LinkSettings, _is_loopback
from .faults import FaultLog
from .fleet import drain_links
from .link import Link
from .noise import CounterRandom, seed_of
from .outgoing import Outgoing
from .result import FleetResult, build_result, iso
from .stats import FleetCounters, StationStats

__all__ = [
    "RecordedFrame",
    "ReplayConfig",
    "ReplayFile",
    "parse_replay",
    "read_replay",
    "replay_offsets",
    "run_replay",
]

_MN = re.compile(rb"MN=([^;&,]*)")
_QN = re.compile(rb"QN=([0-9]+)")
_CN = re.compile(rb"CN=([0-9]{4})")
_DATA_TIME = re.compile(rb"DataTime=([0-9]{14,17})")


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One line of a replay file."""

    line: int
    data: bytes  # as sent: the frame with its CRLF
    mn: str | None
    cn: int | None
    #: QN whose 9014 acks this frame (None: not tracked)
    ack_key: str | None
    #: recorded time (POSIX seconds) from the QN or DataTime, if any
    at: float | None
    decoded: bool
    #: 2017 factor codes of a data upload (for the values summary)
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ReplayFile:
    frames: tuple[RecordedFrame, ...]
    skipped: dict[str, int] = field(default_factory=dict)

    def by_mn(self) -> dict[str, list[RecordedFrame]]:
        groups: dict[str, list[RecordedFrame]] = {}
        for frame in self.frames:
            groups.setdefault(frame.mn or "?", []).append(frame)
        return groups


def _timestamp(qn: str | None, data_time: str | None, tz: tzinfo) -> float | None:
    if qn and len(qn) == 13 and qn.isdigit():  # epoch milliseconds (seen in [VIRT])
        return int(qn) / 1000.0
    for text in (qn, data_time):
        moment = parse_time(text)
        if moment is not None:
            return moment.replace(tzinfo=tz).timestamp()
    return None


def _uplink(cn: int | None) -> bool:
    if cn is None:
        return True
    if cn == 9014:
        return False
    info = COMMANDS.get(cn)
    return info is None or info.direction is not Direction.DOWNLINK


def parse_replay(lines: Iterable[bytes], *, direction: str = "uplink", tz: tzinfo) -> ReplayFile:
    """Parse replay lines (bytes, with or without line ends)."""
    if direction not in ("uplink", "all"):
        raise ConfigError(f"--replay-filter must be uplink or all (got {direction!r})")
    frames: list[RecordedFrame] = []
    skipped: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip(b"\r\n")
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith(b"##"):
            skipped["not_a_frame"] = skipped.get("not_a_frame", 0) + 1
            continue
        data = stripped + b"\r\n"
        events = Decoder(role=Role.PLATFORM, max_length=HARD_CAP).feed(data)
        event = events[0] if len(events) == 1 else None
        if isinstance(event, Frame):
            cn: int | None = event.cn
            mn = event.mn
            qn = event.effective_qn
            at = _timestamp(qn, event.data_time, tz)
            tracked = event.ack_requested and isinstance(
                event, DataUpload | StatusUpload | InfoUpload
            )
            codes = tuple(event.values) if isinstance(event, DataUpload) else ()
            decoded = True
        else:
            m_mn, m_cn, m_qn, m_dt = (
                _MN.search(data),
                _CN.search(data),
                _QN.search(data),
                _DATA_TIME.search(data),
            )
            mn = m_mn.group(1).decode("ascii", "replace") if m_mn else None
            cn = int(m_cn.group(1)) if m_cn else None
            qn = m_qn.group(1).decode() if m_qn else None
            at = _timestamp(qn, m_dt.group(1).decode() if m_dt else None, tz)
            tracked = False
            codes = ()
            decoded = False
        if direction == "uplink" and not _uplink(cn):
            skipped["downlink"] = skipped.get("downlink", 0) + 1
            continue
        frames.append(
            RecordedFrame(number, data, mn, cn, qn if tracked else None, at, decoded, codes)
        )
    return ReplayFile(tuple(frames), skipped)


def read_replay(path: str | Path, *, direction: str = "uplink", tz: tzinfo) -> ReplayFile:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"--replay {path}: cannot read it ({exc.strerror})") from None
    return parse_replay(data.splitlines(), direction=direction, tz=tz)


def replay_offsets(
    frames: list[RecordedFrame], *, pace: str, scale: float, max_gap: float
) -> list[float]:
    """Real seconds after the start at which each frame of one MN is due."""
    if pace == "fast":
        return [0.0] * len(frames)
    out: list[float] = []
    offset = 0.0
    last: float | None = None
    for frame in frames:
        if frame.at is not None:
            if last is not None:
                offset += min(max(0.0, frame.at - last) / scale, max_gap)
            last = frame.at
        out.append(offset)
    return out


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    path: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    pace: str = "original"  # "original" or "fast"
    time_scale: float = 1.0
    max_gap: float = 60.0
    direction: str = "uplink"
    timezone: str = "Asia/Shanghai"
    window: int = 16
    ack_timeout: float = 10.0
    retries: int = 3
    backlog: int = 100_000
    connect_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 30.0
    source_address: str | None = None
    duration: float | None = None
    drain: float = 10.0
    progress_interval: float = 1.0
    station_detail: bool = True
    uvloop: bool = True

    def __post_init__(self) -> None:
        if not _is_loopback(self.host):
            raise ConfigError(f"--host {self.host!r}: replays only target loopback addresses")
        if self.pace not in ("original", "fast"):
            raise ConfigError(f"--replay-pace must be original or fast (got {self.pace!r})")
        if self.time_scale <= 0 or self.max_gap < 0:
            raise ConfigError("--time-scale must be > 0 and --replay-max-gap ≥ 0")
        if self.window < 1 or self.retries < 0 or self.ack_timeout <= 0:
            raise ConfigError("--window ≥ 1, --retries ≥ 0 and --ack-timeout > 0 are required")

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class ReplayStream:
    """The recorded frames of one MN, on one connection."""

    __slots__ = (
        "_due",
        "_handle",
        "_keys",
        "_loop",
        "_next",
        "_started",
        "frames",
        "link",
        "mn",
        "stats",
    )

    def __init__(
        self,
        mn: str,
        frames: list[RecordedFrame],
        due: list[float],
        config: ReplayConfig,
        counters: FleetCounters,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.mn = mn
        self.frames = frames
        self._due = due
        self._loop = loop
        self._next = 0
        self._handle: asyncio.TimerHandle | None = None
        self._keys: set[str] = set()
        self._started = 0.0
        self.stats = StationStats()
        self.link = Link(
            self,
            LinkSettings.of(config, config.source_address),
            counters=counters,
            stats=self.stats,
            rng=CounterRandom(seed_of("replay", mn)),
            loop=loop,
        )

    @property
    def done(self) -> bool:
        return self._next >= len(self.frames) and self.link.idle

    def start(self) -> asyncio.Task[None]:
        self._started = self._loop.time()
        self._schedule()
        return self._loop.create_task(self.link.run())

    def _schedule(self) -> None:
        if self._next >= len(self.frames):
            return
        delay = self._started + self._due[self._next] - self._loop.time()
        self._handle = self._loop.call_later(max(0.0, delay), self._feed)

    def _feed(self) -> None:
        self._handle = None
        now = self._loop.time()
        while self._next < len(self.frames) and self._started + self._due[self._next] <= now:
            frame = self.frames[self._next]
            self._next += 1
            key = frame.ack_key
            if key is not None and key in self._keys:
                self.stats.decode_errors["duplicate_qn"] = (
                    self.stats.decode_errors.get("duplicate_qn", 0) + 1
                )
                key = None
            if key is not None:
                self._keys.add(key)
            out = Outgoing(frame.data, frame.cn or 0, key, ack=key is not None, codes=frame.codes)
            out.bad = not frame.decoded  # a recorded broken frame goes out as it was
            self.link.submit(out)
            if self.link.queued >= self.link.settings.window:
                return  # the window is full: on_room() continues
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._next = len(self.frames)

    # -- LinkOwner ---------------------------------------------------------------------
    def on_connected(self) -> None:
        return None

    def on_disconnected(self) -> None:
        return None

    def on_command(self, frame: Frame) -> None:
        return None  # a recording does not answer

    def on_sent(self, out: Outgoing) -> None:
        return None

    def on_room(self) -> None:
        if self._handle is None and self._next < len(self.frames):
            self._schedule()

    def reconnect_delay(self) -> float:
        return 0.0

    def summary(self) -> dict[str, Any]:
        first = next((f for f in self.frames if f.decoded), None)
        out: dict[str, Any] = {"mn": self.mn, "frames_in_file": len(self.frames)}
        if first is not None:
            out["line"] = first.line
        out.update(self.stats.to_json())
        out["unacked_at_end"] = len(self.link.unacked())
        out["unsent_at_end"] = len(self.link.unsent()) + (len(self.frames) - self._next)
        return out


async def run_replay(
    config: ReplayConfig,
    *,
    on_progress: Any = None,
    stop: asyncio.Event | None = None,
) -> FleetResult:
    """Replay ``config.path``; returns when every frame is sent and acked (or failed),
    or at ``duration`` / ``stop``."""
    loop = asyncio.get_running_loop()
    tz = zone(config.timezone)
    recording = read_replay(config.path, direction=config.direction, tz=tz)
    counters = FleetCounters()
    streams = []
    for mn, frames in recording.by_mn().items():
        due = replay_offsets(
            frames, pace=config.pace, scale=config.time_scale, max_gap=config.max_gap
        )
        streams.append(ReplayStream(mn, frames, due, config, counters, loop))
    started_at = time.time()
    t0 = loop.time()
    tasks = [s.start() for s in streams]
    end = None if config.duration is None else t0 + config.duration
    next_progress = t0 + config.progress_interval
    try:
        while not all(s.done for s in streams):
            if (stop is not None and stop.is_set()) or (end is not None and loop.time() >= end):
                break
            await asyncio.sleep(0.02)
            if on_progress is not None and loop.time() >= next_progress:
                next_progress += config.progress_interval
                on_progress(_snapshot(counters, len(streams), loop.time() - t0))
        for s in streams:
            s.stop()
        await drain_links([s.link for s in streams], config.drain)
    finally:
        for s in streams:
            s.stop()
            s.link.shutdown()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    duration = loop.time() - t0
    if on_progress is not None:
        on_progress(_snapshot(counters, len(streams), duration))
    times = [f.at for f in recording.frames if f.at is not None]
    result = build_result(
        mode="replay",
        config=config.to_json(),
        counters=counters,
        summaries={s.mn: s.summary() for s in streams},
        fault_log=FaultLog(0),
        started_at=started_at,
        duration=duration,
        sim_start=iso(min(times), tz) if times else "",
        sim_end=iso(max(times), tz) if times else "",
        time_scale=config.time_scale,
        all_connected=None,
        station_detail=config.station_detail,
        source_addresses=[config.source_address] if config.source_address else [],
    )
    result.totals["replay"] = {
        "lines_sent": len(recording.frames),
        "skipped": dict(recording.skipped),
        "undecodable": sum(1 for f in recording.frames if not f.decoded),
    }
    return result


def _snapshot(counters: FleetCounters, streams: int, elapsed: float) -> dict[str, Any]:
    snap: dict[str, Any] = counters.snapshot()
    snap["t"] = round(elapsed, 3)
    snap["stations"] = streams
    return snap


__all__ += ["ReplayStream"]
