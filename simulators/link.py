"""One data logger's TCP link: connect, ack window, retransmission, reconnect.

Theory of operation
-------------------
A :class:`Link` is one station's connection state and outlives its connections;
each connection attempt gets a small ``Connection`` protocol that forwards to
the link while it is the current connection (one at a time).

* **Connect / close** (:mod:`simulators.connection`): one connection attempt at a
  time; failures back off exponentially with ±50 % jitter; after a dropped
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
* **Backfill** (HJ 212-2025): an upload that goes out after a reconnect — queued
  while the link was down, or in flight or queued when it dropped — is past data
  re-sent; :meth:`Outgoing.mark_backfill` rewrites it with ``RF=1`` (2025 uploads
  only: the station gives them a ``rebuild``).
* **Commands and other frames** from the platform are decoded with
  :class:`protocol.Decoder` (``Role.STATION``, with the station's SM4 keys so
  encrypted commands are read) and handed to the owner; a 9013 answers a 9015
  heartbeat (:meth:`send_heartbeat`).
  Replies (9011/9012/9013, parameter answers) are written at once with
  :meth:`send_now`; they are not acked.
* **Slow sender.** :meth:`pump` can *dribble* a frame one byte per timer tick;
  meanwhile other writes are held back so frames never interleave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, InitVar, dataclass, field
from functools import partial
from typing import cast

from protocol import Command, Decoder, FrameError, Reply, Role, UnknownFrame

from .config import LinkSettings
from .connection import Connection, Drip, connect_from, reset
from .noise import CounterRandom
from .outgoing import LinkOwner, Outgoing
from .stats import ACKED, DROPPED, FAILED, RETRANS, SENT, FleetCounters, StationStats

__all__ = ["Link", "LinkOwner"]

log = logging.getLogger("envgrid.simulators.link")

_RECENT = 128  # acked / failed QNs remembered for duplicate / late acks


@dataclass(slots=True, eq=False, repr=False)
class Link:
    """The connection and upload window of one station."""

    owner: LinkOwner
    settings: LinkSettings
    _: KW_ONLY
    counters: FleetCounters
    stats: StationStats
    rng: CounterRandom
    loop: InitVar[asyncio.AbstractEventLoop]
    #: HJ 212-2025: MN → SM4 keys to decrypt encrypted commands with
    sm4_keys: Callable[[str], Sequence[bytes]] | None = None
    _loop: asyncio.AbstractEventLoop = field(init=False)
    ack_timeout: float = field(init=False)
    retries: int = field(init=False)
    transport: asyncio.Transport | None = field(default=None, init=False)
    _decoder: Decoder = field(default_factory=partial(Decoder, role=Role.STATION), init=False)
    _outbox: deque[Outgoing] = field(default_factory=deque, init=False)
    _inflight: dict[str, Outgoing] = field(default_factory=dict, init=False)
    _failed: OrderedDict[str, Outgoing] = field(default_factory=OrderedDict, init=False)
    _acked: OrderedDict[str, None] = field(default_factory=OrderedDict, init=False)
    _writable: bool = field(default=True, init=False)
    _closed: asyncio.Future[None] | None = field(default=None, init=False)
    _closing: bool = field(default=False, init=False)
    _attempt: Connection | None = field(default=None, init=False)
    _current: Connection | None = field(default=None, init=False)
    _wake: asyncio.Future[None] | None = field(default=None, init=False)
    _drip: Drip | None = field(default=None, init=False)
    stopping: bool = field(default=False, init=False)
    last_error: str | None = field(default=None, init=False)

    def __post_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._decoder = self._new_decoder()
        self.ack_timeout = self.settings.ack_timeout
        self.retries = self.settings.retries

    def _new_decoder(self) -> Decoder:
        return Decoder(role=Role.STATION, sm4_keys=self.sm4_keys)

    # -- state ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Connected and not closing (the peer may have closed before connection_lost)."""
        t = self.transport
        return t is not None and not self._closing and not t.is_closing()

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
        local = (s.local_addr, 0) if s.local_addr else None
        attempt = self._attempt = Connection(self)
        try:
            async with asyncio.timeout(s.connect_timeout):
                if local is None:
                    await self._loop.create_connection(lambda: attempt, s.host, s.port)
                else:
                    await connect_from(self._loop, attempt, local, (s.host, s.port))
        except (OSError, TimeoutError) as exc:
            if attempt.live:  # it connected just as the timeout struck
                return True
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.stats.connect_failures += 1
            self.counters.connect_failures += 1
            log.debug("connect to %s:%s failed: %s", s.host, s.port, self.last_error)
            return False
        finally:
            self._attempt = None
        return attempt.live  # False if a shutdown came first (the connection was reset)

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
        """No more reconnects; reset the connection (or close it, ``graceful_close``)."""
        self.stopping = True
        if self._wake is not None:
            _resolve(self._wake)
        if self.transport is not None:
            self._closing = True
            if self.settings.graceful_close:
                self.transport.close()
            else:
                reset(self.transport)

    def disconnect(self) -> None:
        """Drop the connection now (fault injection); the run loop reconnects."""
        if self.transport is not None:
            self._closing = True
            self.transport.close()

    # -- the current connection's events (from its Connection) ---------------------------
    def adopt(self, attempt: Connection, transport: asyncio.BaseTransport) -> bool:
        """``attempt`` connected: it becomes the current connection unless the link gave
        up on it (a timeout under load), already has one, or is stopping."""
        if self._attempt is not attempt or self.transport is not None or self.stopping:
            return False
        attempt.live = True
        self._current = attempt
        self.connection_made(transport)
        return True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass, but quacks like one
        self.transport = cast(asyncio.Transport, transport)
        self._closing = False
        self._decoder = self._new_decoder()
        self._writable = True
        self._closed = self._loop.create_future()
        self.stats.connections += 1
        self.counters.up()
        self.owner.on_connected()
        self.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._current = None
        self.counters.connections_up -= 1
        if not self.stopping:
            self.stats.lost += 1
            self.counters.connections_lost += 1
        if self._drip is not None:
            self._drip.cancel()
            self._drip = None
        # everything in flight goes back to the front of the outbox, in order
        for out in reversed(self._inflight.values()):
            if out.timer is not None:
                out.timer.cancel()
                out.timer = None
            self._outbox.appendleft(out)
        self._inflight.clear()
        if not self.stopping:  # what goes out after the reconnect is backfill (2025)
            for out in self._outbox:
                self._backfill(out)
        self.owner.on_disconnected()
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._writable = False

    def resume_writing(self) -> None:
        self._writable = True
        self.pump()

    def data_received(self, data: bytes) -> None:
        received = time.monotonic()
        self.counters.bytes_received += len(data)
        for event in self._decoder.feed(data):
            if isinstance(event, FrameError):
                code = event.code.value
                self.stats.decode_errors[code] = self.stats.decode_errors.get(code, 0) + 1
                self.counters.decode_errors += 1
            elif isinstance(event, Reply):
                if event.cn == 9014:
                    self._on_ack(event, received)
                elif event.cn == 9013:  # the answer to a 9015 heartbeat
                    self.stats.heartbeat_answers += 1
                    self.counters.heartbeat_answers += 1
            elif isinstance(event, Command | UnknownFrame):
                # unknown CNs too: a logger answers them (QnRtn 8, "CN error")
                self.counters.commands += 1
                self.stats.commands[event.cn] = self.stats.commands.get(event.cn, 0) + 1
                self.owner.on_command(event)
            else:  # a well-formed frame a station has no use for (heartbeat)
                key = f"unexpected_{event.kind}"
                self.stats.decode_errors[key] = self.stats.decode_errors.get(key, 0) + 1

    # -- sending -------------------------------------------------------------------------
    def _write(self, data: bytes) -> bool:
        """Write (or hold behind a dribbled frame); False when there is no connection."""
        transport = self.transport
        if transport is None or self._closing or transport.is_closing():
            return False
        if self._drip is not None:
            self._drip.held.append(data)
            return True
        try:
            transport.write(data)
        except RuntimeError:  # uvloop: the handle is closed, connection_lost may never come
            self._dead()
            return False
        self.counters.bytes_sent += len(data)
        return True

    def _dead(self) -> None:
        """The transport died under us: act as if connection_lost had come (and ignore it
        if it still comes)."""
        current = self._current
        if current is not None:
            current.live = False
        self.connection_lost(ConnectionResetError("the transport closed underneath"))

    def send_now(self, data: bytes) -> bool:
        """Write a reply (9011/9012/9013, a parameter answer) at once; False if offline."""
        if not self._write(data):
            return False
        self.stats.replies_sent += 1
        self.counters.replies_sent += 1
        return True

    def send_heartbeat(self, data: bytes) -> bool:
        """Write a 9015 heartbeat (HJ 212-2025) at once, not held for an ack; False if
        offline."""
        if not self._write(data):
            return False
        self.stats.heartbeats += 1
        self.counters.heartbeats += 1
        return True

    def _backfill(self, out: Outgoing) -> None:
        if out.mark_backfill():
            self.stats.backfilled += 1
            self.counters.backfilled += 1

    def submit(self, out: Outgoing, *, front: bool = False) -> None:
        """Queue an upload (``front``: before everything queued, e.g. 2081 after boot);
        one queued while the link is down (after a first connection) is backfill when it
        goes out (2025)."""
        if not self.connected and not self.stopping and self.stats.connections:
            self._backfill(out)
        if front:
            self._outbox.appendleft(out)
        else:
            self._outbox.append(out)
        if len(self._outbox) > self.settings.backlog:
            victim = self._outbox.pop() if front else self._outbox.popleft()
            row = self.stats.cn(victim.cn, victim.history)
            if victim.sends:
                row[FAILED] += 1
                if not victim.history:
                    self.counters.failed += 1
            else:
                row[DROPPED] += 1
                if not victim.history:
                    self.counters.dropped += 1
            victim.settle(False)
        self.pump()

    def pump(self) -> None:
        """Send queued uploads while the window and the transport allow."""
        window = self.settings.window
        outbox = self._outbox
        while (
            outbox
            and self.connected
            and self._writable
            and self._drip is None
            and len(self._inflight) < window
        ):
            self._transmit(outbox.popleft())
        if not outbox and len(self._inflight) < window:
            self.owner.on_room()

    def _transmit(self, out: Outgoing) -> None:
        if out.bad:
            if self._write(out.data):
                self.stats.bad_sent += 1
                self.counters.bad_sent += 1
                out.settle(False)
            else:
                self._outbox.appendleft(out)
            return
        first = out.sends == 0
        delay = 0.0
        if first and out.prelude is not None and self._write(out.prelude):
            self.stats.bad_sent += 1
            self.counters.bad_sent += 1
            out.prelude = None
        if first and out.slow:
            self._drip = Drip(self._loop, out.data, out.slow, self._drip_byte, self._drip_done)
            self._drip.start()
            delay = out.slow
        elif not self._write(out.data):
            self._outbox.appendleft(out)  # the connection is gone: resend after reconnecting
            return
        if first:
            self.stats.cn(out.cn, out.history)[SENT] += 1
            if out.codes and not out.history:
                self.stats.value_row(out.cn, out.codes)[0] += 1
            if out.history:
                self.counters.history_sent += 1
            else:
                self.counters.sent += 1
            # the frame's last byte is with the kernel once write() has returned with an
            # empty transport buffer (uvloop and asyncio try to send at once); otherwise
            # its latency also counts time in the buffer (counted: write_buffered)
            out.sent_at = time.monotonic()
            transport = self.transport
            if transport is not None and transport.get_write_buffer_size():
                self.counters.write_buffered += 1
        else:
            self.stats.cn(out.cn, out.history)[RETRANS] += 1
            if not out.history:
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
        if not out.history:
            self.counters.failed += 1
        self._failed[key] = out
        if len(self._failed) > _RECENT:
            self._failed.popitem(last=False)
        out.settle(False)
        self.pump()

    def _on_ack(self, reply: Reply, received: float) -> None:
        key = reply.request_qn
        out = self._inflight.pop(key, None) if key is not None else None
        if out is None:
            late = self._failed.pop(key, None) if key is not None else None
            if late is not None:
                row = self.stats.cn(late.cn, late.history)
                row[FAILED] -= 1
                if not late.history:
                    self.counters.failed -= 1
                self.stats.late_acks += 1
                self.counters.late_acks += 1
                self._count_ack(late, received)
            elif key is not None and key in self._acked:
                self.stats.duplicate_acks += 1
            else:
                self.stats.unmatched_acks += 1
                self.counters.unmatched_acks += 1
            return
        if out.timer is not None:
            out.timer.cancel()
            out.timer = None
        self._count_ack(out, received)
        self.pump()

    def _count_ack(self, out: Outgoing, received: float) -> None:
        self.stats.cn(out.cn, out.history)[ACKED] += 1
        if not out.history:  # history answers are counted apart (history_by_cn)
            if out.codes:
                self.stats.value_row(out.cn, out.codes)[1] += 1
            counters = self.counters
            counters.acked += 1
            seconds = received - out.sent_at
            counters.latency.add(seconds)
            counters.latency_by_time.add(out.sent_at, seconds)
        if out.key is not None:
            self._acked[out.key] = None
            if len(self._acked) > _RECENT:
                self._acked.popitem(last=False)
        out.settle(True)

    # -- slow sender ---------------------------------------------------------------------
    def _drip_byte(self, byte: bytes) -> bool:
        transport = self.transport
        if transport is None or not self.connected:
            return False
        try:
            transport.write(byte)
        except RuntimeError:
            self._dead()
            return False
        self.counters.bytes_sent += 1
        return True

    def _drip_done(self, held: list[bytes]) -> None:
        self._drip = None
        for chunk in held:
            self._write(chunk)
        self.pump()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
