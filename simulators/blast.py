"""Blast: the lean load generator the benchmark drives a server to its limit with.

The full simulator (:mod:`simulators.station`) models a data logger — value
model, schedules, faults, downlink answers, retransmissions — and spends
about a quarter of a millisecond of CPU per frame doing so.  On a machine
where the load generator, the server and the database share two cores, that
would measure the simulator.  A blasting station keeps only what the server
sees: its identity, realistic values (a smooth loop of samples around the
station type's typical levels, cycled), a unique QN and DataTime per frame, the CRC, and the
ack window — the next frames go out as soon as 9014 answers free the window,
written together.  About 10 µs of CPU per frame.

Frames are HJ 212-2017 real-time uploads (2011) of the chosen factors with
``Flag=5`` (ack wanted); with ``edition`` 2025 (or a mix such as ``2017:0.5,2025:0.5``,
:mod:`simulators.editions`) the 2025 stations send ``Flag=9`` and, with ``encrypt``,
their CP SM4-encrypted with the key ``--list-stations`` gives them (CRC and ``LLLL`` of
the plaintext, HJ 212-2025 appendix A.2).  DataTimes step by ``interval_s`` from ``base_time``,
so every frame of a station is distinct (nothing is a retransmission).

:func:`run_blast` runs in this process; :func:`blast` splits a large fleet
over several processes (each ≤ ``per_process`` connections, the open-files
limit) and loopback source addresses (≤ ``per_address`` connections each,
the ephemeral-port range), like :mod:`simulators.multi`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import random
import resource
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from queue import Empty
from typing import Any

from protocol.crc import crc16
from protocol.sm4 import Sm4, encrypt_segment, parse_key, sm4_for

from .editions import editions_of
from .identities import StationIdentity, station_identities
from .profiles import profile_for

__all__ = ["BlastConfig", "BlastResult", "blast", "run_blast"]

_SHANGHAI = 8 * 3600  # DataTimes are station wall-clock (Asia/Shanghai, no DST)


@dataclass(frozen=True, slots=True)
class BlastConfig:
    host: str = "127.0.0.1"
    port: int = 2121
    stations: int = 100
    first_index: int = 0
    seed: int = 1
    st: str = "22"
    pw: str = "123456"
    factors: tuple[str, ...] = ("a21026", "a21004", "a21005", "a05024", "a34002", "a34004")
    #: frames in flight per station (sent, not yet acked)
    window: int = 8
    #: real seconds to send for (None: until max_frames)
    duration: float | None = 60.0
    #: frames this process may send (None: no limit)
    max_frames: int | None = None
    #: frames per second for the whole fleet (None: as fast as acks allow)
    rate: float | None = None
    #: connect now, hold uploads until this POSIX time (a synchronised burst)
    start_at: float | None = None
    #: after sending stops, wait this long for outstanding acks
    drain: float = 15.0
    interval_s: int = 30
    #: first DataTime (POSIX); None: now minus enough history that no frame is in the future
    base_time: float | None = None
    connect_rate: float = 3000.0
    source_addresses: tuple[str, ...] = ()
    per_process: int = 15_000
    per_address: int = 25_000
    #: "2017", "2025" or a mix of the two ("2017:0.5,2025:0.5"); 2005 is not blasted
    edition: str = "2017"
    #: 2025 stations encrypt their CP (SM4)
    encrypt: bool = False

    def __post_init__(self) -> None:
        mix = editions_of(self.edition)  # ValueError with the reason
        if any(e == "2005" and w > 0 for e, w in mix):
            raise ValueError("blast sends HJ 212-2017 and HJ 212-2025 frames only, not 2005")
        if self.encrypt and not any(e == "2025" and w > 0 for e, w in mix):
            raise ValueError("encrypt needs HJ 212-2025 stations (edition 2025 or a mix with it)")


@dataclass(slots=True)
class BlastResult:
    stations: int = 0
    connected: int = 0
    connect_failures: int = 0
    sent: int = 0
    acked: int = 0
    lost_connections: int = 0
    first_send: float | None = None
    last_ack: float | None = None
    errors: list[str] = field(default_factory=list)

    def merge(self, other: BlastResult) -> None:
        self.stations += other.stations
        self.connected += other.connected
        self.connect_failures += other.connect_failures
        self.sent += other.sent
        self.acked += other.acked
        self.lost_connections += other.lost_connections
        for name in ("first_send",):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None and (mine is None or theirs < mine):
                setattr(self, name, theirs)
        if other.last_ack is not None and (self.last_ack is None or other.last_ack > self.last_ack):
            self.last_ack = other.last_ack
        self.errors += other.errors

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class _Shared:
    """What the stations of one process share: counters, the frame budget, the stop."""

    def __init__(self, config: BlastConfig) -> None:
        self.config = config
        self.result = BlastResult(stations=config.stations)
        self.budget = config.max_frames
        self.sending = True
        self.inflight = 0
        #: with a rate: frames that may go out now, and the stations waiting for some
        self.tokens = 0.0
        self.starved: dict[_Station, None] = {}

    def refill(self, seconds: float) -> None:
        """Add ``rate × seconds`` frames (at most a tenth of a second's worth) and let the
        waiting stations send."""
        rate = self.config.rate
        if rate is None:
            return
        self.tokens = min(self.tokens + rate * seconds, rate * 0.1)
        waiting, self.starved = self.starved, {}
        for station in waiting:  # in the order they started waiting
            if self.tokens < 1:
                self.starved[station] = None
            else:
                station.send_more()  # waits again if it could not send all it wanted


class _Station(asyncio.Protocol):
    __slots__ = ("_dt", "_head", "_k", "_sm4", "_values", "inflight", "shared", "transport")

    def __init__(
        self,
        shared: _Shared,
        ident: StationIdentity,
        st: str,
        values: list[str],
        base: float,
        sm4: Sm4 | None = None,
    ) -> None:
        self.shared = shared
        flag = 9 if ident.edition == "2025" else 5
        self._head = f";ST={st};CN=2011;PW={ident.pw};MN={ident.mn};Flag={flag};CP=&&DataTime="
        self._sm4 = sm4
        self._values = values
        self._dt = base
        self._k = 0
        self.inflight = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.shared.result.connected += 1
        gate = self.shared.config.start_at
        delay = 0.0 if gate is None else gate - time.time()
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self.send_more)
        else:
            self.send_more()

    def send_more(self) -> None:
        shared = self.shared
        transport = self.transport
        if transport is None or not shared.sending:
            return
        room = shared.config.window - self.inflight
        if shared.budget is not None:
            room = min(room, shared.budget)
        if room <= 0:
            return
        if shared.config.rate is not None:
            if shared.tokens < room:
                shared.starved[self] = None  # the next refill sends
                room = int(shared.tokens)
                if room <= 0:
                    return
            shared.tokens -= room
        frames = []
        interval = shared.config.interval_s
        values = self._values
        sm4 = self._sm4
        for _ in range(room):
            k = self._k
            self._k = k + 1
            t = self._dt
            self._dt = t + interval
            dt = time.strftime("%Y%m%d%H%M%S", time.gmtime(t + _SHANGHAI))
            seg = f"QN={dt}{k % 1000:03d}{self._head}{dt};{values[k % len(values)]}&&".encode()
            crc = crc16(seg)
            wire = seg if sm4 is None else encrypt_segment(seg, sm4)
            frames.append(b"##%04d%b%04X\r\n" % (len(seg), wire, crc))
        transport.write(b"".join(frames))
        self.inflight += room
        shared.inflight += room
        result = shared.result
        result.sent += room
        if result.first_send is None:
            result.first_send = time.time()
        if shared.budget is not None:
            shared.budget -= room
            if shared.budget <= 0:
                shared.sending = False

    def data_received(self, data: bytes) -> None:
        acks = data.count(b"CN=9014")
        if acks:
            acks = min(acks, self.inflight)
            self.inflight -= acks
            shared = self.shared
            shared.inflight -= acks
            shared.result.acked += acks
            shared.result.last_ack = time.time()
            self.send_more()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.shared.result.lost_connections += 1
            self.shared.inflight -= self.inflight
            self.inflight = 0
        self.transport = None


def _values_for(
    st: str, factors: Sequence[str], rng: random.Random, samples: int = 16
) -> list[str]:
    """A few value sets around the station type's typical levels (CP text, ready to send),
    cycled: one smooth loop per factor (level × e^(0.25·sin), random phase), so that
    consecutive frames differ as a real analyser's consecutive readings do — drawn
    independently, the alert engine would see a jump every few frames."""
    profile = {f.code: f for f in profile_for(st).factors}
    phase = {code: rng.uniform(0.0, 2 * math.pi) for code in factors}
    spread = {code: f.level * rng.lognormvariate(0.0, 0.1) for code, f in profile.items()}
    out = []
    for k in range(samples):
        parts = []
        for code in factors:
            f = profile[code]
            wave = math.sin(phase[code] + 2 * math.pi * k / samples)
            value = max(f.low, spread[code] * math.exp(0.25 * wave))
            parts.append(f"{code}-Rtd={value:.{f.decimals}f},{code}-Flag=N")
        out.append(";".join(parts))
    return out


async def run_blast(config: BlastConfig) -> BlastResult:
    """Blast from this process (on the running loop) until duration/budget, then drain."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    shared = _Shared(config)
    ids = station_identities(
        config.stations,
        seed=config.seed,
        st=(config.st,),
        pw=config.pw,
        first=config.first_index,
        edition=config.edition,
    )
    rng = random.Random(config.seed * 1_000_003 + config.first_index)
    base = config.base_time
    if base is None:
        # a station's frames step by interval_s: it needs history for (twice) ITS share of
        # the frames (a 100,000-frame burst from 36,000 stations is 3 a station: 180 s back,
        # live data — not 35 days back, which every rollup would treat as late data)
        if config.max_frames is None:  # unbounded (throughput): as far back as allowed
            span = 300 * 86_400
        else:
            span = 2 * -(-config.max_frames // max(config.stations, 1)) * config.interval_s
        base = time.time() - min(span, 300 * 86_400)
    base = float(int(base) // config.interval_s * config.interval_s)
    stations: list[_Station] = []
    gap = 1.0 / config.connect_rate
    addresses = list(config.source_addresses)
    tasks = []

    async def connect(i: int, ident: Any) -> None:
        sm4 = sm4_for(parse_key(ident.sm4_key)) if config.encrypt and ident.sm4_key else None
        values = _values_for(config.st, config.factors, rng)
        station = _Station(shared, ident, config.st, values, base, sm4)
        stations.append(station)
        local = None
        if addresses:
            local = (addresses[(config.first_index + i) // config.per_address % len(addresses)], 0)
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            if local is not None:
                with contextlib.suppress(OSError, AttributeError):
                    sock.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT
                sock.bind(local)
            await asyncio.wait_for(loop.sock_connect(sock, (config.host, config.port)), 15)
            await loop.create_connection(lambda: station, sock=sock)
        except (OSError, TimeoutError) as exc:
            shared.result.connect_failures += 1
            if len(shared.result.errors) < 10:
                shared.result.errors.append(f"connect: {exc}")

    started = time.monotonic()
    for i, ident in enumerate(ids):
        tasks.append(loop.create_task(connect(i, ident)))
        if (i + 1) % 50 == 0:
            await asyncio.sleep(gap * 50)
    await asyncio.gather(*tasks)
    if config.start_at is not None:
        await asyncio.sleep(max(0.0, config.start_at - time.time()))
        started = time.monotonic()
    last = time.monotonic()
    result = shared.result
    while shared.sending:
        now = time.monotonic()
        if config.duration is not None and now - started >= config.duration:
            shared.sending = False
            break
        if result.lost_connections >= result.connected:  # nobody left to send to
            shared.sending = False
            result.errors.append(
                f"all {result.connected} connections lost while sending"
                if result.connected
                else "no connection to send on"
            )
            break
        shared.refill(now - last)
        last = now
        await asyncio.sleep(0.01 if config.rate is not None else 0.05)
    deadline = time.monotonic() + config.drain
    while shared.inflight > 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - polls counters
        await asyncio.sleep(0.05)
    for station in stations:
        if station.transport is not None:
            transport = station.transport
            station.transport = None
            with contextlib.suppress(OSError):
                sock = transport.get_extra_info("socket")
                if sock is not None:  # RST: no TIME_WAIT pile-up between runs
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            transport.close()
    await asyncio.sleep(0.1)
    return shared.result


def _child(config: BlastConfig, queue: Any) -> None:
    try:
        import uvloop

        result = uvloop.run(run_blast(config))
    except Exception as exc:
        result = BlastResult(stations=config.stations, errors=[f"{type(exc).__name__}: {exc}"])
    queue.put(result.to_json())
    queue.close()
    queue.join_thread()  # the result must leave before the process does


def blast(config: BlastConfig) -> BlastResult:
    """Blast over as many processes as the fleet needs (blocking)."""
    per = config.per_process
    slices = [
        (start, min(per, config.stations - start)) for start in range(0, config.stations, per)
    ]
    if len(slices) <= 1:
        try:
            import uvloop

            return uvloop.run(run_blast(config))
        except ImportError:  # pragma: no cover
            return asyncio.run(run_blast(config))
    addresses = config.source_addresses
    if not addresses and config.stations > config.per_address:
        need = -(-config.stations // config.per_address)
        addresses = tuple(f"127.0.0.{i + 1}" for i in range(need))
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    budget = config.max_frames
    procs = []
    given = 0
    for n, (start, size) in enumerate(slices):
        share = None
        if budget is not None:
            share = budget - given if n == len(slices) - 1 else budget * size // config.stations
            given += share
        child = replace(
            config,
            stations=size,
            first_index=config.first_index + start,
            max_frames=share,
            rate=None if config.rate is None else config.rate * size / config.stations,
            source_addresses=addresses,
        )
        # daemonic: a parent that dies (a failed benchmark) does not wait for its blasters
        proc = ctx.Process(
            target=_child, args=(child, queue), name=f"envgrid-blast-{n}", daemon=True
        )
        proc.start()
        procs.append(proc)
    total = BlastResult()
    pending = len(procs)
    while pending:
        try:
            total.merge(BlastResult(**queue.get(timeout=1.0)))
            pending -= 1
        except Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:  # a child that died cannot report: say so instead of waiting forever
                total.errors += [f"{p.name} exited with {p.exitcode}" for p in dead]
                break
    for proc in procs:
        proc.join(30)
    return total
