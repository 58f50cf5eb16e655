"""The pipeline between connections and the database: bounded queue, ONE writer task.

Theory of operation
-------------------
Connections call :meth:`Pipeline.submit` (synchronous, never blocks).  The
writer task, whenever it is idle, takes what is queued once the oldest frame has
waited ``batch_ms`` or ``batch_rows`` rows are waiting (group commit:
:mod:`ingest.batching`), and hands it to :class:`~ingest.writer.BatchWriter`.

*Ack policy* (decided here and only here): a frame that asks for a 9014 is
acked after its batch is durable — committed, or written and fsynced to the
spool while the database is away.  Duplicates are acked like new frames.  A
frame that could be neither committed nor spooled (spool full, disk error) is
not acked: its station keeps it and retransmits.

*Flow control*: above ``queue_high`` queued frames every connection stops
reading (``pause_reading``); below ``queue_low`` reading resumes.  Memory is
bounded by the high-water mark, not by how far the database falls behind.

*Database away*: a batch that fails with a connection error goes to the spool;
so does every batch until a reconnect succeeds (tried with backoff).  Then the
spool is replayed in order, segment by segment, through the same writer; the
ledger makes replay idempotent.

*Bad batch*: any other database error splits the batch in halves and retries,
down to the single frame, which is then dropped with a logged reason (counted,
not acked).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from protocol.redact import mask_frame

from .batching import batch_wait, take_batch
from .spool import Spool, SpoolRecord
from .writer import BatchWriter, DatabaseUnavailable, Inbound, WriteResult

__all__ = ["Pipeline", "PipelineStats"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PipelineStats:
    """Counters the metrics module reads (plain ints: cheap on the hot path)."""

    submitted: int = 0
    committed_frames: int = 0
    duplicates: int = 0
    rows: int = 0
    bad_values: int = 0
    batches: int = 0
    spooled_frames: int = 0
    replayed_frames: int = 0
    unacked_frames: int = 0  # neither committed nor spooled: left to the station
    dropped_frames: int = 0  # rejected by the database (bad data)
    write_errors: int = 0
    last_batch_frames: int = 0
    last_write_s: float = 0.0
    latencies: list[float] = field(default_factory=list)  # received → durable, seconds
    #: (frames, seconds) of each batch written since the metrics last took them
    writes: list[tuple[int, float]] = field(default_factory=list)
    rows_by_table: dict[str, int] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        writer: BatchWriter,
        spool: Spool,
        *,
        batch_rows: int,
        batch_ms: int,
        queue_high: int,
        queue_low: int,
        ack: Callable[[Sequence[Inbound]], None],
        pause: Callable[[], None],
        resume: Callable[[], None],
        rebuild: Callable[[SpoolRecord], Inbound | None],
    ) -> None:
        self.writer = writer
        self.spool = spool
        self.batch_rows = batch_rows
        self.batch_s = batch_ms / 1000
        self.queue_high = queue_high
        self.queue_low = queue_low
        self._ack = ack
        self._pause = pause
        self._resume = resume
        self._rebuild = rebuild
        self._queue: deque[Inbound] = deque()
        self._weight = 0
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        self._paused = False
        self._db_ok = True
        self._retry_at = 0.0
        self._backoff = 0.5
        self._writing = False
        self.stats = PipelineStats()

    # -- producer side ---------------------------------------------------------------
    def submit(self, item: Inbound) -> None:
        self._queue.append(item)
        self._weight += item.weight
        self.stats.submitted += 1
        if len(self._queue) == 1:
            self._wakeup.set()
        if self._weight >= self.batch_rows:
            self._full.set()
        if not self._paused and len(self._queue) >= self.queue_high:
            self._paused = True
            log.warning("writer is behind (%d frames queued): pausing reads", len(self._queue))
            self._pause()

    @property
    def depth(self) -> int:
        return len(self._queue)

    @property
    def busy(self) -> bool:
        """A batch is being written, or a full one waits: the writer has a backlog.
        Work that can wait (the station-state flush) yields to it."""
        return self._writing or self._weight >= self.batch_rows

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def database_ok(self) -> bool:
        return self._db_ok

    # -- the writer task ---------------------------------------------------------------
    async def run(self) -> None:
        """Write batches until :meth:`close` and the queue is empty."""
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                if self._db_ok and not self.spool.is_empty():
                    await self._replay_one()
                    continue
                self._wakeup.clear()
                timeout = None if self._db_ok else max(0.05, self._retry_at - loop.time())
                try:
                    await asyncio.wait_for(self._wakeup.wait(), timeout)
                except TimeoutError:
                    await self._try_reconnect()
                continue
            wait = batch_wait(
                queued_rows=self._weight,
                oldest_age_s=time.monotonic() - self._queue[0].mono,
                batch_rows=self.batch_rows,
                batch_s=self.batch_s,
                closing=self._closing,
            )
            if wait > 0:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), wait)
            batch = self._take()
            self._writing = True
            try:
                await self._write(batch)
            except Exception:  # a bug must not stop every station of this worker
                self.stats.unacked_frames += len(batch)
                log.exception(
                    "writing a batch of %d frames failed; they are not acked"
                    " (their stations retransmit)",
                    len(batch),
                )
                await asyncio.sleep(1.0)
            finally:
                self._writing = False
            if self._paused and len(self._queue) <= self.queue_low:
                self._paused = False
                log.info("writer caught up (%d frames queued): resuming reads", len(self._queue))
                self._resume()

    def _take(self) -> list[Inbound]:
        batch, weight = take_batch(self._queue, self.batch_rows)
        self._weight -= weight
        return batch

    async def close(self) -> None:
        """Graceful stop: write (or spool) everything queued, ack it, return."""
        self._closing = True
        self._wakeup.set()
        self._full.set()

    # -- writing ------------------------------------------------------------------------
    async def _write(self, batch: list[Inbound]) -> None:
        loop = asyncio.get_running_loop()
        if not self._db_ok and loop.time() >= self._retry_at:
            await self._try_reconnect()
        if self._db_ok:
            started = time.perf_counter()
            try:
                result = await self._write_isolating(batch)
            except DatabaseUnavailable as exc:
                self._database_lost(str(exc))
            else:
                seconds = time.perf_counter() - started
                self.stats.last_write_s = seconds
                writes = self.stats.writes
                writes.append((len(batch), seconds))
                if len(writes) > 10_000:  # nobody reads them (no metrics): keep the last
                    del writes[:5_000]
                self._committed(batch, result)
                return
        await self._spool(batch)

    async def _write_isolating(self, batch: Sequence[Inbound]) -> WriteResult:
        """Write; on a data error split the batch until the bad frame is alone."""
        try:
            return await self.writer.write(batch)
        except asyncpg.PostgresError as exc:
            self.stats.write_errors += 1
            if len(batch) == 1:
                item = batch[0]
                log.error(
                    "database rejected a frame from %s (CN %s, DataTime %s): %s — dropped,"
                    " not acked: %r",
                    item.mn,
                    item.frame.cn,
                    item.frame.data_time,
                    exc,
                    mask_frame(item.frame.raw)[:200],
                )
                self.stats.dropped_frames += 1
                item.rejected = True
                return WriteResult()
            log.warning("batch of %d failed (%s); splitting to isolate it", len(batch), exc)
            half = len(batch) // 2
            first = await self._write_isolating(batch[:half])
            second = await self._write_isolating(batch[half:])
            return WriteResult(
                first.new_frames + second.new_frames,
                first.duplicates + second.duplicates,
                first.rows + second.rows,
                first.bad_values + second.bad_values,
                {
                    k: first.by_table.get(k, 0) + second.by_table.get(k, 0)
                    for k in first.by_table.keys() | second.by_table.keys()
                },
            )

    def _committed(self, batch: Sequence[Inbound], result: WriteResult) -> None:
        s = self.stats
        s.batches += 1
        s.committed_frames += result.new_frames
        s.duplicates += result.duplicates
        s.rows += result.rows
        s.bad_values += result.bad_values
        s.last_batch_frames = len(batch)
        for table, n in result.by_table.items():
            s.rows_by_table[table] = s.rows_by_table.get(table, 0) + n
        self._acknowledge(batch)

    def _acknowledge(self, batch: Sequence[Inbound]) -> None:
        live = [item for item in batch if not (item.replay or item.rejected)]
        now = time.monotonic()
        latencies = self.stats.latencies
        latencies.extend(now - item.mono for item in live)
        if len(latencies) > 100_000:
            del latencies[: len(latencies) - 50_000]
        self._ack(live)

    async def _spool(self, batch: list[Inbound]) -> None:
        live = [item for item in batch if not item.replay]
        if not live:
            return
        records = [SpoolRecord(i.received_at.timestamp(), i.station_id, i.frame.raw) for i in live]
        try:
            await asyncio.to_thread(self.spool.append, records)
        except OSError as exc:  # SpoolError, and anything else the file system says
            self.stats.unacked_frames += len(live)
            log.error("%s — %d frames not acked (their stations keep them)", exc, len(live))
            return
        self.stats.spooled_frames += len(live)
        self._acknowledge(live)

    def _database_lost(self, reason: str) -> None:
        if self._db_ok:
            log.error("database unavailable (%s): spooling to %s", reason, self.spool.directory)
        self._db_ok = False
        self._backoff = 0.5
        self._retry_at = asyncio.get_running_loop().time() + self._backoff

    async def _try_reconnect(self) -> None:
        if self._db_ok:
            return
        try:
            await self.writer.connect()
        except DatabaseUnavailable as exc:
            self._backoff = min(self._backoff * 2, 5.0)
            self._retry_at = asyncio.get_running_loop().time() + self._backoff
            log.debug("database still unavailable: %s", exc)
            return
        self._db_ok = True
        self.spool.seal()
        log.info("database is back; replaying %d bytes of spool", self.spool.size)

    async def _replay_one(self) -> None:
        """Replay the oldest closed spool segment (then delete it)."""
        self.spool.seal()
        pending = self.spool.pending()
        if not pending:
            return
        path = pending[0]
        records = list(Spool.read(path))
        items = [item for item in map(self._rebuild, records) if item is not None]
        started = time.perf_counter()
        for start in range(0, len(items), 2000):
            chunk = items[start : start + 2000]
            try:
                result = await self._write_isolating(chunk)
            except DatabaseUnavailable as exc:
                self._database_lost(str(exc))
                return
            self.stats.replayed_frames += len(chunk)
            self.stats.committed_frames += result.new_frames
            self.stats.duplicates += result.duplicates
            self.stats.rows += result.rows
            if self._queue:  # keep live data flowing while replaying a big spool
                await self._write(self._take())
        self.spool.remove(path)
        log.info(
            "replayed spool segment %s: %d frames in %.1f s",
            path.name,
            len(items),
            time.perf_counter() - started,
        )
