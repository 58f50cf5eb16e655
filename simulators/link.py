"""One data logger's TCP link: connect, ack window, retransmission, reconnect.

Theory of operation
-------------------
A :class:`Link` is the asyncio ``Protocol`` of one station and outlives its
connections (it is its own protocol factory, one connection at a time).

* **Connect.** A non-blocking socket, optionally bound to a loopback source
  address (``127.0.0.k``) with ``IP_BIND_ADDRESS_NO_PORT`` so the kernel picks
  the source port at ``connect()`` time (each source address has its own
  ephemeral-port range: this is how 50,000 connections fit 28,232 ports).
  Failures back off exponentially with ±50 % jitter; after a dropped
  connection the first retry waits ``reconnect_min`` (jittered).
* **Uploads** are :class:`Outgoing` records in an *outbox*.  :meth:`pump`
  sends from the outbox while fewer than ``window`` frames await their 9014
  (frames that ask for no ack do not count) and the transport is writable
  (``pause_writing`` stops it) — so a slow server paces the station
  (ack-paced sending).  The outbox is bounded by ``backlog``: when it
  overflows the oldest frame is dropped and counted.
* **Acks.** A 9014 is matched by the QN it carries (head QN in 2017, the QN
  inside CP in 2005 — :attr:`protocol.Reply.request_qn`).  A frame whose 9014
  has not arrived after ``ack_timeout`` real seconds is sent again, at most
  ``retries`` times ([S17] table 1: 10 s × 3), then counted failed.  A 9014
  for a failed frame (late) moves it back to acked; one for an acked frame is
  a duplicate; anything else is unmatched.
* **Disconnect.** Everything in flight goes back to the front of the outbox,
  in order, and is resent (counted as retransmissions) after the reconnect.
* **Commands and other frames** from the platform are decoded with
  :class:`protocol.Decoder` (``Role.STATION``) and handed to the owner.
  Replies (9011/9012/9013, parameter answers) are written at once with
  :meth:`send_now`; they are not acked.
* **Slow sender.** :meth:`pump` can *dribble* a frame one byte per timer tick;
  meanwhile other writes are held back so frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Protocol as TypingProtocol

from protocol import Command, Decoder, FrameError, Reply, Role

from .noise import CounterRandom
from .stats import ACKED, DROPPED, FAILED, RETRANS, SENT, FleetCounters, StationStats

__all__ = ["Link", "LinkOwner", "LinkSettings", "Outgoing"]

log = logging.getLogger("envgrid.simulators.link")

#: Linux ``IP_BIND_ADDRESS_NO_PORT`` (not exported by the socket module on 3.11)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
_RECENT = 128  # acked / failed QNs remembered for duplicate / late acks


@dataclass(frozen=True, slots=True)
class LinkSettings:
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


class Outgoing:
    """One upload frame on its way: what to send, how often it was sent, its ack."""

    __slots__ = (
        "ack",
        "after",
        "bad",
        "cn",
        "codes",
        "data",
        "history",
        "key",
        "prelude",
        "retries",
        "sends",
        "sent_at",
        "slow",
        "timer",
        "waiter",
    )

    def __init__(
        self,
        data: bytes,
        cn: int,
        key: str | None,
        *,
        ack: bool,
        codes: tuple[str, ...] = (),
        history: bool = False,
    ) -> None:
        self.data = data
        self.cn = cn
        self.key = key
        self.ack = ack and key is not None
        self.codes = codes
        self.history = history
        self.prelude: bytes | None = None
        #: a broken frame sent as is (replays): counted as bad, never as data
        self.bad = False
        self.slow: float | None = None
        #: (fault kind, simulated seconds) to act on after the first transmission
        self.after: tuple[str, float] | None = None
        self.sends = 0
        self.retries = 0
        self.sent_at = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.waiter: asyncio.Future[bool] | None = None

    def settle(self, ok: bool) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(ok)


class LinkOwner(TypingProtocol):
    """What a link tells its station (or replay stream)."""

    def on_connected(self) -> None: ...
    def on_disconnected(self) -> None: ...
    def on_command(self, frame: Command) -> None: ...
    def on_sent(self, out: Outgoing) -> None: ...
    def on_room(self) -> None: ...
    def reconnect_delay(self) -> float: ...


class Link(asyncio.Protocol):
    """The connection and upload window of one station."""

    __slots__ = (
        "_acked",
        "_closed",
        "_closing",
        "_decoder",
        "_drip",
        "_drip_at",
        "_drip_handle",
        "_drip_held",
        "_failed",
        "_inflight",
        "_loop",
        "_outbox",
        "_wake",
        "_writable",
        "ack_timeout",
        "counters",
        "last_error",
        "owner",
        "retries",
        "rng",
        "settings",
        "stats",
        "stopping",
        "transport",
    )

    def __init__(
        self,
        owner: LinkOwner,
        settings: LinkSettings,
        *,
        counters: FleetCounters,
        stats: StationStats,
        rng: CounterRandom,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.owner = owner
        self.settings = settings
        self.counters = counters
        self.stats = stats
        self.rng = rng
        self._loop = loop
        self.ack_timeout = settings.ack_timeout
        self.retries = settings.retries
        self.transport: asyncio.Transport | None = None
        self._decoder = Decoder(role=Role.STATION)
        self._outbox: deque[Outgoing] = deque()
        self._inflight: dict[str, Outgoing] = {}
        self._failed: OrderedDict[str, Outgoing] = OrderedDict()
        self._acked: OrderedDict[str, None] = OrderedDict()
        self._writable = True
        self._closed: asyncio.Future[None] | None = None
        self._closing = False
        self._wake: asyncio.Future[None] | None = None
        self._drip: bytes | None = None
        self._drip_at = 0
        self._drip_handle: asyncio.TimerHandle | None = None
        self._drip_held: list[bytes] = []
        self.stopping = False
        self.last_error: str | None = None

    # -- state ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.transport is not None and not self._closing

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    @property
    def queued(self) -> int:
        return len(self._outbox)

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing awaiting an ack."""
        return not self._outbox and not self._inflight

    @property
    def has_room(self) -> bool:
        """Another upload would be sent at once (window not full, nothing queued)."""
        return not self._outbox and len(self._inflight) < self.settings.window

    def unsent(self) -> list[Outgoing]:
        return [o for o in self._outbox if o.sends == 0]

    def unacked(self) -> list[Outgoing]:
        return [*self._inflight.values(), *(o for o in self._outbox if o.sends > 0)]

    # -- connection loop -----------------------------------------------------------------
    async def run(self) -> None:
        """Connect and stay connected until :meth:`shutdown`."""
        s = self.settings
        backoff = s.reconnect_min
        while not self.stopping:
            wait = self.owner.reconnect_delay()
            if wait > 0:
                await self._sleep(wait)
                continue
            if not await self._connect():
                await self._sleep(backoff * (0.5 + self.rng.random()))
                backoff = min(backoff * 2.0, s.reconnect_max)
                continue
            backoff = s.reconnect_min
            closed = self._closed
            if closed is not None:
                await closed
            if not self.stopping:
                await self._sleep(backoff * (0.5 + self.rng.random()))

    async def _connect(self) -> bool:
        s = self.settings
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if s.local_addr:
                with contextlib.suppress(OSError):  # not Linux: bind picks the port now
                    sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                sock.bind((s.local_addr, 0))
            async with asyncio.timeout(s.connect_timeout):
                await self._loop.sock_connect(sock, (s.host, s.port))
            await self._loop.create_connection(lambda: self, sock=sock)
        except (OSError, TimeoutError) as exc:
            sock.close()
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.stats.connect_failures += 1
            self.counters.connect_failures += 1
            log.debug("connect to %s:%s failed: %s", s.host, s.port, self.last_error)
            return False
        except BaseException:
            sock.close()
            raise
        return True

    async def _sleep(self, delay: float) -> None:
        """Sleep that :meth:`shutdown` interrupts."""
        if self.stopping:
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        self._wake = fut
        handle = self._loop.call_later(delay, _resolve, fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._wake = None

    def shutdown(self) -> None:
        """No more reconnects; close the connection (its data already written is flushed)."""
        self.stopping = True
        if self._wake is not None:
            _resolve(self._wake)
        if self.transport is not None:
            self._closing = True
            self.transport.close()

    def disconnect(self) -> None:
        """Drop the connection now (fault injection); the run loop reconnects."""
        if self.transport is not None:
            self._closing = True
            self.transport.close()

    # -- asyncio.Protocol ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._closing = False
        self._decoder = Decoder(role=Role.STATION)
        self._writable = True
        self._closed = self._loop.create_future()
        self.stats.connections += 1
        self.counters.up()
        self.owner.on_connected()
        self.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.counters.connections_up -= 1
        if not self.stopping:
            self.stats.lost += 1
            self.counters.connections_lost += 1
        if self._drip_handle is not None:
            self._drip_handle.cancel()
            self._drip_handle = None
        self._drip = None
        self._drip_held.clear()
        # everything in flight goes back to the front of the outbox, in order
        for out in reversed(self._inflight.values()):
            if out.timer is not None:
                out.timer.cancel()
                out.timer = None
            self._outbox.appendleft(out)
        self._inflight.clear()
        self.owner.on_disconnected()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self.pump()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def data_received(self, data: bytes) -> None:
        self.counters.bytes_received += len(data)
        for event in self._decoder.feed(data):
            if isinstance(event, FrameError):
                code = event.code.value
                self.stats.decode_errors[code] = self.stats.decode_errors.get(code, 0) + 1
                self.counters.decode_errors += 1
            elif isinstance(event, Reply):
                if event.cn == 9014:
                    self._on_ack(event)
            elif isinstance(event, Command):
                self.counters.commands += 1
                self.stats.commands[event.cn] = self.stats.commands.get(event.cn, 0) + 1
                self.owner.on_command(event)
            else:  # a well-formed frame a station has no use for (UnknownFrame, heartbeat)
                key = f"unexpected_{event.kind}"
                self.stats.decode_errors[key] = self.stats.decode_errors.get(key, 0) + 1

    # -- sending -------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or self._closing:
            return
        if self._drip is not None:
            self._drip_held.append(data)
            return
        transport.write(data)
        self.counters.bytes_sent += len(data)

    def send_now(self, data: bytes) -> bool:
        """Write a reply (9011/9012/9013, a parameter answer) at once; False if offline."""
        if not self.connected:
            return False
        self._write(data)
        self.stats.replies_sent += 1
        self.counters.replies_sent += 1
        return True

    def submit(self, out: Outgoing, *, front: bool = False) -> None:
        """Queue an upload (``front``: before everything queued, e.g. 2081 after boot)."""
        if front:
            self._outbox.appendleft(out)
        else:
            self._outbox.append(out)
        if len(self._outbox) > self.settings.backlog:
            victim = self._outbox.pop() if front else self._outbox.popleft()
            row = self.stats.cn(victim.cn, victim.history)
            if victim.sends:
                row[FAILED] += 1
                self.counters.failed += 1
            else:
                row[DROPPED] += 1
                self.counters.dropped += 1
            victim.settle(False)
        self.pump()

    def pump(self) -> None:
        """Send queued uploads while the window and the transport allow."""
        window = self.settings.window
        outbox = self._outbox
        while (
            outbox
            and self.transport is not None
            and not self._closing
            and self._writable
            and self._drip is None
            and len(self._inflight) < window
        ):
            self._transmit(outbox.popleft())
        if not outbox and len(self._inflight) < window:
            self.owner.on_room()

    def _transmit(self, out: Outgoing) -> None:
        if out.bad:
            self._write(out.data)
            self.stats.bad_sent += 1
            self.counters.bad_sent += 1
            out.settle(False)
            return
        first = out.sends == 0
        delay = 0.0
        if first and out.prelude is not None:
            self._write(out.prelude)
            self.stats.bad_sent += 1
            self.counters.bad_sent += 1
        if first and out.slow:
            self._start_drip(out.data, out.slow)
            delay = out.slow
        else:
            self._write(out.data)
        if first:
            self.stats.cn(out.cn, out.history)[SENT] += 1
            if out.codes and not out.history:
                self.stats.value_row(out.cn, out.codes)[0] += 1
            if out.history:
                self.counters.history_sent += 1
            else:
                self.counters.sent += 1
            out.sent_at = self._loop.time()
        else:
            self.stats.cn(out.cn, out.history)[RETRANS] += 1
            self.counters.retransmissions += 1
        out.sends += 1
        if out.ack:
            assert out.key is not None
            self._inflight[out.key] = out
            out.timer = self._loop.call_later(self.ack_timeout + delay, self._on_timeout, out)
        else:
            out.settle(True)
        if first:
            self.owner.on_sent(out)

    def _on_timeout(self, out: Outgoing) -> None:
        out.timer = None
        key = out.key
        if key is None or self._inflight.get(key) is not out or not self.connected:
            return
        if out.retries < self.retries:
            out.retries += 1
            del self._inflight[key]
            self._transmit(out)
            return
        del self._inflight[key]
        self.stats.cn(out.cn, out.history)[FAILED] += 1
        self.counters.failed += 1
        self._failed[key] = out
        if len(self._failed) > _RECENT:
            self._failed.popitem(last=False)
        out.settle(False)
        self.pump()

    def _on_ack(self, reply: Reply) -> None:
        key = reply.request_qn
        out = self._inflight.pop(key, None) if key is not None else None
        if out is None:
            late = self._failed.pop(key, None) if key is not None else None
            if late is not None:
                row = self.stats.cn(late.cn, late.history)
                row[FAILED] -= 1
                self.counters.failed -= 1
                self.stats.late_acks += 1
                self.counters.late_acks += 1
                self._count_ack(late)
            elif key is not None and key in self._acked:
                self.stats.duplicate_acks += 1
            else:
                self.stats.unmatched_acks += 1
                self.counters.unmatched_acks += 1
            return
        if out.timer is not None:
            out.timer.cancel()
            out.timer = None
        self._count_ack(out)
        self.pump()

    def _count_ack(self, out: Outgoing) -> None:
        self.stats.cn(out.cn, out.history)[ACKED] += 1
        if out.codes and not out.history:
            self.stats.value_row(out.cn, out.codes)[1] += 1
        self.counters.acked += 1
        self.counters.latency.add(self._loop.time() - out.sent_at)
        if out.key is not None:
            self._acked[out.key] = None
            if len(self._acked) > _RECENT:
                self._acked.popitem(last=False)
        out.settle(True)

    # -- slow sender ---------------------------------------------------------------------
    def _start_drip(self, data: bytes, seconds: float) -> None:
        self._drip = data
        self._drip_at = 0
        self._drip_step(max(0.001, seconds / max(1, len(data))))

    def _drip_step(self, interval: float) -> None:
        data = self._drip
        transport = self.transport
        if data is None or transport is None or self._closing:
            return
        transport.write(data[self._drip_at : self._drip_at + 1])
        self.counters.bytes_sent += 1
        self._drip_at += 1
        if self._drip_at < len(data):
            self._drip_handle = self._loop.call_later(interval, self._drip_step, interval)
            return
        self._drip = None
        self._drip_handle = None
        held, self._drip_held = self._drip_held, []
        for chunk in held:
            self._write(chunk)
        self.pump()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
