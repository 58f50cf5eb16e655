"""Frames from stations the registry does not know yet (HJ 212-2025), for the
:class:`~ingest.dispatch.Dispatcher`: an encrypted frame from an unknown MN (it may have
been registered a moment ago; else it waits on the pending list, marked encrypted), and a
logger without an MN announcing its identity (CN 1001) for the MN an operator assigns."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from protocol import Frame, FrameError, encode_notify_ack
from protocol.identity import IdentityError, logger_identity
from protocol.sm4 import plain_head
from store.logcontext import station_fields

from .commands import CommandTracker
from .connection import StationConnection
from .registry import Station, StationRegistry
from .settings import IngestSettings
from .state import StateFlusher

__all__ = ["Newcomers"]

log = logging.getLogger(__name__)

#: logger ids one connection may announce (CN 1001): a logger has one
_MAX_LOGGERS_PER_CONNECTION = 4


class Newcomers:
    """Mixin of :class:`~ingest.dispatch.Dispatcher` (which provides what is declared)."""

    settings: IngestSettings
    registry: StationRegistry
    state: StateFlusher | None
    commands: CommandTracker | None
    loggers: dict[str, StationConnection]
    rejected: Counter[str]
    _lookup: Callable[[str], asyncio.Future[Station | None]] | None
    _pending_lookups: dict[str, list[tuple[StationConnection, Frame]]]

    if TYPE_CHECKING:  # provided by the Dispatcher

        def _reject(
            self, conn: StationConnection, frame: Frame, reason: str, detail: str
        ) -> None: ...

        def _looked_up(self, mn: str, fut: asyncio.Future[Station | None]) -> None: ...

    def _unknown_encrypted(self, conn: StationConnection, error: FrameError, mn: str) -> None:
        """An unknown MN whose CP comes SM4-encrypted: an HJ 212-2025 logger.  It may have
        been registered a moment ago (the database is asked, once per negative TTL, so its
        retransmission decrypts); else it waits for approval with its key (the frame itself
        cannot be read)."""
        asking = mn in self._pending_lookups or self.registry.recently_missed(mn)
        if self._lookup is not None and not asking:
            self._pending_lookups[mn] = []
            self._lookup(mn).add_done_callback(lambda fut: self._looked_up(mn, fut))
        if self.settings.unknown_mn == "reject" or self.state is None:
            return
        head = plain_head(error.raw)
        self.state.pending(
            mn,
            st=head.get("ST"),
            pw=head.get("PW"),
            edition="2025",
            raw=error.raw,
            peer=conn.peer,
            address=conn.ip,
            encrypted=True,
        )

    def _identity(self, conn: StationConnection, frame: Frame) -> None:
        """HJ 212-2025 CN 1001 from a logger without an MN: its identity waits for an
        operator on the pending list (``pending_loggers``), it gets 9013, and this
        connection is remembered for the CN 1002 that assigns its MN."""
        if self.settings.unknown_mn == "reject":
            self._reject(conn, frame, "unknown_logger", "logger without MN (policy: reject)")
            conn.close()
            return
        try:
            identity = logger_identity(frame.values)
        except IdentityError as exc:
            self._reject(conn, frame, "bad_identity", f"CN 1001: {exc}")
            return
        logger_id = identity.logger_id
        if logger_id not in conn.logger_ids and (
            len(conn.logger_ids) >= _MAX_LOGGERS_PER_CONNECTION
        ):
            self._reject(
                conn, frame, "logger_limit", f"logger {logger_id}: too many loggers on one link"
            )
            return
        if self.state is not None and not self.state.logger(
            identity,
            st=frame.st,
            pw=frame.pw,
            raw=frame.raw,
            peer=conn.peer,
            address=conn.ip,
        ):
            detail = f"logger {logger_id}: too many new loggers from {conn.ip}"
            self._reject(conn, frame, "logger_limit", detail)
            return
        conn.send(encode_notify_ack(frame))
        old = self.loggers.get(logger_id)
        if old is not None and old is not conn and old.transport is not None:
            if old.logger_ids.get(logger_id) != identity:
                # another CPU ID / MAC under a logger id announced by a live connection: a
                # clone or a guesser; the MN assignment stays with the first (counted)
                self.rejected["logger_identity_conflict"] += 1
                log.warning(
                    "logger %s announced from %s with another identity than from %s;"
                    " the MN assignment stays with the first",
                    logger_id,
                    conn.peer,
                    old.peer,
                    extra={**station_fields(peer=conn.peer), "logger_id": logger_id},
                )
                return
            old.logger_ids.pop(logger_id, None)
        self.loggers[logger_id] = conn
        conn.logger_ids[logger_id] = identity
        conn.edition = frame.edition
        conn.st = frame.st
        if self.commands is not None:
            self.commands.logger_online(logger_id)
