"""The worker side of downlink commands (see :mod:`store.commands` for the queue).

A worker LISTENs on ``envgrid_commands``.  A notification names a command and
an MN; if this worker holds that MN's socket it claims the row (``queued`` →
``sent``, so exactly one worker sends it), encodes the request in the
station's edition and writes it.  When a station comes online its queued
commands are sent the same way.

Replies are matched by the command's QN: 9011 ``QnRtn`` (accepted/rejected),
9012 ``ExeRtn`` (succeeded/failed), 9013 for notification-type commands
(2012/2022); frames with the command's CN that the station sends meanwhile
(the history data of a 2061 request, the answer of a 1011 get-time …) are
recorded as replies too — and stored as data as usual.

HJ 212-2025 MN assignment: a logger without an MN has no session under the MN an
operator assigns it, so CN 1002 (``i23005-Info`` = its logger id) goes to the connection
that announced that logger id with CN 1001 (``loggers``, kept by the dispatcher) — when
the command is queued, or when the logger announces itself again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from protocol import Frame, Reply, encode_request
from protocol.identity import ASSIGN_CN
from protocol.redact import mask_fields, masked_text
from protocol.sm4 import must_encrypt, parse_key
from store.commands import CHANNEL, queue_key_exchange
from store.db import connect
from store.logcontext import log_fields, station_fields
from store.secretbox import SM4_KEY, STATION_PASSWORD, SecretBox, SecretBoxError
from store.stations import NOTIFY_CHANGED_SQL, SM4_KEY_GRACE, STATIONS_CHANNEL, set_sm4_key

from . import queries
from .connection import StationConnection
from .registry import Station

__all__ = ["CommandTracker"]

log = logging.getLogger(__name__)

#: Commands the station answers with 9013 instead of 9011/9012 ([S17] table 9).
_NOTIFY_CN = frozenset({2012, 2022})


#: HJ 212 "set access password" (NewPW in the CP)
SET_PASSWORD_CN = 1072
#: HJ 212-2025 key exchange: ``SKCreateTime=…,NewSK=…`` (a comma between the two fields)
KEY_EXCHANGE_CN = 1014


@dataclass(slots=True)
class _Active:
    id: int
    station_id: int
    mn: str
    cn: int
    qn: str
    sent: float
    request_id: str | None = None

    def log_extra(self) -> dict[str, str]:
        """The fields of a log line about it: the station and the request that queued it."""
        rid = {"request_id": self.request_id} if self.request_id else {}
        return {**station_fields(self.mn), **rid}


@dataclass(eq=False, repr=False)
class CommandTracker:
    pool: asyncpg.Pool
    _: KW_ONLY
    worker: int
    sessions: dict[str, StationConnection]
    registry_get: Callable[[str], Station | None]
    timeout_s: float
    on_registry_change: Callable[[], None] | None = None
    #: opens the ``NewPW`` of set-password and the ``NewSK`` of key-exchange commands
    #: (sealed in ``station_commands.params``)
    box: SecretBox | None = None
    #: how long a replaced SM4 key stays valid
    sm4_grace: timedelta = SM4_KEY_GRACE
    #: a key older than this is rotated when its station comes online (None: never)
    sm4_rotate: timedelta | None = None
    tz: str = "Asia/Shanghai"
    #: logger id → connection of HJ 212-2025 loggers without an MN (the dispatcher's)
    loggers: dict[str, StationConnection] = field(default_factory=dict)
    _active: dict[tuple[str, str], _Active] = field(default_factory=dict, init=False)  # (mn, qn)
    _by_station: dict[int, list[_Active]] = field(default_factory=dict, init=False)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, init=False)
    _replies: asyncio.Queue[tuple[_Active, Frame, str | None, int | None, datetime]] = field(
        default_factory=asyncio.Queue, init=False
    )
    _recorder_task: asyncio.Task[None] | None = field(default=None, init=False)
    _listener: asyncpg.Connection | None = field(default=None, init=False)
    _dsn: str = field(default="", init=False)
    _waiting: set[str] = field(default_factory=set, init=False)
    #: MN → the SM4 key a key exchange (1014) in flight is giving it: the station may use
    #: it before its confirmation reaches the registry (:meth:`sm4_key_in_flight`)
    _new_keys: dict[str, bytes] = field(default_factory=dict, init=False)
    sent: int = field(default=0, init=False)
    replies: int = field(default=0, init=False)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, dsn: str) -> None:
        self._dsn = dsn
        self._listener = await connect(dsn, application_name=f"envgrid-commands-{self.worker}")
        await self._listener.add_listener(CHANNEL, self._notified)
        if self.on_registry_change is not None:
            await self._listener.add_listener(STATIONS_CHANNEL, self._registry_changed)
        # stations with commands waiting for them: asked about when they come online
        self._waiting = {r[0] for r in await self._listener.fetch(queries.WAITING_STATIONS_SQL)}

    def _registry_changed(self, _conn: object, _pid: int, _channel: str, _payload: str) -> None:
        if self.on_registry_change is not None:
            self.on_registry_change()

    async def ensure_listening(self) -> None:
        """Re-open the LISTEN connection after the database came back; then send what was
        queued for the stations this worker holds meanwhile."""
        if self.listening or not self._dsn:
            return
        try:
            await self.start(self._dsn)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.debug("command listener still down: %s", exc)
            return
        log.info("command listener reconnected")
        for mn in list(self.sessions):
            station = self.registry_get(mn)
            if station is not None:
                self.station_online(station)
        if self.on_registry_change is not None:
            self.on_registry_change()  # changes made while the database was away

    async def stop(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            try:
                await listener.close(timeout=5)
            except Exception:
                listener.terminate()
        if self._recorder_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._recorder_task, 5)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("command handling failed: %r", task.exception())

    # -- sending --------------------------------------------------------------------------
    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        command_id, _, mn = payload.partition(":")
        if not (command_id.isascii() and command_id.isdigit()):
            return
        if mn in self.sessions:
            self._spawn(self._claim_and_send(int(command_id)))
        else:
            self._waiting.add(mn)  # sent when the station connects (to whichever worker)
            if self.loggers:  # perhaps a CN 1002 for a logger connected here
                self._spawn(self._send_to_logger(int(command_id)))

    def station_online(self, station: Station) -> None:
        """A station bound to a connection: send what is queued for it (only stations known
        to have something queued cost a query — a reconnect storm costs none)."""
        if station.mn in self._waiting:
            self._waiting.discard(station.mn)
            self._spawn(self._send_queued(station))
        created = station.sm4_key_created
        if (
            self.sm4_rotate is not None
            and station.sm4_keys
            and created is not None
            and datetime.now(UTC) - created > self.sm4_rotate
        ):
            self._spawn(self._exchange_key(station, "sm4-rotation"))

    def logger_online(self, logger_id: str) -> None:
        """A logger without an MN announced itself (CN 1001): send the CN 1002 queued for
        it, if an operator assigned its MN already."""
        self._spawn(self._send_assignments(logger_id))

    async def _send_assignments(self, logger_id: str) -> None:
        async with self.pool.acquire() as conn:
            ids = [r[0] for r in await conn.fetch(queries.QUEUED_ASSIGNMENTS_SQL, logger_id)]
        for command_id in ids:
            await self._claim_and_send(command_id)

    async def _send_to_logger(self, command_id: int) -> None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(queries.QUEUED_COMMAND_SQL, command_id)
        if (
            row is not None
            and row["cn"] == ASSIGN_CN
            and row["params"].get("i23005-Info") in self.loggers
        ):
            await self._claim_and_send(command_id)

    def key_requested(self, station: Station) -> None:
        """The station asked for a new SM4 key (1014 with SKCreateTime)."""
        self._spawn(self._exchange_key(station, "station-request"))

    async def _exchange_key(self, station: Station, why: str) -> None:
        """Queue a key exchange (1014) unless one is under way; the NOTIFY of the queued
        command makes this worker send it (the station is online here)."""
        if self.box is None:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(queries.OPEN_KEY_EXCHANGE_SQL, station.id):
                return
            command_id = await queue_key_exchange(
                conn, mn=station.mn, box=self.box, created_by=why, tz=self.tz
            )
        log.info(
            "SM4 key exchange for %s queued (%s, command %d)",
            station.mn,
            why,
            command_id,
            extra=station_fields(station.mn),
        )

    async def _send_queued(self, station: Station) -> None:
        async with self.pool.acquire() as conn:
            ids = [r[0] for r in await conn.fetch(queries.QUEUED_COMMANDS_SQL, station.id)]
        for command_id in ids:
            await self._claim_and_send(command_id)

    async def _claim_and_send(self, command_id: int) -> None:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(queries.CLAIM_COMMAND_SQL, command_id, self.worker)
        if row is None:
            return  # another worker took it, or it expired
        rid = row["request_id"]
        with log_fields(**({"request_id": rid} if rid else {})):
            await self._send_claimed(command_id, row)

    async def _send_claimed(self, command_id: int, row: asyncpg.Record) -> None:
        station_id, cn, params, qn, mn = (
            row["station_id"],
            row["cn"],
            row["params"],
            row["qn"],
            row["mn"],
        )
        conn_ = self.sessions.get(mn)
        station = self.registry_get(mn)
        password = station.password if station is not None else None
        if cn == ASSIGN_CN and conn_ is None:  # a logger without an MN yet (HJ 212-2025)
            logger_id = str(params.get("i23005-Info"))
            conn_ = self.loggers.get(logger_id)
            if conn_ is not None and not await self._same_logger(logger_id, conn_):
                await self._fail(
                    command_id, f"logger {logger_id} announced another identity than assigned"
                )
                return
            if station is None and conn_ is not None:  # the registry has not reloaded yet
                password = self._password(row["password"])
        elif station is None:
            conn_ = None
        if conn_ is None:
            await self._fail(command_id, "station disconnected before the command was sent")
            return
        if password is None:
            await self._fail(command_id, "the station's stored password does not open on this host")
            return
        try:
            params = self._opened(params)
        except SecretBoxError as exc:
            await self._fail(command_id, str(exc))
            return
        edition = conn_.edition or (station.edition if station else None) or "2017"
        keyed = station is not None and bool(station.sm4_keys)
        encrypt = edition == "2025" and keyed and must_encrypt(cn)
        frame = encode_request(
            cn,
            qn=qn,
            st=conn_.st or "91",
            mn=mn,
            pw=password,
            edition=edition,
            cp=params,
            sep="," if cn == KEY_EXCHANGE_CN else ";",
            sm4_key=station.sm4_keys[0] if encrypt and station is not None else None,
        )
        if not conn_.send(frame):
            await self._fail(command_id, "station connection closed while sending")
            return
        if cn == KEY_EXCHANGE_CN and params.get("NewSK"):
            self._new_keys[mn] = parse_key(str(params["NewSK"]))
        active = _Active(command_id, station_id, mn, cn, qn, time.monotonic(), row["request_id"])
        self._active[(mn, qn)] = active
        self._by_station.setdefault(station_id, []).append(active)
        self.sent += 1
        log.info("sent command %d (CN %d) to %s", command_id, cn, mn, extra=station_fields(mn))

    async def _fail(self, command_id: int, reason: str) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute(queries.UNCLAIM_COMMAND_SQL, command_id, reason)

    # -- replies ---------------------------------------------------------------------------
    def on_reply(self, station: Station, reply: Reply) -> None:
        qn = reply.request_qn
        if qn is None:
            return
        active = self._active.get((station.mn, qn))
        if active is None:
            return
        self.replies += 1
        if reply.cn == 9011:
            rtn = reply.qn_rtn if reply.qn_rtn is not None else 100
            self._enqueue(active, reply, queries.ANSWER_COMMAND_SQL, rtn)
            if rtn != 1:
                self._finish(active)
        elif reply.cn == 9012:
            rtn = reply.exe_rtn if reply.exe_rtn is not None else 100
            self._enqueue(active, reply, queries.FINISH_COMMAND_SQL, rtn)
            self._finish(active, succeeded=rtn == 1)
        elif reply.cn == 9013 and active.cn in _NOTIFY_CN:
            self._enqueue(active, reply, queries.COMPLETE_NOTIFY_COMMAND_SQL, None)
            self._finish(active)

    def on_upload(self, station: Station, frame: Frame, received: datetime) -> None:
        """Data with the CN of an open command from this station is part of its answer."""
        for active in self._by_station.get(station.id, ()):
            if active.cn == frame.cn:
                self.replies += 1
                self._enqueue(active, frame, None, None)
                return

    def _enqueue(self, active: _Active, frame: Frame, sql: str | None, code: int | None) -> None:
        """Replies are written in arrival order by one task (see :meth:`_recorder`)."""
        self._replies.put_nowait((active, frame, sql, code, datetime.now(UTC)))
        if self._recorder_task is None or self._recorder_task.done():
            self._recorder_task = asyncio.get_running_loop().create_task(self._recorder())

    async def _recorder(self) -> None:
        while not self._replies.empty():
            active, frame, sql, code, received = self._replies.get_nowait()
            try:
                await self._record(active, frame, sql, code, received)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.error(
                    "cannot record the reply to command %d: %s",
                    active.id,
                    exc,
                    extra=active.log_extra(),
                )

    async def _record(
        self, active: _Active, frame: Frame, sql: str | None, code: int | None, received: datetime
    ) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if sql is not None:
                if code is None:
                    await conn.execute(sql, active.id)
                else:
                    await conn.execute(sql, active.id, code)
            if sql == queries.FINISH_COMMAND_SQL and code == 1:
                if active.cn == SET_PASSWORD_CN:
                    await self._password_changed(conn, active)
                elif active.cn == KEY_EXCHANGE_CN:
                    await self._key_changed(conn, active)
            fields: dict[str, Any] = mask_fields(frame.fields)
            if frame.values:
                fields["values"] = {k: mask_fields(v) for k, v in frame.values.items()}
            await conn.execute(
                queries.INSERT_REPLY_SQL,
                active.id,
                received,
                frame.cn,
                fields,
                masked_text(frame.raw),
            )

    async def _same_logger(self, logger_id: str, conn: StationConnection) -> bool:
        """Did ``conn`` announce ``logger_id`` with the identity (CPU ID, MACs) stored when
        the operator assigned it?  Only then does it get the MN and its password."""
        announced = conn.logger_ids.get(logger_id)
        async with self.pool.acquire() as db:
            row = await db.fetchrow(queries.LOGGER_IDENTITY_SQL, logger_id)
        same = (
            announced is not None
            and row is not None
            and (announced.cpu_id, announced.mac1, announced.mac2) == tuple(row)
        )
        if not same:
            log.warning(
                "not sending logger %s its MN over %s: its identity differs from the one assigned",
                logger_id,
                conn.peer,
            )
        return same

    def _password(self, sealed: str | None) -> str | None:
        if sealed is None or self.box is None:
            return sealed
        try:
            return self.box.open(sealed, STATION_PASSWORD)
        except SecretBoxError:
            return None

    def _opened(self, params: dict[str, Any]) -> dict[str, Any]:
        """Command parameters with their sealed secrets (NewPW, NewSK) opened for sending."""
        if self.box is None:
            return params
        out = dict(params)
        for name, purpose in (("NewPW", STATION_PASSWORD), ("NewSK", SM4_KEY)):
            if out.get(name):
                out[name] = self.box.open(out[name], purpose)
        return out

    async def _key_changed(self, conn: asyncpg.Connection, active: _Active) -> None:
        """The station confirmed a new SM4 key (1014, ExeRtn 1): it becomes the station's
        key, the old one stays valid for ``sm4_grace``, and the workers reload."""
        new = await conn.fetchval(queries.COMMAND_NEW_KEY_SQL, active.id)
        if not new:
            return
        if self.box is not None:
            new = self.box.seal(self.box.open(new, SM4_KEY), SM4_KEY)
        await set_sm4_key(conn, active.mn, new, self.sm4_grace)
        log.info(
            "station %s confirmed its new SM4 key (command %d)",
            active.mn,
            active.id,
            extra=active.log_extra(),
        )

    async def _password_changed(self, conn: asyncpg.Connection, active: _Active) -> None:
        """The station confirmed a set-password command (1072, ExeRtn 1): the registry takes
        the new password (sealed), and the workers reload it."""
        new = await conn.fetchval(queries.COMMAND_NEW_PASSWORD_SQL, active.id)
        if not new:
            return
        if self.box is not None:
            new = self.box.seal(self.box.open(new, STATION_PASSWORD), STATION_PASSWORD)
        await conn.execute(queries.SET_STATION_PASSWORD_SQL, active.station_id, new)
        await conn.execute(NOTIFY_CHANGED_SQL, STATIONS_CHANNEL, active.mn)
        log.info(
            "station %s confirmed its new password (command %d)",
            active.mn,
            active.id,
            extra=active.log_extra(),
        )

    def sm4_key_in_flight(self, mn: str) -> bytes | None:
        """The key a key exchange in flight is giving ``mn`` (decoders try it last)."""
        return self._new_keys.get(mn)

    def forget_key_in_flight(self, mn: str) -> None:
        """The registry holds the new key now (or the exchange failed)."""
        self._new_keys.pop(mn, None)

    def _finish(self, active: _Active, *, succeeded: bool = False) -> None:
        self._active.pop((active.mn, active.qn), None)
        if active.cn == KEY_EXCHANGE_CN and not succeeded:
            self.forget_key_in_flight(active.mn)
        listed = self._by_station.get(active.station_id)
        if listed is not None:
            listed[:] = [a for a in listed if a is not active]
            if not listed:
                del self._by_station[active.station_id]

    def expire(self) -> None:
        """Forget commands older than the timeout (the database marks them expired)."""
        limit = time.monotonic() - self.timeout_s
        for active in [a for a in self._active.values() if a.sent < limit]:
            self._finish(active)
