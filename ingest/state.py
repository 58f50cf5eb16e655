"""Coalescing flusher of per-station facts: connection state, latest values, pending MNs.

These are *state*, not data: the latest value wins, and losing the last two
seconds of them in a crash costs nothing (the next frame restores them).  So
they are collected in dicts keyed by station (bounded by the number of
stations, however fast frames arrive) and written every ``interval`` seconds
with a few set-based statements on the pool — never on the writer's
connection, never in the ack path.

While the batch writer has a backlog (``busy``: a batch being written or a full
one waiting) a due flush waits for it, up to ``max_delay`` seconds after the
last one.  The flush is work the stations do not wait for, and on two cores it
competed with the writer for the CPU: in ``envgrid bench burst`` the two
flushers' PostgreSQL backends took ~1.6 core-seconds while the 100,000 frames
were being written (issue 23).  Under sustained saturation the state is written
every ``max_delay`` seconds, each station once for several frames; at moderate
load the writer is idle between batches and nothing changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from protocol.identity import LoggerIdentity
from protocol.redact import masked_text
from store.secretbox import STATION_PASSWORD, SecretBox

from . import queries
from .rows import latest_values
from .writer import Inbound

__all__ = ["StateFlusher"]

log = logging.getLogger(__name__)

#: :meth:`StateFlusher.pending` bounds new pending MNs per client address per this window.
_PENDING_WINDOW_S = 3600.0
#: How often a due flush looks again whether the writer is still busy.
_BUSY_POLL_S = 0.05


@dataclass(slots=True)
class _Data:
    last_frame_at: datetime
    last_data_at: datetime | None = None
    last_data_time: datetime | None = None
    latest: dict[str, Any] = field(default_factory=dict)
    edition: str | None = None
    newest: Inbound | None = None

    def resolve(self) -> None:
        """Turn the newest real-time frame into ``latest`` / ``last_data_time``."""
        item = self.newest
        if item is None:
            return
        self.newest = None
        self.last_data_time = item.ts
        stamp = item.ts.isoformat()
        for code, value in latest_values(item.frame).items():
            value["t"] = stamp
            self.latest[code] = value


@dataclass(slots=True)
class _Pending:
    st: str | None
    password: str | None
    edition: str
    peer: str
    first_seen: datetime
    last_seen: datetime
    frames: int
    last_raw: str
    conflicts: int = 0
    encrypted: bool = False


@dataclass(slots=True)
class _Logger:
    identity: LoggerIdentity
    st: str | None
    password: str | None
    peer: str
    last_seen: datetime
    frames: int
    last_raw: str
    conflicts: int = 0


class StateFlusher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        worker: int,
        interval: float = 2.0,
        max_delay: float = 10.0,
        busy: Callable[[], bool] | None = None,
        box: SecretBox | None = None,
        pending_max_total: int = 10_000,
        pending_max_per_address: int = 20,
    ) -> None:
        self.pool = pool
        self.box = box
        self.pending_max_total = pending_max_total
        self.pending_max_per_address = pending_max_per_address
        #: first password of each pending MN seen by this worker, and the MNs of each client
        #: address, in the current hour (:meth:`pending` bounds them)
        self._first_pw: dict[str, str | None] = {}
        self._address_mns: dict[str, set[str]] = {}
        self._window_start = time.monotonic()
        self.worker = worker
        self.interval = interval
        self.max_delay = max(max_delay, interval)
        self.busy = busy
        #: flushes that waited for the writer, and the seconds they waited in all
        self.deferred = 0
        self.deferred_s = 0.0
        self._data: dict[int, _Data] = {}
        self._conn: dict[int, tuple[bool, str | None, datetime | None, datetime | None]] = {}
        self._pending: dict[str, _Pending] = {}
        #: HJ 212-2025 loggers without an MN (CN 1001), by logger id; the first identity
        #: each presented this hour, and the logger ids of each client address
        self._loggers: dict[str, _Logger] = {}
        self._first_identity: dict[str, LoggerIdentity] = {}
        self._address_loggers: dict[str, set[str]] = {}
        self._editions: dict[int, str] = {}
        self.flushes = 0
        self.failures = 0

    def _sealed(self, password: str | None) -> str | None:
        if password is None or self.box is None:
            return password
        return self.box.seal(password, STATION_PASSWORD)

    # -- producers (synchronous, cheap) -----------------------------------------------
    def seen(self, station_id: int, now: datetime) -> None:
        entry = self._data.get(station_id)
        if entry is None:
            self._data[station_id] = _Data(now)
        else:
            entry.last_frame_at = now

    def data(self, item: Inbound) -> None:
        """A durable data upload: remember its reception and, for real-time data,
        its values as the station's latest."""
        entry = self._data.get(item.station_id)
        if entry is None:
            entry = self._data[item.station_id] = _Data(item.received_at)
        entry.last_data_at = item.received_at
        entry.edition = item.frame.edition
        if item.frame.cn == 2011 and (entry.newest is None or item.ts >= entry.newest.ts):
            entry.newest = item  # its values become "latest" when the state is flushed

    def connected(self, station_id: int, peer: str, edition: str, worker: int) -> None:
        self._conn[station_id] = (True, peer, datetime.now(UTC), None)
        self._editions[station_id] = edition

    def disconnected(self, station_id: int, peer: str) -> None:
        previous = self._conn.get(station_id)
        connected_at = previous[2] if previous is not None and previous[0] else None
        self._conn[station_id] = (False, peer, connected_at, datetime.now(UTC))

    def pending(
        self,
        mn: str,
        *,
        st: str | None,
        pw: str | None,
        edition: str,
        raw: bytes,
        peer: str,
        address: str,
        encrypted: bool = False,
    ) -> bool:
        """Remember a frame of an unknown MN for the pending list; False when the MN is new
        and its client address already brought ``pending_max_per_address`` new MNs this
        hour (or this worker holds ``pending_max_total``): the frame is not recorded."""
        if time.monotonic() - self._window_start > _PENDING_WINDOW_S:
            self._first_pw.clear()
            self._address_mns.clear()
            self._window_start = time.monotonic()
        mns = self._address_mns.setdefault(address, set())
        if mn not in self._first_pw:
            if (
                len(mns) >= self.pending_max_per_address
                or len(self._first_pw) >= self.pending_max_total
            ):
                return False
            self._first_pw[mn] = pw
        mns.add(mn)
        conflict = int(pw != self._first_pw[mn])
        now = datetime.now(UTC)
        entry = self._pending.get(mn)
        shown = masked_text(raw)
        if entry is None:
            first = self._first_pw[mn]
            self._pending[mn] = _Pending(
                st, first, edition, peer, now, now, 1, shown, conflict, encrypted
            )
        else:
            entry.last_seen = now
            entry.frames += 1
            entry.last_raw = shown
            entry.peer = peer
            entry.conflicts += conflict
            entry.encrypted = entry.encrypted or encrypted
        return True

    def logger(
        self,
        identity: LoggerIdentity,
        *,
        st: str | None,
        pw: str | None,
        raw: bytes,
        peer: str,
        address: str,
    ) -> bool:
        """Remember a CN 1001 identity for ``pending_loggers``; False (not recorded) when
        the logger id is new and its client address already announced
        ``pending_max_per_address`` new loggers this hour, or this worker holds
        ``pending_max_total``.  Another CPU ID / MAC under a known logger id is counted
        as a conflict; the first identity is kept."""
        if time.monotonic() - self._window_start > _PENDING_WINDOW_S:
            self._first_pw.clear()
            self._address_mns.clear()
            self._first_identity.clear()
            self._address_loggers.clear()
            self._window_start = time.monotonic()
        logger_id = identity.logger_id
        ids = self._address_loggers.setdefault(address, set())
        first = self._first_identity.get(logger_id)
        if first is None:
            if (
                len(ids) >= self.pending_max_per_address
                or len(self._first_identity) >= self.pending_max_total
            ):
                return False
            first = self._first_identity[logger_id] = identity
        ids.add(logger_id)
        conflict = int(identity != first)
        now = datetime.now(UTC)
        shown = masked_text(raw)
        entry = self._loggers.get(logger_id)
        if entry is None:
            self._loggers[logger_id] = _Logger(first, st, pw, peer, now, 1, shown, conflict)
        else:
            entry.last_seen = now
            entry.frames += 1
            entry.last_raw = shown
            entry.peer = peer
            entry.conflicts += conflict
        return True

    # -- flushing ---------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._yield_to_writer(self.max_delay - self.interval)
            await self.flush()

    async def _yield_to_writer(self, limit: float) -> None:
        """Wait while the writer is busy, at most ``limit`` seconds."""
        busy = self.busy
        if busy is None or not busy():
            return
        started = time.monotonic()
        deadline = started + limit
        while busy() and time.monotonic() < deadline:  # noqa: ASYNC110 - polls the writer
            await asyncio.sleep(_BUSY_POLL_S)
        self.deferred += 1
        self.deferred_s += time.monotonic() - started

    async def flush(self) -> None:
        conn_events, self._conn = self._conn, {}
        data, self._data = self._data, {}
        pending, self._pending = self._pending, {}
        editions, self._editions = self._editions, {}
        loggers, self._loggers = self._loggers, {}
        if not (conn_events or data or pending or editions or loggers):
            return
        for entry in data.values():
            entry.resolve()
        try:
            async with self.pool.acquire() as conn:
                if conn_events:
                    ids = list(conn_events)
                    vals = list(zip(*conn_events.values(), strict=True))
                    await conn.execute(
                        queries.UPSERT_CONNECTION_STATE_SQL,
                        ids,
                        list(vals[0]),
                        [self.worker] * len(ids),
                        list(vals[1]),
                        list(vals[2]),
                        list(vals[3]),
                    )
                if data:
                    await conn.execute(
                        queries.UPSERT_DATA_STATE_SQL,
                        list(data),
                        [d.last_frame_at for d in data.values()],
                        [d.last_data_at for d in data.values()],
                        [d.last_data_time for d in data.values()],
                        [d.latest for d in data.values()],
                        [d.edition for d in data.values()],
                    )
                if pending:
                    p = list(pending.values())
                    await conn.execute(
                        queries.UPSERT_PENDING_SQL,
                        list(pending),
                        [x.st for x in p],
                        [self._sealed(x.password) for x in p],
                        [x.edition for x in p],
                        [x.peer for x in p],
                        [x.last_seen for x in p],
                        [x.frames for x in p],
                        [x.last_raw for x in p],
                        [x.conflicts for x in p],
                        self.pending_max_total,
                        [x.encrypted for x in p],
                    )
                if editions:
                    await conn.execute(
                        queries.UPDATE_EDITIONS_SQL, list(editions), list(editions.values())
                    )
                if loggers:
                    g = list(loggers.values())
                    await conn.execute(
                        queries.UPSERT_LOGGERS_SQL,
                        list(loggers),
                        [x.identity.cpu_id for x in g],
                        [x.identity.mac1 for x in g],
                        [x.identity.mac2 for x in g],
                        [x.st for x in g],
                        [self._sealed(x.password) for x in g],
                        [x.peer for x in g],
                        [x.last_seen for x in g],
                        [x.frames for x in g],
                        [x.last_raw for x in g],
                        [x.conflicts for x in g],
                        self.pending_max_total,
                    )
            self.flushes += 1
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self.failures += 1
            log.warning("could not write station state (%s); keeping it for the next try", exc)
            self._merge_back(conn_events, data, pending, editions)
            for logger_id, waiting in loggers.items():
                self._loggers.setdefault(logger_id, waiting)

    def _merge_back(
        self,
        conn_events: dict[int, tuple[bool, str | None, datetime | None, datetime | None]],
        data: dict[int, _Data],
        pending: dict[str, _Pending],
        editions: dict[int, str],
    ) -> None:
        for key, value in conn_events.items():
            self._conn.setdefault(key, value)
        for key, entry in data.items():
            self._data.setdefault(key, entry)
        for mn, pend in pending.items():
            self._pending.setdefault(mn, pend)
        for station_id, edition in editions.items():
            self._editions.setdefault(station_id, edition)
