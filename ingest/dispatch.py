"""What a worker does with each decoded event.

One :class:`Dispatcher` per worker process.  For every frame it: checks the
station (registry, unknown-MN policy, password), binds the MN to the
connection (a reconnecting MN wins over its old connection), and routes by
type — uploads to the pipeline, replies to the command tracker, notifications
answered at once (9013, and 1012 time sync after a 1013).  Every rejection is
counted by reason and logged (rate-limited per connection); nothing rejected
is stored or acked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from protocol import (
    Command,
    DataUpload,
    Decoder,
    EncodeError,
    Frame,
    FrameError,
    Heartbeat,
    Notification,
    Reassembler,
    Reply,
    encode_data_ack,
    encode_notify_ack,
    encode_request,
    format_qn,
    format_time,
)
from protocol.identity import IDENTITY_CN
from store.logcontext import station_fields

from .admission import edition_detail, flags, refusal
from .connection import StationConnection
from .guard import AddressGuard
from .newcomers import Newcomers
from .registry import Station, StationRegistry
from .rejections import LOG_FIRST_ERRORS, Rejections
from .rows import TimeParser, in_window
from .settings import IngestSettings
from .writer import Inbound

if TYPE_CHECKING:
    from .commands import CommandTracker
    from .pipeline import Pipeline
    from .state import StateFlusher

__all__ = ["Dispatcher"]

log = logging.getLogger(__name__)


class Dispatcher(Newcomers, Rejections):
    """The worker's per-event logic (connections only feed it)."""

    def __init__(
        self,
        settings: IngestSettings,
        *,
        worker: int,
        tz: tzinfo,
        registry: StationRegistry,
        lookup: Callable[[str], asyncio.Future[Station | None]] | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.tz = tz
        self.registry = registry
        self._lookup = lookup
        self.pipeline: Pipeline | None = None
        self.commands: CommandTracker | None = None
        self.state: StateFlusher | None = None
        self.parse_time = TimeParser(tz)
        self.connections: set[StationConnection] = set()
        self.sessions: dict[str, StationConnection] = {}
        #: HJ 212-2025 loggers without an MN: logger id (CN 1001 i23005-Info) → the
        #: connection that announced it (where CN 1002 assigning the MN goes)
        self.loggers: dict[str, StationConnection] = {}
        self.reassembler = Reassembler(
            timeout=settings.split_timeout_s, max_open=settings.split_max_open
        )
        self.rejected: Counter[str] = Counter()
        self.frames_by_cn: Counter[int] = Counter()
        self.decoder_errors: Counter[str] = Counter()
        #: frames accepted but worth a look: edition_mismatch (another edition than the
        #: registered one), unencrypted (2025 data in the clear from a station with a key),
        #: backfill (RF=1), previous_sm4_key (decrypted with the key being rotated out)
        self.flagged: Counter[str] = Counter()
        self.opened = 0
        self.closed = 0
        self.replaced = 0
        self.acks_sent = 0
        self.bytes_in = 0
        self.clock = time.monotonic()
        self._modbus: bool | set[str] = settings.modbus_crc_all or registry.modbus_stations()
        self._pending_lookups: dict[str, list[tuple[StationConnection, Frame]]] = {}
        self._max_age = timedelta(days=settings.max_age_days)
        self._max_future = timedelta(seconds=settings.max_future_s)
        self._closing = False
        self._overloaded = False
        self.guard = AddressGuard(
            max_connections=settings.max_connections_per_ip,
            connects_per_s=settings.max_connects_per_ip_per_s,
        )
        self._refusals = 0
        self._paused: set[StationConnection] = set()
        #: Told the number of open connections whenever it changes (the worker's
        #: listener back-pressure); ``listener_paused`` is the worker's answer.
        self.on_connections: Callable[[int], None] | None = None
        self.listener_paused = False
        #: one bound method for every decoder (each ``self._sm4_keys`` is a new 64-byte object)
        self._keys_of: Callable[[str], tuple[bytes, ...]] = self._sm4_keys

    # -- connections --------------------------------------------------------------------
    def new_decoder(self) -> Decoder:
        return StationConnection.make_decoder(
            self.settings.max_frame_length, self._modbus, self._keys_of
        )

    def _sm4_keys(self, mn: str) -> tuple[bytes, ...]:
        """The keys to decrypt ``mn``'s frames: the registry's (current, previous), then one
        a key exchange in flight is giving it (the logger may switch before the registry
        has its confirmation)."""
        keys = self.registry.sm4_keys(mn)
        if self.commands is None or (new := self.commands.sm4_key_in_flight(mn)) is None:
            return keys
        if new in keys:  # the registry has taken it
            self.commands.forget_key_in_flight(mn)
            return keys
        return (*keys, new)

    def refresh_modbus(self) -> None:
        self._modbus = self.settings.modbus_crc_all or self.registry.modbus_stations()

    def connection_opened(self, conn: StationConnection) -> None:
        if self._closing:
            conn.close()
            return
        refused = self.guard.admit(conn.ip, time.monotonic())
        if refused is not None:
            self.rejected[refused] += 1
            self._refusals += 1
            if self._refusals <= LOG_FIRST_ERRORS or self._refusals % 1000 == 0:
                log.warning(
                    "refusing a connection from %s (%s; ingest.max_connections_per_ip"
                    " / max_connects_per_ip_per_s)",
                    conn.peer,
                    refused,
                    extra=station_fields(peer=conn.peer),
                )
            conn.ip = ""  # nothing to release
            conn.close()
            return
        conn.connected_at = conn.last_rx = self.clock
        self.connections.add(conn)
        self.opened += 1
        if self.on_connections is not None:
            self.on_connections(len(self.connections))
        if self._overloaded:
            conn.pause()
            self._paused.add(conn)

    def connection_closed(self, conn: StationConnection, exc: Exception | None) -> None:
        if conn.ip:
            self.guard.release(conn.ip)
        self.connections.discard(conn)
        self._paused.discard(conn)
        self.closed += 1
        if self.on_connections is not None:
            self.on_connections(len(self.connections))
        for logger_id in conn.logger_ids:
            if self.loggers.get(logger_id) is conn:
                del self.loggers[logger_id]
        for mn in conn.mns:
            if self.sessions.get(mn) is conn:
                del self.sessions[mn]
                station = self.registry.get(mn)
                if station is not None and self.state is not None:
                    self.state.disconnected(station.id, conn.peer)

    def pause_all(self) -> None:
        """The writer is behind: from now on every connection that submits a frame stops
        reading (idle connections are left alone — touching 20,000 sockets to pause
        them costs more than the few frames they might send)."""
        self._overloaded = True

    def resume_all(self) -> None:
        self._overloaded = False
        paused, self._paused = self._paused, set()
        for conn in paused:
            conn.resume()

    def sweep_idle(self) -> int:
        """Close connections that are silent (``idle_timeout_s``), dribble a frame forever
        (``frame_timeout_s``: slow senders, slowloris) or never send a valid frame
        (``first_frame_timeout_s``)."""
        s = self.settings
        now = self.clock
        idle_limit = now - s.idle_timeout_s
        frame_limit = now - s.frame_timeout_s
        first_limit = now - s.first_frame_timeout_s
        closed = 0
        for conn in list(self.connections):
            if conn.last_rx < idle_limit:
                reason = "idle_timeout"
            elif conn.partial_since is not None and conn.partial_since < frame_limit:
                reason = "frame_timeout"
            elif conn.frames == 0 and conn.connected_at < first_limit:
                reason = "no_valid_frame"
            else:
                continue
            self.rejected[reason] += 1
            log.info(
                "closing connection %s (MN %s): %s",
                conn.peer,
                ",".join(conn.mns) or "-",
                reason,
                extra=station_fields(conn.mns, conn.peer),
            )
            conn.close()
            closed += 1
        self.guard.forget_idle(time.monotonic())
        return closed

    def sweep_splits(self, now: float) -> None:
        for group in self.reassembler.expire(now):
            self.rejected["split_incomplete"] += 1
            log.warning(
                "split upload from %s (CN %s, DataTime %s) incomplete: parts %s missing",
                group.key[0],
                group.key[1],
                group.key[2],
                list(group.missing),
                extra=station_fields(str(group.key[0])),
            )

    async def close_all(self) -> None:
        self._closing = True
        for conn in list(self.connections):
            conn.close()

    # -- events -------------------------------------------------------------------------
    def handle(self, conn: StationConnection, event: Frame | FrameError) -> None:
        if isinstance(event, FrameError):
            self._bad_input(conn, event)
            return
        conn.error_streak = 0
        conn.frames += 1
        self.frames_by_cn[event.cn] += 1
        mn = event.mn
        if event.cn == IDENTITY_CN and not mn and event.edition == "2025":
            self._identity(conn, event)
            return
        if mn is None:
            self._reject(conn, event, "no_mn", "frame without MN")
            return
        station = self.registry.get(mn)
        if station is None:
            self._unknown(conn, event, mn)
            return
        self._accept(conn, event, station)

    def _accept(self, conn: StationConnection, frame: Frame, station: Station) -> None:
        mn = station.mn
        admitted = conn.admitted
        if (
            admitted is not None
            and admitted[0] is station
            and type(frame) is DataUpload
            and admitted[1] == frame.pw
            and admitted[2] == frame.edition
            and not frame.notes
            and not frame.backfill
            and mn in conn.mns
        ):
            # the fast lane: an upload like the last one let in here (same registry entry,
            # PW and edition, nothing to flag): refusal() and flags() would say the same
            received = datetime.now(UTC)
            if self.state is not None:
                self.state.seen(station.id, received)
            self._upload(conn, frame, station, received)
            return
        refused = refusal(station, frame, allow_empty_passwords=self.settings.allow_empty_passwords)
        if refused is not None:
            self._reject(conn, frame, *refused)
            return
        found = flags(station, frame)
        if not found and frame.edition != "2025":
            conn.admitted = (station, frame.pw, frame.edition)
        for kind in found:
            self.flagged[kind] += 1
            n = self.flagged[kind]
            if kind == "edition_mismatch" and (n <= LOG_FIRST_ERRORS or n % 1000 == 0):
                log.warning(
                    "%s; accepted (strict_edition is off)",
                    edition_detail(station, frame),
                    extra=station_fields(station.mn, conn.peer),
                )
        if mn not in conn.mns:
            self._bind(conn, mn, station, frame)
        received = datetime.now(UTC)
        if self.state is not None:
            self.state.seen(station.id, received)
        if isinstance(frame, Reply):
            if self.commands is not None:
                self.commands.on_reply(station, frame)
            return
        if isinstance(frame, Heartbeat):
            if frame.cn == 9015:  # HJ 212-2025: a heartbeat is answered with 9013
                conn.send(encode_notify_ack(frame))
            return
        if isinstance(frame, Notification):
            conn.send(encode_notify_ack(frame))
            if frame.cn == 1013 and self.settings.time_sync:
                self._sync_time(conn, frame)
            # 2005 alarm events (2072) are archived like other uploads
            if frame.cn == 1013:
                return
        if isinstance(frame, Command):
            self._reject(
                conn, frame, "unexpected_command", f"{mn} sent platform command CN {frame.cn}"
            )
            return
        if frame.cn == 1014 and frame.edition == "2025":  # the logger asks for a new SM4 key
            conn.send(encode_notify_ack(frame))
            if self.commands is not None:
                self.commands.key_requested(station)
            return
        self._upload(conn, frame, station, received)

    def _upload(
        self, conn: StationConnection, frame: Frame, station: Station, received: datetime
    ) -> None:
        text = frame.data_time
        ts = self.parse_time(text) if text is not None else None
        if ts is None:
            if isinstance(frame, DataUpload):
                self._reject(
                    conn,
                    frame,
                    "bad_datatime",
                    f"{station.mn} CN {frame.cn}: DataTime {text!r} is missing or invalid",
                )
                return
            ts = received
        elif not in_window(ts, received, self._max_age, self._max_future):
            self._reject(
                conn,
                frame,
                "datatime_out_of_range",
                f"{station.mn} CN {frame.cn}: DataTime {text} is outside the accepted"
                f" window (ingest.max_age_days, ingest.max_future_s)",
            )
            return
        if frame.is_split:
            self.reassembler.add(frame, self.clock)
        if self.commands is not None:
            self.commands.on_upload(station, frame, received)
        assert self.pipeline is not None
        self.pipeline.submit(
            Inbound(
                frame,
                station.id,
                station.mn,
                ts,
                received,
                time.monotonic(),
                weight=max(1, frame.cp.count(";")),
            )
        )
        if self._overloaded and not conn.paused:
            conn.pause()
            self._paused.add(conn)

    def ack(self, items: Sequence[Inbound]) -> None:
        """Pipeline callback: ``items`` are durable — send the 9014 of each that asked for
        one, over whichever connection holds its MN now (one write per connection)."""
        state = self.state
        sessions = self.sessions
        # one ack a connection nearly always: its bytes (``more`` counts the rare others)
        out: dict[StationConnection, bytes] = {}
        more: dict[StationConnection, int] = {}
        for item in items:
            frame = item.frame
            if state is not None and frame.cn == 2011:
                state.data(item)
            if not frame.ack_requested:
                continue
            conn = sessions.get(item.mn)
            if conn is None:
                continue
            try:
                ack = encode_data_ack(frame)
            except EncodeError as exc:  # a head no answer can echo (e.g. '=' inside a PW)
                self.rejected["unackable"] += 1
                log.warning(
                    "cannot answer %s (QN %s): %s",
                    item.mn,
                    frame.qn,
                    exc,
                    extra=station_fields(item.mn),
                )
                continue
            pending = out.get(conn)
            if pending is None:
                out[conn] = ack
            else:
                out[conn] = pending + ack
                more[conn] = more.get(conn, 0) + 1
        for conn, acks in out.items():
            if conn.send(acks):
                self.acks_sent += (1 + more.get(conn, 0)) if more else 1

    # -- station identity ------------------------------------------------------------------
    def _bind(self, conn: StationConnection, mn: str, station: Station, frame: Frame) -> None:
        old = self.sessions.get(mn)
        if old is not None and old is not conn:
            self.replaced += 1
            log.info(
                "station %s reconnected from %s: closing its old connection %s",
                mn,
                conn.peer,
                old.peer,
                extra=station_fields(mn, conn.peer),
            )
            old.unbind(mn)
            old.close()
        self.sessions[mn] = conn
        conn.bind(mn)
        conn.edition = frame.edition
        conn.st = frame.st
        if self.state is not None:
            self.state.connected(station.id, conn.peer, frame.edition, self.worker)
        if self.commands is not None:
            self.commands.station_online(station)

    def _unknown(self, conn: StationConnection, frame: Frame, mn: str) -> None:
        """An MN not in memory: ask the database once, then apply the policy."""
        if self._lookup is not None and not self.registry.recently_missed(mn):
            waiting = self._pending_lookups.get(mn)
            if waiting is not None:
                waiting.append((conn, frame))
                return
            self._pending_lookups[mn] = [(conn, frame)]
            self._lookup(mn).add_done_callback(lambda fut: self._looked_up(mn, fut))
            return
        self._unknown_policy(conn, frame, mn)

    def _looked_up(self, mn: str, fut: asyncio.Future[Station | None]) -> None:
        waiting = self._pending_lookups.pop(mn, [])
        station = None if fut.cancelled() or fut.exception() else fut.result()
        for conn, frame in waiting:
            if conn.transport is None:
                continue
            if station is not None:
                self._accept(conn, frame, station)
            else:
                self._unknown_policy(conn, frame, mn)

    def _unknown_policy(self, conn: StationConnection, frame: Frame, mn: str) -> None:
        if self.settings.unknown_mn == "reject":
            self._reject(conn, frame, "unknown_mn", f"unknown MN {mn} (policy: reject)")
            conn.close()
            return
        if self.state is not None and not self.state.pending(
            mn,
            st=frame.st,
            pw=frame.pw,
            edition=frame.edition,
            raw=frame.raw,
            peer=conn.peer,
            address=conn.ip,
        ):
            self._reject(
                conn, frame, "pending_limit", f"unknown MN {mn}: too many new MNs from {conn.ip}"
            )
            return
        self._reject(conn, frame, "unknown_mn", f"unknown MN {mn}: waiting for approval")

    # -- platform-initiated replies ---------------------------------------------------------
    def _sync_time(self, conn: StationConnection, frame: Frame) -> None:
        now = datetime.now(self.tz)
        cp: dict[str, str | int] = {"SystemTime": format_time(now)}
        pol = frame.fields.get("PolId")
        if pol:
            cp = {"PolId": pol, **cp}
        conn.send(
            encode_request(
                1012,
                qn=format_qn(now),
                st=frame.st or "91",
                mn=frame.mn or "",
                pw=frame.pw or "",
                edition=frame.edition,
                cp=cp,
            )
        )
