"""One connection of a simulated data logger, seen from the socket.

*Connect.* ``loop.create_connection`` (the event loop's own connect: under
uvloop about twice as fast as a Python-side ``sock_connect``), or — from a
loopback source address ``127.0.0.k`` — a socket bound with
``IP_BIND_ADDRESS_NO_PORT`` and ``sock_connect``: each source address has its
own ephemeral-port range, which is how 50,000 connections fit 28,232 ports, and
deferring the port choice to ``connect()`` keeps binding fast when tens of
thousands of ports are taken.  A connect that completes after its timeout is
reset.

*Close.* At the end of a run the connection is reset (RST) unless
``graceful_close``: a client that closes first keeps its port in TIME_WAIT
for 60 s, and tens of thousands of those would block the next run's ports.
A ``disconnect`` fault closes gracefully (FIN).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from .link import Link

__all__ = ["IP_BIND_ADDRESS_NO_PORT", "Connection", "Drip", "connect_from", "reset"]

#: Linux ``IP_BIND_ADDRESS_NO_PORT`` (the socket module of 3.11 does not export it)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
_LINGER_RESET = struct.pack("ii", 1, 0)


def reset(transport: asyncio.BaseTransport) -> None:
    """Close with RST (SO_LINGER 0): no TIME_WAIT left on our side."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    cast(asyncio.Transport, transport).abort()


class Connection(asyncio.Protocol):
    """The protocol of one connection attempt.  It forwards to its link only while it is
    the link's current connection: a connect that completes after the link gave up on it
    (a timeout under load) is reset at once instead of becoming a second connection."""

    __slots__ = ("link", "live")

    def __init__(self, link: Link) -> None:
        self.link = link
        self.live = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.link.adopt(self, transport):
            reset(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.live:
            self.live = False
            self.link.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.live:
            self.link.data_received(data)

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def pause_writing(self) -> None:
        if self.live:
            self.link.pause_writing()

    def resume_writing(self) -> None:
        if self.live:
            self.link.resume_writing()


async def connect_from(
    loop: asyncio.AbstractEventLoop,
    attempt: Connection,
    local: tuple[str, int],
    remote: tuple[str, int],
) -> None:
    """Connect from a given source address.  ``IP_BIND_ADDRESS_NO_PORT`` defers the
    choice of source port to ``connect()``: a plain ``bind(addr, 0)`` searches the
    port table and grows slow (seconds of kernel time) once ten thousand ports of
    that address are in use."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # Linux ≥ 4.2; elsewhere bind picks the port
            sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind(local)
        await loop.sock_connect(sock, remote)
        await loop.create_connection(lambda: attempt, sock=sock)
    except BaseException:
        if not attempt.live:
            sock.close()
        raise


class Drip:
    """The slow-sender fault: one frame written a byte per timer tick over ``seconds``.
    Writes meanwhile go to :attr:`held` (frames never interleave); ``done`` gets them
    when the frame is out.  ``write`` returns False when the connection is gone."""

    __slots__ = ("_at", "_data", "_done", "_handle", "_interval", "_loop", "_write", "held")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        data: bytes,
        seconds: float,
        write: Callable[[bytes], bool],
        done: Callable[[list[bytes]], None],
    ) -> None:
        self._loop = loop
        self._data = data
        self._at = 0
        self._interval = max(0.001, seconds / max(1, len(data)))
        self._write = write
        self._done = done
        self._handle: asyncio.TimerHandle | None = None
        self.held: list[bytes] = []

    def start(self) -> None:
        self._step()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _step(self) -> None:
        self._handle = None
        if not self._write(self._data[self._at : self._at + 1]):
            return
        self._at += 1
        if self._at < len(self._data):
            self._handle = self._loop.call_later(self._interval, self._step)
            return
        self._done(self.held)
