"""One upstream target: one long-lived TCP connection, a window of frames awaiting 9014.

Theory of operation
-------------------
The backlog of a target is its rows in ``forward_outbox`` (ordered by ``seq``, the order
the frames were stored in); a row is deleted when the upstream acks its frame with 9014,
never before, so a crash or an upstream outage loses nothing.

On every (re)connect the link takes as ``head`` the highest ``seq`` stored more than
``live_window_s`` ago and reads the backlog in two lanes, both in ``seq`` order:

* live: frames after ``head`` (stored recently or while connected) — loaded first every
  round;
* backlog: frames up to ``head`` (waiting since before the connection) — fill the rest
  of the window, so a long outage drains at full speed while new data keeps flowing.

Per station the order is kept inside each lane; a backlog frame is late, and carries
``RF=1`` to an HJ 212-2025 upstream (:mod:`forward.reencode`).  At most ``window`` frames
are in flight, each under its own QN (a per-MN millisecond clock, so (MN, QN) is unique);
the 9014 echoes (MN, QN) — or the QN alone, for an upstream that answers with another
MN — and the acked rows are deleted in batches.  A frame without an
ack after ``ack_timeout_s`` is sent again with the same QN; when no ack at all arrives for
``dead_after_s`` while frames are waiting, the connection is treated as dead.  A dropped
connection puts the window back (its rows are still in the outbox) and reconnects with
exponential backoff; a graceful stop waits up to ``stop_grace_s`` for the window's acks.
Duplicates at the upstream therefore happen only where an ack was lost (or arrived after
the timeout, or after a crash).

Sequence order is not commit order: two ingest workers may commit ``seq`` 101 before 100.
The cursors only move forward, so every second a sweep reads rows at or below the cursors
that are neither in flight nor acked (stragglers) and sends them.

A row whose ledger frame is gone (ledger retention ran first) or whose station was
deleted cannot be sent: it is counted as ``expired`` and deleted, with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg

from protocol import Decoder, Reply, Role
from protocol.timefmt import format_qn

from . import queries
from .reencode import StoredFrameError, is_late, reencode
from .targets import Target

__all__ = ["LinkCounters", "LinkTuning", "TargetLink"]

log = logging.getLogger(__name__)

_MAX_SEQ = 2**63 - 1
#: QNs are local time of China (UTC+8), as data loggers write them.
_CST = timezone(timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class LinkTuning:
    window: int = 4000
    batch: int = 1000
    ack_timeout_s: float = 15.0
    dead_after_s: float = 60.0
    poll_s: float = 0.1
    sweep_s: float = 1.0
    connect_timeout_s: float = 10.0
    #: frames stored this recently when the link connects are live, older ones backlog
    live_window_s: float = 30.0
    #: on stop, wait this long for the acks of the frames in flight
    stop_grace_s: float = 2.0
    backoff_s: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class LinkCounters:
    """Cumulative per target (kept in ``forward_status`` across restarts)."""

    sent: int = 0
    acked: int = 0
    resent: int = 0
    errors: int = 0
    expired: int = 0
    connected: bool = False
    connected_at: datetime | None = None
    last_sent_at: datetime | None = None
    last_ack_at: datetime | None = None
    last_error: str = ""

    def error(self, text: str) -> None:
        self.errors += 1
        self.last_error = text[:300]


@dataclass(slots=True)
class _Flight:
    seq: int
    frame: bytes
    sent: float
    attempts: int = 1


@dataclass(slots=True)
class _Qn:
    """A per-MN millisecond QN clock: never the same QN twice for one MN."""

    last: dict[str, int] = field(default_factory=dict)

    def next(self, mn: str, now_ms: int) -> str:
        ms = max(now_ms, self.last.get(mn, 0) + 1)
        self.last[mn] = ms
        return format_qn(datetime.fromtimestamp(ms / 1000, UTC).astimezone(_CST))


class TargetLink:
    """Forwards one target's backlog until :meth:`run`'s ``stop`` is set."""

    def __init__(
        self,
        target: Target,
        pool: asyncpg.Pool,
        *,
        tuning: LinkTuning | None = None,
        counters: LinkCounters | None = None,
        on_change: Callable[[str, int], None] | None = None,
    ) -> None:
        self.target = target
        self.pool = pool
        self.tuning = tuning or LinkTuning()
        self.counters = counters or LinkCounters()
        self._on_change = on_change or (lambda kind, n: None)
        self._qn = _Qn()
        self._flights: dict[tuple[str, str], _Flight] = {}
        #: QN → the MN it was last sent under (an upstream answering with another MN)
        self._qn_mn: dict[str, str] = {}
        self._acked: list[int] = []
        self._ack_event = asyncio.Event()
        self._last_ack = 0.0

    # -- the outer loop: connect, forward, back off ---------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            t = self.target
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(t.host, t.port), self.tuning.connect_timeout_s
                )
            except (OSError, TimeoutError) as exc:
                self.counters.error(f"connect {t.host}:{t.port}: {exc or type(exc).__name__}")
                self._on_change("errors", 1)
                delay = self.tuning.backoff_s[min(attempt, len(self.tuning.backoff_s) - 1)]
                attempt += 1
                log.warning("forward %s: cannot connect (%s); retry in %.1f s", t.name, exc, delay)
                if await _wait(stop, delay):
                    return
                continue
            attempt = 0
            log.info("forward %s: connected to %s:%d", t.name, t.host, t.port)
            try:
                await self._connected(reader, writer, stop)
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
                self.counters.error(f"connection lost: {exc or type(exc).__name__}")
                self._on_change("errors", 1)
                log.warning("forward %s: connection lost (%s)", t.name, exc)
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.counters.error(f"database: {exc}")
                self._on_change("errors", 1)
                log.warning("forward %s: database error (%s)", t.name, exc)
            finally:
                self.counters.connected = False
                writer.close()
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), 2)
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await self._flush_acks()
                self._flights.clear()
                self._qn_mn.clear()
            if not stop.is_set() and await _wait(stop, self.tuning.backoff_s[0]):
                return

    async def _connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stop: asyncio.Event
    ) -> None:
        self.counters.connected = True
        self.counters.connected_at = datetime.now(UTC)
        self._last_ack = time.monotonic()
        lost = asyncio.Event()
        acks = asyncio.create_task(self._read_acks(reader, lost))
        try:
            await self._send_loop(writer, stop, lost)
        finally:
            acks.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
                await acks
        if lost.is_set() and acks.done() and not acks.cancelled():
            exc = acks.exception()
            if exc is not None:
                raise exc

    # -- sending ------------------------------------------------------------------------
    async def _send_loop(
        self, writer: asyncio.StreamWriter, stop: asyncio.Event, lost: asyncio.Event
    ) -> None:
        tu = self.tuning
        head: int = await self.pool.fetchval(
            queries.BACKLOG_HEAD_SQL, self.target.id, tu.live_window_s
        )
        live, backlog = head, 0
        backlog_done = head == 0
        next_sweep = time.monotonic() + tu.sweep_s
        while not stop.is_set() and not lost.is_set():
            await self._flush_acks()
            room = tu.window - len(self._flights)
            rows: list[asyncpg.Record] = []
            if room > 0:
                rows = await self._load(live, _MAX_SEQ, min(room, tu.batch))
                if rows:
                    live = rows[-1]["seq"]
                room -= len(rows)
                if room > 0 and not backlog_done:
                    older = await self._load(backlog, head, min(room, tu.batch))
                    if older:
                        backlog = older[-1]["seq"]
                    if len(older) < min(room, tu.batch):
                        backlog_done, backlog = True, head
                    rows += older
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + tu.sweep_s
                rows += await self._stragglers(backlog, head, live)
                self._check_dead(now)
            sent = self._send(writer, rows, now) + self._resend(writer, now)
            if sent:
                await writer.drain()
            else:
                # nothing to send: wait for acks (window full) or for new rows (poll)
                self._ack_event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ack_event.wait(), tu.poll_s)
        # a graceful stop: the acks of what is in flight, so a restart resends nothing
        deadline = time.monotonic() + tu.stop_grace_s
        while self._flights and not lost.is_set() and time.monotonic() < deadline:
            self._ack_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ack_event.wait(), 0.05)

    async def _load(self, after: int, upto: int, limit: int) -> list[asyncpg.Record]:
        return await self._frames(queries.NEXT_FRAMES_SQL, self.target.id, after, limit, upto)

    async def _stragglers(self, backlog: int, head: int, live: int) -> list[asyncpg.Record]:
        held = [f.seq for f in self._flights.values()] + self._acked
        return await self._frames(
            queries.STRAGGLERS_SQL, self.target.id, live, held, self.tuning.batch, backlog, head
        )

    async def _frames(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Backlog rows; those without a ledger row are read again before :meth:`_send`
        drops them: the ledger row may sit in a chunk or partition that the first read's
        plan could not know (:data:`queries.FRAMES_BY_SEQ_SQL`)."""
        rows: list[asyncpg.Record] = await self.pool.fetch(sql, *args)
        unseen = [r["seq"] for r in rows if r["raw"] is None]
        if unseen:
            again = {
                r["seq"]: r
                for r in await self.pool.fetch(queries.FRAMES_BY_SEQ_SQL, self.target.id, unseen)
            }
            rows = [again.get(r["seq"], r) for r in rows]
        return rows

    def _send(
        self, writer: asyncio.StreamWriter, rows: Sequence[asyncpg.Record], now: float
    ) -> int:
        if not rows:
            return 0
        t = self.target
        wall = datetime.now(UTC)
        now_ms = int(wall.timestamp() * 1000)
        held = {f.seq for f in self._flights.values()}
        out: list[bytes] = []
        expired: list[int] = []
        first_gone = ""
        for r in rows:
            seq = r["seq"]
            if seq in held:
                continue
            if r["raw"] is None or r["mn"] is None:
                expired.append(seq)
                if not first_gone:  # what the warning shows of the first one
                    first_gone = f"seq {seq}, CN {r['cn']}, DataTime {r['data_time']}" + (
                        ", station deleted" if r["mn"] is None else ", no ledger row"
                    )
                continue
            mn = t.remote_mn(r["mn"])
            qn = self._qn.next(mn, now_ms)
            try:
                frame = reencode(
                    r["raw"],
                    qn=qn,
                    password=t.password,
                    mn=mn,
                    edition=t.edition,
                    late=is_late(r["cn"], r["data_time"], wall, backfill=r["backfill"]),
                    sm4_key=t.sm4_key,
                )
            except (StoredFrameError, ValueError) as exc:
                self.counters.error(f"frame {seq} cannot be re-encoded: {exc}")
                self._on_change("errors", 1)
                expired.append(seq)
                continue
            self._flights[(mn, qn)] = _Flight(seq, frame, now)
            self._qn_mn[qn] = mn
            held.add(seq)
            out.append(frame)
        if expired:
            log.warning(
                "forward %s: %d frames are no longer in the packet ledger (retention), belong"
                " to a deleted station or are unreadable; dropped from the backlog (first: %s)",
                t.name,
                len(expired),
                first_gone or "unreadable",
            )
            self.counters.expired += len(expired)
            self._on_change("expired", len(expired))
            self._acked += expired
        if out:
            writer.write(b"".join(out))
            self.counters.sent += len(out)
            self.counters.last_sent_at = wall
            self._on_change("sent", len(out))
        return len(out)

    def _resend(self, writer: asyncio.StreamWriter, now: float) -> int:
        limit = now - self.tuning.ack_timeout_s
        again = [f for f in self._flights.values() if f.sent < limit]
        for f in again:
            f.sent = now
            f.attempts += 1
            writer.write(f.frame)
        if again:
            self.counters.resent += len(again)
            self._on_change("resent", len(again))
        return len(again)

    def _check_dead(self, now: float) -> None:
        if self._flights and now - self._last_ack > self.tuning.dead_after_s:
            raise ConnectionError(f"no 9014 for {self.tuning.dead_after_s:.0f} s")

    # -- acks ---------------------------------------------------------------------------
    async def _read_acks(self, reader: asyncio.StreamReader, lost: asyncio.Event) -> None:
        decoder = Decoder(role=Role.STATION)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    raise ConnectionError("the upstream closed the connection")
                for event in decoder.feed(data):
                    if isinstance(event, Reply) and event.cn == 9014:
                        self._ack(event.mn or "", event.effective_qn or "")
        finally:
            lost.set()
            self._ack_event.set()

    def _ack(self, mn: str, qn: str) -> None:
        sent_as = self._qn_mn.pop(qn, None)
        flight = self._flights.pop((mn, qn), None)
        if flight is None and sent_as is not None:
            # the upstream answered with another MN (or none): the QN alone tells
            flight = self._flights.pop((sent_as, qn), None)
        if flight is None:
            return  # a late ack of a frame acked already, or not ours
        self._acked.append(flight.seq)
        self._last_ack = time.monotonic()
        self.counters.acked += 1
        self.counters.last_ack_at = datetime.now(UTC)
        self._on_change("acked", 1)
        if len(self._acked) >= self.tuning.batch:
            self._ack_event.set()

    async def _flush_acks(self) -> None:
        if self._acked:
            done, self._acked = self._acked, []
            try:
                await self.pool.execute(queries.DELETE_ACKED_SQL, self.target.id, done)
            except BaseException:
                self._acked = done + self._acked
                raise


async def _wait(stop: asyncio.Event, delay: float) -> bool:
    """Wait ``delay`` s or until ``stop``; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), delay)
    except TimeoutError:
        return False
    return True
