"""The batch writer: one database transaction per batch of accepted frames.

Theory of operation
-------------------
For a batch of frames (each already validated: known station, plausible time):

1. build the rows (CPU, no I/O): ledger columns, measurement rows per kind,
   equipment status, info uploads; register factor codes never seen before;
2. create any missing time partitions (plain PostgreSQL; autocommit, *before*
   the transaction — see :mod:`store.partitions`);
3. in one transaction: insert the ledger rows with ``ON CONFLICT DO NOTHING
   RETURNING`` the keys of the frames that are new (the same statement puts them in
   the backlog of the forwarding targets that select them, ``forward_outbox``);
   binary-COPY the measurement rows of those frames only (real-time and minute
   data), upsert hourly/daily data, COPY equipment status, insert info uploads;
   COMMIT.

Retransmissions (already in the ledger, or twice in this batch) store nothing
and are reported as duplicates — the pipeline acks them all the same.  The
rollups of the plain-PostgreSQL engine are maintained by statement triggers on
the measurement tables, inside this same transaction, and the new values are
announced to listeners (the alert engine) with ``NOTIFY envgrid_readings``
(see :mod:`store.feed`) — delivered only if the batch commits.

Errors: a lost connection raises :class:`DatabaseUnavailable` (the pipeline
spools the batch); any other database error fails the batch as a whole and the
pipeline isolates the bad frame by splitting (see ``Pipeline._write``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from itertools import chain
from operator import itemgetter
from typing import Any, Final

import asyncpg
import numpy as np

from protocol import Frame
from protocol.factors import factor as factor_info
from protocol.redact import masked_text
from store.db import CONNECTION_ERRORS, connect
from store.engine import Engine
from store.feed import KIND_CODES, READINGS_CHANNEL, encode_columns, encode_readings
from store.partitions import PartitionCache

from . import queries
from .copyrows import (
    COPY_HEADER,
    COPY_TABLES,
    COPY_TRAILER,
    Encoded,
    encode,
    encode_python,
    pg_microseconds,
)
from .pgtime import install_time_codec
from .rows import (
    KIND_TABLES,
    MEASUREMENT_COLUMNS,
    RECORD_CNS,
    STATUS_COLUMNS,
    MeasurementRow,
    cp_digest,
    measurement_rows,
    record_rows,
    status_rows,
)

__all__ = ["BatchWriter", "DatabaseUnavailable", "Inbound", "WriteResult"]

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database could not be reached or went away mid-batch."""


@dataclass(slots=True, eq=False)
class Inbound:
    """An accepted frame on its way to the database."""

    frame: Frame
    station_id: int
    mn: str
    ts: datetime  # DataTime (aware), or reception time for frames without one
    received_at: datetime
    mono: float  # event-loop time at reception, for batching and latency
    weight: int = 1  # estimated rows
    replay: bool = False  # from the spool: nobody to ack
    rejected: bool = False  # the database refused it: not acked


@dataclass(slots=True)
class WriteResult:
    new_frames: int = 0
    duplicates: int = 0
    rows: int = 0
    bad_values: int = 0
    by_table: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False, repr=False)
class BatchWriter:
    """Owns one dedicated connection (never the pool) and writes batches on it."""

    dsn: str
    engine: Engine
    _: KW_ONLY
    worker: int
    factor_ids: dict[str, int]
    partitions: PartitionCache
    publish: bool = True
    _conn: asyncpg.Connection | None = field(default=None, init=False)

    async def connect(self) -> None:
        if self._conn is None or self._conn.is_closed():
            try:
                conn = await connect(self.dsn, application_name=f"envgrid-ingest-{self.worker}")
                # acks promise durability: never let a server default weaken COMMIT
                await conn.execute(queries.DURABLE_COMMIT_SQL)
                await install_time_codec(conn)
                self._conn = conn
            except CONNECTION_ERRORS as exc:
                raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def write(self, batch: Sequence[Inbound]) -> WriteResult:
        """Store a batch durably (COMMIT) or raise; never partially."""
        await self.connect()
        assert self._conn is not None
        conn = self._conn
        try:
            times: _Times = {}
            encoded = self._encode(batch, times)
            await self._register_factors(conn, batch, encoded)
            needed = self._partitions_needed(batch)
            await self.partitions.ensure(conn, needed)
            return await self._transaction(conn, batch, encoded, times)
        except CONNECTION_ERRORS as exc:
            await self.close()
            raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
        except asyncpg.PostgresError:
            if conn.is_closed():
                await self.close()
                raise DatabaseUnavailable("connection closed during the batch") from None
            raise

    # -- steps -------------------------------------------------------------------
    def _encode(self, batch: Sequence[Inbound], times: _Times) -> dict[Inbound, Encoded]:
        """The COPY rows of the real-time and minute uploads the compiled encoder takes
        (:mod:`ingest.copyrows`); the others are parsed in Python later.  ``times`` gets
        each DataTime's binary form (most frames of a batch share a handful)."""
        out: dict[Inbound, Encoded] = {}
        ids = self.factor_ids
        for item in batch:
            kind = KIND_TABLES.get(item.frame.cn)
            if kind is not None and kind[0] in COPY_TABLES:
                ts = item.ts
                at = times.get(ts)
                if at is None:
                    at = times[ts] = (pg_microseconds(ts), ts.timestamp())
                done = encode(item.frame, item.station_id, ts, ids, at)
                if done is not None:
                    out[item] = done
        return out

    async def _register_factors(
        self, conn: asyncpg.Connection, batch: Sequence[Inbound], encoded: dict[Inbound, Encoded]
    ) -> None:
        ids = self.factor_ids
        unknown: set[str] = set()
        for item in batch:
            if item.frame.cn in KIND_TABLES and item not in encoded:
                for code in item.frame.values:
                    if code not in ids:
                        unknown.add(code)
        for code in sorted(unknown):
            info = factor_info(code)
            ids[code] = await conn.fetchval(
                queries.REGISTER_FACTOR_SQL,
                code,
                info.name_zh if info else "",
                info.name_en if info else "",
                info.unit if info else "",
                info.group if info else "",
            )
            log.info("registered factor code %s as id %d", code, ids[code])

    def _partitions_needed(self, batch: Sequence[Inbound]) -> set[tuple[str, datetime]]:
        needed: set[tuple[str, datetime]] = set()
        for cn, ts in {(item.frame.cn, item.ts) for item in batch}:  # a handful a batch
            needed.add(("packet_ledger", ts))
            kind = KIND_TABLES.get(cn)
            if kind is not None:
                needed.add((kind[0], ts))
            elif cn in (2021, 2041):
                needed.add(("equipment_status", ts))
        return needed

    async def _transaction(
        self,
        conn: asyncpg.Connection,
        batch: Sequence[Inbound],
        encoded: dict[Inbound, Encoded],
        times: _Times,
    ) -> WriteResult:
        result = WriteResult()
        # the ledger decides which frames are new; duplicates inside the batch first
        keyed: dict[tuple[int, datetime, int, int, int], Inbound] = {}
        for item in batch:
            f = item.frame  # the ledger's key: station, DataTime, CN, PNO, CP digest
            key = (
                item.station_id,
                item.ts,
                f.cn,
                f.pno or 0 if "PNO" in f.head else 0,
                cp_digest(f),
            )
            if key in keyed:
                result.duplicates += 1
            else:
                keyed[key] = item
        worker = self.worker
        ledger = [  # ledger_input records, in queries.LEDGER_COLUMNS order
            (
                sid, times[ts][0] if ts in times else pg_microseconds(ts), cn, pno, digest,
                f.head.get("QN"), f.flag, pg_microseconds(item.received_at),  # f.qn
                worker, masked_text(f.raw),
                True if f.head.get("RF") == "1" else None,  # f.backfill
            )
            for (sid, ts, cn, pno, digest), item in keyed.items()
            for f in [item.frame]
        ]  # fmt: skip
        unique = list(keyed.values())
        copied = self._copy_rows(unique, encoded)
        # the readings of the COPY rows ride on the ledger statement (sent if every frame
        # is new); the others' (hourly and daily values) are sent before the COMMIT
        early: list[str] = []
        if self.publish:
            for table, done in copied.items():
                early += _readings(KIND_CODES[table], done)
        notices: list[str] = []
        await conn.execute("BEGIN")
        try:
            ordinals = await conn.fetchval(
                queries.INSERT_LEDGER_SQL, ledger, READINGS_CHANNEL, early, len(unique)
            )
            new = [unique[i - 1] for i in ordinals]
            result.new_frames = len(new)
            result.duplicates += len(keyed) - len(new)
            told = len(new) == len(unique)
            if not told:  # retransmissions among them: the rows and readings of the new
                kept = set(new)
                copied = {t: [d for d in done if d[0] in kept] for t, done in copied.items()}
            await self._store_rows(conn, new, result, copied, None if told else notices)
            if notices:  # the readings feed, delivered at COMMIT
                await conn.execute(queries.NOTIFY_READINGS_SQL, READINGS_CHANNEL, notices)
            await conn.execute("COMMIT")
        except BaseException:
            await _rollback(conn)
            raise
        return result

    def _copy_rows(
        self, frames: Sequence[Inbound], encoded: dict[Inbound, Encoded]
    ) -> dict[str, list[tuple[Inbound, Encoded]]]:
        """The binary COPY rows of the real-time and minute uploads among ``frames``, by
        table (the compiled encoder's, else :func:`encode_python`'s)."""
        copied: dict[str, list[tuple[Inbound, Encoded]]] = {}
        for item in frames:
            kind = KIND_TABLES.get(item.frame.cn)
            if kind is not None and kind[0] in COPY_TABLES:
                done = encoded.get(item)
                if done is None:
                    done = encode_python(item.frame, item.station_id, item.ts, self.factor_ids)
                copied.setdefault(kind[0], []).append((item, done))
        return copied

    async def _store_rows(
        self,
        conn: asyncpg.Connection,
        new: Sequence[Inbound],
        result: WriteResult,
        copied: dict[str, list[tuple[Inbound, Encoded]]],
        notices: list[str] | None,
    ) -> None:
        """Every new frame's rows (``copied``: those of the COPY tables, already encoded);
        the readings feed's payloads go to ``notices`` (None: the COPY rows' were sent)."""
        per_table: dict[str, list[MeasurementRow]] = {}
        status: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        info: tuple[list[Any], ...] = ([], [], [], [], [], [])
        ids = self.factor_ids.__getitem__
        for item in new:
            f = item.frame
            kind = KIND_TABLES.get(f.cn)
            if kind is not None and kind[0] in COPY_TABLES:
                continue  # in copied
            if kind is not None:
                rows = per_table.get(kind[0])
                if rows is None:
                    rows = per_table[kind[0]] = []
                result.bad_values += measurement_rows(f, item.station_id, item.ts, ids, rows)
            elif f.cn in (2021, 2041):
                status += status_rows(f, item.station_id, item.ts, item.received_at)
            elif f.cn in RECORD_CNS:
                records += record_rows(f, item.station_id, item.ts, item.received_at)
            else:
                info[0].append(item.station_id)
                info[1].append(f.cn)
                info[2].append(item.ts)
                info[3].append(item.received_at)
                info[4].append(dict(f.fields))
                info[5].append({k: dict(v) for k, v in f.values.items()})
        for table, frames in copied.items():
            await self._copy(conn, table, frames, result, notices)
        for table, rows in per_table.items():
            if not rows:
                continue
            # station-reported period values: latest upload of a (station, factor, ts) wins
            unique = list({(r[0], r[1], r[2]): r for r in rows}.values())
            sql = (
                queries.UPSERT_HOUR_SQL if table == "measurements_hour" else queries.UPSERT_DAY_SQL
            )
            await conn.execute(sql, *(list(c) for c in zip(*unique, strict=True)))
            if self.publish:
                hourly = list(encode_readings(KIND_CODES[table], rows))
                if notices is None:  # the COPY rows' went with the ledger statement
                    await conn.execute(queries.NOTIFY_READINGS_SQL, READINGS_CHANNEL, hourly)
                else:
                    notices += hourly
            result.rows += len(rows)
            result.by_table[table] = result.by_table.get(table, 0) + len(rows)
        if status:
            await conn.copy_records_to_table(
                "equipment_status", records=status, columns=STATUS_COLUMNS
            )
            result.by_table["equipment_status"] = len(status)
        if records:
            # a corrected re-upload of a (station, CN, factor, time) replaces the row
            unique = list({(r[0], r[1], r[2], r[3]): r for r in records}.values())
            await conn.execute(
                queries.UPSERT_RECORDS_SQL, *(list(c) for c in zip(*unique, strict=True))
            )
            result.by_table["records_2025"] = len(unique)
        if info[0]:
            await conn.execute(queries.INSERT_INFO_SQL, *info)
            result.by_table["info_uploads"] = len(info[0])

    async def _copy(
        self,
        conn: asyncpg.Connection,
        table: str,
        done: Sequence[tuple[Inbound, Encoded]],
        result: WriteResult,
        notices: list[str] | None,
    ) -> None:
        """Binary COPY of real-time or minute rows; their readings payloads to ``notices``
        (None: sent already)."""
        rows = 0
        for _, (_, _, _, n, bad) in done:
            rows += n
            result.bad_values += bad
        if not rows:
            return
        data = b"".join([COPY_HEADER, *(e[0] for _, e in done), COPY_TRAILER])
        # a memoryview: asyncpg would take bytes for a file name (os.fspath accepts them)
        await conn.copy_to_table(
            table, source=memoryview(data), columns=MEASUREMENT_COLUMNS, format="binary"
        )
        if self.publish and notices is not None:
            notices += _readings(KIND_CODES[table], done)
        result.rows += rows
        result.by_table[table] = result.by_table.get(table, 0) + rows


async def _rollback(conn: asyncpg.Connection) -> None:
    """End a failed batch's transaction; a connection that cannot is closed (the next
    batch reconnects) — never left in an aborted transaction."""
    if conn.is_closed():
        return
    try:
        await asyncio.wait_for(conn.execute("ROLLBACK"), 10)
    except Exception:  # the batch's own error is the one to report
        conn.terminate()
    except BaseException:  # cancelled meanwhile
        conn.terminate()
        raise


#: DataTime → (µs since 2000-01-01 UTC, POSIX seconds), for one batch
_Times = dict[datetime, tuple[int, float]]

_FEED_ROWS: Final = itemgetter(1)
_FLAGS: Final = itemgetter(2)
_FEED: Final = np.dtype([("station", "<i4"), ("factor", "<i2"), ("ts", "<f8"), ("value", "<f8")])


def _readings(kind: str, done: Sequence[tuple[Inbound, Encoded]]) -> Iterator[str]:
    """The readings feed's payloads of COPY-encoded frames (as :func:`encode_readings`
    gives for the same rows)."""
    encoded = [e for _, e in done]
    feed = np.frombuffer(b"".join(map(_FEED_ROWS, encoded)), _FEED)
    flags = list(chain.from_iterable(map(_FLAGS, encoded)))
    return encode_columns(kind, feed["station"], feed["factor"], feed["ts"], feed["value"], flags)
