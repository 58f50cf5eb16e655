"""One asyncio Protocol per station connection: feeds the decoder, nothing more.

``data_received`` hands the bytes to the connection's :class:`protocol.Decoder`
and every resulting event to the worker's :class:`~ingest.dispatch.Dispatcher`
(uvicorn's h11_impl shape).  The protocol owns the transport, the MNs bound to
it, a few counters and the read-side pause switch used by flow control.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from protocol import Decoder
from protocol.identity import LoggerIdentity

if TYPE_CHECKING:
    from .dispatch import Dispatcher

__all__ = ["StationConnection"]

log = logging.getLogger(__name__)


class StationConnection(asyncio.Protocol):
    __slots__ = (
        "admitted",
        "connected_at",
        "decoder",
        "dispatcher",
        "edition",
        "error_streak",
        "errors_logged",
        "frames",
        "ip",
        "last_rx",
        "logger_ids",
        "mns",
        "partial_since",
        "paused",
        "peer",
        "st",
        "transport",
    )

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.decoder = dispatcher.new_decoder()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.ip = ""
        self.partial_since: float | None = None
        #: the MNs bound here (a tuple: a set is 216 bytes even empty, and a logger binds
        #: one MN, rarely more — memory per idle connection counts at 100,000 of them)
        self.mns: tuple[str, ...] = ()
        #: HJ 212-2025 logger ids announced here (CN 1001) by a logger without an MN, with
        #: the identity (CPU ID, MACs) announced with each
        self.logger_ids: dict[str, LoggerIdentity] = {}
        self.edition: str | None = None
        self.st: str | None = None
        self.connected_at = 0.0
        self.last_rx = 0.0
        self.frames = 0
        self.error_streak = 0
        self.errors_logged = 0
        self.paused = False
        #: (station, PW, edition) of the last frame let in here without a refusal or a
        #: flag (the dispatcher's fast lane for the next ones alike); None after a change
        self.admitted: tuple[object, str | None, str] | None = None

    # -- asyncio callbacks ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCPTransport is not an asyncio.Transport subclass, but has its API
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.ip = str(peer[0])
            self.peer = f"{peer[0]}:{peer[1]}"
        else:
            self.ip = self.peer = str(peer)
        self.dispatcher.connection_opened(self)

    def data_received(self, data: bytes) -> None:
        dispatcher = self.dispatcher
        dispatcher.bytes_in += len(data)
        self.last_rx = dispatcher.clock
        handle = dispatcher.handle
        decoder = self.decoder
        for event in decoder.feed(data):
            handle(self, event)
        if decoder.buffered:  # an incomplete frame: how long has it been dribbling in?
            if self.partial_since is None:
                self.partial_since = dispatcher.clock
        elif self.partial_since is not None:
            self.partial_since = None

    def eof_received(self) -> bool | None:
        for event in self.decoder.close():
            self.dispatcher.handle(self, event)
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.dispatcher.connection_closed(self, exc)
        self.transport = None

    # -- used by the worker ----------------------------------------------------------
    def send(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        return True

    def bind(self, mn: str) -> None:
        if mn not in self.mns:
            self.mns = (*self.mns, mn)

    def unbind(self, mn: str) -> None:
        self.mns = tuple(m for m in self.mns if m != mn)
        self.admitted = None

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def pause(self) -> None:
        if not self.paused and self.transport is not None and not self.transport.is_closing():
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.transport is not None and not self.transport.is_closing():
            self.paused = False
            self.transport.resume_reading()

    @staticmethod
    def make_decoder(
        max_length: int,
        modbus: bool | set[str],
        sm4_keys: Callable[[str], Sequence[bytes]] | None = None,
    ) -> Decoder:
        return Decoder(max_length=max_length, modbus_tolerant=modbus, sm4_keys=sm4_keys)
